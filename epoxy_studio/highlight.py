"""Safe HTML for showing rows with an LF's matches highlighted.

User text is never trusted: every piece of text is passed through :func:`html.escape` before it is
wrapped in tags, and the only tags emitted are fixed strings from this module.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["highlight_html", "merge_spans", "rows_table_html"]

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


def highlight_html(text: str, spans: Sequence[tuple[int, int]], max_chars: int = 400) -> str:
    """Return ``text`` as escaped HTML with ``spans`` wrapped in ``<mark>``.

    Parameters
    ----------
    text : str
        The raw (untrusted) text.
    spans : sequence of (start, end)
        Character offsets into ``text`` to highlight.
    max_chars : int
        Longer texts are cut; the cut starts shortly before the first match so it stays visible.

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
    pieces = ["…" if start > 0 else ""]
    cursor = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        pieces.append(html.escape(text[cursor:s]))
        pieces.append(_MARK_OPEN + html.escape(text[s:e]) + _MARK_CLOSE)
        cursor = e
    pieces.append(html.escape(text[cursor:end]))
    if end < len(text):
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
