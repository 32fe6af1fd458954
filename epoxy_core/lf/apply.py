"""Applying a list of LFs to a table: one label-matrix column per LF."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from epoxy_core.labels import ABSTAIN, LabelMatrix, check_label_matrix, label_dtype
from epoxy_core.lf.base import BaseLF, _check_columns_present, _check_frame, _checked_votes
from epoxy_core.lf.frame import (
    Embedder,
    _Frame,
)


def enabled_lfs(lfs: Iterable[BaseLF]) -> list[BaseLF]:
    """The LFs whose ``enabled`` flag is set, in their original order.

    >>> from epoxy_core.lf import KeywordLF
    >>> [lf.name for lf in enabled_lfs([KeywordLF("a", 0, ["a"]), KeywordLF("b", 0, ["b"], enabled=False)])]
    ['a']
    """
    return [lf for lf in lfs if lf.enabled]


def _check_unique_names(lfs: Sequence[BaseLF], where: str = "") -> None:
    seen: set[str] = set()
    for lf in lfs:
        if lf.name in seen:
            raise ValueError(f"Duplicate LF name {lf.name!r}{where}: every LF needs a unique name.")
        seen.add(lf.name)


def apply_lfs(
    lfs: Iterable[BaseLF],
    df: pd.DataFrame,
    text_column: str = "text",
    cardinality: int | None = None,
    *,
    embeddings: Any = None,
    embed: Embedder | None = None,
) -> LabelMatrix:
    """Apply LFs to every row and stack their votes into a label matrix.

    Parameters
    ----------
    lfs : iterable of BaseLF
        Applied in the order given, one column each, enabled or not (filter with :func:`enabled_lfs`).
    df : pandas.DataFrame
        The data.
    text_column : str, default "text"
        The column keyword and regex LFs read unless they name another.
    cardinality : int, optional
        Number of classes.  When given, LF labels and imported votes must lie in ``0..cardinality-1``.
    embeddings : array-like of shape (len(df), d), optional
        The rows' embeddings, needed by LFs with ``needs_embeddings`` (:class:`SimilarityLF`); other LFs
        ignore it.  Normalised once per call (no copy when the rows are already unit vectors).
    embed : callable, optional
        ``texts -> (len(texts), d)`` vectors: the project's embedder, for a :class:`SimilarityLF`'s example texts.

    Returns
    -------
    numpy.ndarray of shape (len(df), n_lfs)
        int8 label matrix (int16 above 127 classes), checked by :func:`~epoxy_core.labels.check_label_matrix`.

    Raises
    ------
    ValueError
        On duplicate LF names, a missing column (the message lists the available ones), a label or vote
        outside the classes, a rule that does not fit its column's type, or a similarity LF without
        embeddings (or without ``embed`` for example texts), or with example rows outside the data.  These
        checks run for every LF before any LF is applied.

    Examples
    --------
    >>> import pandas as pd
    >>> from epoxy_core.lf import KeywordLF
    >>> df = pd.DataFrame({"text": ["check out my channel", "great song"]})
    >>> apply_lfs([KeywordLF("my", 1, ["my"]), KeywordLF("song", 0, ["song"])], df, cardinality=2).tolist()
    [[1, -1], [-1, 0]]
    """
    lfs = list(lfs)
    _check_frame(df)
    for i, lf in enumerate(lfs):
        if not isinstance(lf, BaseLF):
            raise ValueError(f"lfs[{i}] is a {type(lf).__name__}, not a labeling function.")
    _check_unique_names(lfs)
    if cardinality is not None:
        if isinstance(cardinality, bool) or not isinstance(cardinality, int | np.integer):
            raise ValueError(f"cardinality must be an integer, got {cardinality!r}.")
        label_dtype(int(cardinality))  # rejects < 1 and > int16 with a clear message
        for lf in lfs:
            if lf.label is not None and lf.label >= cardinality:
                raise ValueError(
                    f"LF {lf.name!r} votes class {lf.label}, but there are only {cardinality} classes "
                    f"(0..{cardinality - 1})."
                )
    frame = _Frame(df, text_column, cardinality, embeddings=embeddings, embed=embed)
    for lf in lfs:
        _check_columns_present(lf, df, text_column)
        lf._precheck(frame)

    L = np.full((len(df), len(lfs)), ABSTAIN, dtype=np.int16)
    for j, lf in enumerate(lfs):
        L[:, j] = _checked_votes(lf, frame, cardinality)
    return check_label_matrix(L, cardinality, n_rows=len(df))
