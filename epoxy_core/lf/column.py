"""Column LFs: comparisons on a column (``price > 10``) and precomputed vote columns."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from epoxy_core.labels import ABSTAIN
from epoxy_core.lf._checks import (
    MAX_NAME_CHARS,
    MAX_PATTERN_CHARS,
    MAX_RULE_VALUES,
    _check_text,
)
from epoxy_core.lf.base import BaseLF
from epoxy_core.lf.frame import (
    _bool_mask,
    _Frame,
    _mask_votes,
    _safe_str,
)

COLUMN_OPS: tuple[str, ...] = (
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not in",
    "contains",
    "is missing",
    "is not missing",
)
"""Operators accepted by :class:`ColumnRuleLF`."""

_ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_EQUALITY_OPS = {"==": operator.eq, "!=": operator.ne}
_MISSING_OPS = ("is missing", "is not missing")


def _check_rule_scalar(value: Any, what: str) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, got {value!r}; use 'is missing' for NaN.")
        return float(value)
    if isinstance(value, str):
        return _check_text(value, what, max_chars=MAX_PATTERN_CHARS, allow_empty=True)
    raise ValueError(f"{what} must be a number, a string or true/false, got {type(value).__name__} {value!r:.60}.")


@dataclass(frozen=True)
class ColumnRuleLF(BaseLF):
    """Vote ``label`` where ``column <op> value`` holds.

    Operators (:data:`COLUMN_OPS`):

    - ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``: on numeric columns (bool counts as numeric) ``value`` must
      be a number (a numeric string such as "5" is read as a number); on date columns a date (string or
      timestamp).  On any other column ``==`` / ``!=`` compare text: ``str(cell) == str(value)``, and the
      ordering operators are refused.
    - ``in``, ``not in``: ``value`` is a list, compared like ``==``.
    - ``contains``: ``value`` is a literal, case-sensitive substring of ``str(cell)``.
    - ``is missing``, ``is not missing``: ``value`` must be None; votes on null/NaN cells or on the others.

    Every operator except the last two abstains on rows whose cell is missing: "price != 5" says nothing
    about a row without a price.

    Examples
    --------
    >>> df = pd.DataFrame({"stars": [1.0, 5.0, None]})
    >>> ColumnRuleLF("low rating", 0, "stars", "<=", 2).apply(df).tolist()
    [0, -1, -1]
    """

    kind: ClassVar[str] = "column_rule"

    name: str
    label: int
    column: str
    op: str
    value: Any = None
    _: KW_ONLY
    enabled: bool = True

    def __post_init__(self) -> None:
        self._validate_common(label_required=True)
        prefix = self._name_prefix()
        _check_text(self.column, f"{prefix}: column", max_chars=MAX_NAME_CHARS)
        if self.op not in COLUMN_OPS:
            raise ValueError(f"{prefix}: op must be one of {', '.join(COLUMN_OPS)}; got {self.op!r:.60}.")
        what = f"{prefix}: value"
        if self.op in _MISSING_OPS:
            if self.value is not None:
                raise ValueError(f"{what} must be empty (null) for '{self.op}', got {self.value!r:.60}.")
            return
        if self.op in ("in", "not in"):
            if isinstance(self.value, str) or not isinstance(self.value, Sequence):
                raise ValueError(f"{what} must be a list of values for '{self.op}', got {self.value!r:.60}.")
            if not self.value:
                raise ValueError(f"{what} must list at least one value for '{self.op}'.")
            if len(self.value) > MAX_RULE_VALUES:
                raise ValueError(f"{what} lists {len(self.value):,} values; the limit is {MAX_RULE_VALUES:,}.")
            values = tuple(_check_rule_scalar(v, f"{what}[{i}]") for i, v in enumerate(self.value))
            object.__setattr__(self, "value", values)
            return
        if self.value is None:
            raise ValueError(f"{what} is required for '{self.op}'; use 'is missing' to find empty cells.")
        value = _check_rule_scalar(self.value, what)
        if self.op == "contains" and (not isinstance(value, str) or not value):
            raise ValueError(f"{what} must be a non-empty string for 'contains', got {self.value!r:.60}.")
        object.__setattr__(self, "value", value)

    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Columns this LF reads: just its ``column``."""
        return (self.column,)

    def _number(self, value: Any) -> int | float:
        if isinstance(value, bool | int | float):
            return value
        try:
            return int(value)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(
                f"{self._name_prefix()}: column {self.column!r} is numeric, so '{self.op}' needs a number; "
                f"got {value!r:.60}."
            )
        return number

    def _timestamp(self, value: Any, column_tz: Any) -> pd.Timestamp:
        try:
            timestamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            timestamp = pd.NaT
        if timestamp is pd.NaT:
            raise ValueError(
                f"{self._name_prefix()}: column {self.column!r} holds dates, so '{self.op}' needs a date such as "
                f"'2015-01-31'; got {value!r:.60}."
            )
        # A date typed without a zone means that date in the column's zone; pandas refuses to compare
        # zone-aware with zone-naive values.
        if column_tz is not None and timestamp.tzinfo is None:
            return timestamp.tz_localize(column_tz)
        if column_tz is None and timestamp.tzinfo is not None:
            return timestamp.tz_convert("UTC").tz_localize(None)
        return timestamp

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        series = frame.df[self.column]
        missing = series.isna().to_numpy(dtype=bool)
        if self.op == "is missing":
            return _mask_votes(missing, self.label)
        if self.op == "is not missing":
            return _mask_votes(~missing, self.label)
        if self.op == "contains":
            mask = _bool_mask(pc.match_substring(frame.text(self.column), pattern=self.value))
            return _mask_votes(mask & ~missing, self.label)

        values = self.value if isinstance(self.value, tuple) else (self.value,)
        dtype = series.dtype
        if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
            operands: Any = [self._number(v) for v in values]
            data: Any = series
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            operands = [self._timestamp(v, getattr(dtype, "tz", None)) for v in values]
            data = series
        else:
            if self.op in _ORDER_OPS:
                raise ValueError(
                    f"{self._name_prefix()}: '{self.op}' compares numbers or dates, but column {self.column!r} "
                    f"holds text (dtype {dtype}). Use '==', 'in' or 'contains', or load the column as numbers."
                )
            # Text comparison on str(cell), so categories, mixed objects and strings behave alike.
            text = frame.text(self.column)
            keys = pa.array([_safe_str(v) for v in values], type=pa.large_string())
            if self.op in ("in", "not in"):
                mask = _bool_mask(pc.is_in(text, value_set=keys))
                mask = ~mask if self.op == "not in" else mask
            else:
                mask = _bool_mask(pc.equal(text, keys[0]))
                mask = ~mask if self.op == "!=" else mask
            return _mask_votes(mask & ~missing, self.label)

        try:
            if self.op in ("in", "not in"):
                mask = _bool_mask(data.isin(operands))
                mask = ~mask if self.op == "not in" else mask
            else:
                compare = _ORDER_OPS.get(self.op) or _EQUALITY_OPS[self.op]
                mask = _bool_mask(compare(data, operands[0]))
        except TypeError as exc:  # e.g. a timezone-aware column against a naive date
            raise ValueError(f"{self._name_prefix()}: cannot compare column {self.column!r} ({dtype}): {exc}") from None
        # Missing cells abstain whatever the comparison said (NaN != 5 is True in numpy).
        return _mask_votes(mask & ~missing, self.label)


