"""The data page's picture of the current dataset: its size, classes, dev and hand labels, and the first rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core.data import Dataset
from epoxy_studio import render

__all__ = ["HAND_LABEL_COLUMN", "preview_frame", "summary"]

HAND_LABEL_COLUMN = "hand label"
"""The column the preview adds (first) when some rows are hand-labelled; a clash with a user column is avoided."""

_PREVIEW_ROWS = 200


def _hand_column(dataset: Dataset) -> str:
    name = HAND_LABEL_COLUMN
    while name in dataset.df.columns:  # never shadow a column of the user's table
        name = f"({name})"
    return name


def preview_frame(dataset: Dataset, rows: np.ndarray | None = None) -> pd.DataFrame:
    """Rows of the table (the first 200 by default), with a "hand label" column first when there are any.

    >>> from epoxy_core.data import DatasetSpec, prepare_dataset
    >>> frame = pd.DataFrame({"text": ["a", "b"], "label": ["x", None]})
    >>> data = prepare_dataset(frame, DatasetSpec("text", "label", class_names=["x", "y"])).with_hand_labels({1: 1})
    >>> preview_frame(data).iloc[:, 0].tolist()
    ['', 'y']
    """
    rows = np.arange(min(len(dataset), _PREVIEW_ROWS)) if rows is None else np.asarray(rows, dtype=np.int64)
    frame = dataset.df.iloc[rows]
    if dataset.hand_labeled.any():
        names = dataset.class_names
        hand = [names[dataset.y[r]] if dataset.hand_labeled[r] else "" for r in rows]
        frame = frame.copy()
        frame.insert(0, _hand_column(dataset), hand)
    return frame


def summary(dataset: Dataset, source_name: str | None) -> None:
    """Rows, dev rows (and how many by hand), classes and text column; the class names; the first 200 rows."""
    st.subheader("Dataset: " + render.md(source_name or "(unnamed)"), anchor=False)
    n_hand = int(dataset.hand_labeled.sum())
    cols = st.columns(4)
    cols[0].metric("Rows", f"{len(dataset):,}")
    cols[1].metric(
        "Dev rows (labeled)",
        f"{int(dataset.dev_mask.sum()):,}",
        f"{n_hand:,} hand-labelled" if n_hand else None,
        delta_color="off",
        delta_arrow="off",
    )
    cols[2].metric("Classes", len(dataset.class_names))
    cols[3].metric("Text column", str(dataset.spec.text_column))
    st.caption("Classes: " + render.md(", ".join(dataset.class_names)))
    st.dataframe(preview_frame(dataset), width="stretch", height=240)
    if n_hand:
        with st.expander(f"{n_hand:,} hand-labelled rows"):
            st.dataframe(preview_frame(dataset, np.flatnonzero(dataset.hand_labeled)), width="stretch")
