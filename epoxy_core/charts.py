"""Pure Altair chart builders for Epoxy Studio.

Every function takes plain pandas / numpy data and returns an :class:`altair.Chart`
(or a layered chart); nothing here imports streamlit, so the charts can be tested
and reused in a notebook.  Colours follow one rule: a class keeps the same colour
in every chart (the order of ``class_names``).

The results page's four charts (coverage lift, LF accuracy, model comparison, class balance) are *row-free*:
their Vega-Lite spec does not depend on the rows they draw (order and colours come from columns of the rows,
not from lists in the spec), and each has a ``*_table`` function that makes those rows.  An interactive page
builds the spec with Altair once (:func:`row_free_spec`) and draws new rows into it with :func:`with_rows`:
Altair's conversion costs 8-20 ms per chart, the rows well under one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd

from epoxy_core.labels import ABSTAIN

__all__ = [
    "MAP_SELECTION",
    "ROWS",
    "accuracy_comparison",
    "accuracy_comparison_table",
    "class_balance",
    "class_balance_table",
    "confidence_histogram",
    "coverage_lift",
    "coverage_lift_table",
    "embedding_map",
    "extension_curve_chart",
    "map_by_class",
    "map_by_confidence",
    "map_by_dev_label",
    "map_by_lf",
    "model_comparison",
    "model_comparison_table",
    "row_free_spec",
    "selected_rows",
    "with_rows",
]

# Two series that the eye must tell apart at once: "before" is muted, "after" saturated.
_STAGE_COLORS = ("#9ecae1", "#2171b5")
_STAGES = ("before extension", "after extension")

# A row-free chart orders its categories by the rows' "order" column, not by a list of names in the spec.
_BY_ORDER = alt.EncodingSortField(field="order", op="min")

ROWS = "rows"
"""The name of a row-free spec's dataset (see :func:`row_free_spec`)."""


def _lf_names(summary: pd.DataFrame) -> pd.Series:
    """LF names from a summary: its ``name`` column if present, else its index."""
    if "name" in summary.columns:
        return summary["name"].astype(str).reset_index(drop=True)
    return pd.Series(summary.index.astype(str), name="name")


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {list(columns)}; missing {missing}. Got {list(frame.columns)}.")


