"""Pieces of the results page: threshold sliders, tuning, uncertain rows and exports.

Thresholds live in the project settings as ``{lf name: float or None}`` (None = no extension, since JSON
has no infinity); sliders only mirror them, so leaving the page or restarting loses nothing.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core.data import Dataset
from epoxy_core.neighbors import KNNGraph
from epoxy_core.tuning import tune_thresholds
from epoxy_studio import compute, project, state

__all__ = [
    "OFF",
    "export_labels",
    "least_certain",
    "matrix_npy",
    "threshold_sliders",
    "thresholds_for",
    "tune",
]

OFF = math.inf
"""Slider value meaning "do not extend this LF"."""
_OPTIONS = [round(x / 100, 2) for x in range(0, 101)] + [OFF]


def _label(value: float) -> str:
    return "off" if value == OFF else f"{value:.3g}"


def _snap(value: float | None) -> float:
    """A stored threshold as a slider value: None / inf = off, others clipped to [0, 1] and kept exact.

    Tuned thresholds are kept exact (not rounded to the 0.01 grid) so the page shows the scores the
    tuner measured; :func:`_options_with` adds such a value to its slider's options.
    """
    if value is None or not math.isfinite(value):
        return OFF
    return min(max(float(value), 0.0), 1.0)


def _options_with(value: float) -> list[float]:
    """The slider grid, plus ``value`` in order if it is off the grid."""
    return _OPTIONS if value in _OPTIONS else [*sorted([*_OPTIONS[:-1], value]), OFF]


def thresholds_for(lf_dicts: list[dict]) -> list[float]:
    """Current threshold per LF (``inf`` = off), from the settings, with the default for new LFs."""
    settings = project.settings()
    stored = settings["thresholds"]
    default = settings["default_threshold"]
    return [_snap(stored.get(d["name"], default)) for d in lf_dicts]


def _store(name: str) -> None:
    value = st.session_state[f"results.threshold.{name}"]
    thresholds = {**project.settings()["thresholds"], name: None if value == OFF else float(value)}
    project.update_settings(thresholds=thresholds)


def _store_all(names: list[str]) -> None:
    value = st.session_state["results.threshold_all"]
    stored = None if value == OFF else float(value)
    project.update_settings(thresholds={n: stored for n in names}, default_threshold=stored or 0.8)


def threshold_sliders(lf_dicts: list[dict]) -> None:
    """One slider per enabled LF plus a "set all" slider; every change is saved at once."""
    names = [d["name"] for d in lf_dicts]
    current = thresholds_for(lf_dicts)
    default = _snap(project.settings()["default_threshold"])
    st.session_state["results.threshold_all"] = default  # the saved value wins over the widget's memory
    st.select_slider(
        "Set every LF's threshold to",
        _options_with(default),
        format_func=_label,
        key="results.threshold_all",
        on_change=_store_all,
        args=(names,),
    )
    columns = st.columns(2)
    for i, (name, value) in enumerate(zip(names, current, strict=True)):
        key = f"results.threshold.{name}"
        st.session_state[key] = value  # the stored value wins (tuning or "set all" may have changed it)
        columns[i % 2].select_slider(
            name,
            _options_with(value),
            format_func=_label,
            key=key,
            on_change=_store,
            args=(name,),
            help="Minimum similarity",
        )


def tune(dataset: Dataset, graph_key: str, graph: KNNGraph, lf_dicts: list[dict], balance_mode: str) -> None:
    """Tune thresholds on the dev labels, save them and keep the result (with its CV score) for display.

    Raises
    ------
    ValueError
        Too few dev labels or LFs (the tuner's message).
    """
    if len(lf_dicts) < compute.MIN_LFS_FOR_TRIPLET:
        raise ValueError("Tuning fits the label model, which needs at least 3 enabled LFs.")
    L = compute.label_matrix(dataset, lf_dicts)
    nearest = compute.nearest_for(graph_key, graph, L)
    balance = compute.class_balance_for(dataset, balance_mode)
    result = tune_thresholds(L, dataset.y, nearest, dataset.cardinality, class_balance=balance)
    pairs = zip(lf_dicts, result.thresholds, strict=True)
    chosen = {d["name"]: (float(t) if math.isfinite(t) else None) for d, t in pairs}
    shared = float(result.shared_threshold)
    project.update_settings(
        thresholds={**project.settings()["thresholds"], **chosen},
        default_threshold=shared if math.isfinite(shared) else project.settings()["default_threshold"],
    )
    st.session_state[state.TUNING] = {
        "cv_score": float(result.cv_score),
        "fitted_score": float(result.fitted_score),
        "no_extension_score": float(result.no_extension_score),
        "per_lf": bool(result.per_lf),
        "shared_threshold": float(result.shared_threshold),
        "metric": result.metric,
        "n_dev": int(result.n_dev),
    }


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


def labels_frame(dataset: Dataset, proba: np.ndarray, covered: np.ndarray) -> pd.DataFrame:
    """The dataset plus ``predicted_label`` (a class name, empty where no LF voted) and ``P(<class>)`` columns."""
    frame = dataset.df.reset_index(drop=True).copy()
    names = np.array(dataset.class_names, dtype=object)
    frame["predicted_label"] = np.where(covered, names[proba.argmax(axis=1)], None)
    for c, name in enumerate(dataset.class_names):
        frame[f"P({name})"] = proba[:, c]
    return frame


def export_labels(dataset: Dataset, proba: np.ndarray, covered: np.ndarray, fmt: str) -> bytes:
    """Labels as CSV or Parquet bytes (see :func:`labels_frame`)."""
    frame = labels_frame(dataset, proba, covered)
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    raise ValueError(f"Unknown export format {fmt!r}; use 'csv' or 'parquet'.")


def matrix_npy(L: np.ndarray) -> bytes:
    """A label matrix as ``.npy`` bytes (int8, ``-1`` = abstain)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(L), allow_pickle=False)
    return buffer.getvalue()


def percent_columns(frame: pd.DataFrame) -> dict:
    """``st.dataframe`` column config showing the fraction columns of an LF summary as percentages."""
    fractions = ("coverage", "overlaps", "conflicts", "accuracy", "lift")
    return {
        column: st.column_config.NumberColumn(format="percent")
        for column in frame.columns
        if any(part in str(column) for part in fractions) and pd.api.types.is_float_dtype(frame[column])
    }
