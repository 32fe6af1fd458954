"""The dataset-spec form: which column is the text, the labels, the split, and the class names.

It is an ``st.form``: choosing columns does not rerun the page, the table is validated once, on *Use this
table*.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from epoxy_core.data import DatasetSpec

__all__ = ["KEYS", "NONE", "guess_text_column", "spec_form"]

NONE = "(none)"
KEYS = ("data.text_column", "data.label", "data.split", "data.class_names")
"""Widget keys of the form (cleared when another file is uploaded, so the guesses fit the new table)."""
_TEXT_NAMES = ("text", "content", "comment", "message", "body", "sentence")


def guess_text_column(df: pd.DataFrame) -> str:
    """A column named like text, else the text column with the longest cells.

    >>> guess_text_column(pd.DataFrame({"id": [1], "Comment": ["hi"]}))
    'Comment'
    """
    for column in df.columns:
        if str(column).lower() in _TEXT_NAMES:
            return column
    textual = [c for c in df.columns if df[c].dtype == object]
    if not textual:
        return df.columns[0]
    return max(textual, key=lambda c: df[c].astype(str).str.len().mean())


def _first(options: list, names: tuple[str, ...]) -> int:
    return next((i for i, c in enumerate(options) if str(c).lower() in names), 0)


def spec_form(df: pd.DataFrame) -> DatasetSpec | None:
    """Draw the form; returns the spec when *Use this table* is pressed, else None."""
    columns = list(df.columns)
    others = [NONE, *columns]
    with st.form("data.spec_form", border=False):
        text_column = st.selectbox(
            "Text column", columns, index=columns.index(guess_text_column(df)), key="data.text_column"
        )
        label_column = st.selectbox(
            "Label column (optional: rows with a label form the dev set)",
            others,
            index=_first(others, ("label", "labels", "class")),
            key="data.label",
        )
        split_column = st.selectbox(
            "Split column (optional)", others, index=_first(others, ("split",)), key="data.split"
        )
        typed = st.text_input(
            "Class names in class order, comma-separated (needed without a label column; leave empty to use the "
            "labels found, sorted)",
            key="data.class_names",
            placeholder="e.g. ham, spam",
        )
        submitted = st.form_submit_button("Use this table", type="primary", key="data.use_table")
    if not submitted:
        return None
    class_names = [name.strip() for name in typed.split(",") if name.strip()] or None
    return DatasetSpec(
        text_column=text_column,
        label_column=None if label_column == NONE else label_column,
        split_column=None if split_column == NONE else split_column,
        class_names=class_names,
    )