def coverage_lift_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`coverage_lift` draws: one per LF and stage, with the lift and the LF's position.

    Examples
    --------
    >>> s = pd.DataFrame({"coverage": [0.1], "extended_coverage": [0.3]}, index=["kw"])
    >>> coverage_lift_table(s)[["LF", "stage", "coverage"]].to_dict("records")[1]
    {'LF': 'kw', 'stage': 'after extension', 'coverage': 0.3}
    """
    _require_columns(summary, ("coverage", "extended_coverage"), "coverage_lift")
    names = _lf_names(summary)
    before = summary["coverage"].to_numpy(dtype=float)
    after = summary["extended_coverage"].to_numpy(dtype=float)
    order = np.arange(len(names))
    return pd.DataFrame(
        {
            "LF": np.concatenate([names, names]),
            "stage": [_STAGES[0]] * len(names) + [_STAGES[1]] * len(names),
            "coverage": np.concatenate([before, after]),
            # The lift is repeated on both bars so either tooltip answers "how much did it gain?".
            "lift": np.concatenate([after - before, after - before]),
            "order": np.concatenate([order, order]),
        }
    )


def coverage_lift(summary: pd.DataFrame) -> alt.Chart:
    """Grouped bars of each LF's coverage before and after extension.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per LF with columns ``coverage`` and ``extended_coverage`` (fractions in
        [0, 1]); LF names come from a ``name`` column or the index (as in ``lf_summary``).

    Returns
    -------
    altair.Chart
        Horizontal grouped bars, one group per LF (in the summary's order), with a tooltip that shows the lift.
        Row-free (see :func:`row_free_spec`); its rows are :func:`coverage_lift_table`'s.

    Examples
    --------
    >>> s = pd.DataFrame({"coverage": [0.1], "extended_coverage": [0.3]}, index=["kw"])
    >>> coverage_lift(s).to_dict()["mark"]["type"]
    'bar'
    """
    return (
        alt.Chart(coverage_lift_table(summary), title="Coverage before and after extension")
        .mark_bar()
        .encode(
            y=alt.Y("LF:N", sort=_BY_ORDER, title=None),
            yOffset=alt.YOffset("stage:N", sort=list(_STAGES)),
            x=alt.X("coverage:Q", title="coverage (fraction of rows)", axis=alt.Axis(format="%")),
            color=alt.Color(
                "stage:N",
                sort=list(_STAGES),
                scale=alt.Scale(domain=list(_STAGES), range=list(_STAGE_COLORS)),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("LF:N"),
                alt.Tooltip("stage:N"),
                alt.Tooltip("coverage:Q", format=".1%"),
                alt.Tooltip("lift:Q", format="+.1%", title="coverage lift"),
            ],
        )
    )


_ACCURACY_KINDS = {
    "estimated_accuracy": "estimated (label model)",
    "empirical_accuracy": "measured on dev",
    "extended_empirical_accuracy": "measured on dev, extended",
}


def accuracy_comparison_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows :func:`accuracy_comparison` draws: one per LF and known accuracy, with the LF's position."""
    if not any(column in summary.columns for column in _ACCURACY_KINDS):
        raise ValueError(
            f"accuracy_comparison needs at least one of {list(_ACCURACY_KINDS)}; got {list(summary.columns)}."
        )
    names = _lf_names(summary)
    parts = []
    for column, label in _ACCURACY_KINDS.items():
        if column in summary.columns:
            values = pd.to_numeric(summary[column], errors="coerce").to_numpy(dtype=float)
            parts.append(pd.DataFrame({"LF": names, "kind": label, "accuracy": values, "order": np.arange(len(names))}))
    long = pd.concat(parts, ignore_index=True)
    return long[np.isfinite(long["accuracy"].to_numpy(dtype=float))].reset_index(drop=True)


def accuracy_comparison(summary: pd.DataFrame) -> alt.Chart:
    """Dot plot of each LF's label-model estimated accuracy next to its measured dev accuracy.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per LF with at least one of ``estimated_accuracy`` (absent when no label model was
        fitted), ``empirical_accuracy`` and ``extended_empirical_accuracy`` (NaN where unknown).

    Returns
    -------
    altair.Chart
        One row per LF, one coloured dot per accuracy kind; NaN values are left out.  Row-free (see
        :func:`row_free_spec`); its rows are :func:`accuracy_comparison_table`'s.
    """
    kinds = list(_ACCURACY_KINDS.values())  # colours by position among the kinds present, in this order
    return (
        alt.Chart(accuracy_comparison_table(summary), title="LF accuracy: estimated vs measured")
        .mark_point(filled=True, size=90)
        .encode(
            y=alt.Y("LF:N", sort=_BY_ORDER, title=None),
            x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("kind:N", sort=kinds, title=None),
            shape=alt.Shape("kind:N", sort=kinds, legend=None),  # one legend (colour) for both channels
            tooltip=[alt.Tooltip("LF:N"), alt.Tooltip("kind:N"), alt.Tooltip("accuracy:Q", format=".1%")],
        )
    )


def embedding_map(points: pd.DataFrame, class_names: Sequence[str] | None = None) -> alt.Chart:
    """Scatter plot of a 2-D projection of the embeddings, coloured by label.

    Parameters
    ----------
    points : pandas.DataFrame
        Columns ``x``, ``y``, ``label`` (class name, or e.g. ``"unlabeled"``) and optionally
        ``text`` (shown in the tooltip).
    class_names : sequence of str, optional
        Fixes the colour order so a class has the same colour in every chart; other labels
        (such as ``"unlabeled"``) come after, in grey.

    Returns
    -------
    altair.Chart
        An interactive (zoom / pan) scatter plot.
    """
    _require_columns(points, ("x", "y", "label"), "embedding_map")
    labels = [str(v) for v in pd.unique(points["label"].astype(str))]
    domain = [str(c) for c in class_names] if class_names is not None else []
    domain += sorted(v for v in labels if v not in domain)
    palette = list(_category_palette(len(domain)))
    rng = [("#c7c7c7" if name == "unlabeled" else palette[i]) for i, name in enumerate(domain)]
    tooltip = [alt.Tooltip("label:N")]
    if "text" in points.columns:
        tooltip.append(alt.Tooltip("text:N"))
    data = points.assign(label=points["label"].astype(str))
    return (
        alt.Chart(data, title=f"Embedding map ({_map_method(points)})")
        .mark_circle(size=18, opacity=0.6)
        .encode(
            x=alt.X("x:Q", title=None, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("y:Q", title=None, axis=alt.Axis(labels=False, ticks=False)),
            color=alt.Color("label:N", scale=alt.Scale(domain=domain, range=rng), title="label"),
            tooltip=tooltip,
        )
        .interactive()
    )


def _category_palette(n: int) -> list[str]:
    """Tableau-10 colours, repeated if there are more classes than colours."""
    base = [
        "#4c78a8",
        "#f58518",
        "#54a24b",
        "#e45756",
        "#72b7b2",
        "#b279a2",
        "#eeca3b",
        "#ff9da6",
        "#9d755d",
        "#bab0ac",
    ]
    return [base[i % len(base)] for i in range(n)]


def class_balance_table(balance: Sequence[float] | np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """The rows :func:`class_balance` draws: one per class, with its position and colour."""
    values = np.asarray(balance, dtype=float)
    if values.ndim != 1 or len(values) != len(class_names):
        raise ValueError(f"class_balance needs one value per class: got {values.shape} for {len(class_names)} classes.")
    return pd.DataFrame(
        {
            "class": [str(c) for c in class_names],
            "probability": values,
            "order": np.arange(len(values)),
            "colour": _category_palette(len(values)),
        }
    )


def class_balance(balance: Sequence[float] | np.ndarray, class_names: Sequence[str]) -> alt.Chart:
    """Bar chart of the class balance (prior) the label model used.

    Parameters
    ----------
    balance : sequence of float
        One probability per class; must have the same length as ``class_names``.
    class_names : sequence of str
        Class names, in class-index order (which fixes the colours, as in every chart).

    Returns
    -------
    altair.Chart
        Row-free (see :func:`row_free_spec`); its rows are :func:`class_balance_table`'s.

    Examples
    --------
    >>> class_balance([0.4, 0.6], ["ham", "spam"]).to_dict()["mark"]["type"]
    'bar'
    """
    return (
        alt.Chart(class_balance_table(balance, class_names), title="Class balance used by the label model")
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("class:N", sort=_BY_ORDER, title=None),
            color=alt.Color("colour:N", scale=None, legend=None),  # the colours are in the rows
            tooltip=[alt.Tooltip("class:N"), alt.Tooltip("probability:Q", format=".1%")],
        )
    )


def model_comparison_table(
    metrics: Mapping[str, Mapping[str, float]] | pd.DataFrame, metric: str = "accuracy"
) -> pd.DataFrame:
    """The rows :func:`model_comparison` draws: one per model with a finite ``metric``, with its position."""
    frame = metrics if isinstance(metrics, pd.DataFrame) else pd.DataFrame.from_dict(metrics, orient="index")
    if metric not in frame.columns:
        raise ValueError(f"Metric {metric!r} is not in the comparison; available: {list(frame.columns)}.")
    values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=float)
    data = pd.DataFrame({"model": frame.index.astype(str), metric: values, "order": np.arange(len(frame))})
    return data[np.isfinite(values)].reset_index(drop=True)


def model_comparison(
    metrics: Mapping[str, Mapping[str, float]] | pd.DataFrame, metric: str = "accuracy"
) -> alt.LayerChart:
    """Bars comparing one dev metric across models (label model, majority vote, no extension...).

    Parameters
    ----------
    metrics : mapping or pandas.DataFrame
        ``{model name: {metric: value}}``, or a DataFrame with one row per model (index = model
        names) and one column per metric, as ``analysis.compare_models`` returns.
    metric : str
        The metric to plot; must be present for at least one model.

    Returns
    -------
    altair.LayerChart
        Bars and their values, one per model in the given order.  Row-free for a given ``metric`` (see
        :func:`row_free_spec`); its rows are :func:`model_comparison_table`'s.
    """
    data = model_comparison_table(metrics, metric)
    base = alt.Chart(title=f"Dev {metric.replace('_', ' ')} by model").encode(
        x=alt.X(f"{metric}:Q", scale=alt.Scale(domain=[0, 1]), title=metric.replace("_", " ")),
        y=alt.Y("model:N", sort=_BY_ORDER, title=None, axis=alt.Axis(labelLimit=260)),
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip(f"{metric}:Q", format=".3f")],
    )
    values = base.mark_text(align="left", dx=3).encode(text=alt.Text(f"{metric}:Q", format=".3f"))
    return alt.layer(base.mark_bar(), values, data=data)


