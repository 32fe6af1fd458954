"""The data page's picture of the current dataset: its size, classes, first rows, and the embedding map."""

from __future__ import annotations

import streamlit as st

from epoxy_core import charts
from epoxy_core.data import Dataset
from epoxy_core.embed import EmbeddingSource
from epoxy_studio import render
from epoxy_studio.engine import Engine

__all__ = ["embedding_map", "summary"]


def summary(dataset: Dataset, source_name: str | None) -> None:
    """Rows, dev rows, classes and text column as metrics; the class names; the first 200 rows."""
    st.subheader("Dataset: " + render.md(source_name or "(unnamed)"), anchor=False)
    cols = st.columns(4)
    cols[0].metric("Rows", f"{len(dataset):,}")
    cols[1].metric("Dev rows (labeled)", f"{int(dataset.dev_mask.sum()):,}")
    cols[2].metric("Classes", len(dataset.class_names))
    cols[3].metric("Text column", str(dataset.spec.text_column))
    st.caption("Classes: " + render.md(", ".join(dataset.class_names)))
    st.dataframe(dataset.df.head(200), width="stretch", height=240)


def embedding_map(engine: Engine, source: EmbeddingSource) -> None:
    """The PCA map of the embeddings, coloured by dev label."""
    with st.spinner("Projecting the embeddings…"):
        points = engine.map_points(source)
    st.altair_chart(charts.embedding_map(points, engine.dataset.class_names), width="stretch")
