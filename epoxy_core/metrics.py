"""Scoring predictions against the dev labels: the headline accuracy, per-class precision/recall/F1, comparisons.

:func:`headline_accuracy` is the one figure the page's headline, the tuner's objective
(:mod:`epoxy_core.tuning`) and ``bench/spam_quality.py`` report; :data:`HEADLINE_CONVENTION` states it in
one line for the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from epoxy_core.labels import ABSTAIN, check_labels

__all__ = [
    "COMPARE_COLUMNS",
    "HEADLINE_CONVENTION",
    "Headline",
    "compare_models",
    "headline_accuracy",
    "headline_predictions",
    "label_model_metrics",
    "metrics_table",
]

HEADLINE_CONVENTION = (
    "Accuracy counts every dev row: rows no LF covers are labelled by the end model when it is on and by the "
    "class prior (its most likely class) when it is off; coverage is the share of rows some LF votes on."
)
"""The convention of :func:`headline_accuracy`, in one line for the page."""

COMPARE_COLUMNS: tuple[str, ...] = ("accuracy", "macro_f1", "coverage", "n_dev")
"""Metrics that :func:`compare_models` puts side by side by default."""


def _predictions(
    n_rows: int, y_pred: Any | None, proba: Any | None, abstain_mask: Any | None
) -> tuple[npt.NDArray[np.int64], int | None]:
    """Hard predictions (``ABSTAIN`` allowed) and, from ``proba``, the number of classes."""
    if (y_pred is None) == (proba is None):
        raise ValueError("Pass exactly one of y_pred (class indices) or proba (class probabilities).")
    n_classes = None
    if proba is not None:
        probabilities = np.asarray(proba, dtype=np.float64)
        if probabilities.ndim != 2 or probabilities.shape[0] != n_rows:
            raise ValueError(f"proba must have shape ({n_rows}, n_classes); got {probabilities.shape}.")
        if not np.all(np.isfinite(probabilities)):
            raise ValueError("proba contains NaN or infinite values; pass abstain_mask for rows without a prediction.")
        n_classes = probabilities.shape[1]
        # Ties go to the lowest class index (numpy's argmax), a stable, documented choice.
        predictions = probabilities.argmax(axis=1).astype(np.int64)
    else:
        predictions = check_labels(y_pred).copy()
        if predictions.shape[0] != n_rows:
            raise ValueError(f"y_pred has {predictions.shape[0]} entries but y has {n_rows}.")
    if abstain_mask is not None:
        mask = np.asarray(abstain_mask)
        if mask.dtype != bool or mask.shape != (n_rows,):
            raise ValueError(
                f"abstain_mask must be a boolean vector of length {n_rows}; got {mask.dtype} {mask.shape}."
            )
        predictions[mask] = ABSTAIN
    return predictions, n_classes


def label_model_metrics(
    y: Any,
    y_pred: Any | None = None,
    proba: Any | None = None,
    class_names: Sequence[str] | None = None,
    abstain_mask: Any | None = None,
) -> dict[str, Any]:
    """Score predictions against the dev labels (rows where ``y != ABSTAIN``).

    Parameters
    ----------
    y : array-like of shape (n_rows,)
        Gold labels, ``ABSTAIN`` for unlabeled rows (those rows are ignored).
    y_pred : array-like of shape (n_rows,), optional
        Predicted class per row; ``ABSTAIN`` where the model makes no prediction.
    proba : array-like of shape (n_rows, n_classes), optional
        Class probabilities; the prediction is the argmax (ties go to the lowest class).
        Give exactly one of ``y_pred`` and ``proba``.
    class_names : sequence of str, optional
        Names of classes ``0..C-1``; default ``"0"``, ``"1"``, ...
    abstain_mask : array-like of bool, shape (n_rows,), optional
        Rows where the prediction is ``ABSTAIN`` whatever ``y_pred``/``proba`` say, typically rows
        where every LF abstained (``(L == ABSTAIN).all(axis=1)``).

    Returns
    -------
    dict
        - ``n_dev``: number of dev rows; ``n_covered``: dev rows with a prediction.
        - ``accuracy``: correct / ``n_dev``.  An abstain counts as a miss, so a model cannot look
          better by abstaining; ``accuracy_covered`` is correct / ``n_covered`` (Snorkel's habit of
          scoring only non-abstained rows).
        - ``coverage``: ``n_covered / n_dev``.
        - ``per_class``: ``{class name: {"precision", "recall", "f1", "support"}}``.  An abstain is a
          prediction of no class: it lowers the true class's recall and no class's precision.
        - ``macro_precision``, ``macro_recall``, ``macro_f1``: unweighted means over the classes
          present in the dev set (``support > 0``).
        - ``class_names``: the class names used.

        Convention for a class that is absent from the dev set or never predicted: its undefined
        ratios are 0, never NaN (scikit-learn's ``zero_division=0``); a class absent from the dev
        set is left out of the macro averages, so a small dev set missing a class does not cap
        macro-F1 at (C-1)/C.  With no dev labels at all, ``n_dev`` is 0 and every metric
        (``accuracy`` ... ``per_class``) is None.

    Raises
    ------
    ValueError
        If lengths disagree, both or neither of ``y_pred``/``proba`` are given, or a class index
        has no name in ``class_names``.

    Examples
    --------
    >>> m = label_model_metrics([0, 0, 1, -1], y_pred=[0, 1, 1, 0])
    >>> m["n_dev"], round(m["accuracy"], 3), m["per_class"]["1"]["precision"]
    (3, 0.667, 0.5)
    """
    labels = check_labels(y)
    predictions, n_classes = _predictions(labels.shape[0], y_pred, proba, abstain_mask)
    highest = max(int(labels.max(initial=ABSTAIN)), int(predictions.max(initial=ABSTAIN)))
    if class_names is not None:
        names = [str(name) for name in class_names]
        if n_classes is not None and n_classes != len(names):
            raise ValueError(f"proba has {n_classes} columns but class_names has {len(names)} names.")
        if highest >= len(names):
            raise ValueError(
                f"Class index {highest} appears in y or y_pred but class_names has only {len(names)} names."
            )
    else:
        count = n_classes if n_classes is not None else max(2, highest + 1)
        if highest >= count:
            raise ValueError(f"y holds class {highest} but proba has only {count} columns.")
        names = [str(c) for c in range(count)]

    dev = labels != ABSTAIN
    n_dev = int(np.count_nonzero(dev))
    metrics: dict[str, Any] = {
        "n_dev": n_dev,
        "n_covered": 0,
        "accuracy": None,
        "accuracy_covered": None,
        "coverage": None,
        "macro_precision": None,
        "macro_recall": None,
        "macro_f1": None,
        "per_class": None,
        "class_names": names,
    }
    if n_dev == 0:
        return metrics

    gold, predicted = labels[dev], predictions[dev]
    covered = predicted != ABSTAIN
    n_covered = int(np.count_nonzero(covered))
    n_correct = int(np.count_nonzero(gold == predicted))
    precision, recall, f1, support = _precision_recall_f1(gold, predicted, len(names))
    present = support > 0
    metrics.update(
        n_covered=n_covered,
        accuracy=n_correct / n_dev,
        accuracy_covered=n_correct / n_covered if n_covered else None,
        coverage=n_covered / n_dev,
        macro_precision=float(precision[present].mean()),
        macro_recall=float(recall[present].mean()),
        macro_f1=float(f1[present].mean()),
        per_class={
            name: {
                "precision": float(precision[c]),
                "recall": float(recall[c]),
                "f1": float(f1[c]),
                "support": int(support[c]),
            }
            for c, name in enumerate(names)
        },
    )
    return metrics


def _precision_recall_f1(
    gold: np.ndarray, predicted: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 and support, as scikit-learn's ``precision_recall_fscore_support``.

    With ``labels=range(n_classes)``, ``average=None`` and ``zero_division=0``: an ``ABSTAIN`` prediction is
    a prediction of no class.  Counted directly because scikit-learn's input checks cost milliseconds per
    call, and the interactive loop scores the dev rows on every threshold change.
    """
    counted = predicted != ABSTAIN
    support = np.bincount(gold, minlength=n_classes)[:n_classes]
    predicted_count = np.bincount(predicted[counted], minlength=n_classes)[:n_classes]
    true_positive = np.bincount(gold[gold == predicted], minlength=n_classes)[:n_classes]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted_count > 0, true_positive / predicted_count, 0.0)
        recall = np.where(support > 0, true_positive / support, 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / total, 0.0)
    return precision, recall, f1, support