def row_free_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The Vega-Lite spec of a chart drawn from one table, its rows left out: they are named :data:`ROWS`.

    For a row-free chart (one whose spec does not depend on its rows, as the ``*_table`` charts above) the
    result is the same whatever rows it was built from, so it can be built once and filled many times with
    :func:`with_rows`.

    Parameters
    ----------
    chart : altair chart
        A chart (or layered chart) whose layers share one inline table.

    Returns
    -------
    dict
        The spec (not validated: the builders' specs are checked by the tests), with ``data`` naming
        :data:`ROWS` and no ``datasets``.

    Raises
    ------
    ValueError
        If the chart draws from more than one table, or from none.

    Examples
    --------
    >>> a = row_free_spec(class_balance([0.4, 0.6], ["ham", "spam"]))
    >>> a == row_free_spec(class_balance([0.2, 0.3, 0.5], ["a", "b", "c"])), a["data"]
    (True, {'name': 'rows'})
    """
    spec = chart.to_dict(validate=False)
    datasets = spec.pop("datasets", {})
    if len(datasets) != 1 or spec.get("data") != {"name": next(iter(datasets))}:
        raise ValueError(f"row_free_spec needs a chart drawn from one inline table; this one has {len(datasets)}.")
    spec["data"] = {"name": ROWS}
    return spec


def with_rows(spec: Mapping[str, Any], rows: pd.DataFrame) -> dict[str, Any]:
    """A :func:`row_free_spec` with ``rows`` as its data (a new top-level dict; ``spec`` is not changed).

    ``st.vega_lite_chart`` sends a DataFrame in ``datasets`` as Arrow; a spec that stays the same while the
    rows change lets the browser update the drawn chart instead of building it again.

    Examples
    --------
    >>> template = row_free_spec(class_balance([0.5, 0.5], ["a", "b"]))
    >>> spec = with_rows(template, class_balance_table([0.1, 0.9], ["a", "b"]))
    >>> spec["datasets"][ROWS]["probability"].tolist()
    [0.1, 0.9]
    """
    return {**spec, "datasets": {ROWS: rows}}


def confidence_histogram(proba: np.ndarray, bins: int = 20) -> alt.Chart:
    """Histogram of the label model's confidence (largest class probability) per row.

    Parameters
    ----------
    proba : numpy.ndarray of shape (n_rows, n_classes)
        Probabilistic labels.
    bins : int
        Number of bins between ``1 / n_classes`` and 1.

    Returns
    -------
    altair.Chart
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(f"proba must have shape (rows, classes >= 2); got {proba.shape}.")
    data = pd.DataFrame({"confidence": proba.max(axis=1)})
    return (
        alt.Chart(data, title="Label-model confidence per row")
        .mark_bar()
        .encode(
            x=alt.X(
                "confidence:Q",
                bin=alt.Bin(maxbins=bins, extent=[1.0 / proba.shape[1], 1.0]),
                title="largest class probability",
            ),
            y=alt.Y("count():Q", title="rows"),
        )
    )


# --------------------------------------------------------------------------------------------------------------
# The data map (points from epoxy_core.projection), coloured by what the user wants to see
# --------------------------------------------------------------------------------------------------------------

MAP_SELECTION = "map_points"
"""Name of the map charts' selection parameter: ``st.altair_chart(chart, on_select="rerun").selection[MAP_SELECTION]``
(read it with :func:`selected_rows`)."""

_GREY = "#c7c7c7"
_TOOLTIP_CHARS = 200


def _map_method(points: pd.DataFrame) -> str:
    return {"umap": "UMAP", "pca": "PCA"}.get(str(points.attrs.get("method", "pca")), "PCA")


def _tint(colour: str, amount: float = 0.6) -> str:
    """``colour`` mixed with white (``amount`` of white), for "extended" next to "own" votes.

    >>> _tint("#000000", 0.5)
    '#808080'
    """
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)


