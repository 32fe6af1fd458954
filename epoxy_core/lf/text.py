"""Text LFs: keywords and RE2 regular expressions, matched vectorised with pyarrow."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc

from epoxy_core.lf._checks import (
    _RE2_NOT_WORD,
    MAX_KEYWORD_CHARS_TOTAL,
    MAX_KEYWORDS,
    MAX_PATTERN_CHARS,
    _check_bool,
    _check_optional_column,
    _check_re2,
    _check_text,
    _is_word_char,
    _re2_escape,
)
from epoxy_core.lf.base import BaseLF
from epoxy_core.lf.frame import (
    _bool_mask,
    _Frame,
    _mask_votes,
    _match_rows,
)

# --------------------------------------------------------------------------------------------------------------
# Literal-term matching, shared by KeywordLF and LookupLF
# --------------------------------------------------------------------------------------------------------------

# RE2 matches an alternation of literals with a lazily built DFA whose memory is capped (pyarrow uses RE2's
# default budget and offers no option).  Past the cap RE2 silently falls back to its NFA, which is orders of
# magnitude slower: measured on 100k comments, 20k random terms in chunks of 10,000 characters took 2.4 s,
# chunks of 15,000 characters took 71 s for a *single* chunk.  Terms are therefore matched in chunks of at
# most this many UTF-8 bytes, one pass each, well below that cliff.
_TERM_CHUNK_BYTES = 6000


def _term_chunks(terms: Sequence[str]) -> list[list[str]]:
    """Split ``terms`` into consecutive chunks of at most :data:`_TERM_CHUNK_BYTES` UTF-8 bytes (>= 1 term each).

    >>> [len(chunk) for chunk in _term_chunks(["x" * 4000, "y" * 4000, "z"])]
    [1, 2]
    """
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for term in terms:
        cost = len(term.encode("utf-8")) + 1
        if current and size + cost > _TERM_CHUNK_BYTES:
            chunks.append(current)
            current, size = [], 0
        current.append(term)
        size += cost
    if current:
        chunks.append(current)
    return chunks


def _boundary_groups(terms: Sequence[str], whole_word: bool) -> dict[tuple[bool, bool], list[str]]:
    """Terms keyed by (needs a word boundary before, needs one after)."""
    groups: dict[tuple[bool, bool], list[str]] = {}
    for term in terms:
        lead = whole_word and _is_word_char(term[0])
        trail = whole_word and _is_word_char(term[-1])
        groups.setdefault((lead, trail), []).append(term)
    return groups


def _case_flag(case_sensitive: bool) -> str:
    return "(?:" if case_sensitive else "(?i:"


def _terms_pattern(terms: Sequence[str], *, whole_word: bool, case_sensitive: bool, boundary: str) -> str:
    """One RE2 alternation that finds any of ``terms``, with ``boundary`` characters around whole words."""
    # Terms are grouped by which ends need a boundary, so each boundary class appears at most 4 times:
    # repeating the Unicode class once per term blows up RE2's DFA (measured: 11 one-letter keywords took
    # 10 s on 100k texts instead of 0.02 s).  The case flag covers only the terms, not the class.
    flag = _case_flag(case_sensitive)
    alternatives = []
    for (lead, trail), group in _boundary_groups(terms, whole_word).items():
        # RE2 has no lookarounds: the boundary character is consumed, which is harmless for a yes/no match
        # (RE2 tries every start) but is why highlighting uses a Python pattern instead.
        alternatives.append(
            (f"(?:^|{boundary})" if lead else "")
            + flag
            + "|".join(map(_re2_escape, group))
            + ")"
            + (f"(?:{boundary}|$)" if trail else "")
        )
    return "|".join(alternatives)


def _next_to_non_ascii_pattern(terms: Sequence[str], *, whole_word: bool, case_sensitive: bool) -> str:
    """RE2 pattern: a term whose boundary side touches a non-ASCII character."""
    flag = _case_flag(case_sensitive)
    parts = []
    for (lead, trail), group in _boundary_groups(terms, whole_word).items():
        body = flag + "|".join(map(_re2_escape, group)) + ")"
        if lead:
            parts.append(r"[^\x00-\x7f]" + body)
        if trail:
            parts.append(body + r"[^\x00-\x7f]")
    return "|".join(parts)


def _python_terms_pattern(terms: Sequence[str], *, whole_word: bool, case_sensitive: bool) -> str:
    """The Python ``re`` pattern with lookarounds that finds the same matches (for highlighting only)."""
    alternatives = []
    for term in sorted(terms, key=len, reverse=True):
        body = re.escape(term)
        if whole_word:
            if _is_word_char(term[0]):
                body = r"(?<!\w)" + body
            if _is_word_char(term[-1]):
                body += r"(?!\w)"
        alternatives.append(body)
    return ("" if case_sensitive else "(?i)") + "|".join(alternatives)


def _chunk_mask(
    frame: _Frame, column: str, rows: npt.NDArray[np.intp] | None, terms: list[str], whole_word: bool, cs: bool
) -> npt.NDArray[np.bool_]:
    r"""Which of ``rows`` (all rows if None) contain one of ``terms``, in stages that each look at fewer rows.

    One pass with the Unicode boundary class costs ~0.3 s per 100k comments (RE2's DFA for ``[^\pL\pN_]`` is
    large), against ~0.015 s for a plain substring search.  So: (1) substring search; (2) on those rows, ASCII
    ``\W`` boundaries, a superset of the Unicode answer that equals it unless a term touches a non-ASCII
    character; (3) on rows with non-ASCII text, find such contacts; (4) only there, the exact Unicode pattern.
    """
    text = frame.text(column)
    substring = _case_flag(cs) + "|".join(map(_re2_escape, terms)) + ")"
    if rows is None:
        mask = _bool_mask(pc.match_substring_regex(text, pattern=substring))
        base = np.arange(mask.size)
    else:
        mask = _match_rows(text, rows, substring)
        base = rows
    if not whole_word or not any(lead or trail for lead, trail in _boundary_groups(terms, whole_word)):
        return mask
    hit = np.flatnonzero(mask)
    found = _match_rows(text, base[hit], _terms_pattern(terms, whole_word=True, case_sensitive=cs, boundary=r"\W"))
    mask[hit] = found
    hit = hit[found & ~frame.is_ascii(column)[base[hit]]]
    hit = hit[_match_rows(text, base[hit], _next_to_non_ascii_pattern(terms, whole_word=True, case_sensitive=cs))]
    exact = _terms_pattern(terms, whole_word=True, case_sensitive=cs, boundary=_RE2_NOT_WORD)
    mask[hit] = _match_rows(text, base[hit], exact)
    return mask


def _terms_mask(
    frame: _Frame, column: str, terms: Sequence[str], *, whole_word: bool, case_sensitive: bool
) -> npt.NDArray[np.bool_]:
    """Rows of ``frame`` whose ``column`` contains any of ``terms`` (literal), chunk by chunk.

    Each chunk searches only the rows no earlier chunk matched once that saves work (a quarter of the rows
    matched already): gathering the remaining rows costs a copy, which pays only when many are dropped.
    """
    n = len(frame.df)
    mask = np.zeros(n, dtype=bool)
    remaining: npt.NDArray[np.intp] | None = None
    for chunk in _term_chunks(terms):
        if remaining is None and mask.sum() > n // 4:
            remaining = np.flatnonzero(~mask)
        if remaining is None:
            mask |= _chunk_mask(frame, column, None, chunk, whole_word, case_sensitive)
        else:
            mask[remaining] = _chunk_mask(frame, column, remaining, chunk, whole_word, case_sensitive)
            remaining = remaining[~mask[remaining]]
    return mask


# --------------------------------------------------------------------------------------------------------------
# LF types
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeywordLF(BaseLF):
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
        Keyword-only, as are the arguments after it.
    case_sensitive : bool, default False
    column : str, optional
        Column to search; None means the dataset's text column.
    enabled : bool, default True

    See Also
    --------
    epoxy_core.lf.lookup.LookupLF : the same matching for lists of thousands of terms (e.g. from a file).

    Examples
    --------
    >>> import pandas as pd
    >>> lf = KeywordLF("subscribe", 1, ["subscribe", "sub4sub"])
    >>> lf.apply(pd.DataFrame({"text": ["Please SUBSCRIBE!", "subscribers", None]})).tolist()
    [1, -1, -1]
    """

    kind: ClassVar[str] = "keyword"

    name: str
    label: int
    keywords: tuple[str, ...]
    _: KW_ONLY
    whole_word: bool = True
    case_sensitive: bool = False
    column: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        self._validate_common(label_required=True)
        prefix = self._name_prefix()
        keywords = _check_terms(
            self.keywords, f"{prefix}: keywords", max_terms=MAX_KEYWORDS, max_chars=MAX_KEYWORD_CHARS_TOTAL
        )
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
        return _terms_pattern(
            self.keywords, whole_word=self.whole_word, case_sensitive=self.case_sensitive, boundary=boundary
        )

    def python_pattern(self) -> str:
        """The equivalent Python ``re`` pattern, with lookarounds, used only for highlighting spans.

        Keywords are escaped literals, so the pattern has no quantifiers and cannot backtrack: matching costs
        at most (text length x total keyword length).  Longer keywords come first so that the longest
        keyword at a position is highlighted.
        """
        return _python_terms_pattern(self.keywords, whole_word=self.whole_word, case_sensitive=self.case_sensitive)

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        mask = _terms_mask(
            frame,
            self.column or frame.text_column,
            self.keywords,
            whole_word=self.whole_word,
            case_sensitive=self.case_sensitive,
        )
        return _mask_votes(mask, self.label)


