"""Extension & results: thresholds, coverage lift, label-model quality on dev, uncertain rows, exports."""

import streamlit as st

from epoxy_core import charts
from epoxy_core.labels import ABSTAIN
from epoxy_studio import compute, project, results_view, state

st.title("Extension & results")
state.show_flashes()
dataset, lf_dicts, settings = project.current_dataset(), project.enabled_lfs(), project.settings()
if dataset is None or settings["graph_source"] is None or not lf_dicts:
    st.info("You need a dataset with embeddings and a graph (page 1) and at least one enabled LF (page 2).")
    st.page_link("pages/data.py", label="Data & embeddings", icon=":material/table:")
    st.page_link("pages/labeling_functions.py", label="Labeling functions", icon=":material/label:")
    st.stop()
with st.spinner("Loading the embeddings and the neighbour graph…"):
    graph_key, graph = compute.graph(dataset, settings["graph_source"], int(settings["n_neighbors"]))

with st.sidebar:
    balance_modes = ["dev labels", "estimate", "uniform"]
    balance = st.radio(
        "Class balance (prior)",
        balance_modes,
        index=balance_modes.index(settings["class_balance"]),
        key="results.balance",
        help="From dev-label frequencies, estimated from the votes, or uniform.",
    )
    if balance != settings["class_balance"]:
        project.update_settings(class_balance=balance)

with st.expander("Extension thresholds (minimum cosine similarity to copy a vote)", expanded=True):
    if st.button("Tune on dev labels", key="results.tune", disabled=dataset.dev_mask.sum() < 2):
        try:
            with st.spinner("Tuning thresholds with cross-validation…"):
                results_view.tune(dataset, graph_key, graph, lf_dicts, balance)
        except ValueError as error:
            st.error(str(error))
    tuned = st.session_state[state.TUNING]
    if tuned:
        kind = "per-LF thresholds" if tuned["per_lf"] else "one shared threshold"
        st.success(
            f"Tuned ({kind}): cross-validated dev {tuned['metric']} {tuned['cv_score']:.3f}; fitted on all "
            f"{tuned['n_dev']} dev rows {tuned['fitted_score']:.3f}; no extension {tuned['no_extension_score']:.3f}. "
            "Tuning scores rows without any vote by the class prior; the figures below count them as misses."
        )
    results_view.threshold_sliders(lf_dicts)

try:
    r = compute.results(dataset, graph_key, graph, lf_dicts, results_view.thresholds_for(lf_dicts), balance)
except ValueError as error:
    st.error(str(error))
    st.stop()

if r.model_name != "label model":
    st.info("The triplet label model needs at least 3 enabled LFs: showing majority vote meanwhile.")
st.subheader("Label quality on dev labels" + ("" if r.dev_size else " (no dev labels: add a label column)"))
cols = st.columns(len(r.comparison))
for col, (model, row) in zip(cols, r.comparison.iterrows(), strict=True):
    shown = "—" if row["accuracy"] != row["accuracy"] else f"{row['accuracy']:.1%}"
    coverage = None if row["coverage"] != row["coverage"] else f"{row['coverage']:.0%} of dev rows labeled"
    col.metric(model, shown, coverage, delta_color="off", delta_arrow="off", help="Dev accuracy; no label = miss")
left, right = st.columns(2)
left.altair_chart(charts.coverage_lift(r.summary), width="stretch")
right.altair_chart(charts.accuracy_comparison(r.summary), width="stretch")
left.altair_chart(charts.model_comparison(r.comparison), width="stretch")
right.altair_chart(charts.class_balance(r.class_balance, dataset.class_names), width="stretch")
st.dataframe(r.summary, width="stretch", column_config=results_view.percent_columns(r.summary))

covered = (r.L_extended != ABSTAIN).any(axis=1)
st.subheader("Rows the label model is least sure about")
st.dataframe(results_view.least_certain(dataset, r.proba, covered), width="stretch")

st.subheader("Export")
st.caption(f"{covered.mean():.1%} of rows get a label (at least one LF votes after extension); others are left empty.")
a, b, c, d = st.columns(4)
a.download_button(
    "Labels (CSV)",
    lambda: results_view.export_labels(dataset, r.proba, covered, "csv"),
    file_name="labels.csv",
    mime="text/csv",
    key="results.export_csv",
)
b.download_button(
    "Labels (Parquet)",
    lambda: results_view.export_labels(dataset, r.proba, covered, "parquet"),
    file_name="labels.parquet",
    key="results.export_parquet",
)
c.download_button("L (.npy)", lambda: results_view.matrix_npy(r.L), file_name="L.npy", key="results.export_L")
d.download_button(
    "L extended (.npy)",
    lambda: results_view.matrix_npy(r.L_extended),
    file_name="L_extended.npy",
    key="results.export_L_ext",
)