def _per_row(values: Any, points: pd.DataFrame, what: str) -> np.ndarray:
    """The entries of a per-row array at the map's sampled rows (checks the array covers every row)."""
    array = np.asarray(values)
    rows = points["row"].to_numpy(dtype=np.int64)
    n_rows = int(points.attrs.get("n_rows", rows.max(initial=-1) + 1))
    if array.ndim == 0 or array.shape[0] != n_rows:
        raise ValueError(
            f"{what} needs one value per row of the data ({n_rows:,}); got shape {array.shape}. "
            "Pass the full-length array: the map picks its sampled rows itself."
        )
    return array[rows]


def _map_data(points: pd.DataFrame, texts: Sequence[Any] | None) -> pd.DataFrame:
    _require_columns(points, ("row", "x", "y"), "map chart")
    data = pd.DataFrame({"row": points["row"].to_numpy(dtype=np.int64), "x": points["x"], "y": points["y"]})
    if texts is not None:
        picked = _per_row(np.asarray(texts, dtype=object), points, "texts")
        data["text"] = [
            "" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t)[:_TOOLTIP_CHARS] for t in picked
        ]
    return data


def _class_names(names: Sequence[str]) -> list[str]:
    return [str(c) for c in names]


def _category_name(values: np.ndarray, names: list[str], missing: str) -> list[str]:
    return [missing if int(v) == ABSTAIN else names[int(v)] for v in values]


