"""The LF abstraction: a named rule that votes a class index or ``ABSTAIN`` for each row."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from epoxy_core.labels import ABSTAIN, label_dtype
from epoxy_core.lf._checks import (
    MAX_CLASS,
    MAX_NAME_CHARS,
    _check_bool,
    _check_label,
    _check_text,
)
from epoxy_core.lf.frame import (
    Embedder,
    _Frame,
)


def _check_frame(df: Any) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"LFs apply to a pandas DataFrame, got {type(df).__name__}.")


def _check_columns_present(lf: BaseLF, df: pd.DataFrame, text_column: str) -> None:
    for column in lf.required_columns(text_column):
        if column not in df.columns:
            available = [str(c) for c in df.columns]
            shown = ", ".join(repr(c) for c in available[:30]) + (" ..." if len(available) > 30 else "")
            raise ValueError(
                f"LF {lf.name!r} needs column {column!r}, which is not in the data. Available columns: {shown}."
            )
        if isinstance(df[column], pd.DataFrame):
            raise ValueError(f"LF {lf.name!r} needs column {column!r}, but the data has several columns of that name.")


# --------------------------------------------------------------------------------------------------------------
# LF types
# --------------------------------------------------------------------------------------------------------------


class BaseLF(ABC):
    """Base class of all LFs: a named rule that votes a class index or ``ABSTAIN`` for each row.

    Every subclass has ``name`` (unique within a set), ``label`` (the class it votes, or None when the votes
    come from data, as in :class:`VoteColumnLF`) and ``enabled`` (the UI's on/off switch; :func:`apply_lfs`
    applies whatever list it is given, see :func:`enabled_lfs`).
    """

    kind: ClassVar[str]
    """Short type tag used in JSON (``"keyword"``, ``"regex"``, ...)."""
    needs_embeddings: ClassVar[bool] = False
    """True for LFs that read the rows' embeddings (pass ``embeddings=`` to :func:`apply_lfs`)."""

    name: str
    label: int | None
    enabled: bool

    @abstractmethod
    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Columns of the data this LF reads, given the dataset's text column."""

    @abstractmethod
    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        """Votes for every row of ``frame.df`` as int64 (range checks happen in the caller)."""

    def _precheck(self, frame: _Frame) -> None:  # noqa: B027 (a hook: most LFs need no check beyond columns)
        """Raise ValueError if the LF cannot run on ``frame`` (called for every LF before any runs)."""

    def apply(
        self,
        df: pd.DataFrame,
        text_column: str = "text",
        *,
        embeddings: Any = None,
        embed: Embedder | None = None,
    ) -> npt.NDArray[np.signedinteger[Any]]:
        """Vote on every row of ``df``.

        Parameters
        ----------
        df : pandas.DataFrame
            The data.
        text_column : str, default "text"
            The column that keyword and regex LFs read when they name no column of their own.
        embeddings : array-like of shape (len(df), d), optional
            The rows' embeddings, for LFs with ``needs_embeddings`` (e.g. ``SimilarityLF``); others ignore it.
        embed : callable, optional
            ``texts -> (len(texts), d)`` vectors: the project's embedder, for example texts.

        Returns
        -------
        numpy.ndarray of shape (len(df),)
            int8 votes (int16 if a class index exceeds 127): a class index or ``ABSTAIN`` (-1).

        Raises
        ------
        ValueError
            If a column the LF needs is missing, a rule cannot be applied to the column's type, or the LF needs
            embeddings (or an embedder) that were not given.
        """
        _check_frame(df)
        _check_columns_present(self, df, text_column)
        frame = _Frame(df, text_column, embeddings=embeddings, embed=embed)
        self._precheck(frame)
        votes = _checked_votes(self, frame, None)
        return votes.astype(label_dtype(max(2, int(votes.max(initial=0)) + 1)))

    def _name_prefix(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    def _validate_common(self, *, label_required: bool) -> None:
        _check_text(self.name, f"{type(self).__name__} name", max_chars=MAX_NAME_CHARS)
        if self.label is not None or label_required:
            _check_label(self.label, f"{self._name_prefix()}: label")
        _check_bool(self.enabled, f"{self._name_prefix()}: enabled")


def _checked_votes(lf: BaseLF, frame: _Frame, cardinality: int | None) -> npt.NDArray[np.int64]:
    """``lf``'s votes after a range check that names the LF (votes from data or code can be anything)."""
    votes = lf._votes(frame)
    high = cardinality - 1 if cardinality is not None else MAX_CLASS
    bad = (votes < ABSTAIN) | (votes > high)
    if bad.any():
        raise ValueError(
            f"LF {lf.name!r} voted {int(votes[bad][0])} on row {int(np.argmax(bad))}; votes must be {ABSTAIN} "
            f"(abstain) or a class index 0..{high}."
        )
    return votes
