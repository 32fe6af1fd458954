"""Pure Altair chart builders for Epoxy Studio.

Every function takes plain pandas / numpy data and returns an :class:`altair.Chart`
(or a layered chart); nothing here imports streamlit, so the charts can be tested
and reused in a notebook.  Colours follow one rule: a class keeps the same colour
in every chart (the order of ``class_names``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

__all__ = [
    "accuracy_comparison",
    "class_balance",
    "confidence_histogram",
    "coverage_lift",
    "embedding_map",
    "model_comparison",
]

# Two series that the eye must tell apart at once: "before" is muted, "after" saturated.
_STAGE_COLORS = ("#9ecae1", "#2171b5")


def _lf_names(summary: pd.DataFrame) -> pd.Series:
    """LF names from a summary: its ``name`` column if present, else its index."""
    if "name" in summary.columns:
        return summary["name"].astype(str).reset_index(drop=True)
    return pd.Series(summary.index.astype(str), name="name")


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {list(columns)}; missing {missing}. Got {list(frame.columns)}.")


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
        Horizontal grouped bars, one group per LF, with a tooltip that shows the lift.

    Examples
    --------
    >>> s = pd.DataFrame({"coverage": [0.1], "extended_coverage": [0.3]}, index=["kw"])
    >>> coverage_lift(s).to_dict()["mark"]["type"]
    'bar'
    """
    _require_columns(summary, ("coverage", "extended_coverage"), "coverage_lift")
    names = _lf_names(summary)
    before = summary["coverage"].to_numpy(dtype=float)
    after = summary["extended_coverage"].to_numpy(dtype=float)
    long = pd.DataFrame(
        {
            "LF": np.concatenate([names, names]),
            "stage": ["before extension"] * len(names) + ["after extension"] * len(names),
            "coverage": np.concatenate([before, after]),
            # The lift is repeated on both bars so either tooltip answers "how much did it gain?".
            "lift": np.concatenate([after - before, after - before]),
        }
    )
    stages = ["before extension", "after extension"]
    return (
        alt.Chart(long, title="Coverage before and after extension")
        .mark_bar()
        .encode(
            y=alt.Y("LF:N", sort=list(names), title=None),
            yOffset=alt.YOffset("stage:N", sort=stages),
            x=alt.X("coverage:Q", title="coverage (fraction of rows)", axis=alt.Axis(format="%")),
            color=alt.Color(
                "stage:N", sort=stages, scale=alt.Scale(domain=stages, range=list(_STAGE_COLORS)), title=None
            ),
            tooltip=[
                alt.Tooltip("LF:N"),
                alt.Tooltip("stage:N"),
                alt.Tooltip("coverage:Q", format=".1%"),
                alt.Tooltip("lift:Q", format="+.1%", title="coverage lift"),
            ],
        )
    )


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
        One row per LF, one coloured dot per accuracy kind; NaN values are left out.
    """
    kinds = {
        "estimated_accuracy": "estimated (label model)",
        "empirical_accuracy": "measured on dev",
        "extended_empirical_accuracy": "measured on dev, extended",
    }
    if not any(column in summary.columns for column in kinds):
        raise ValueError(f"accuracy_comparison needs at least one of {list(kinds)}; got {list(summary.columns)}.")
    names = _lf_names(summary)
    parts = []
    for column, label in kinds.items():
        if column in summary.columns:
            values = pd.to_numeric(summary[column], errors="coerce").to_numpy(dtype=float)
            parts.append(pd.DataFrame({"LF": names, "kind": label, "accuracy": values}))
    long = pd.concat(parts, ignore_index=True)
    long = long[np.isfinite(long["accuracy"].to_numpy(dtype=float))]
    order = [label for column, label in kinds.items() if column in summary.columns]
    return (
        alt.Chart(long, title="LF accuracy: estimated vs measured")
        .mark_point(filled=True, size=90)
        .encode(
            y=alt.Y("LF:N", sort=list(names), title=None),
            x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("kind:N", sort=order, title=None),
            shape=alt.Shape("kind:N", sort=order, title=None),
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
        alt.Chart(data, title="Embedding map (PCA)")
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


def class_balance(balance: Sequence[float] | np.ndarray, class_names: Sequence[str]) -> alt.Chart:
    """Bar chart of the class balance (prior) the label model used.

    Parameters
    ----------
    balance : sequence of float
        One probability per class; must have the same length as ``class_names``.
    class_names : sequence of str
        Class names, in class-index order.

    Returns
    -------
    altair.Chart

    Examples
    --------
    >>> class_balance([0.4, 0.6], ["ham", "spam"]).to_dict()["mark"]["type"]
    'bar'
    """
    values = np.asarray(balance, dtype=float)
    if values.ndim != 1 or len(values) != len(class_names):
        raise ValueError(f"class_balance needs one value per class: got {values.shape} for {len(class_names)} classes.")
    data = pd.DataFrame({"class": [str(c) for c in class_names], "probability": values})
    domain = list(data["class"])
    return (
        alt.Chart(data, title="Class balance used by the label model")
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("class:N", sort=domain, title=None),
            color=alt.Color(
                "class:N", scale=alt.Scale(domain=domain, range=_category_palette(len(domain))), legend=None
            ),
            tooltip=[alt.Tooltip("class:N"), alt.Tooltip("probability:Q", format=".1%")],
        )
    )


def model_comparison(metrics: Mapping[str, Mapping[str, float]] | pd.DataFrame, metric: str = "accuracy") -> alt.Chart:
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
    altair.Chart
    """
    frame = metrics if isinstance(metrics, pd.DataFrame) else pd.DataFrame.from_dict(metrics, orient="index")
    if metric not in frame.columns:
        raise ValueError(f"Metric {metric!r} is not in the comparison; available: {list(frame.columns)}.")
    data = pd.DataFrame({"model": frame.index.astype(str), metric: pd.to_numeric(frame[metric], errors="coerce")})
    data = data[np.isfinite(data[metric].to_numpy(dtype=float))]
    bars = (
        alt.Chart(data, title=f"Dev {metric.replace('_', ' ')} by model")
        .mark_bar()
        .encode(
            x=alt.X(f"{metric}:Q", scale=alt.Scale(domain=[0, 1]), title=metric.replace("_", " ")),
            y=alt.Y("model:N", sort=list(data["model"]), title=None, axis=alt.Axis(labelLimit=260)),
            tooltip=[alt.Tooltip("model:N"), alt.Tooltip(f"{metric}:Q", format=".3f")],
        )
    )
    text = bars.mark_text(align="left", dx=3).encode(text=alt.Text(f"{metric}:Q", format=".3f"))
    return bars + text


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
