"""Text LFs: keywords and RE2 regular expressions, matched vectorised with pyarrow."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

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
    case_sensitive : bool, default False
    column : str, optional
        Column to search; None means the dataset's text column.
    enabled : bool, default True

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
