"""The data map: every row placed by UMAP from the k-NN graph (PCA until UMAP lands), coloured by the story.

Coloured by dev label (hand labels included), by predicted class, by confidence, or by one LF's own votes
against the votes extension adds; hovering shows a row's text; clicking points (shift-click for more) lists
them under the map.  One view function, :func:`data_map`, draws it on the data page and on the results page.

The map is a fragment: choosing a colouring or clicking points reruns the map, not the page.  The UMAP layout
comes from :mod:`epoxy_studio.map_layout` (computed in the background, kept on disk); while it computes,
the map is PCA of the same rows and a small polling fragment reruns the page once UMAP is ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core import charts
from epoxy_core.data import Dataset
from epoxy_core.labels import ABSTAIN
from epoxy_core.projection import pca_points
from epoxy_studio import map_layout, render

__all__ = ["MAX_POINTS", "data_map", "map_points", "predictions_of", "selected_table"]

MAX_POINTS = 4000
"""Rows drawn (dev rows first, then a seeded sample): more makes the browser slow and the page heavy."""

DEV_LABEL, PREDICTED, CONFIDENCE = "dev label", "predicted class", "confidence"
_LF_PREFIX = "LF: "


@st.cache_resource(show_spinner=False, max_entries=8)
def _pca(graph_key: str, labels_key: str, _embeddings: np.ndarray, _include: np.ndarray) -> pd.DataFrame:
    # Keyed by strings: the graph, and the labels (the dev rows are always drawn, so new labels mean a new
    # sample).  Shared by every session: never mutate the frame.
    return pca_points(_embeddings, max_points=MAX_POINTS, include=_include)


def map_points(dataset: Dataset, graph_key: str, graph: Any) -> tuple[pd.DataFrame, map_layout.LayoutState]:
    """The rows to draw, placed by UMAP when its layout is ready, else by PCA; and the layout's state.

    The rows are the dev rows (at most :data:`MAX_POINTS`) plus a seeded sample of the others; the same rows
    whichever layout places them, so the map does not change its points when UMAP lands.
    """
    embeddings = graph.embeddings
    dev_rows = np.flatnonzero(dataset.dev_mask)[:MAX_POINTS]
    points = _pca(graph_key, dataset.labels_key, embeddings, dev_rows)
    state = map_layout.layout(graph_key, graph)
    if state.status != "ready":
        return points, state
    rows = points["row"].to_numpy()
    umap = pd.DataFrame({"row": rows, "x": state.xy[rows, 0], "y": state.xy[rows, 1]})
    umap.attrs.update(method="umap", n_rows=len(dataset), note="")
    return umap, state


def predictions_of(results: Any, end_model: Any = None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(predicted class per row, probabilities, which model)``: the end model's when it is fitted for these
    results, else the label model's (``ABSTAIN`` where no LF votes: the label model only knows the prior there).
    """
    if end_model is not None and getattr(end_model, "proba", None) is not None and not end_model.stale:
        proba = np.asarray(end_model.proba)
        return proba.argmax(axis=1), proba, "end model"
    proba = np.asarray(results.proba)
    predicted = np.where(results.covered, proba.argmax(axis=1), ABSTAIN)
    return predicted, proba, "label model"


def _dev_label_names(dataset: Dataset, rows: np.ndarray) -> list[str]:
    names = dataset.class_names
    return [
        "—" if dataset.y[r] == ABSTAIN else names[dataset.y[r]] + (" (hand)" if dataset.hand_labeled[r] else "")
        for r in rows
    ]


def selected_table(
    dataset: Dataset, rows: list[int], results: Any = None, end_model: Any = None, *, limit: int = 200
) -> pd.DataFrame:
    """The selected rows as a table: text, dev label ("(hand)" for hand labels), prediction and confidence."""
    picked = np.asarray(rows[:limit], dtype=np.int64)
    table = pd.DataFrame(
        {
            "row": picked,
            "text": [dataset.texts[r][:300] for r in picked],
            "dev label": _dev_label_names(dataset, picked),
        }
    )
    if results is not None and len(picked):
        predicted, proba, _ = predictions_of(results, end_model)
        names = dataset.class_names
        table["predicted"] = ["—" if predicted[r] == ABSTAIN else names[predicted[r]] for r in picked]
        table["confidence"] = proba[picked].max(axis=1).round(3)
    return table.set_index("row")


def _resolve(results: Any) -> Any:
    return results() if callable(results) else results