@dataclass(frozen=True)
class VoteColumnLF(BaseLF):
    """Copy precomputed votes from ``column``: class indices, ``-1`` (abstain), or missing (abstain).

    Use it for LFs run elsewhere (spaCy, TextBlob, another team's rules) and imported with the data.  Votes in
    the signed convention (+1/-1/0) must be converted first with :func:`epoxy_core.labels.from_signed`:
    here ``0`` is a class, not an abstain.  Values must be whole numbers; with a known cardinality (see
    :func:`apply_lfs`) they must lie in ``-1..cardinality-1``.

    Examples
    --------
    >>> VoteColumnLF("spacy_person", "person_vote").apply(pd.DataFrame({"person_vote": [0, -1, None]})).tolist()
    [0, -1, -1]
    """

    kind: ClassVar[str] = "vote_column"

    name: str
    column: str
    _: KW_ONLY
    enabled: bool = True
    label: None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._validate_common(label_required=False)
        _check_text(self.column, f"{self._name_prefix()}: column", max_chars=MAX_NAME_CHARS)

    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Columns this LF reads: just its ``column``."""
        return (self.column,)

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        series = frame.df[self.column]
        missing = series.isna().to_numpy(dtype=bool)
        prefix = f"{self._name_prefix()}: column {self.column!r}"
        if pd.api.types.is_bool_dtype(series.dtype):
            raise ValueError(f"{prefix} holds true/false; votes must be class indices or -1 (abstain).")
        numbers = pd.to_numeric(series, errors="coerce")
        not_numbers = numbers.isna().to_numpy(dtype=bool) & ~missing
        if not_numbers.any():
            first = series.iloc[int(np.argmax(not_numbers))]
            raise ValueError(f"{prefix} holds {first!r:.40}; votes must be class indices or -1 (abstain).")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        present = values[~missing]
        if not np.all(np.isfinite(present)) or not np.all(present == np.round(present)):
            raise ValueError(f"{prefix} holds fractional or infinite values; votes must be whole class indices.")
        votes = np.full(len(series), ABSTAIN, dtype=np.int64)
        votes[~missing] = present.astype(np.int64)
        return votes
