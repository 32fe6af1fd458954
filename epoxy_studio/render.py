"""Showing untrusted text safely: as literal text in Streamlit's markdown, and as escaped HTML in row tables.

Streamlit renders the body of ``st.caption``, ``st.subheader``, ``st.info`` / ``st.error``... and every widget
label as markdown: a class name ``![x](http://host/y.png)`` would make the browser fetch an image, ``**a**``
turns bold, ``:material/home:`` becomes an icon, ``http://...`` a link.  Text that comes from the data, an
upload or a user (class names, LF names, project names, label values quoted in error messages) therefore goes
through :func:`md` first, or through :func:`message` for a whole message.  Tables (``st.dataframe``) and
``st.text`` show text literally and need nothing.

HTML is built only by :func:`highlight_html` and :func:`rows_table_html`, from pieces passed through
:func:`html.escape`; the only tags are fixed strings of this module.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import streamlit as st

from epoxy_core._cells import is_missing

__all__ = [
    "cell_text",
    "highlight_html",
    "md",
    "merge_spans",
    "message",
    "rows_table_html",
    "user_message",
]

# Every ASCII punctuation character may be backslash-escaped in CommonMark, which makes it literal.  Escaping
# all of them also stops Streamlit's own extensions: ":material/x:" icons are found by a plain text search for
# ":material/" (defeated by "\:material\/"), emoji shortcodes, ":color[...]" directives and "$...$" math.
_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
# GFM turns bare URLs and e-mail addresses into links after parsing, escapes or not.  A word joiner (U+2060,
# invisible, zero width) between "http" and ":" (or before "@") breaks the pattern and changes nothing visible.
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|www)([:.])")


def md(text: Any) -> str:
    """``text`` as markdown that Streamlit shows literally, character for character.

    Examples
    --------
    >>> md("**spam** & ham_1")
    '\\\\*\\\\*spam\\\\*\\\\* \\\\& ham\\\\_1'
    >>> md("see http://x.org").replace("\u2060", "|")
    'see http|\\\\:\\\\/\\\\/x\\\\.org'
    """
    text = "" if text is None else str(text)
    text = _AUTOLINK.sub(lambda m: m[1] + _WORD_JOINER + m[2], text).replace("@", _WORD_JOINER + "@")
    # Line breaks stay line breaks (a bare newline would join the lines).
    return _PUNCTUATION.sub(r"\\\1", text).replace("\n", "  \n")


# Parenthesised library names such as "(DatasetSpec.class_names)" mean nothing to someone using the app.
_LIBRARY_NAME = re.compile(r"\s*\((?:[A-Z]\w*\.)+\w+(?:\(\))?\)")


def user_message(error: BaseException | str) -> str:
    """The text of a library error as an app user should read it: without names of Python identifiers.

    >>> user_message(ValueError("Without a label column, give the class names (DatasetSpec.class_names)."))
    'Without a label column, give the class names.'
    """
    return _LIBRARY_NAME.sub("", str(error))


def message(kind: str, text: Any) -> None:
    """Show ``text`` (or an exception's message) in a ``st.success`` / ``info`` / ``warning`` / ``error`` box.

    The text is shown literally (see :func:`md`) and without library identifiers (see :func:`user_message`).
    """
    if kind not in ("success", "info", "warning", "error"):
        raise ValueError(f"Unknown message kind {kind!r}.")
    getattr(st, kind)(md(user_message(text)))


def cell_text(value: Any) -> str:
    """A table cell as display text: empty for missing values, ``str`` for anything else (lists included).

    >>> cell_text(None), cell_text(float("nan")), cell_text(["a", "b"]), cell_text(3)
    ('', '', "['a', 'b']", '3')
    """
    # is_missing never asks numpy for the truth value of an array, unlike pd.isna on a list cell.
    return "" if is_missing(value) else value if isinstance(value, str) else str(value)


_MARK_OPEN = '<mark style="background:#ffe08a;padding:0 1px;border-radius:2px">'
_MARK_CLOSE = "</mark>"


def merge_spans(spans: Sequence[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Clip spans to ``[0, length]``, drop empty ones and merge overlaps, in order.

    >>> merge_spans([(5, 9), (0, 2), (1, 3), (8, 12), (20, 30)], 15)
    [(0, 3), (5, 12)]
    """
    clipped = sorted((max(0, int(s)), min(length, int(e))) for s, e in spans)
    merged: list[tuple[int, int]] = []
    for start, end in clipped:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight_html(
    text: str,
    spans: Sequence[tuple[int, int]],
    max_chars: int = 400,
    *,
    cut_before: bool = False,
    cut_after: bool = False,
) -> str:
    """Return ``text`` as escaped HTML with ``spans`` wrapped in ``<mark>``.

    Parameters
    ----------
    text : str
        The raw (untrusted) text.
    spans : sequence of (start, end)
        Character offsets into ``text`` to highlight.
    max_chars : int
        Longer texts are cut; the cut starts shortly before the first match so it stays visible.
    cut_before, cut_after : bool
        ``text`` is a window of a longer text that goes on before / after it: show an ellipsis there.

    Returns
    -------
    str
        HTML in which every character of ``text`` is escaped.

    Examples
    --------
    >>> highlight_html("<b>buy</b> now", [(3, 6)])
    '&lt;b&gt;<mark style="background:#ffe08a;padding:0 1px;border-radius:2px">buy</mark>&lt;/b&gt; now'
    """
    text = "" if text is None else str(text)
    spans = merge_spans(spans, len(text))
    start = 0
    if len(text) > max_chars and spans:
        start = max(0, min(spans[0][0] - 40, len(text) - max_chars))
    end = min(len(text), start + max_chars)
    pieces = ["…" if start > 0 or cut_before else ""]
    cursor = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        pieces.append(html.escape(text[cursor:s]))
        pieces.append(_MARK_OPEN + html.escape(text[s:e]) + _MARK_CLOSE)
        cursor = e
    pieces.append(html.escape(text[cursor:end]))
    if end < len(text) or cut_after:
        pieces.append("…")
    return "".join(pieces)


def rows_table_html(cells: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """A small HTML table; ``cells`` must already be safe HTML, ``headers`` are escaped here.

    >>> rows_table_html([["1", "a &amp; b"]], ["row", "text<"])[:60]
    '<table style="width:100%;border-collapse:collapse;font-size:'
    """
    head = "".join(
        f'<th style="text-align:left;border-bottom:1px solid #ccc;padding:4px">{html.escape(h)}</th>' for h in headers
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td style="vertical-align:top;border-bottom:1px solid #eee;padding:4px">{c}</td>' for c in row)
        + "</tr>"
        for row in cells
    )
    return (
        '<table style="width:100%;border-collapse:collapse;font-size:0.9rem">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
