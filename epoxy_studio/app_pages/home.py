"""Home: what Epoxy Studio does, in three steps, with links to the pages."""

import streamlit as st

from epoxy_core.config import data_dir
from epoxy_studio import project, render, state

st.title("Epoxy Studio")
state.show_flashes()
st.write(
    "Label a dataset without labeling it row by row: write a few **labeling functions** (keywords, regular "
    "expressions, column rules), let **Epoxy** extend each one's votes to similar rows in an embedding space, "
    "and let a **label model** combine the votes into probabilistic labels."
)

dataset, items, settings = project.dataset(), project.lfs(), project.settings()

left, middle, hand, right = st.columns(4)
with left:
    st.subheader("1 · Data & embeddings")
    st.write("Upload a CSV, Parquet or JSONL file (or open a demo), then embed it and build the neighbour graph.")
    st.page_link("app_pages/data.py", label="Open the data page", icon=":material/table:")
    if dataset is not None:
        st.caption(f":material/check_circle: {len(dataset):,} rows, {int(dataset.dev_mask.sum()):,} with a dev label.")
with middle:
    st.subheader("2 · Labeling functions")
    st.write("Write rules with a form and watch their coverage, conflicts and dev accuracy as you type.")
    st.page_link("app_pages/labeling_functions.py", label="Open the labeling-function page", icon=":material/label:")
    if items:
        enabled = sum(item.enabled for item in items)
        st.caption(f":material/check_circle: {len(items)} labeling functions, {enabled} switched on.")
with hand:
    st.subheader("3 · Hand-label rows")
    st.write("Label the rows the model is least sure of, one at a time with the keyboard: they join the dev set.")
    st.page_link("app_pages/hand_label.py", label="Open the hand-labeling page", icon=":material/touch_app:")
    if dataset is not None and dataset.hand_labeled.any():
        st.caption(f":material/check_circle: {int(dataset.hand_labeled.sum()):,} rows labeled by hand.")
with right:
    st.subheader("4 · Extension & results")
    st.write("Tune how far each LF extends, compare label models on dev labels and export the labels.")
    st.page_link("app_pages/results.py", label="Open the results page", icon=":material/insights:")
    if dataset is not None and settings.graph_built:
        st.caption(":material/check_circle: Embeddings and graph built.")

st.divider()
st.caption(
    "Everything is saved as you go in the project chosen in the sidebar, under the data dir "
    + render.md(str(data_dir()))
    + " (set `EPOXY_DATA_DIR` to move it). The method is from *Train and You'll Miss It: Interactive Model "
    "Iteration with Weak Supervision and Pre-Trained Embeddings* (Chen, Fu, Sala et al., 2020, "
    "[arXiv:2006.15168](https://arxiv.org/abs/2006.15168))."
)