def _chart(dataset: Dataset, points: pd.DataFrame, colour: str, results: Any, end_model: Any):
    texts = dataset.texts
    names = dataset.class_names
    if colour == DEV_LABEL or results is None:
        return charts.map_by_dev_label(points, dataset.y, names, texts=texts)
    if colour == PREDICTED:
        predicted, _, _ = predictions_of(results, end_model)
        return charts.map_by_class(points, predicted, names, texts=texts)
    if colour == CONFIDENCE:
        _, proba, _ = predictions_of(results, end_model)
        return charts.map_by_confidence(points, proba, class_names=names, texts=texts)
    lf_name = colour.removeprefix(_LF_PREFIX)
    j = list(results.names).index(lf_name)
    return charts.map_by_lf(points, results.L[:, j], results.L_extended[:, j], names, lf_name=lf_name, texts=texts)


@st.fragment(run_every=2.0)
def _wait_for_umap(graph_key: str, graph: Any, started: float) -> None:
    # Polls the background layout; the page reruns once when it is ready (the map then draws UMAP).
    state = map_layout.layout(graph_key, graph)
    if state.status == "running":
        st.caption(
            f":material/hourglass_top: Laying the rows out with UMAP ({time.monotonic() - started:.0f} s so far; "
            "a minute or more at 100,000 rows). The PCA map is shown meanwhile."
        )
        return
    st.rerun()


@st.fragment
def _map_fragment(
    dataset: Dataset, graph_key: str, graph: Any, results: Any, end_model: Any, lf_names: list[str], key: str
) -> None:
    options = [DEV_LABEL, *([PREDICTED, CONFIDENCE] if lf_names else []), *(_LF_PREFIX + n for n in lf_names)]
    colour = st.selectbox("Colour the map by", options, key=f"{key}.colour")
    shown = None
    if colour != DEV_LABEL:
        shown = _resolve(results)
        if shown is None:
            st.caption("No results yet for this colouring (build the graph and switch on an LF): dev labels shown.")
    points, state = map_points(dataset, graph_key, graph)
    chart = _chart(dataset, points, colour, shown, end_model)
    event = st.altair_chart(
        chart, width="stretch", on_select="rerun", selection_mode=charts.MAP_SELECTION, key=f"{key}.chart"
    )
    caption = f"{len(points):,} of {len(dataset):,} rows"
    caption += " (every dev row, then a fixed sample)." if len(points) < len(dataset) else "."
    if state.status in ("unavailable", "failed"):
        caption += " " + (state.message if state.status == "unavailable" else f"UMAP failed: {state.message}")
    if colour not in (DEV_LABEL,) and shown is not None:
        caption += f" Predictions and confidence from the {predictions_of(shown, end_model)[2]}."
    st.caption(render.md(caption))
    rows = charts.selected_rows(event, points)
    if rows:
        st.markdown(
            f"**{len(rows)} selected row{'s' if len(rows) != 1 else ''}** (shift-click adds, double-click clears)"
        )
        st.dataframe(selected_table(dataset, rows, shown, end_model), width="stretch")
    else:
        st.caption("Click a point to list its row here (shift-click for more). Scroll to zoom, drag to pan.")


def data_map(
    dataset: Dataset,
    graph_key: str,
    graph: Any,
    *,
    results: Any | Callable[[], Any] = None,
    end_model: Any = None,
    lf_names: list[str] | None = None,
    key: str = "map",
) -> None:
    """Draw the data map with its colouring picker and the list of selected rows.

    Parameters
    ----------
    dataset : Dataset
        The project's dataset (hand labels included).
    graph_key : str
        The engine's key of ``graph`` (the UMAP layout is cached under it).
    graph : KNNGraph
        The dataset's k-NN graph (with its embeddings).
    results : results object, or a callable returning one (or None), optional
        What the results page shows (``names``, ``L``, ``L_extended``, ``proba``, ``covered``); a callable is
        called only when a colouring needs it, so the data page pays for results only when asked.
    end_model : EndModelState, optional
        Its predictions colour the map when it is fitted for ``results``.
    lf_names : list of str, optional
        The LFs offered as colourings (default ``results.names`` when ``results`` is given as an object).
    key : str
        Prefix of the widget keys (two maps on one page need two prefixes).
    """
    if lf_names is None:
        lf_names = [] if results is None or callable(results) else list(results.names)
    state = map_layout.layout(graph_key, graph)
    if state.status == "running":
        started = st.session_state.setdefault(f"{key}.umap_started", {}).setdefault(graph_key, time.monotonic())
        _wait_for_umap(graph_key, graph, started)
    _map_fragment(dataset, graph_key, graph, results, end_model, list(lf_names), key)
