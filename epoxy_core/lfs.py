"""Labeling functions (LFs) a domain expert can write without Python, applied vectorised.

An LF looks at each row of a dataset and votes for a class index or :data:`~epoxy_core.labels.ABSTAIN`.
Four declarative kinds cover what a user can build in the browser and save as JSON:

- :class:`KeywordLF` votes where any of a list of keywords occurs (whole words or substrings);
- :class:`RegexLF` votes where a regular expression matches;
- :class:`ColumnRuleLF` votes where a comparison on another column holds (``price > 10``);
- :class:`VoteColumnLF` copies precomputed votes from a column (LFs run elsewhere, e.g. with spaCy).

:class:`PythonLF` (and the Snorkel-style :func:`labeling_function` decorator) wraps arbitrary Python for
notebook users.  It is deliberately not serialisable: text that arrives from a browser or a file is never
evaluated as code anywhere in Epoxy Studio.

Text matching runs through ``pyarrow.compute``, whose regular expressions are RE2.  RE2 guarantees time
linear in the input, so a pattern such as ``(a+)+$`` that makes Python's ``re`` backtrack for ages on a
long string finishes at once.  The price is that RE2 has no lookarounds and no backreferences; such
patterns are rejected with a :class:`ValueError` when the LF is built.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from epoxy_core.labels import ABSTAIN, LabelMatrix, check_label_matrix, label_dtype

__all__ = [
    "COLUMN_OPS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ColumnRuleLF",
    "KeywordLF",
    "LabelingFunction",
    "PythonLF",
    "RegexLF",
    "VoteColumnLF",
    "apply_lfs",
    "enabled_lfs",
    "labeling_function",
    "lf_from_dict",
    "lf_to_dict",
    "lfs_from_json",
    "lfs_to_json",
    "match_spans",
]

FORMAT_NAME = "epoxy-lfs"
FORMAT_VERSION = 1

# Limits that keep hostile or accidental input (a pasted novel as a "keyword") from exhausting memory.
MAX_LFS = 1000
MAX_NAME_CHARS = 200
MAX_PATTERN_CHARS = 2000
MAX_KEYWORDS = 1000
MAX_KEYWORD_CHARS_TOTAL = 20_000
MAX_RULE_VALUES = 1000
# Largest class index a label matrix can hold (see labels.label_dtype).
MAX_CLASS = int(np.iinfo(np.int16).max) - 1

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

# Word characters for whole-word matching: RE2 spelling of Python's Unicode ``\w`` (letters, digits, "_").
# RE2's own ``\b`` only knows ASCII, so ``\bcafé\b`` would never match "café"; this class does.
_RE2_NOT_WORD = r"[^\pL\pN_]"


# --------------------------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------------------------


def _check_text(value: Any, what: str, *, max_chars: int, allow_empty: bool = False) -> str:
    """Return ``value`` if it is a string of acceptable length that UTF-8 can encode."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__} {value!r:.60}.")
    if not allow_empty and not value.strip():
        raise ValueError(f"{what} must not be empty.")
    if len(value) > max_chars:
        raise ValueError(f"{what} is {len(value):,} characters long; the limit is {max_chars:,}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Lone surrogates (possible through JSON "\ud800" escapes) cannot reach RE2 or a file.
        raise ValueError(f"{what} contains a character UTF-8 cannot encode at position {exc.start}.") from None
    return value


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{what} must be true or false, got {value!r:.60}.")
    return bool(value)


def _check_label(value: Any, what: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{what} must be a class index (an integer), got {value!r:.60}.")
    if not 0 <= value <= MAX_CLASS:
        raise ValueError(f"{what} must be a class index between 0 and {MAX_CLASS}, got {value}.")
    return int(value)


def _check_optional_column(value: Any, what: str) -> str | None:
    return None if value is None else _check_text(value, what, max_chars=MAX_NAME_CHARS)


# RE2 escapes Python's re does not know (\pL, \p{Greek}, \x{2b}); a plain "\\." token keeps "\\p" intact.
_RE2_ONLY_ESCAPE = re.compile(r"(\\(?:[pP](?:\{[^}]*\}|.)|x\{[^}]*\}))|\\.", re.DOTALL)


def _python_regex_error(pattern: str) -> re.error | None:
    """Python's opinion of ``pattern``: its ``re.error`` (which carries a position) or None.

    RE2-only escapes are first replaced by as many plain letters, so Python does not blame valid RE2 syntax
    and the positions it reports still point into the original pattern.
    """
    python_view = _RE2_ONLY_ESCAPE.sub(lambda m: "a" * len(m[0]) if m[1] else m[0], pattern)
    with warnings.catch_warnings():
        # Python warns about constructs like "[[" that RE2 reads fine; those warnings are noise here.
        warnings.simplefilter("ignore")
        try:
            re.compile(python_view)
        except re.error as exc:
            return exc
        except (RecursionError, OverflowError, ValueError):
            return None
    return None


def _check_re2(pattern: str, what: str) -> None:
    """Raise ValueError unless RE2 (pyarrow) compiles ``pattern``, saying what is wrong and where.

    RE2's messages carry no position, so a syntax error is described by Python's ``re`` (which has one);
    a pattern Python accepts but RE2 refuses uses a Perl feature RE2 leaves out to stay linear-time.
    """
    try:
        # An empty array would skip compilation, so give RE2 one empty string to look at.
        pc.match_substring_regex(pa.array([""], pa.large_string()), pattern=pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        re2_message = str(exc).removeprefix("Invalid regular expression: ")
        python_error = _python_regex_error(pattern)
        if python_error is not None and python_error.pos is not None:
            raise ValueError(f"invalid regex {pattern!r}: {python_error.msg} at position {python_error.pos}.") from None
        raise ValueError(
            f"{what} {pattern!r} is not supported by RE2 ({re2_message}). Patterns run on RE2, which guarantees "
            "linear time: lookarounds ((?=, (?!, (?<=, (?<!), backreferences (\\1, (?P=name)), possessive "
            "quantifiers and \\Z are not supported, and a repetition count can be at most 1000."
        ) from None


def _re2_escape(text: str) -> str:
    r"""Escape ``text`` so that RE2 reads it literally.

    Every ASCII character other than letters, digits and ``_`` becomes ``\x{..}``, which RE2 always reads as
    that one character; Python's ``re.escape`` emits escapes such as a backslash before a raw newline that RE2
    does not promise to accept.

    >>> _re2_escape("c++ (v2)")
    'c\\x{2b}\\x{2b}\\x{20}\\x{28}v2\\x{29}'
    """
    return "".join(
        char if not char.isascii() or char.isalnum() or char == "_" else f"\\x{{{ord(char):x}}}" for char in text
    )


def _is_word_char(char: str) -> bool:
    # Same definition as Python's Unicode ``\w`` and (up to Unicode version) RE2's [\pL\pN_].
    return char == "_" or char.isalnum()


# --------------------------------------------------------------------------------------------------------------
# Data access shared by the LFs of one apply_lfs call
# --------------------------------------------------------------------------------------------------------------


def _is_missing_scalar(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


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
    return pa.array([None if _is_missing_scalar(v) else _safe_str(v) for v in items], type=pa.large_string())


class _Row(dict):  # type: ignore[type-arg]
    """One data row for :class:`PythonLF`: ``row["text"]`` and ``row.text`` both work, as in Snorkel."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class _Frame:
    """A DataFrame plus per-call caches, so 20 LFs on one column convert that column to Arrow once."""

    def __init__(self, df: pd.DataFrame, text_column: str, cardinality: int | None = None) -> None:
        self.df = df
        self.text_column = text_column
        self.cardinality = cardinality
        self._text: dict[str, pa.Array | pa.ChunkedArray] = {}
        self._ascii: dict[str, npt.NDArray[np.bool_]] = {}
        self._rows: list[_Row] | None = None

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


def _check_frame(df: Any) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"LFs apply to a pandas DataFrame, got {type(df).__name__}.")


def _check_columns_present(lf: LabelingFunction, df: pd.DataFrame, text_column: str) -> None:
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


class LabelingFunction(ABC):
    """Base class of all LFs: a named rule that votes a class index or ``ABSTAIN`` for each row.

    Every subclass has ``name`` (unique within a set), ``label`` (the class it votes, or None when the votes
    come from data, as in :class:`VoteColumnLF`) and ``enabled`` (the UI's on/off switch; :func:`apply_lfs`
    applies whatever list it is given, see :func:`enabled_lfs`).
    """

    kind: ClassVar[str]
    """Short type tag used in JSON (``"keyword"``, ``"regex"``, ...)."""

    name: str
    label: int | None
    enabled: bool

    @abstractmethod
    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Columns of the data this LF reads, given the dataset's text column."""

    @abstractmethod
    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        """Votes for every row of ``frame.df`` as int64 (range checks happen in the caller)."""

    def apply(self, df: pd.DataFrame, text_column: str = "text") -> npt.NDArray[np.signedinteger[Any]]:
        """Vote on every row of ``df``.

        Parameters
        ----------
        df : pandas.DataFrame
            The data.
        text_column : str, default "text"
            The column that keyword and regex LFs read when they name no column of their own.

        Returns
        -------
        numpy.ndarray of shape (len(df),)
            int8 votes (int16 if a class index exceeds 127): a class index or ``ABSTAIN`` (-1).

        Raises
        ------
        ValueError
            If a column the LF needs is missing, or a rule cannot be applied to the column's type.
        """
        _check_frame(df)
        _check_columns_present(self, df, text_column)
        votes = _checked_votes(self, _Frame(df, text_column), None)
        return votes.astype(label_dtype(max(2, int(votes.max(initial=0)) + 1)))

    def _name_prefix(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    def _validate_common(self, *, label_required: bool) -> None:
        _check_text(self.name, f"{type(self).__name__} name", max_chars=MAX_NAME_CHARS)
        if self.label is not None or label_required:
            _check_label(self.label, f"{self._name_prefix()}: label")
        _check_bool(self.enabled, f"{self._name_prefix()}: enabled")


@dataclass(frozen=True)
class KeywordLF(LabelingFunction):
    """Vote ``label`` where any of ``keywords`` occurs in the text.

    Parameters
    ----------
    name : str
        Unique name of the LF.
    label : int
        Class index voted on a match.
    keywords : sequence of str
        Literal keywords (no regex syntax); a list is stored as a tuple.
    whole_word : bool, default True
        Match only whole words: a keyword that starts (ends) with a letter, digit or ``_`` must not be preceded
        (followed) by one.  Word characters are Unicode letters and digits, so "café" is a whole word.
    case_sensitive : bool, default False
    column : str, optional
        Column to search; None means the dataset's text column.
    enabled : bool, default True

    Examples
    --------
    >>> lf = KeywordLF("subscribe", 1, ["subscribe", "sub4sub"])
    >>> lf.apply(pd.DataFrame({"text": ["Please SUBSCRIBE!", "subscribers", None]})).tolist()
    [1, -1, -1]
    """

    kind: ClassVar[str] = "keyword"

    name: str
    label: int
    keywords: tuple[str, ...]
    whole_word: bool = True
    case_sensitive: bool = False
    column: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        self._validate_common(label_required=True)
        prefix = self._name_prefix()
        if isinstance(self.keywords, str) or not isinstance(self.keywords, Sequence):
            raise ValueError(f"{prefix}: keywords must be a list of strings, got {self.keywords!r:.60}.")
        keywords = tuple(self.keywords)
        if not keywords:
            raise ValueError(f"{prefix}: keywords must not be empty; give at least one keyword.")
        if len(keywords) > MAX_KEYWORDS:
            raise ValueError(f"{prefix}: {len(keywords):,} keywords; the limit is {MAX_KEYWORDS:,}.")
        for i, keyword in enumerate(keywords):
            # Whitespace is kept on purpose (" my " is a legitimate keyword), but a blank keyword matches everywhere.
            _check_text(keyword, f"{prefix}: keywords[{i}]", max_chars=MAX_PATTERN_CHARS)
        if sum(map(len, keywords)) > MAX_KEYWORD_CHARS_TOTAL:
            raise ValueError(f"{prefix}: keywords total more than {MAX_KEYWORD_CHARS_TOTAL:,} characters.")
        object.__setattr__(self, "keywords", keywords)
        _check_bool(self.whole_word, f"{prefix}: whole_word")
        _check_bool(self.case_sensitive, f"{prefix}: case_sensitive")
        _check_optional_column(self.column, f"{prefix}: column")
        _check_re2(self.re2_pattern(), f"{prefix}: keywords")

    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Columns this LF reads: its own ``column`` or the text column."""
        return (self.column or text_column,)

    def re2_pattern(self, boundary: str = _RE2_NOT_WORD) -> str:
        r"""The single RE2 alternation that finds any keyword, with Unicode word boundaries.

        Parameters
        ----------
        boundary : str
            RE2 class of characters that end a word.  :meth:`apply` first runs the pattern with ASCII ``\W``
            (fast), which finds a superset of the matches, then confirms doubtful rows with the default.

        Examples
        --------
        >>> print(KeywordLF("k", 0, ["my", "c++", "spam"]).re2_pattern())
        (?:^|[^\pL\pN_])(?i:my|spam)(?:[^\pL\pN_]|$)|(?:^|[^\pL\pN_])(?i:c\x{2b}\x{2b})
        """
        # Keywords are grouped by which ends need a boundary, so each boundary class appears at most 4 times:
        # repeating the Unicode class once per keyword blows up RE2's DFA (measured: 11 one-letter keywords
        # took 10 s on 100k texts instead of 0.02 s).  The case flag covers only the keywords, not the class.
        flag = "(?:" if self.case_sensitive else "(?i:"
        alternatives = []
        for (lead, trail), keywords in self._boundary_groups().items():
            # RE2 has no lookarounds: the boundary character is consumed, which is harmless for a yes/no match
            # (RE2 tries every start) but is why match_spans uses python_pattern() instead.
            alternatives.append(
                (f"(?:^|{boundary})" if lead else "")
                + flag
                + "|".join(map(_re2_escape, keywords))
                + ")"
                + (f"(?:{boundary}|$)" if trail else "")
            )
        return "|".join(alternatives)

    def _boundary_groups(self) -> dict[tuple[bool, bool], list[str]]:
        """Keywords keyed by (needs a boundary before, needs a boundary after)."""
        groups: dict[tuple[bool, bool], list[str]] = {}
        for keyword in self.keywords:
            lead = self.whole_word and _is_word_char(keyword[0])
            trail = self.whole_word and _is_word_char(keyword[-1])
            groups.setdefault((lead, trail), []).append(keyword)
        return groups

    def _next_to_non_ascii_pattern(self) -> str:
        """RE2 pattern: a keyword whose boundary side touches a non-ASCII character."""
        flag = "(?:" if self.case_sensitive else "(?i:"
        parts = []
        for (lead, trail), keywords in self._boundary_groups().items():
            body = flag + "|".join(map(_re2_escape, keywords)) + ")"
            if lead:
                parts.append(r"[^\x00-\x7f]" + body)
            if trail:
                parts.append(body + r"[^\x00-\x7f]")
        return "|".join(parts)

    def _mask(self, frame: _Frame) -> npt.NDArray[np.bool_]:
        r"""Rows where a keyword occurs, in stages that each look at fewer rows.

        One pass with the Unicode boundary class costs ~0.3 s per 100k comments (RE2's DFA for
        ``[^\pL\pN_]`` is large), against ~0.015 s for a plain substring search.  So: (1) substring search;
        (2) on those rows, ASCII ``\W`` boundaries, a superset of the Unicode answer that equals it unless a
        keyword touches a non-ASCII character; (3) on rows with non-ASCII text, find such contacts;
        (4) only there, the exact Unicode pattern.
        """
        column = self.column or frame.text_column
        text = frame.text(column)
        flag = "(?:" if self.case_sensitive else "(?i:"
        mask = _bool_mask(
            pc.match_substring_regex(text, pattern=flag + "|".join(map(_re2_escape, self.keywords)) + ")")
        )
        if not self.whole_word or not any(lead or trail for lead, trail in self._boundary_groups()):
            return mask
        rows = np.flatnonzero(mask)
        found = _match_rows(text, rows, self.re2_pattern(r"\W"))
        mask[rows] = found
        rows = rows[found & ~frame.is_ascii(column)[rows]]
        rows = rows[_match_rows(text, rows, self._next_to_non_ascii_pattern())]
        mask[rows] = _match_rows(text, rows, self.re2_pattern())
        return mask

    def python_pattern(self) -> str:
        """The equivalent Python ``re`` pattern, with lookarounds, used only for highlighting spans.

        Keywords are escaped literals, so the pattern has no quantifiers and cannot backtrack: matching costs
        at most (text length x total keyword length).  Longer keywords come first so that the longest
        keyword at a position is highlighted.
        """
        alternatives = []
        for keyword in sorted(self.keywords, key=len, reverse=True):
            body = re.escape(keyword)
            if self.whole_word:
                if _is_word_char(keyword[0]):
                    body = r"(?<!\w)" + body
                if _is_word_char(keyword[-1]):
                    body += r"(?!\w)"
            alternatives.append(body)
        return ("" if self.case_sensitive else "(?i)") + "|".join(alternatives)

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        return _mask_votes(self._mask(frame), self.label)


@dataclass(frozen=True)
class RegexLF(LabelingFunction):
    """Vote ``label`` where the regular expression ``pattern`` matches anywhere in the text.

    Patterns use RE2 syntax (close to Python's, without lookarounds or backreferences), which runs in
    linear time whatever the pattern.  Invalid or unsupported patterns raise ValueError at construction.

    Examples
    --------
    >>> lf = RegexLF("check out", 1, r"check.*out")
    >>> lf.apply(pd.DataFrame({"text": ["Check it out", "checkout", "out, check"]})).tolist()
    [1, 1, -1]
    """

    kind: ClassVar[str] = "regex"

    name: str
    label: int
    pattern: str
    case_sensitive: bool = False
    column: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        self._validate_common(label_required=True)
        prefix = self._name_prefix()
        _check_text(self.pattern, f"{prefix}: pattern", max_chars=MAX_PATTERN_CHARS)
        _check_bool(self.case_sensitive, f"{prefix}: case_sensitive")
        _check_optional_column(self.column, f"{prefix}: column")
        # The raw pattern must compile on its own before it is wrapped: "a)(b" is invalid, "(?:a)(b)" is not.
        _check_re2(self.pattern, f"{prefix}: pattern")
        try:
            _check_re2(self.re2_pattern(), f"{prefix}: pattern")
        except ValueError:
            # Only an unterminated \Q quote swallows the closing parenthesis of the wrapper.
            raise ValueError(
                f"{prefix}: pattern {self.pattern!r} cannot take the case flag; end \\Q with \\E."
            ) from None

    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Columns this LF reads: its own ``column`` or the text column."""
        return (self.column or text_column,)

    def re2_pattern(self) -> str:
        """The pattern with the case flag applied inline (so the same string serves matching and spans)."""
        return ("(?:" if self.case_sensitive else "(?i:") + self.pattern + ")"

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        text = frame.text(self.column or frame.text_column)
        return _mask_votes(_bool_mask(pc.match_substring_regex(text, pattern=self.re2_pattern())), self.label)


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
class ColumnRuleLF(LabelingFunction):
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
class VoteColumnLF(LabelingFunction):
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


@dataclass(frozen=True)
class PythonLF(LabelingFunction):
    """An LF written in Python: ``func(row)`` returns a bool (True votes ``label``) or a vote (int or None).

    ``row`` is a mapping of column name to value that also allows attribute access (``row.text``).
    For notebooks only: a PythonLF cannot be saved as JSON, and nothing in Epoxy Studio turns text into code.
    It runs one Python call per row, so it is far slower than the declarative LFs.

    Examples
    --------
    >>> lf = PythonLF("short", 0, lambda row: len(row.text.split()) < 3)
    >>> lf.apply(pd.DataFrame({"text": ["so good", "not short at all"]})).tolist()
    [0, -1]
    """

    kind: ClassVar[str] = "python"

    name: str
    label: int | None
    func: Callable[[Any], Any]
    enabled: bool = True

    def __post_init__(self) -> None:
        self._validate_common(label_required=False)
        if not callable(self.func):
            raise ValueError(f"{self._name_prefix()}: func must be callable, got {type(self.func).__name__}.")

    def __call__(self, row: Any) -> Any:
        """Call the wrapped function on one row (handy for trying an LF out); a plain dict gets ``row.name`` access."""
        return self.func(_Row(row) if isinstance(row, dict) and not isinstance(row, _Row) else row)

    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Unknown in advance: a PythonLF may read any column, so none is checked up front."""
        return ()

    def _vote(self, result: Any, index: int) -> int:
        if result is None:
            return ABSTAIN
        if isinstance(result, bool | np.bool_):
            if self.label is None:
                raise ValueError(f"{self._name_prefix()} returns true/false, so it needs a label to vote.")
            return self.label if result else ABSTAIN
        if isinstance(result, int | np.integer):
            return int(result)
        raise ValueError(
            f"{self._name_prefix()} returned {result!r:.40} on row {index}; return a bool, a class index, -1 or None."
        )

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        votes = np.empty(len(frame.df), dtype=np.int64)
        for i, row in enumerate(frame.rows()):
            try:
                result = self.func(row)
            except Exception as exc:
                # Name the LF and row: a bare KeyError from deep in user code is hard to place in the UI.
                raise ValueError(f"{self._name_prefix()} failed on row {i}: {exc!r}") from exc
            votes[i] = self._vote(result, i)
        return votes


def labeling_function(
    name: str | Callable[[Any], Any] | None = None, label: int | None = None, enabled: bool = True
) -> Any:
    """Snorkel-style decorator turning ``row -> bool | int`` into a :class:`PythonLF`.

    Parameters
    ----------
    name : str, optional
        LF name; defaults to the function's name.
    label : int, optional
        Class voted when the function returns True.  Not needed when it returns class indices.
    enabled : bool, default True

    Examples
    --------
    >>> @labeling_function(label=1)
    ... def has_link(row):
    ...     return "http" in row.text
    >>> has_link.name, has_link.apply(pd.DataFrame({"text": ["see http://x", "no"]})).tolist()
    ('has_link', [1, -1])
    """
    if callable(name):  # used bare: @labeling_function
        return PythonLF(name=name.__name__, label=label, func=name, enabled=enabled)

    def decorate(func: Callable[[Any], Any]) -> PythonLF:
        return PythonLF(name=name or func.__name__, label=label, func=func, enabled=enabled)

    return decorate


# --------------------------------------------------------------------------------------------------------------
# Applying LFs
# --------------------------------------------------------------------------------------------------------------


def _checked_votes(lf: LabelingFunction, frame: _Frame, cardinality: int | None) -> npt.NDArray[np.int64]:
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


def enabled_lfs(lfs: Iterable[LabelingFunction]) -> list[LabelingFunction]:
    """The LFs whose ``enabled`` flag is set, in their original order.

    >>> [lf.name for lf in enabled_lfs([KeywordLF("a", 0, ["a"]), KeywordLF("b", 0, ["b"], enabled=False)])]
    ['a']
    """
    return [lf for lf in lfs if lf.enabled]


def _check_unique_names(lfs: Sequence[LabelingFunction], where: str = "") -> None:
    seen: set[str] = set()
    for lf in lfs:
        if lf.name in seen:
            raise ValueError(f"Duplicate LF name {lf.name!r}{where}: every LF needs a unique name.")
        seen.add(lf.name)


def apply_lfs(
    lfs: Iterable[LabelingFunction],
    df: pd.DataFrame,
    text_column: str = "text",
    cardinality: int | None = None,
) -> LabelMatrix:
    """Apply LFs to every row and stack their votes into a label matrix.

    Parameters
    ----------
    lfs : iterable of LabelingFunction
        Applied in the order given, one column each, enabled or not (filter with :func:`enabled_lfs`).
    df : pandas.DataFrame
        The data.
    text_column : str, default "text"
        The column keyword and regex LFs read unless they name another.
    cardinality : int, optional
        Number of classes.  When given, LF labels and imported votes must lie in ``0..cardinality-1``.

    Returns
    -------
    numpy.ndarray of shape (len(df), n_lfs)
        int8 label matrix (int16 above 127 classes), checked by :func:`~epoxy_core.labels.check_label_matrix`.

    Raises
    ------
    ValueError
        On duplicate LF names, a missing column (the message lists the available ones), a label or vote
        outside the classes, or a rule that does not fit its column's type.

    Examples
    --------
    >>> df = pd.DataFrame({"text": ["check out my channel", "great song"]})
    >>> apply_lfs([KeywordLF("my", 1, ["my"]), KeywordLF("song", 0, ["song"])], df, cardinality=2).tolist()
    [[1, -1], [-1, 0]]
    """
    lfs = list(lfs)
    _check_frame(df)
    for i, lf in enumerate(lfs):
        if not isinstance(lf, LabelingFunction):
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
    for lf in lfs:
        _check_columns_present(lf, df, text_column)

    frame = _Frame(df, text_column, cardinality)
    L = np.full((len(df), len(lfs)), ABSTAIN, dtype=np.int16)
    for j, lf in enumerate(lfs):
        L[:, j] = _checked_votes(lf, frame, cardinality)
    return check_label_matrix(L, cardinality, n_rows=len(df))


# --------------------------------------------------------------------------------------------------------------
# Highlighting
# --------------------------------------------------------------------------------------------------------------

_PRIVATE_USE = range(0xE000, 0xF8FF)


def _markers(texts: Sequence[str]) -> tuple[str, str]:
    """Two private-use characters that occur in none of ``texts`` (to bracket matches in a rewrite)."""
    found: list[str] = []
    for code in _PRIVATE_USE:
        char = chr(code)
        if not any(char in text for text in texts):
            found.append(char)
            if len(found) == 2:
                return found[0], found[1]
    raise ValueError("The texts use every private-use character; cannot compute highlight spans.")


# Texts up to this long may be rescanned without a replacement cap (see _re2_spans); the worst case is
# quadratic in the length, ~30 ms at 4,000 characters, against 4.5 s measured at 50,000.
_UNCAPPED_SPAN_CHARS = 4000


def _bracket(pattern: str, texts: list[str | None], marks: tuple[str, str], cap: int | None) -> list[str | None]:
    """Rewrite ``texts`` with every match of ``pattern`` wrapped in the two marker characters."""
    return pc.replace_substring_regex(
        pa.array(texts, type=pa.large_string()),
        pattern=pattern,
        replacement=f"{marks[0]}\\0{marks[1]}",
        max_replacements=cap,
    ).to_pylist()


def _parse_brackets(text: str, marks: tuple[str, str], max_spans: int) -> tuple[list[tuple[int, int]], bool]:
    """Character spans of the bracketed matches in ``text``, and whether an empty match occurred."""
    open_mark, close_mark = marks
    found: list[tuple[int, int]] = []
    position, markers_seen, saw_empty = 0, 0, False
    while len(found) < max_spans:
        start = text.find(open_mark, position)
        if start < 0:
            break
        end = text.find(close_mark, start + 1)
        original_start = start - 2 * markers_seen
        if end > start + 1:
            found.append((original_start, original_start + end - start - 1))
        else:  # zero-length matches have nothing to highlight
            saw_empty = True
        markers_seen += 1
        position = end + 1
    return found, saw_empty


def _re2_spans(pattern: str, texts: list[str | None], max_spans: int) -> list[list[tuple[int, int]]]:
    """Spans of RE2 matches, found by rewriting each match with marker characters around it.

    Cost is what makes this subtle.  An uncapped rewrite (RE2's GlobalReplace) is quadratic for patterns like
    ``a.*b|a`` on "aaaa...": every one-character match first scans to the end for a "b" (4.5 s on 50,000
    characters).  Capping the rewrite at ``max_spans`` replacements bounds the cost at
    O(len(text) * max_spans).  But pyarrow's capped rewrite does not step past a zero-length match, so after
    the first one it only repeats it: the spans found before it are right, later ones are lost.  Such texts are
    rescanned uncapped when short (at most ``_UNCAPPED_SPAN_CHARS``); longer ones keep the spans found
    before the empty match.  Only patterns that can match the empty string (``x*``, ``(spam)?``) are affected.
    Walking the rewritten string maps marker positions to character (not byte) offsets of the original.
    """
    marks = _markers([t for t in texts if t is not None])
    spans: list[list[tuple[int, int]]] = []
    for original, text in zip(texts, _bracket(pattern, texts, marks, max_spans), strict=True):
        found: list[tuple[int, int]] = []
        if text is not None:
            found, saw_empty = _parse_brackets(text, marks, max_spans)
            if saw_empty and len(found) < max_spans and original is not None:
                if len(original) <= _UNCAPPED_SPAN_CHARS:
                    uncapped = _bracket(pattern, [original], marks, None)[0]
                    found = _parse_brackets(uncapped, marks, max_spans)[0] if uncapped is not None else []
        spans.append(found)
    return spans


def match_spans(lf: LabelingFunction, texts: Sequence[str | None], max_spans: int = 20) -> list[list[tuple[int, int]]]:
    """Character spans ``(start, end)`` of an LF's matches in a few texts, for highlighting in the UI.

    Parameters
    ----------
    lf : LabelingFunction
        A :class:`KeywordLF` or :class:`RegexLF`; any other LF gets an empty list per text.
    texts : sequence of str
        Texts to search (those of the LF's column).  None/NaN gives no spans; other values go through ``str``.
    max_spans : int, default 20
        At most this many spans per text.

    Returns
    -------
    list of list of (int, int)
        Per text, non-overlapping spans in order, as Python string offsets (``text[start:end]`` is the match).

    Notes
    -----
    Regex spans come from RE2 (see :func:`_re2_spans`), never from Python's backtracking ``re``.  Keyword spans
    use Python's ``re`` with lookarounds for whole words: the keywords are escaped literals without quantifiers,
    so matching is linear in the text length times the total keyword length and cannot blow up.

    Examples
    --------
    >>> match_spans(KeywordLF("my", 1, ["my"]), ["My my, myself", None])
    [[(0, 2), (3, 5)], []]
    """
    if isinstance(max_spans, bool) or not isinstance(max_spans, int) or max_spans < 0:
        raise ValueError(f"max_spans must be a non-negative integer, got {max_spans!r}.")
    cleaned = [None if _is_missing_scalar(t) else _safe_str(t) for t in texts]
    if max_spans == 0 or not isinstance(lf, KeywordLF | RegexLF):
        return [[] for _ in cleaned]
    if isinstance(lf, RegexLF):
        return _re2_spans(lf.re2_pattern(), cleaned, max_spans)
    compiled = re.compile(lf.python_pattern())
    spans: list[list[tuple[int, int]]] = []
    for text in cleaned:
        found: list[tuple[int, int]] = []
        if text is not None:
            for match in compiled.finditer(text):
                found.append(match.span())
                if len(found) == max_spans:
                    break
        spans.append(found)
    return spans


# --------------------------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------------------------

_SERIALISABLE: dict[str, type[LabelingFunction]] = {
    cls.kind: cls for cls in (KeywordLF, RegexLF, ColumnRuleLF, VoteColumnLF)
}


def _init_fields(cls: type[LabelingFunction]) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]


def lf_to_dict(lf: LabelingFunction) -> dict[str, Any]:
    """A JSON-ready dict of ``lf``: ``{"type": ..., <every constructor field>}``.

    Raises
    ------
    ValueError
        For a :class:`PythonLF` (code is never serialised) or an unknown LF class.

    Examples
    --------
    >>> lf_to_dict(VoteColumnLF("person", "person_vote"))
    {'type': 'vote_column', 'name': 'person', 'column': 'person_vote', 'enabled': True}
    """
    if isinstance(lf, PythonLF):
        raise ValueError(
            f"PythonLF {lf.name!r} wraps Python code and cannot be saved as JSON; rewrite it as a keyword, regex "
            "or column rule LF, or store its votes in a column and use VoteColumnLF."
        )
    if type(lf) not in _SERIALISABLE.values():
        raise ValueError(f"Cannot serialise LF of type {type(lf).__name__}.")
    out: dict[str, Any] = {"type": lf.kind}
    for f in _init_fields(type(lf)):
        value = getattr(lf, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def lf_from_dict(data: Any) -> LabelingFunction:
    """Build an LF from :func:`lf_to_dict` output, validating every field.

    Raises
    ------
    ValueError
        Naming the field: unknown type, unknown or missing field, wrong value type, over-long pattern, ...
    """
    if not isinstance(data, dict):
        raise ValueError(f"an LF must be a JSON object, got {type(data).__name__}.")
    kind = data.get("type")
    if kind == PythonLF.kind:
        raise ValueError("type 'python' cannot be loaded: LFs written as code are never read from JSON.")
    if not isinstance(kind, str) or kind not in _SERIALISABLE:
        raise ValueError(f"field 'type' must be one of {', '.join(map(repr, _SERIALISABLE))}; got {kind!r:.60}.")
    cls = _SERIALISABLE[kind]
    fields = _init_fields(cls)
    names = {f.name for f in fields}
    unknown = sorted(str(k) for k in data if k != "type" and k not in names)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))} for type {kind!r}.")
    missing = [
        f.name
        for f in fields
        if f.name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(map(repr, missing))} for type {kind!r}.")
    return cls(**{k: v for k, v in data.items() if k != "type"})


def lfs_to_json(lfs: Iterable[LabelingFunction]) -> str:
    """Serialise LFs as ``{"format": "epoxy-lfs", "version": 1, "lfs": [...]}``.

    Raises
    ------
    ValueError
        For a :class:`PythonLF`, duplicate names or more than the allowed number of LFs.
    """
    lfs = list(lfs)
    if len(lfs) > MAX_LFS:
        raise ValueError(f"{len(lfs):,} LFs; at most {MAX_LFS:,} can be saved in one file.")
    _check_unique_names(lfs)
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "lfs": [lf_to_dict(lf) for lf in lfs]}
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in a JSON object.")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in an LF file.")


def lfs_from_json(text: str | bytes, *, max_bytes: int = 1_000_000) -> list[LabelingFunction]:
    """Load LFs saved by :func:`lfs_to_json`, treating the input as untrusted.

    Parameters
    ----------
    text : str or bytes
        The JSON document (bytes must be UTF-8).
    max_bytes : int, default 1_000_000
        Larger inputs are refused before parsing.

    Returns
    -------
    list of LabelingFunction

    Raises
    ------
    ValueError
        For input that is too large, not UTF-8, not JSON, nested too deeply, of another format or a newer
        version, with too many LFs or duplicate names, or an invalid LF (the message names ``LF <index>`` and
        the field).
    """
    if isinstance(text, bytes | bytearray):
        if len(text) > max_bytes:
            raise ValueError(f"The LF file is {len(text):,} bytes; the limit is {max_bytes:,}.")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"The LF file is not UTF-8 text (bad byte at position {exc.start}).") from None
    elif isinstance(text, str):
        # Characters never outnumber UTF-8 bytes, so this cheap test bounds the encode below.
        if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise ValueError(f"The LF file is larger than the limit of {max_bytes:,} bytes.")
    else:
        raise ValueError(f"LF JSON must be str or bytes, got {type(text).__name__}.")

    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("The LF file is nested too deeply to be an LF file.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"The LF file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except ValueError as exc:  # duplicate keys, NaN, integers with thousands of digits
        raise ValueError(f"The LF file is not acceptable JSON: {exc}") from None

    if not isinstance(document, dict):
        raise ValueError(f"The LF file must hold a JSON object, got {type(document).__name__}.")
    if document.get("format") != FORMAT_NAME:
        raise ValueError(
            f"Not an Epoxy LF file: field 'format' must be {FORMAT_NAME!r}, got {document.get('format')!r:.60}."
        )
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"Field 'version' must be an integer, got {version!r:.60}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"The LF file has version {version}, newer than this Epoxy Studio reads ({FORMAT_VERSION}); upgrade."
        )
    if version < 1:
        raise ValueError(f"Field 'version' must be at least 1, got {version}.")
    unknown = sorted(set(document) - {"format", "version", "lfs"})
    if unknown:
        raise ValueError(f"Unknown top-level field(s) {', '.join(map(repr, unknown))} in the LF file.")
    items = document.get("lfs")
    if not isinstance(items, list):
        raise ValueError(f"Field 'lfs' must be a list of LFs, got {type(items).__name__}.")
    if len(items) > MAX_LFS:
        raise ValueError(f"The LF file holds {len(items):,} LFs; the limit is {MAX_LFS:,}.")

    lfs: list[LabelingFunction] = []
    for index, item in enumerate(items):
        try:
            lfs.append(lf_from_dict(item))
        except ValueError as exc:
            name = item.get("name") if isinstance(item, dict) else None
            label = f"LF {index}" + (f" ({name!r:.60})" if isinstance(name, str) else "")
            raise ValueError(f"{label}: {exc}") from None
    _check_unique_names(lfs, where=" in the LF file")
    return lfs
