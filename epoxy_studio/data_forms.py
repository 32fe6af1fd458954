"""Widgets of the data page: the dataset-spec form and the embedder picker.

They return plain values (a :class:`DatasetSpec`, an embedder source string) and leave saving to the page.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from epoxy_core.data import DatasetSpec
from epoxy_core.embed import available_embedders

__all__ = ["embedder_picker", "spec_form"]

NONE = "(none)"


def _guess_text_column(df: pd.DataFrame) -> str:
    """A column named like text, else the text column with the longest cells."""
    for name in df.columns:
        if str(name).lower() in ("text", "content", "comment", "message", "body", "sentence"):
            return name
    textual = [c for c in df.columns if df[c].dtype == object]
    if not textual:
        return df.columns[0]
    return max(textual, key=lambda c: df[c].astype(str).str.len().mean())


def spec_form(df: pd.DataFrame) -> DatasetSpec:
    """Pick the text, label and split columns and the class names of an uploaded table."""
    columns = list(df.columns)
    guess = _guess_text_column(df)
    text_column = st.selectbox("Text column", columns, index=columns.index(guess), key="data.text_column")
    others = [NONE, *[c for c in columns if c != text_column]]
    label_default = next((i for i, c in enumerate(others) if str(c).lower() in ("label", "labels", "class")), 0)
    label_column = st.selectbox(
        "Label column (optional: rows with a label form the dev set)", others, index=label_default, key="data.label"
    )
    split_default = next((i for i, c in enumerate(others) if str(c).lower() == "split"), 0)
    split_column = st.selectbox("Split column (optional)", others, index=split_default, key="data.split")
    class_names = None
    if label_column != NONE:
        found = sorted(str(v) for v in df[label_column].dropna().unique())[:50]
        typed = st.text_input(
            "Class names in class order, comma-separated (leave empty to use the labels found, sorted)",
            key="data.class_names",
            placeholder=", ".join(found),
        )
        class_names = [name.strip() for name in typed.split(",") if name.strip()] or None
    else:
        typed = st.text_input(
            "Class names, comma-separated (needed without a label column)",
            key="data.class_names_nolabel",
            placeholder="e.g. ham, spam",
        )
        class_names = [name.strip() for name in typed.split(",") if name.strip()] or None
    return DatasetSpec(
        text_column=text_column,
        label_column=None if label_column == NONE else label_column,
        split_column=None if split_column == NONE else split_column,
        class_names=class_names,
    )


def embedder_picker(df: pd.DataFrame, current: str | None) -> tuple[str, str | None, bytes | None]:
    """Choose how rows become vectors.

    Returns
    -------
    tuple
        ``(kind, source, npy_bytes)``: ``kind`` is "text", "npy" or "columns"; ``source`` the embedder
        source string when it is known without further input (None when something is still missing);
        ``npy_bytes`` the uploaded file for kind "npy".
    """
    text_models = [e for e in available_embedders() if e.installed and e.name != "st:"]
    labels = {e.name: f"{e.label} — {e.note}" for e in text_models}
    options = [*labels, "npy", "columns"]
    labels["npy"] = "Upload embeddings (.npy, one row per data row)"
    labels["columns"] = "Numeric columns of the table"
    if current is not None and current.startswith("columns:"):
        default = "columns"
    elif current is not None and current.startswith("npy:"):
        default = "npy"
    else:
        default = current if current in options else options[0]
    choice = st.radio("Embedder", options, index=options.index(default), format_func=labels.get, key="data.embedder")
    if choice == "npy":
        upload = st.file_uploader("Embeddings (.npy)", type=["npy"], key="data.npy")
        return "npy", None, (upload.getvalue() if upload is not None else None)
    if choice == "columns":
        numeric = [
            c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
        ]
        chosen_before = (
            json.loads(current[len("columns:") :]) if current and current.startswith("columns:") else numeric
        )
        picked = st.multiselect(
            "Numeric columns", numeric, default=[c for c in chosen_before if c in numeric], key="data.columns"
        )
        return "columns", (f"columns:{json.dumps(picked)}" if picked else None), None
    return "text", choice, None
