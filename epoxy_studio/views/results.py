"""The results page's body: tuning, the threshold block, label quality, charts, uncertain rows and exports.

It is one fragment: moving a threshold slider reruns the block and the results it changes, not the page around
it (sidebar, project loading, the graph).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core import charts
from epoxy_core.data import Dataset
from epoxy_core.export import labels_table, labels_to_bytes
from epoxy_studio import project, render, state
from epoxy_studio.engine import Results, Tuned
from epoxy_studio.views.lf_list import percent_columns
from epoxy_studio.widgets import thresholds

__all__ = ["added_columns", "block", "labels_export", "least_certain", "matrix_npy", "tuning_message"]


def _score(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.3f}"


def tuning_message(tuned: Tuned) -> tuple[str, str]:
    """``(kind, text)`` of the message after tuning: a success box only for a score that was measured.

    >>> tuned = Tuned({}, 0.7, False, None, 1.0, 0.5, "accuracy", 2)
    >>> kind, text = tuning_message(tuned)
    >>> kind, "nan" in text
    ('warning', False)
    """
    how = "per-LF thresholds" if tuned.per_lf else "one shared threshold"
    fitted = (
        f"fitted on all {tuned.n_dev} dev rows {_score(tuned.fitted_score)}; "
        f"no extension {_score(tuned.no_extension_score)}."
    )
    if tuned.cv_score is None or not math.isfinite(tuned.cv_score):
        why = f" {tuned.message}" if tuned.message else ""
        return (
            "warning",
            f"Tuned ({how}) on {tuned.n_dev} dev rows: too few to cross-validate, so there is no honest estimate "
            f"of dev {tuned.metric}.{why} Scores {fitted} Label more rows to measure it.",
        )
    return (
        "success",
        f"Tuned ({how}): cross-validated dev {tuned.metric} {_score(tuned.cv_score)}; {fitted} "
        "Tuning scores rows without any vote by the class prior; the figures below count them as misses.",
    )


def _tune() -> None:
    engine, settings = project.engine(), project.settings()
    lfs = engine.active(project.lfs())
    try:
        with st.spinner("Tuning thresholds with cross-validation…"):
            tuned = engine.tune(lfs, settings)
    except ValueError as error:
        render.message("error", error)
        return
    project.update_settings(thresholds=tuned.thresholds, default_threshold=tuned.default_threshold)
    st.session_state[state.TUNING] = tuned


def least_certain(dataset: Dataset, proba: np.ndarray, covered: np.ndarray, n: int = 20) -> pd.DataFrame:
    """The ``n`` voted-on rows whose largest class probability is smallest (the label model's doubts).

    Rows no LF votes on (``covered`` False) are left out: their probabilities are just the prior.
    """
    confidence = proba.max(axis=1)
    candidates = np.flatnonzero(covered)
    rows = candidates[np.argsort(confidence[candidates], kind="stable")[:n]]
    table = pd.DataFrame({"row": rows, "text": [dataset.texts[i][:300] for i in rows]})
    for c, name in enumerate(dataset.class_names):
        table[f"P({name})"] = proba[rows, c].round(3)
    table["confidence"] = confidence[rows].round(3)
    return table.set_index("row")


def labels_export(dataset: Dataset, results: Results) -> pd.DataFrame:
    """The dataset with the labels output of ``epoxy_core.export`` (which never overwrites a user column)."""
    return labels_table(
        dataset.class_names,
        label_model_proba=results.proba,
        L=results.L,
        L_extended=results.L_extended,
        lf_names=results.names,
        data=dataset.df,
    )


def added_columns(dataset: Dataset, results: Results) -> list[str]:
    """The columns :func:`labels_export` adds to the user's table (computed on one row)."""
    head = labels_table(
        dataset.class_names,
        label_model_proba=results.proba[:1],
        L=results.L[:1],
        L_extended=results.L_extended[:1],
        lf_names=results.names,
        data=dataset.df.head(1),
    )
    return [str(c) for c in head.columns[len(dataset.df.columns) :]]


def matrix_npy(L: np.ndarray) -> bytes:
    """A label matrix as ``.npy`` bytes (``-1`` = abstain)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(L), allow_pickle=False)
    return buffer.getvalue()


def _quality(dataset: Dataset, r: Results) -> None:
    if r.model_name != "label model":
        st.info("The triplet label model needs at least 3 LFs that vote: showing majority vote meanwhile.")
    st.subheader("Label quality on dev labels" + ("" if r.n_dev else " (no dev labels: add a label column)"))
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
    st.dataframe(r.summary, width="stretch", column_config=percent_columns(r.summary))


def _exports(dataset: Dataset, r: Results) -> None:
    st.subheader("Export")
    st.caption(f"{r.covered.mean():.1%} of rows get a label (at least one LF votes after extension); others are empty.")
    added = added_columns(dataset, r)
    if added[0] == "label":
        st.caption("The labels files are your table plus the columns " + render.md(", ".join(added)) + ".")
    else:
        st.caption(
            "Your table already has a column with the name of a generated one, so every generated column is "
            "prefixed instead of overwriting yours: " + render.md(", ".join(added)) + "."
        )
    a, b, c, d = st.columns(4)
    a.download_button(
        "Labels (CSV)",
        lambda: labels_to_bytes(labels_export(dataset, r), "csv"),
        file_name="labels.csv",
        mime="text/csv",
        key="results.export_csv",
    )
    b.download_button(
        "Labels (Parquet)",
        lambda: labels_to_bytes(labels_export(dataset, r), "parquet"),
        file_name="labels.parquet",
        key="results.export_parquet",
    )
    c.download_button("L (.npy)", lambda: matrix_npy(r.L), file_name="L.npy", key="results.export_L")
    d.download_button(
        "L extended (.npy)", lambda: matrix_npy(r.L_extended), file_name="L_extended.npy", key="results.export_L_ext"
    )


@st.fragment
def block() -> None:
    """Tuning, thresholds and everything they change (call once per run of the results page)."""
    dataset, engine, settings = project.dataset(), project.engine(), project.settings()
    lfs = engine.active(project.lfs())
    with st.expander("Extension thresholds (minimum cosine similarity to copy a vote)", expanded=True):
        if st.button("Tune on dev labels", key="results.tune", disabled=dataset.dev_mask.sum() < 2):
            _tune()
            settings = project.settings()
        tuned = st.session_state[state.TUNING]
        if tuned is not None:
            render.message(*tuning_message(tuned))
        thresholds.sliders(lfs, settings)
    try:
        r = engine.results(lfs, settings)
    except ValueError as error:
        render.message("error", error)
        return
    _quality(dataset, r)
    st.subheader("Rows the label model is least sure about")
    st.dataframe(least_certain(dataset, r.proba, r.covered), width="stretch")
    _exports(dataset, r)
