"""The results page's body: tuning, the threshold block, the headline, label quality, charts, rows and exports.

It is one fragment: moving a threshold slider reruns the block and the results it changes, not the page around
it (sidebar, project loading, the graph).  Two things land later than the label model and never block it:

- the exact nearest voters (above 20,000 rows the first answer comes from the graph): while
  ``not results.exact`` a small fragment polls every second, says "refining nearest voters…" and redraws the
  block when the exact results are in;
- the end model, fitted in the session's background thread once the label model settles: while it runs the
  headline shows the previous fit marked stale and "updating…", polled the same way.

Tuning (``session.tune(pipeline=True)``, seconds to a minute) runs in a background thread too; a polling
fragment shows how long it has run and applies its choice (thresholds, end model on/off and its C) when done.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core import charts
from epoxy_core.data import Dataset
from epoxy_core.export import labels_table, labels_to_bytes
from epoxy_core.lf import BaseLF
from epoxy_core.metrics import HEADLINE_CONVENTION
from epoxy_core.session import EndModelState, SessionResults
from epoxy_core.settings import ProjectSettings
from epoxy_studio import project, render, state
from epoxy_studio.engine import Engine, Tuning, tuned_settings
from epoxy_studio.views.lf_list import percent_columns
from epoxy_studio.widgets import thresholds

__all__ = [
    "POLL_SECONDS",
    "added_columns",
    "block",
    "bundle_refusal",
    "bundle_zip",
    "end_model_for",
    "labels_export",
    "least_certain",
    "matrix_npy",
    "report_html",
    "tuning_message",
]

POLL_SECONDS = 1.0
"""How often the page looks for background work that landed (exact nearest voters, the end model, tuning)."""
_TUNING_JOB = "results.tuning_job"


# ---------------------------------------------------------------------------------------------- pure pieces


def end_model_for(results: SessionResults, end: EndModelState) -> EndModelState | None:
    """The end-model state if it was fitted for exactly these results (not stale), else None."""
    if end.status == "ready" and not end.stale and end.for_key == results.key and end.proba is not None:
        return end
    return None


def least_certain(dataset: Dataset, proba: np.ndarray, covered: np.ndarray, n: int = 20) -> pd.DataFrame:
    """The ``n`` voted-on rows whose largest class probability is smallest (the label model's doubts).

    Rows no LF votes on (``covered`` False) are left out: their probabilities are just the prior.
    """
    confidence = proba.max(axis=1)
    candidates = np.flatnonzero(covered)
    if candidates.size > n > 0:
        # Sort only the rows at or below the n-th smallest confidence (~8 ms less at 100,000 rows than
        # sorting all); ties with it are kept, so the stable order (lowest row first) is the full sort's.
        cut = np.partition(confidence[candidates], n - 1)[n - 1]
        candidates = candidates[confidence[candidates] <= cut]
    rows = candidates[np.argsort(confidence[candidates], kind="stable")[:n]]
    table = pd.DataFrame({"row": rows, "text": [dataset.texts[i][:300] for i in rows]})
    for c, name in enumerate(dataset.class_names):
        table[f"P({name})"] = proba[rows, c].round(3)
    table["confidence"] = confidence[rows].round(3)
    return table.set_index("row")


def labels_export(dataset: Dataset, results: Any, end: EndModelState | None = None) -> pd.DataFrame:
    """The dataset with the labels of ``epoxy_core.export.labels_table`` (which never overwrites a user column).

    With a ready end model (``end``, fitted for ``results``) the table carries both models' labels and
    probabilities, and the final ``label`` is the end model's.
    """
    return labels_table(
        dataset.class_names,
        label_model_proba=results.proba,
        end_model_proba=None if end is None else end.proba,
        L=results.L,
        L_extended=results.L_extended,
        lf_names=results.names,
        data=dataset.df,
    )


def added_columns(dataset: Dataset, results: Any, end: EndModelState | None = None) -> list[str]:
    """The columns :func:`labels_export` adds to the user's table (computed on one row)."""
    head = labels_table(
        dataset.class_names,
        label_model_proba=results.proba[:1],
        end_model_proba=None if end is None else end.proba[:1],
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


def tuning_message(choice: Any) -> tuple[str, str]:
    """``(kind, text)`` of the message after tuning: which setting won and by how much, or why not measured.

    >>> from types import SimpleNamespace
    >>> few = SimpleNamespace(message="Too few dev labels: kept the label model.", few_labels=True, n_dev=8,
    ...                       cv_scores={"label model": None})
    >>> kind, text = tuning_message(few)
    >>> kind, "8 dev labels" in text
    ('warning', True)
    """
    text = str(choice.message)
    measured = any(score is not None for score in choice.cv_scores.values())
    if choice.few_labels or not measured:
        return (
            "warning",
            f"Tuned on only {choice.n_dev} dev labels: too few to tell the settings apart reliably, so the "
            f"simplest was kept. {text} Label more rows (30 or more) to compare them.",
        )
    return "success", f"Tuned on {choice.n_dev} dev labels by nested cross-validation: {text}"


def bundle_refusal(settings: ProjectSettings) -> str | None:
    """Why a bundle cannot carry this project's embedder (TF-IDF, numeric columns, an upload), or None."""
    from epoxy_core.bundle import portable_embedder

    try:
        portable_embedder(settings.embedding)
    except ValueError as error:
        return str(error)
    return None


def bundle_zip(
    engine: Engine, results: SessionResults, lfs: Sequence[BaseLF], end: EndModelState | None = None
) -> bytes:
    """The project's bundle (``epoxy_core.bundle.save_bundle``) as a zip archive of its folder.

    Raises
    ------
    ValueError
        The bundle's own refusal (an embedder it cannot carry, inputs that disagree).
    """
    from epoxy_core.bundle import save_bundle

    session = engine.session
    assert session is not None and session.graph.embeddings is not None
    by_name = {lf.name: lf for lf in lfs}
    dataset, settings = engine.dataset, engine.settings
    with tempfile.TemporaryDirectory(prefix="epoxy-bundle-") as tmp:
        folder = save_bundle(
            Path(tmp) / "bundle",
            lfs=[by_name[name] for name in results.names],
            thresholds=results.thresholds,
            class_names=dataset.class_names,
            text_column=dataset.spec.text_column,
            label_model=results.label_model,
            embedder=settings.embedding,
            embeddings=session.graph.embeddings,
            L=results.L,
            end_model=None if end is None else end.model,
            metric=session.graph.metric,
            info={
                "project": engine.project,
                "n_rows": len(dataset),
                "n_dev": int(dataset.dev_mask.sum()),
                "class_balance_mode": settings.class_balance,
                "n_neighbors": session.graph.n_neighbors,
            },
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, Path("bundle") / path.relative_to(folder))
    return buffer.getvalue()


def _headline_of(results: SessionResults, end: EndModelState | None) -> Any:
    """The headline of what the page labels with: the end model's when it is on and fitted, else the label model's."""
    return end.headline if end is not None and end.headline is not None else results.headline


def _comparison(results: SessionResults, end: EndModelState | None) -> pd.DataFrame:
    """The label models' comparison, with the end model's row when it is fitted for these results."""
    table = results.comparison.copy()
    if end is not None and end.metrics is not None:
        table.loc["end model"] = [
            np.nan if end.metrics.get(column) is None else float(end.metrics[column]) for column in table.columns
        ]
    return table


def report_html(engine: Engine, results: SessionResults, end: EndModelState | None = None) -> str:
    """The stakeholder report (``epoxy_core.report.build_report``) of these results, one self-contained HTML file."""
    from epoxy_core.report import build_report

    dataset, settings = engine.dataset, engine.settings
    headline = _headline_of(results, end)
    thresholds_text = ", ".join(
        f"{name} {'off' if not math.isfinite(t) else f'{t:.3g}'}"
        for name, t in zip(results.names, results.thresholds, strict=True)
    )
    method = {
        "embedding": settings.embedding.label,
        "neighbours per row": settings.n_neighbors,
        "label model": results.model_name,
        "class balance": settings.class_balance,
        "extension thresholds": thresholds_text,
        "end model": f"logistic regression, C = {settings.end_model_C:g}" if end is not None else "off",
    }
    return build_report(
        project=engine.project or "Epoxy Studio project",
        dataset={
            "rows": len(dataset),
            "dev labels": int(dataset.dev_mask.sum()),
            "text column": dataset.spec.text_column,
            "classes": ", ".join(dataset.class_names),
        },
        lf_summary=results.summary,
        class_names=dataset.class_names,
        comparison=_comparison(results, end),
        class_balance=results.class_balance,
        date=dt.date.today(),
        headline=headline.text(dataset.class_names),
        metrics={
            "dev accuracy": headline.accuracy,
            "coverage": headline.coverage,
            "dev rows": headline.n_dev,
        },
        method=method,
        notes=[HEADLINE_CONVENTION],
        proba=results.proba if end is None else end.proba,
    )


# ---------------------------------------------------------------------------------------------- tuning


def _start_tuning() -> None:
    """Button callback: start tuning the active LFs in the background."""
    engine = project.engine()
    if engine is None:
        return
    try:
        st.session_state[_TUNING_JOB] = engine.start_tuning(engine.active(project.lfs()))
    except ValueError as error:
        state.flash("error", str(error))
    st.session_state[state.TUNING] = None


def _finish_tuning(engine: Engine, job: Tuning, lfs: Sequence[BaseLF]) -> None:
    """Apply a finished tuning (on the script thread): save its choice, keep its message for the page."""
    st.session_state.pop(_TUNING_JOB, None)
    try:
        choice = job.future.result()
    except ValueError as error:
        state.flash("error", str(error))
        return
    if job.key != engine.tuning_key(lfs):
        state.flash("warning", "The labeling functions or the class balance changed while tuning; tune again.")
        return
    project.update_settings(**tuned_settings(job.names, choice))
    st.session_state[state.TUNING] = tuning_message(choice)


def _tuning_status() -> None:
    """What a running tuning is doing; applies it and redraws the page when it is done."""
    engine = project.engine()
    job = st.session_state.get(_TUNING_JOB)
    if engine is None or not isinstance(job, Tuning):
        return
    if job.future.done():
        _finish_tuning(engine, job, engine.active(project.lfs()))
        st.rerun()
    render.message(
        "info",
        f"Tuning on {int(engine.dataset.dev_mask.sum())} dev labels (label model, + extension, + end model; "
        f"thresholds and C by nested cross-validation)… {job.seconds:.0f} s so far. The page stays usable.",
    )


_tuning_poller = st.fragment(run_every=POLL_SECONDS)(_tuning_status)


def _tuning(engine: Engine, lfs: Sequence[BaseLF]) -> None:
    job = st.session_state.get(_TUNING_JOB)
    running = isinstance(job, Tuning)
    if running and job.future.done():
        _finish_tuning(engine, job, lfs)
        running = False
    n_dev = int(engine.dataset.dev_mask.sum())
    st.button(
        "Tune on dev labels",
        key="results.tune",
        on_click=_start_tuning,
        disabled=n_dev < 2 or running,
        help="Chooses label model / + extension / + end model, the thresholds and the end model's C by nested "
        "cross-validation on the dev labels; saves the choice.",
    )
    if running:
        _tuning_poller()
    shown = st.session_state.get(state.TUNING)
    if shown is not None:
        render.message(*shown)


# ---------------------------------------------------------------------------------------------- headline


def _headline(dataset: Dataset, results: SessionResults, end: EndModelState, settings: ProjectSettings) -> None:
    """The headline figure (the convention's), coverage beside it, and the convention in one line."""
    fitted = end_model_for(results, end)
    updating = settings.end_model and end.status == "running"
    stale = end if updating and end.headline is not None else None  # the previous fit, marked stale
    headline = _headline_of(results, fitted or stale)
    left, right, note = st.columns([1, 1, 2])
    if headline.accuracy is None:
        left.metric("Dev accuracy", "—", help="No dev labels: add a label column or hand-label rows.")
    else:
        label = "Dev accuracy" + (" (stale, updating…)" if stale is not None else "")
        left.metric(
            label,
            f"{headline.accuracy:.1%}",
            f"{headline.n_correct} of {headline.n_dev} dev rows",
            delta_color="off",
            delta_arrow="off",
        )
    no_extension = float((results.L != -1).any(axis=1).mean()) if results.L.size else 0.0
    lift = headline.coverage - no_extension
    right.metric(
        "Coverage", f"{headline.coverage:.1%}", f"{lift:+.1%} from extension", delta_color="off", delta_arrow="off"
    )
    with note:
        if fitted is not None or stale is not None:
            st.caption(
                f"Labels by the end model (C = {settings.end_model_C:g}) on every row; "
                f"{headline.n_uncovered_dev} dev rows no LF covers are labelled by it."
            )
        elif updating:
            st.caption("End model updating… meanwhile the label model's figure: uncovered rows get the prior's class.")
        elif end.status == "failed":
            render.message("warning", f"The end model could not be fitted: {end.error}")
        elif not settings.end_model:
            st.caption("End model off: rows no LF covers get the prior's most likely class.")
        st.caption(render.md(HEADLINE_CONVENTION))
    if updating:
        st.caption(":material/progress_activity: End model updating…")
    if not results.exact:
        shown = ", ".join(results.refining[:5]) + (" …" if len(results.refining) > 5 else "")
        st.caption(":material/progress_activity: Refining nearest voters of " + render.md(shown) + "…")


def _live(lfs: list[BaseLF], key: str, end_status: str) -> None:
    """Poll (every :data:`POLL_SECONDS`) for exact nearest voters and the end model; redraw the block when in."""
    engine = project.engine()
    if engine is None:
        return
    try:
        results = engine.results(lfs)
    except ValueError:
        return
    end = engine.end_model(results)
    if results.key != key or end.status != end_status:
        st.rerun()  # what the block shows changed: draw it again with the new figures
    _headline(engine.dataset, results, end, engine.settings)


_live_poller = st.fragment(run_every=POLL_SECONDS)(_live)


# ---------------------------------------------------------------------------------------------- the rest


_CHART_SPECS: dict[str, dict[str, Any]] = {}
"""The results charts' row-free specs (``charts.row_free_spec``) by builder name: built once per process."""


def _chart(container: Any, build: Callable[..., Any], table: Callable[..., pd.DataFrame], *inputs: Any) -> None:
    """Draw the results chart ``build(*inputs)``: its spec built by Altair once per process, ``table(*inputs)`` in it.

    Building the chart with Altair on every slider step cost ~60 ms of the results fragment's ~150 ms at
    100,000 rows, for a few dozen rows; the spec is row-free (see ``epoxy_core.charts``), so only the rows are
    new.  The same spec with new rows also lets the browser update the drawn chart in place.
    """
    spec = _CHART_SPECS.get(build.__name__)
    if spec is None:
        spec = charts.row_free_spec(build(*inputs))
        spec.get("config", {}).pop("view", None)  # Altair's default 300 x 300 view: Streamlit sizes the chart
        _CHART_SPECS[build.__name__] = spec
    container.vega_lite_chart(charts.with_rows(spec, table(*inputs)), width="stretch")


def _quality(dataset: Dataset, r: SessionResults, fitted: EndModelState | None) -> None:
    if r.model_name != "label model":
        st.info("The triplet label model needs at least 3 LFs that vote: showing majority vote meanwhile.")
    st.subheader("Label quality on dev labels" + ("" if r.n_dev else " (no dev labels: add a label column)"))
    comparison = _comparison(r, fitted)
    cols = st.columns(len(comparison))
    for col, (model, row) in zip(cols, comparison.iterrows(), strict=True):
        shown = "—" if row["accuracy"] != row["accuracy"] else f"{row['accuracy']:.1%}"
        coverage = None if row["coverage"] != row["coverage"] else f"{row['coverage']:.0%} of dev rows labeled"
        col.metric(
            model,
            shown,
            coverage,
            delta_color="off",
            delta_arrow="off",
            help="Dev accuracy of this model alone; a dev row it leaves without a label counts as a miss",
        )
    left, right = st.columns(2)
    _chart(left, charts.coverage_lift, charts.coverage_lift_table, r.summary)
    _chart(right, charts.accuracy_comparison, charts.accuracy_comparison_table, r.summary)
    _chart(left, charts.model_comparison, charts.model_comparison_table, comparison)
    _chart(right, charts.class_balance, charts.class_balance_table, r.class_balance, dataset.class_names)
    st.dataframe(r.summary, width="stretch", column_config=percent_columns(r.summary))


def _exports(engine: Engine, r: SessionResults, lfs: Sequence[BaseLF], fitted: EndModelState | None) -> None:
    dataset, settings = engine.dataset, engine.settings
    st.subheader("Export")
    st.caption(f"{r.covered.mean():.1%} of rows get a label from the LFs (after extension).")
    if fitted is not None:
        st.caption(
            "The labels files carry the label model's and the end model's labels and probabilities; the "
            "final label is the end model's, on every row."
        )
    elif settings.end_model:
        st.caption(
            "The end model is still being fitted: the labels files carry the label model's labels only "
            "for now (rows no LF covers stay empty)."
        )
    added = added_columns(dataset, r, fitted)
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
        lambda: labels_to_bytes(labels_export(dataset, r, fitted), "csv"),
        file_name="labels.csv",
        mime="text/csv",
        key="results.export_csv",
    )
    b.download_button(
        "Labels (Parquet)",
        lambda: labels_to_bytes(labels_export(dataset, r, fitted), "parquet"),
        file_name="labels.parquet",
        key="results.export_parquet",
    )
    c.download_button("L (.npy)", lambda: matrix_npy(r.L), file_name="L.npy", key="results.export_L")
    d.download_button(
        "L extended (.npy)", lambda: matrix_npy(r.L_extended), file_name="L_extended.npy", key="results.export_L_ext"
    )
    st.subheader("Share")
    left, right = st.columns(2)
    refusal = bundle_refusal(settings)
    with left:
        if refusal is not None:
            st.button("Download bundle", key="results.bundle", disabled=True)
            render.message("info", f"No bundle for this project: {refusal}")
        else:
            st.download_button(
                "Download bundle",
                lambda: bundle_zip(engine, r, lfs, fitted),
                file_name="epoxy_bundle.zip",
                mime="application/zip",
                key="results.bundle",
                help="LFs, thresholds, label model, end model and the support set for extension: label new rows "
                "with `epoxy label DATA --bundle ...`",
            )
    right.download_button(
        "Download report",
        lambda: report_html(engine, r, fitted),
        file_name="epoxy_report.html",
        mime="text/html",
        key="results.report",
        help="One self-contained HTML file for stakeholders (opens offline).",
    )


@st.fragment
def block() -> None:
    """Tuning, thresholds and everything they change (call once per run of the results page)."""
    dataset, engine, settings = project.dataset(), project.engine(), project.settings()
    lfs = engine.active(project.lfs())
    with st.expander("Extension thresholds (minimum cosine similarity to copy a vote)", expanded=True):
        _tuning(engine, lfs)
        settings = project.settings()  # a tuning that finished just now saved new thresholds
        thresholds.sliders(lfs, settings)
    try:
        r = engine.results(lfs)
    except ValueError as error:
        render.message("error", error)
        return
    end = engine.end_model(r)
    if not r.exact or (settings.end_model and end.status == "running"):
        _live_poller(lfs, r.key, end.status)
    else:
        _headline(dataset, r, end, settings)
    fitted = end_model_for(r, end)
    _quality(dataset, r, fitted)
    st.subheader("Rows the label model is least sure about")
    st.dataframe(least_certain(dataset, r.proba, r.covered), width="stretch")
    _exports(engine, r, lfs, fitted)