def _map_chart(
    data: pd.DataFrame,
    color: alt.Color,
    title: str,
    tooltip: list[alt.Tooltip],
    selection: Literal["point", "interval"],
) -> alt.Chart:
    """The shared scatter: zoom/pan (point mode), a named selection, selected points opaque."""
    if selection not in ("point", "interval"):
        raise ValueError(f"selection must be 'point' or 'interval', got {selection!r}.")
    if selection == "point":
        # Click a point (shift-click adds more); the selection carries row ids, so it survives re-sampling.
        picker = alt.selection_point(name=MAP_SELECTION, fields=["row"], on="click")
    else:
        picker = alt.selection_interval(name=MAP_SELECTION, encodings=["x", "y"])
    tooltip = [alt.Tooltip("row:Q", title="row"), *tooltip]
    if "text" in data.columns:
        tooltip.append(alt.Tooltip("text:N", title="text"))
    chart = (
        alt.Chart(data, title=title)
        .mark_circle(size=22)
        .encode(
            x=alt.X("x:Q", title=None, axis=alt.Axis(labels=False, ticks=False, grid=False)),
            y=alt.Y("y:Q", title=None, axis=alt.Axis(labels=False, ticks=False, grid=False)),
            color=color,
            opacity=alt.condition(picker, alt.value(0.8), alt.value(0.15)),
            tooltip=tooltip,
        )
        .add_params(picker)
    )
    if selection == "point":
        chart = chart.add_params(alt.selection_interval(bind="scales"))  # zoom and pan; dragging draws no box
    return chart


def map_by_class(
    points: pd.DataFrame,
    predictions: Any,
    class_names: Sequence[str],
    *,
    texts: Sequence[Any] | None = None,
    selection: Literal["point", "interval"] = "point",
) -> alt.Chart:
    """The data map coloured by predicted class.

    Parameters
    ----------
    points : pandas.DataFrame
        :func:`epoxy_core.projection.map_points` output (``row``, ``x``, ``y``; ``attrs["n_rows"]``).
    predictions : array-like of shape (n_rows,)
        Predicted class index of every row of the data, ``ABSTAIN`` for "no prediction" (grey).
    class_names : sequence of str
        Class names in index order (fixes the colours, as in every chart).
    texts : sequence, optional
        Every row's text, shown (cut to 200 characters) in the tooltip.
    selection : {"point", "interval"}, default "point"
        Click (shift-click) points, or drag a box; named :data:`MAP_SELECTION`.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> points = pd.DataFrame({"row": [0, 2], "x": [0.0, 1.0], "y": [0.0, 1.0]})
    >>> points.attrs["n_rows"] = 3
    >>> spec = map_by_class(points, [1, 0, -1], ["ham", "spam"]).to_dict()
    >>> [row["predicted"] for row in spec["datasets"][spec["data"]["name"]]]
    ['spam', 'no prediction']
    """
    names = _class_names(class_names)
    data = _map_data(points, texts)
    data["predicted"] = _category_name(_per_row(predictions, points, "predictions"), names, "no prediction")
    domain = [*names, "no prediction"]
    colours = [*_category_palette(len(names)), _GREY]
    color = alt.Color("predicted:N", scale=alt.Scale(domain=domain, range=colours), title="predicted class")
    title = f"Predicted class ({_map_method(points)} map)"
    return _map_chart(data, color, title, [alt.Tooltip("predicted:N")], selection)


