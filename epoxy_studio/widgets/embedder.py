"""The embedder picker of the data page: a text model, an uploaded ``.npy`` or numeric columns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from epoxy_core.embed import EmbeddingSource, available_embedders

__all__ = ["Choice", "embedder_picker"]


@dataclass(frozen=True)
class Choice:
    """What the user picked.

    Attributes
    ----------
    source : EmbeddingSource or None
        The source, when it is complete (None for an ``.npy`` not stored yet, or no columns picked).
    npy : bytes or None
        The uploaded ``.npy`` file, to be stored when the user builds.
    missing : str or None
        What the user still has to do, in a sentence, when ``source`` and ``npy`` are both None.
    """

    source: EmbeddingSource | None
    npy: bytes | None = None
    missing: str | None = None


def _numeric_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]


def embedder_picker(df: pd.DataFrame, current: EmbeddingSource) -> Choice:
    """Draw the picker, starting from ``current`` (the project's source)."""
    models = [e for e in available_embedders() if e.installed and e.name != "st:"]
    labels = {e.name: f"{e.label} — {e.note}" for e in models}
    labels["npy"] = "Upload embeddings (.npy, one row per data row)"
    labels["columns"] = "Numeric columns of the table"
    options = list(labels)
    if current.kind in ("npy", "columns"):
        default = current.kind
    else:
        default = current.model if current.model in options else options[0]
    choice = st.radio("Embedder", options, index=options.index(default), format_func=labels.get, key="data.embedder")
    if choice == "npy":
        upload = st.file_uploader("Embeddings (.npy)", type=["npy"], key="data.npy")
        if upload is not None:
            return Choice(None, npy=upload.getvalue())
        if current.kind == "npy":
            return Choice(current)
        return Choice(None, missing="Upload a .npy file of embeddings first.")
    if choice == "columns":
        numeric = _numeric_columns(df)
        before = list(current.columns) if current.kind == "columns" else numeric
        picked = st.multiselect(
            "Numeric columns", numeric, default=[c for c in before if c in numeric], key="data.columns"
        )
        if not picked:
            return Choice(None, missing="Pick at least one numeric column.")
        return Choice(EmbeddingSource.columns_source([str(c) for c in picked]))
    return Choice(EmbeddingSource.model_source(choice))