def metrics_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Per-class table of a :func:`label_model_metrics` result, with a ``macro avg`` last row.

    Parameters
    ----------
    metrics : mapping
        The dict returned by :func:`label_model_metrics`.

    Returns
    -------
    pandas.DataFrame
        Index = class names then ``"macro avg"``; columns ``precision``, ``recall``, ``f1``,
        ``support`` (the macro row's support is ``n_dev``).  Empty when there are no dev labels.

    Examples
    --------
    >>> table = metrics_table(label_model_metrics([0, 1], y_pred=[0, 0], class_names=["ham", "spam"]))
    >>> table.index.tolist(), table.loc["ham"].tolist(), table.loc["macro avg", "f1"].round(3)
    (['ham', 'spam', 'macro avg'], [0.5, 1.0, 0.6666666666666666, 1.0], np.float64(0.333))
    """
    columns = ["precision", "recall", "f1", "support"]
    if "per_class" not in metrics or "n_dev" not in metrics:
        raise ValueError("metrics_table expects the dict returned by label_model_metrics().")
    per_class = metrics["per_class"]
    if not per_class:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="class"))
    rows = {name: [values[c] for c in columns] for name, values in per_class.items()}
    rows["macro avg"] = [metrics["macro_precision"], metrics["macro_recall"], metrics["macro_f1"], metrics["n_dev"]]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.index.name = "class"
    return table.astype({"support": np.int64})


def compare_models(rows: Mapping[str, Mapping[str, Any]], columns: Sequence[str] = COMPARE_COLUMNS) -> pd.DataFrame:
    """Put several models' dev metrics side by side, one row per model.

    Parameters
    ----------
    rows : mapping of str to dict
        ``{model name: label_model_metrics(...) result}``, e.g. ``"label model"``,
        ``"majority vote"``, ``"no extension"``; insertion order is kept.
    columns : sequence of str
        Metrics to show; default accuracy, macro-F1, coverage and number of dev rows.

    Returns
    -------
    pandas.DataFrame
        Index = model names (index name ``"model"``), one float column per metric; a metric
        that is None (no dev labels) becomes NaN.

    Raises
    ------
    ValueError
        If a model's metrics lack one of ``columns``.

    Examples
    --------
    >>> compare_models({"mv": {"accuracy": 0.8, "macro_f1": 0.7, "coverage": 1.0, "n_dev": 10}}).to_dict("index")
    {'mv': {'accuracy': 0.8, 'macro_f1': 0.7, 'coverage': 1.0, 'n_dev': 10.0}}
    """
    table: dict[str, list[float]] = {}
    for model, metrics in rows.items():
        missing = [column for column in columns if column not in metrics]
        if missing:
            raise ValueError(
                f"Metrics of {model!r} lack {missing}; pass label_model_metrics() results or choose columns."
            )
        table[str(model)] = [np.nan if metrics[column] is None else float(metrics[column]) for column in columns]
    frame = pd.DataFrame.from_dict(table, orient="index", columns=list(columns), dtype=np.float64)
    frame.index.name = "model"
    return frame


# ------------------------------------------------------------------------------------------------ headline


def _check_covered(covered: Any, n_rows: int) -> npt.NDArray[np.bool_]:
    mask = np.asarray(covered)
    if mask.dtype != bool or mask.shape != (n_rows,):
        raise ValueError(
            f"covered must be a boolean vector of length {n_rows} (rows some LF votes on, e.g. "
            f"(L != ABSTAIN).any(axis=1)); got {mask.dtype} {mask.shape}."
        )
    return mask


def _prior_class(prior: Any) -> int:
    probabilities = np.asarray(prior, dtype=np.float64)
    if probabilities.ndim != 1 or probabilities.size < 2 or not np.all(np.isfinite(probabilities)):
        raise ValueError(f"prior must be a vector of class probabilities; got {probabilities!r}.")
    return int(probabilities.argmax())  # ties: the lowest class index, as everywhere else


def headline_predictions(predictions: Any, covered: Any, prior: Any | None = None) -> npt.NDArray[np.int64]:
    """The labels the headline scores: ``predictions``, with uncovered rows set to the prior's class if given.

    >>> headline_predictions([1, 1, -1], [True, False, False], prior=[0.6, 0.4]).tolist()
    [1, 0, 0]
    """
    labels = check_labels(predictions).copy()
    mask = _check_covered(covered, labels.shape[0])
    if prior is not None:
        labels[~mask] = _prior_class(prior)
    return labels


@dataclass(frozen=True)
class Headline:
    """The headline figure (see :data:`HEADLINE_CONVENTION`), with what it counted.

    Attributes
    ----------
    accuracy : float or None
        Correct dev rows / all dev rows; None when there are no dev labels (never NaN).
    coverage : float
        Share of all rows some LF (or its extension) votes on.
    dev_coverage : float or None
        Share of the dev rows some LF votes on.
    n_dev, n_correct : int
    n_uncovered_dev : int
        Dev rows no LF covers, labelled by ``uncovered_by``.
    uncovered_by : {"end model", "prior"}
    prior_class : int or None
        The class uncovered rows got when ``uncovered_by == "prior"``.
    """

    accuracy: float | None
    coverage: float
    dev_coverage: float | None
    n_dev: int
    n_correct: int
    n_uncovered_dev: int
    uncovered_by: Literal["end model", "prior"]
    prior_class: int | None = None

    def text(self, class_names: Sequence[str] | None = None) -> str:
        """One line for a page or a log, e.g. ``accuracy 0.930 on 100 dev rows (13 uncovered: prior "ham")...``."""
        if self.accuracy is None:
            return f"no dev labels to score; coverage {self.coverage:.1%}"
        if self.uncovered_by == "prior" and self.prior_class is not None:
            name = class_names[self.prior_class] if class_names is not None else str(self.prior_class)
            how = f'prior "{name}"'
        else:
            how = "end model"
        return (
            f"accuracy {self.accuracy:.3f} on {self.n_dev} dev rows ({self.n_uncovered_dev} uncovered: {how}); "
            f"coverage {self.coverage:.1%}"
        )


def headline_accuracy(y: Any, predictions: Any, covered: Any, *, prior: Any | None = None) -> Headline:
    """The one honest figure: accuracy on *all* dev rows, uncovered ones included, with coverage beside it.

    Parameters
    ----------
    y : array-like of shape (n_rows,)
        Gold labels, ``ABSTAIN`` for unlabeled rows.
    predictions : array-like of shape (n_rows,)
        The pipeline's label for every row: the end model's when it is on, else the label model's.
    covered : array-like of bool, shape (n_rows,)
        Rows some LF votes on after extension (``(L_extended != ABSTAIN).any(axis=1)``).
    prior : array-like of shape (n_classes,), optional
        Give the label model's class balance when the end model is *off*: uncovered rows are then labelled by
        its most likely class, whatever ``predictions`` holds there, and the result says so.  Leave it out when
        the end model is on (it labels every row).

    Returns
    -------
    Headline
        An ``ABSTAIN`` left in the predictions of a dev row counts as a miss, so a pipeline cannot look better
        by abstaining.

    Examples
    --------
    >>> h = headline_accuracy([0, 1, 1, -1], [0, 1, -1, 1], [True, True, False, True], prior=[0.3, 0.7])
    >>> h.accuracy, h.coverage, h.uncovered_by, h.prior_class
    (1.0, 0.75, 'prior', 1)
    """
    gold = check_labels(y)
    n_predictions = np.shape(predictions)[0] if np.ndim(predictions) else 0
    if n_predictions != gold.shape[0]:
        raise ValueError(f"predictions has {n_predictions} entries but y has {gold.shape[0]}.")
    mask = _check_covered(covered, gold.shape[0])
    labels = headline_predictions(predictions, mask, prior)
    dev = gold != ABSTAIN
    n_dev = int(dev.sum())
    n_correct = int(np.count_nonzero(labels[dev] == gold[dev]))
    return Headline(
        accuracy=n_correct / n_dev if n_dev else None,
        coverage=float(mask.mean()) if mask.size else 0.0,
        dev_coverage=float(mask[dev].mean()) if n_dev else None,
        n_dev=n_dev,
        n_correct=n_correct,
        n_uncovered_dev=int(np.count_nonzero(dev & ~mask)),
        uncovered_by="end model" if prior is None else "prior",
        prior_class=None if prior is None else _prior_class(prior),
    )
