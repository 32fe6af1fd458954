"""What the LF editor shows about a draft: its statistics and sample rows with its matches highlighted.

Highlighting is bounded by what is shown, not by the data: it looks at a window of at most
:data:`HIGHLIGHT_WINDOW` characters of each shown row, placed on the first match (found by RE2, linear time),
so a 1,000,000-character cell costs what a short one does.  Anything highlighting cannot do (a pattern whose
spans RE2 cannot rewrite) leaves the text unmarked with a note, never an exception box.  A lookup LF is
highlighted through the keyword LF of just the terms found in the shown rows (``LookupLF.keyword_lf_for``),
so a list of 20,000 terms costs what a few keywords do; a similarity LF marks its example rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from epoxy_core.data import Dataset
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import BaseLF, KeywordLF, LookupLF, RegexLF, SimilarityLF, match_spans
from epoxy_core.session import DraftPreview
from epoxy_studio import render

__all__ = ["HIGHLIGHT_WINDOW", "metrics", "rows_html", "sample", "text_window"]

HIGHLIGHT_WINDOW = 600
"""Characters of a row that highlighting looks at (the display shows 400 of them)."""
_LEAD = 40  # characters shown before the first match
_TEXT_KINDS = (KeywordLF, RegexLF, LookupLF)  # LFs that search a text column (and may name another one)
_TERM_SCAN_CHARS = 20_000  # characters of each shown row in which a lookup LF's terms are looked for


def sample(mask: np.ndarray, n: int = 8, seed: int = 0) -> np.ndarray:
    """Up to ``n`` row indices where ``mask`` holds, a seeded sample so the list does not flicker.

    >>> sample(np.array([True, False, True, True]), n=2).tolist()
    [2, 3]
    """
    rows = np.flatnonzero(mask)
    if len(rows) > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=n, replace=False))
    return rows


def text_window(lf: BaseLF, text: str, size: int = HIGHLIGHT_WINDOW) -> tuple[str, int]:
    """A piece of ``text`` of at most ``size`` characters that holds ``lf``'s first match; and where it starts.

    >>> from epoxy_core.lf import KeywordLF
    >>> window, start = text_window(KeywordLF("k", 0, ["needle"]), "x" * 5000 + " needle", size=100)
    >>> start, "needle" in window
    (4960, True)
    """
    if len(text) <= size:
        return text, 0
    start = 0
    if isinstance(lf, LookupLF):
        lf = lf.keyword_lf_for([text[:_TERM_SCAN_CHARS]])
    if isinstance(lf, KeywordLF | RegexLF):
        # Lone surrogates become "?" one for one, so character offsets agree with the original.
        safe = text.encode("utf-8", "replace").decode("utf-8")
        found = pc.find_substring_regex(pa.array([safe], pa.large_string()), pattern=lf.re2_pattern())[0].as_py()
        if found is not None and found > 0:  # a byte offset: count the characters before it
            start = max(0, len(safe.encode("utf-8")[:found].decode("utf-8", "ignore")) - _LEAD)
    return text[start : start + size], start


def _cell_texts(dataset: Dataset, lf: BaseLF, rows: np.ndarray) -> list[str]:
    column = getattr(lf, "column", None) if isinstance(lf, _TEXT_KINDS) else None
    if column is None:
        return [dataset.texts[i] for i in rows]
    return [render.cell_text(v) for v in dataset.df[column].to_numpy()[rows]]


def rows_html(dataset: Dataset, lf: BaseLF, rows: np.ndarray, votes: np.ndarray) -> str:
    """An HTML table of ``rows``: text with ``lf``'s matches highlighted, its vote, the dev label.

    Column rules and vote columns show the value of their column beside the text.
    """
    names = dataset.class_names
    full = _cell_texts(dataset, lf, rows)
    # A lookup LF: the terms found in these rows, once, rather than the whole list per row.
    marker = lf.keyword_lf_for([text[:_TERM_SCAN_CHARS] for text in full]) if isinstance(lf, LookupLF) else lf
    windows = [text_window(marker, text) if marker is not None else (text[:HIGHLIGHT_WINDOW], 0) for text in full]
    try:
        spans = match_spans(marker, [window for window, _ in windows]) if marker is not None else [[] for _ in full]
        note = ""
    except (ValueError, pa.ArrowException):  # e.g. RE2 cannot rewrite a pattern made only of "\b"
        spans = [[] for _ in windows]
        note = "Matches are not highlighted: this pattern's matches cannot be located in the text."
    rule_column = getattr(lf, "column", None) if not isinstance(lf, _TEXT_KINDS) else None
    headers = ["row", "text", *([rule_column] if rule_column else []), "vote", "dev label"]
    examples = set(lf.rows) if isinstance(lf, SimilarityLF) else set()
    cells = []
    for row, (window, start), found, text in zip(rows, windows, spans, full, strict=True):
        gold = dataset.y[row]
        cut_after = start + len(window) < len(text)
        cell = [str(int(row)), render.highlight_html(window, found, cut_before=start > 0, cut_after=cut_after)]
        if rule_column:
            cell.append(_escape(render.cell_text(dataset.df[rule_column].iloc[int(row)])))
        vote = names[votes[row]] if votes[row] != ABSTAIN else "abstain"
        cell.append(_escape(vote + (" (example)" if int(row) in examples else "")))
        cell.append(_escape(names[gold] if gold != ABSTAIN else "—"))
        cells.append(cell)
    table = render.rows_table_html(cells, headers)
    return table + (f"<p style='font-size:0.8rem;color:#666'>{_escape(note)}</p>" if note else "")


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def metrics(preview: DraftPreview) -> None:
    """Coverage, overlaps, conflicts and dev accuracy of a draft, as four metrics."""
    a, b, c, d = st.columns(4)
    a.metric("Coverage", f"{preview.coverage:.1%}")
    b.metric("Overlaps", f"{preview.overlaps:.1%}")
    c.metric("Conflicts", f"{preview.conflicts:.1%}")
    shown = "—" if np.isnan(preview.accuracy) else f"{preview.accuracy:.1%}"  # NaN: it votes on no dev row
    d.metric(
        "Dev accuracy",
        shown,
        f"{preview.correct} ✓ / {preview.incorrect} ✗",
        delta_color="off",
        delta_arrow="off",
    )
