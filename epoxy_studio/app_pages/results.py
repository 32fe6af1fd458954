"""Extension & results: tuning, thresholds, the headline, label-model quality on dev, uncertain rows, exports."""

import streamlit as st

from epoxy_core.model import BALANCE_MODES
from epoxy_studio import project, render, state
from epoxy_studio.views import results

st.title("Extension & results")
state.show_flashes()
dataset, engine, settings = project.dataset(), project.engine(), project.settings()
lfs = [] if engine is None else engine.active(project.lfs())
if dataset is None or not settings.graph_built or not lfs:
    st.info(
        "You need a dataset with embeddings and a graph (page 1) and at least one switched-on LF that fits the "
        "data (page 2)."
    )
    st.page_link("app_pages/data.py", label="Data & embeddings", icon=":material/table:")
    st.page_link("app_pages/labeling_functions.py", label="Labeling functions", icon=":material/label:")
    st.stop()
try:
    with st.spinner("Loading the embeddings and the neighbour graph…"):
        _ = engine.session  # loads the project's session (st.cache_resource) on the script thread
except ValueError as error:  # e.g. an uploaded .npy that is gone from the data dir
    render.message("error", error)
    st.page_link("app_pages/data.py", label="Build the graph again on the data page", icon=":material/table:")
    st.stop()


def _store_balance() -> None:
    project.update_settings(class_balance=st.session_state["results.balance"])


def _store_end_model() -> None:
    project.update_settings(end_model=bool(st.session_state["results.end_model"]))


with st.sidebar:
    st.session_state["results.balance"] = settings.class_balance  # the saved choice wins (another tab)
    st.radio(
        "Class balance (prior)",
        list(BALANCE_MODES),
        key="results.balance",
        on_change=_store_balance,
        help="From dev-label frequencies, estimated from the votes, or uniform.",
    )
    st.session_state["results.end_model"] = settings.end_model
    st.toggle(
        "End model (labels every row)",
        key="results.end_model",
        on_change=_store_end_model,
        help="A logistic regression on the embeddings, trained on the label model's labels of the rows some LF "
        "covers; fitted in the background after the label model.",
    )

results.block()
