"""What extension would add to a draft LF, shown while it is written: rows, coverage, dev accuracy, examples.

This is the one thing the LF editor shows that rule-only tools cannot: "at threshold t it extends to N more
rows (+x% coverage), dev accuracy of the extended votes a%", with sample extended rows beside the voted row
they copied and the similarity between them.  The figures are :class:`epoxy_core.analysis.ExtensionPreview`
(computed by the session's ``draft``); this module only draws them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from epoxy_core.analysis import ExtensionPreview
from epoxy_studio import render

__all__ = ["PREVIEW_THRESHOLDS", "headline", "show", "threshold_picker"]

PREVIEW_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(20))
"""Thresholds the editor offers for the preview (0.00 ... 0.95; the results page sets any in steps of 0.01)."""
_PICKER_KEY = "lfs.extension_threshold"


def threshold_picker(saved: float | None) -> float:
    """A slider for the preview's threshold, starting at the LF's saved one (the nearest offered value).

    The saved threshold itself is set on the results page; this one only previews.
    """
    start = 0.8 if saved is None else min(PREVIEW_THRESHOLDS, key=lambda t: abs(t - saved))
    if st.session_state.get(_PICKER_KEY) not in PREVIEW_THRESHOLDS:
        st.session_state[_PICKER_KEY] = start
    return float(
        st.select_slider(
            "Preview extension at threshold",
            options=PREVIEW_THRESHOLDS,
            key=_PICKER_KEY,
            help="Minimum cosine similarity for an abstaining row to copy the vote of its nearest voted row. "
            "This only previews; the LF's threshold is set on the results page.",
        )
    )


def _percent(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1%}"


def headline(preview: ExtensionPreview) -> str:
    """The preview in one sentence.

    >>> from types import SimpleNamespace
    >>> p = SimpleNamespace(threshold=0.8, added_rows=120, coverage_lift=0.012, added_accuracy=0.9,
    ...                     added_correct=9, added_incorrect=1)
    >>> headline(p)[:52]
    'At threshold 0.80 it extends to 120 more rows (+1.2%'
    >>> headline(p)[-40:]
    'of the extended votes 90.0% (9 ✓ / 1 ✗).'
    """
    text = f"At threshold {preview.threshold:.2f} it extends to {preview.added_rows:,} more rows"
    text += f" ({preview.coverage_lift:+.1%} coverage)"
    if preview.added_correct + preview.added_incorrect:
        text += f"; dev accuracy of the extended votes {_percent(preview.added_accuracy)}"
        text += f" ({preview.added_correct} ✓ / {preview.added_incorrect} ✗)."
    else:
        text += "; none of them has a dev label, so their accuracy is unknown."
    return text


def _samples(preview: ExtensionPreview, class_names: Sequence[str]) -> pd.DataFrame:
    table = preview.samples.copy()
    for column in ("vote", "dev_label"):  # class indices unless the session named them already
        if column in table and pd.api.types.is_integer_dtype(table[column]):
            table[column] = [class_names[v] if v >= 0 else "" for v in table[column].astype(int)]
    order = ["similarity", "text", "voter_text", "vote", "dev_label", "row", "nearest_voter"]
    table = table[[c for c in order if c in table.columns]]
    return table.rename(
        columns={
            "text": "extended row",
            "voter_text": "its nearest voted row",
            "vote": "copied vote",
            "dev_label": "dev label",
            "nearest_voter": "voter row",
        }
    )


def show(preview: ExtensionPreview | None, class_names: Sequence[str]) -> None:
    """Draw what extension adds (a caption when there is nothing to preview: no graph yet)."""
    if preview is None:
        st.caption("Build the embeddings and the graph on the data page to see what extension would add.")
        return
    a, b, c = st.columns(3)
    a.metric("Rows added", f"{preview.added_rows:,}")
    b.metric("Coverage", f"{preview.extended_coverage:.1%}", f"{preview.coverage_lift:+.1%}")
    c.metric("Dev accuracy of added votes", _percent(preview.added_accuracy))
    st.caption(render.md(headline(preview)))
    if not preview.exact:
        st.caption("Nearest voters from the neighbour graph; the exact search finishes in the background.")
    if len(preview.samples):
        st.dataframe(
            _samples(preview, class_names),
            hide_index=True,
            width="stretch",
            column_config={"similarity": st.column_config.NumberColumn(format="%.3f")},
        )
    elif preview.added_rows == 0:
        st.caption("No abstaining row is that close to a row it votes on: lower the threshold to extend it.")