def map_by_lf(
    points: pd.DataFrame,
    votes: Any,
    extended_votes: Any,
    class_names: Sequence[str],
    *,
    lf_name: str | None = None,
    texts: Sequence[Any] | None = None,
    selection: Literal["point", "interval"] = "point",
) -> alt.Chart:
    """The data map coloured by one LF: its own votes, the votes extension adds (lighter), and abstains (grey).

    Parameters
    ----------
    votes, extended_votes : array-like of shape (n_rows,)
        The LF's column of ``L`` and of the extended matrix (every own vote is kept by extension).
    lf_name : str, optional
        Shown in the title.
    points, class_names, texts, selection
        As in :func:`map_by_class`.
    """
    names = _class_names(class_names)
    own = _per_row(votes, points, "votes").astype(np.int64)
    extended = _per_row(extended_votes, points, "extended_votes").astype(np.int64)
    labels = []
    for o, e in zip(own.tolist(), extended.tolist(), strict=True):
        if o != ABSTAIN:
            labels.append(f"{names[o]} (own vote)")
        elif e != ABSTAIN:
            labels.append(f"{names[e]} (extended)")
        else:
            labels.append("abstains")
    data = _map_data(points, texts)
    data["vote"] = labels
    palette = _category_palette(len(names))
    domain = [f"{n} (own vote)" for n in names] + [f"{n} (extended)" for n in names] + ["abstains"]
    colours = palette + [_tint(c) for c in palette] + [_GREY]
    color = alt.Color("vote:N", scale=alt.Scale(domain=domain, range=colours), title="vote")
    title = f"{'LF ' + repr(lf_name) if lf_name else 'LF'}: own and extended votes ({_map_method(points)} map)"
    return _map_chart(data, color, title, [alt.Tooltip("vote:N")], selection)


