"""Where an LF matches inside a text, for highlighting in the UI."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from epoxy_core._cells import is_missing
from epoxy_core.lf.base import BaseLF
from epoxy_core.lf.frame import (
    _safe_str,
)
from epoxy_core.lf.text import KeywordLF, RegexLF

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


def match_spans(lf: BaseLF, texts: Sequence[str | None], max_spans: int = 20) -> list[list[tuple[int, int]]]:
    """Character spans ``(start, end)`` of an LF's matches in a few texts, for highlighting in the UI.

    Parameters
    ----------
    lf : BaseLF
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
    cleaned = [None if is_missing(t) else _safe_str(t) for t in texts]
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