def _check_terms(terms: Any, what: str, *, max_terms: int, max_chars: int) -> tuple[str, ...]:
    """``terms`` as a tuple of non-blank strings within the limits, or a ValueError naming the first problem."""
    if isinstance(terms, str) or not isinstance(terms, Sequence):
        raise ValueError(f"{what} must be a list of strings, got {terms!r:.60}.")
    terms = tuple(terms)
    if not terms:
        raise ValueError(f"{what} must not be empty; give at least one.")
    if len(terms) > max_terms:
        raise ValueError(f"{what}: {len(terms):,} given; the limit is {max_terms:,}.")
    total = 0
    for i, term in enumerate(terms):
        # Whitespace is kept on purpose (" my " is a legitimate keyword), but a blank term matches everywhere.
        _check_text(term, f"{what}[{i}]", max_chars=MAX_PATTERN_CHARS)
        total += len(term)
    if total > max_chars:
        raise ValueError(f"{what} total {total:,} characters; the limit is {max_chars:,}.")
    return terms


@dataclass(frozen=True)
class RegexLF(BaseLF):
    """Vote ``label`` where the regular expression ``pattern`` matches anywhere in the text.

    Patterns use RE2 syntax (close to Python's, without lookarounds or backreferences), which runs in
    linear time whatever the pattern.  Invalid or unsupported patterns raise ValueError at construction.

    Examples
    --------
    >>> import pandas as pd
    >>> lf = RegexLF("check out", 1, r"check.*out")
    >>> lf.apply(pd.DataFrame({"text": ["Check it out", "checkout", "out, check"]})).tolist()
    [1, 1, -1]
    """

    kind: ClassVar[str] = "regex"

    name: str
    label: int
    pattern: str
    _: KW_ONLY
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