def map_by_confidence(
    points: pd.DataFrame,
    proba: Any,
    *,
    class_names: Sequence[str] | None = None,
    texts: Sequence[Any] | None = None,
    selection: Literal["point", "interval"] = "point",
) -> alt.Chart:
    """The data map coloured by the model's confidence (largest class probability) per row.

    Parameters
    ----------
    proba : array-like of shape (n_rows, n_classes)
        Probabilistic labels of every row (label model or end model).
    class_names : sequence of str, optional
        Adds the most probable class to the tooltip.
    points, texts, selection
        As in :func:`map_by_class`.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(f"proba must have shape (rows, classes >= 2); got {proba.shape}.")
    picked = _per_row(proba, points, "proba")
    data = _map_data(points, texts)
    data["confidence"] = picked.max(axis=1)
    tooltip = [alt.Tooltip("confidence:Q", format=".1%")]
    if class_names is not None:
        data["most likely"] = [str(class_names[i]) for i in picked.argmax(axis=1)]
        tooltip.insert(0, alt.Tooltip("most likely:N"))
    color = alt.Color(
        "confidence:Q",
        scale=alt.Scale(domain=[1.0 / proba.shape[1], 1.0], scheme="viridis"),
        legend=alt.Legend(format="%"),
        title="confidence",
    )
    return _map_chart(data, color, f"Confidence ({_map_method(points)} map)", tooltip, selection)


def map_by_dev_label(
    points: pd.DataFrame,
    y: Any,
    class_names: Sequence[str],
    *,
    texts: Sequence[Any] | None = None,
    selection: Literal["point", "interval"] = "point",
) -> alt.Chart:
    """The data map coloured by gold (dev) label; unlabeled rows in grey.

    Draw it from points made with ``include=`` the dev rows (see :func:`epoxy_core.projection.map_points`)
    so that every labelled row is on the map however large the data.

    Parameters
    ----------
    y : array-like of shape (n_rows,)
        Gold labels of every row, ``ABSTAIN`` for unlabeled.
    points, class_names, texts, selection
        As in :func:`map_by_class`.
    """
    names = _class_names(class_names)
    data = _map_data(points, texts)
    data["dev label"] = _category_name(_per_row(y, points, "y"), names, "unlabeled")
    # Labelled rows drawn last, on top of the (usually far more numerous) unlabeled ones.
    data = data.assign(_order=(data["dev label"] != "unlabeled").astype(int)).sort_values("_order", kind="stable")
    data = data.drop(columns="_order")
    domain = [*names, "unlabeled"]
    colours = [*_category_palette(len(names)), _GREY]
    color = alt.Color("dev label:N", scale=alt.Scale(domain=domain, range=colours), title="dev label")
    return _map_chart(data, color, f"Dev labels ({_map_method(points)} map)", [alt.Tooltip("dev label:N")], selection)


def selected_rows(selection: Any, points: pd.DataFrame | None = None) -> list[int]:
    """Row ids picked on a map chart, from Streamlit's selection state.

    Parameters
    ----------
    selection : mapping or list
        ``st.altair_chart(chart, on_select="rerun")`` returns an event; pass it, its ``selection``, or
        ``selection[MAP_SELECTION]``.  Point selections hold ``[{"row": ...}, ...]``; interval selections hold
        ``{"x": [lo, hi], "y": [lo, hi]}`` and need ``points`` to find the rows inside.
    points : pandas.DataFrame, optional
        The map's points, for interval selections.

    Returns
    -------
    list of int
        Sorted, unique row ids (empty when nothing is selected).

    Examples
    --------
    >>> selected_rows({"selection": {"map_points": [{"row": 7}, {"row": 3}]}})
    [3, 7]
    >>> selected_rows({"x": [0, 1], "y": [0, 1]}, pd.DataFrame({"row": [4, 5], "x": [0.5, 2], "y": [0.5, 0.5]}))
    [4]
    """
    state: Any = selection
    for key in ("selection", MAP_SELECTION):
        if isinstance(state, Mapping) and key in state:
            state = state[key]
    if not state:
        return []
    if isinstance(state, Mapping):
        if "x" not in state or "y" not in state:
            return []
        if points is None:
            raise ValueError("An interval selection holds x/y ranges: pass the map's points to find the rows in it.")
        (x0, x1), (y0, y1) = sorted(state["x"]), sorted(state["y"])
        inside = points["x"].between(x0, x1) & points["y"].between(y0, y1)
        return sorted(int(r) for r in points.loc[inside, "row"])
    rows = set()
    for item in state:
        if isinstance(item, Mapping) and item.get("row") is not None:
            rows.add(int(item["row"]))
    return sorted(rows)


def extension_curve_chart(curve: pd.DataFrame, threshold: float | None = None) -> alt.LayerChart | alt.Chart:
    """Rows added by extension and their dev accuracy against the threshold, for the LF editor.

    Parameters
    ----------
    curve : pandas.DataFrame
        :func:`epoxy_core.analysis.extension_curve` output.
    threshold : float, optional
        The current threshold, drawn as a vertical rule.

    Returns
    -------
    altair.Chart or altair.LayerChart
        Coverage lift (bars of the left axis) and dev accuracy of the added votes (points), per threshold.
    """
    _require_columns(curve, ("threshold", "coverage_lift", "added_accuracy", "added_rows"), "extension_curve_chart")
    base = alt.Chart(curve)
    tooltip = [
        alt.Tooltip("threshold:Q", format=".2f"),
        alt.Tooltip("added_rows:Q", title="rows added", format=","),
        alt.Tooltip("coverage_lift:Q", title="coverage lift", format="+.1%"),
        alt.Tooltip("added_accuracy:Q", title="dev accuracy of added votes", format=".1%"),
    ]
    lift = base.mark_line(color=_STAGE_COLORS[1], point=True).encode(
        x=alt.X("threshold:Q", scale=alt.Scale(zero=False)),
        y=alt.Y("coverage_lift:Q", title="coverage lift", axis=alt.Axis(format="%")),
        tooltip=tooltip,
    )
    accuracy = base.mark_line(color="#e45756", strokeDash=[4, 3], point=True).encode(
        x="threshold:Q",
        y=alt.Y(
            "added_accuracy:Q",
            title="dev accuracy of added votes",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        tooltip=tooltip,
    )
    chart: alt.LayerChart | alt.Chart = alt.layer(lift, accuracy).resolve_scale(y="independent")
    if threshold is not None:
        rule = (
            alt.Chart(pd.DataFrame({"threshold": [float(threshold)]})).mark_rule(color="#555").encode(x="threshold:Q")
        )
        chart = alt.layer(lift, accuracy, rule).resolve_scale(y="independent")
    return chart.properties(title="What extension adds at each threshold")
