"""The data one ``apply_lfs`` call reads: a DataFrame with per-column Arrow text caches, and vote helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from epoxy_core._cells import is_missing
from epoxy_core.labels import ABSTAIN


def _safe_str(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates become "?" one for one, so character offsets stay valid for highlighting.
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _to_arrow_text(values: pd.Series | Sequence[Any]) -> pa.Array | pa.ChunkedArray:
    """Convert values to an Arrow string array: missing values become null, others ``str(value)``."""
    if isinstance(values, pd.Series) and (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        try:
            # Fast path: already strings (object or pandas string dtype), converted without a Python loop.
            return pa.array(values, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError, UnicodeEncodeError):
            pass
    items = values.tolist() if isinstance(values, pd.Series) else list(values)
    return pa.array([None if is_missing(v) else _safe_str(v) for v in items], type=pa.large_string())


class _Row(dict):  # type: ignore[type-arg]
    """One data row for a Python :class:`~epoxy_core.lf.python.LabelingFunction`: ``row["text"]`` or ``row.text``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


Embedder = Callable[[list[str]], Any]
"""Texts -> one vector per text, ``(len(texts), d)``: the project's embedder, for LFs with example texts."""


class _Frame:
    """A DataFrame plus per-call caches, so 20 LFs on one column convert that column to Arrow once.

    ``embeddings`` (one row per data row) and ``embed`` (see :data:`Embedder`) are the resources of LFs that
    read vectors instead of columns (:class:`~epoxy_core.lf.similarity.SimilarityLF`); they are checked and
    L2-normalised once per call, on first use.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        text_column: str,
        cardinality: int | None = None,
        *,
        embeddings: Any = None,
        embed: Embedder | None = None,
    ) -> None:
        self.df = df
        self.text_column = text_column
        self.cardinality = cardinality
        self.embeddings = embeddings
        self.embed = embed
        self._text: dict[str, pa.Array | pa.ChunkedArray] = {}
        self._ascii: dict[str, npt.NDArray[np.bool_]] = {}
        self._rows: list[_Row] | None = None
        self._unit: npt.NDArray[np.float32] | None = None

    def unit_embeddings(self) -> npt.NDArray[np.float32]:
        """The rows' embeddings as float32 unit vectors (no copy when they already are); ValueError if absent."""
        if self._unit is None:
            if self.embeddings is None:
                raise ValueError("no embeddings were given; pass embeddings= (one vector per row).")
            from epoxy_core.neighbors import prepare_embeddings  # numpy only; keeps LF imports light

            unit = prepare_embeddings(self.embeddings, "cosine")
            if unit.shape[0] != len(self.df):
                raise ValueError(
                    f"embeddings have {unit.shape[0]:,} rows but the data has {len(self.df):,}; "
                    "pass one vector per row, in the data's order."
                )
            self._unit = unit
        return self._unit

    def text(self, column: str) -> pa.Array | pa.ChunkedArray:
        if column not in self._text:
            self._text[column] = _to_arrow_text(self.df[column])
        return self._text[column]

    def is_ascii(self, column: str) -> npt.NDArray[np.bool_]:
        if column not in self._ascii:
            self._ascii[column] = _bool_mask(pc.string_is_ascii(self.text(column)))
        return self._ascii[column]

    def rows(self) -> list[_Row]:
        if self._rows is None:
            columns = [str(c) for c in self.df.columns]
            self._rows = [
                _Row(zip(columns, values, strict=True)) for values in self.df.itertuples(index=False, name=None)
            ]
        return self._rows


def _bool_mask(result: Any) -> npt.NDArray[np.bool_]:
    """A boolean numpy mask from an Arrow or pandas boolean result; null/NA counts as False."""
    if isinstance(result, pa.Array | pa.ChunkedArray):
        return np.asarray(pc.fill_null(result, False).to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(pd.Series(result).to_numpy(dtype=bool, na_value=False), dtype=bool)


def _match_rows(text: pa.Array | pa.ChunkedArray, rows: npt.NDArray[np.intp], pattern: str) -> npt.NDArray[np.bool_]:
    """Whether ``pattern`` matches each of the rows ``rows`` of ``text`` (others are not looked at)."""
    if rows.size == 0:
        return np.zeros(0, dtype=bool)
    return _bool_mask(pc.match_substring_regex(text.take(pa.array(rows)), pattern=pattern))


def _mask_votes(mask: npt.NDArray[np.bool_], label: int) -> npt.NDArray[np.int64]:
    return np.where(mask, np.int64(label), np.int64(ABSTAIN))
