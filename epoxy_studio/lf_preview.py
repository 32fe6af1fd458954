"""What the LF page shows about a draft LF and about the whole set: statistics and sample rows.

All numbers come from ``epoxy_core.analysis.lf_summary``; this module only picks rows to show and builds
their HTML from escaped pieces (see :mod:`epoxy_studio.highlight`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from epoxy_core import analysis
from epoxy_core.data import Dataset
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import lf_from_dict, match_spans
from epoxy_studio import compute
from epoxy_studio.highlight import highlight_html, rows_table_html

__all__ = ["draft_summary", "rows_html", "sample", "set_summary"]

SUMMARY_COLUMNS = ["polarity", "coverage", "overlaps", "conflicts", "correct", "incorrect", "empirical_accuracy"]


def set_summary(dataset: Dataset, lf_dicts: list[dict]) -> pd.DataFrame:
    """``lf_summary`` of every LF (enabled or not) on its own votes, plus an ``enabled`` column.

    Overlaps and conflicts are computed among the *enabled* LFs, which are the ones the label model sees;
    a disabled LF's overlap is with the enabled ones.
    """
    if not lf_dicts:
        return pd.DataFrame()
    L = compute.label_matrix(dataset, lf_dicts)
    names = [d["name"] for d in lf_dicts]
    summary = analysis.lf_summary(L, names=names, y=dataset.y, class_names=dataset.class_names)
    enabled = np.array([d.get("enabled", True) for d in lf_dicts])
    if (~enabled).any() and enabled.any():
        # Recompute overlaps/conflicts of each disabled LF against the enabled ones only.
        for j in np.flatnonzero(~enabled):
            cols = [*np.flatnonzero(enabled), j]
            part = analysis.lf_summary(L[:, cols], names=[names[c] for c in cols])
            summary.loc[names[j], ["overlaps", "conflicts"]] = part.loc[names[j], ["overlaps", "conflicts"]].values
        on = list(np.flatnonzero(enabled))
        part = analysis.lf_summary(L[:, on], names=[names[c] for c in on])
        summary.loc[part.index, ["overlaps", "conflicts"]] = part[["overlaps", "conflicts"]].values
    summary.insert(0, "enabled", enabled)
    return summary[["enabled", *[c for c in SUMMARY_COLUMNS if c in summary.columns]]]


def draft_summary(dataset: Dataset, draft: dict, others: list[dict]) -> tuple[pd.Series, np.ndarray]:
    """Statistics of the draft LF among the other enabled LFs, and its votes."""
    others = [d for d in others if d["name"] != draft["name"] and d.get("enabled", True)]
    L = compute.label_matrix(dataset, [*others, draft])
    names = [*(d["name"] for d in others), draft["name"]]
    summary = analysis.lf_summary(L, names=names, y=dataset.y, class_names=dataset.class_names)
    return summary.iloc[-1], L[:, -1]


def rows_html(dataset: Dataset, draft: dict, rows: np.ndarray, votes: np.ndarray) -> str:
    """An HTML table of ``rows`` with the draft's matches highlighted, its vote and the gold label."""
    lf = lf_from_dict(draft)
    column = draft.get("column") if draft["type"] in ("keyword", "regex") and draft.get("column") else None
    texts = (
        [dataset.texts[i] for i in rows]
        if column is None
        else ["" if pd.isna(v) else str(v) for v in dataset.df[column].to_numpy()[rows]]
    )
    spans = match_spans(lf, texts) if draft["type"] in ("keyword", "regex") else [[] for _ in texts]
    names = dataset.class_names
    cells = []
    for row, text, found in zip(rows, texts, spans, strict=True):
        gold = dataset.y[row]
        cells.append(
            [
                str(int(row)),
                highlight_html(text, found),
                _escape(names[votes[row]] if votes[row] != ABSTAIN else "abstain"),
                _escape(names[gold] if gold != ABSTAIN else "—"),
            ]
        )
    return rows_table_html(cells, ["row", "text", "vote", "dev label"])


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def sample(mask: np.ndarray, n: int = 8, seed: int = 0) -> np.ndarray:
    """Up to ``n`` row indices where ``mask`` holds, a seeded sample so the list does not flicker.

    >>> sample(np.array([True, False, True, True]), n=2).tolist()
    [2, 3]
    """
    rows = np.flatnonzero(mask)
    if len(rows) > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=n, replace=False))
    return rows
