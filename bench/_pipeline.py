"""Shared helpers of the label-quality benchmarks (``spam_quality.py``, ``digits_quality.py``).

Everything here *measures* the shipped library: it calls ``tune_thresholds``, ``extend`` and the label
models exactly as the app does and only adds bookkeeping around them: dev scores, an outer
cross-validation of the whole tuning procedure, coverage, and a plain-text table.

Honesty rules the helpers follow:

- A figure computed from something fitted on dev labels is cross-validated.  Thresholds: the tuner's own
  ``TuningResult.cv_score``.  A class balance taken from dev-label frequencies: recomputed on the training
  folds only (:func:`cv_balance_predictions`).
- ``nested_cv_accuracy`` wraps the *whole* tuner (including its shared-vs-per-LF choice and its class
  balance) in an outer cross-validation: the tuner never sees the held-out fold's labels.  It is the one
  figure comparable across tuning metrics (``cv_score`` is macro-F1 when tuning optimises macro-F1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from epoxy_core.extension import NearestVoters, extend
from epoxy_core.labels import ABSTAIN
from epoxy_core.model import MajorityVote, TripletLabelModel, class_balance_from_labels
from epoxy_core.tuning import TuningResult, tune_thresholds

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"
CV_FOLDS = 5
OUTER_SEED = 1  # differs from the tuner's inner fold seed (0) so the two splits are not aligned

ModelFactory = Callable[[], Any]


@dataclass
class Row:
    """One line of a quality table.

    Attributes
    ----------
    setting : str
        What was run (model, extension, tuning options).
    embedder : str
        ``"-"`` for settings without extension (the embedding plays no part).
    dev_fit : str
        What was fitted on dev labels: ``"nothing"``, ``"balance"`` or ``"thresh+bal"``.
    dev_acc : float
        Dev accuracy: plain when nothing was fitted on dev, cross-validated otherwise.
    acc_kind : str
        How ``dev_acc`` was obtained: ``"plain"``, ``"cv"`` (tuner's ``cv_score``), ``"cv-bal"``
        (balance from training folds) or ``"nested"`` (outer CV, used when ``cv_score`` is not accuracy).
    nested_acc : float
        Outer-CV accuracy of the whole tuning procedure (nan when not computed).
    coverage : float
        Fraction of all rows with at least one vote (after extension).
    balance : str
        The class balance used, printed.
    thresholds : str
        Chosen thresholds, printed (``"-"`` without extension).
    extended : bool
        True for extension settings (candidates for the recommendation).
    per_lf : bool
        True when tuning chose per-LF thresholds.
    order : int
        Position of the setting in the list tried; earlier = closer to the defaults (tie-break).
    extra : dict
        Anything a script wants to keep with the row (e.g. the all-rows accuracy on digits, the model).
    """

    setting: str
    embedder: str
    dev_fit: str
    dev_acc: float
    acc_kind: str
    coverage: float
    balance: str
    thresholds: str = "-"
    nested_acc: float = math.nan
    extended: bool = False
    per_lf: bool = False
    order: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def dev_rows(y: np.ndarray) -> np.ndarray:
    """Indices of the labeled rows."""
    return np.flatnonzero(y != ABSTAIN)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Plain accuracy; nan on empty input."""
    return float(np.mean(y_true == y_pred)) if y_true.size else math.nan


def coverage(L: np.ndarray) -> float:
    """Fraction of rows on which at least one LF votes."""
    return float((L != ABSTAIN).any(axis=1).mean()) if L.size else 0.0


def outer_folds(y: np.ndarray, n_folds: int = CV_FOLDS, seed: int = OUTER_SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds over the dev rows, as (train dev positions, test dev positions) into ``dev_rows(y)``."""
    y_dev = y[dev_rows(y)]
    counts = np.bincount(y_dev)
    # Stratification needs every class in every fold: fewer folds when a class has few dev rows.
    folds = int(min(n_folds, counts[counts > 0].min()))
    if folds < 2 or np.count_nonzero(counts) < 2:
        raise ValueError("Cross-validation needs at least two dev rows of each of at least two classes.")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(y_dev.size), y_dev))


def hide(y: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``y`` with the dev rows at ``positions`` (into ``dev_rows(y)``) unlabeled."""
    hidden = y.copy()
    hidden[dev_rows(y)[positions]] = ABSTAIN
    return hidden


def format_balance(balance: Any, class_names: Sequence[str], source: str) -> str:
    """A short text for the class balance: the second class's share for two classes, else the source."""
    values = np.asarray(balance, dtype=float)
    if len(class_names) == 2 and values.shape == (2,):
        return f"{class_names[1]} {values[1]:.2f} ({source})"
    return f"{source} (min {values.min():.2f}, max {values.max():.2f})" if values.ndim == 1 else source


def format_thresholds(result: TuningResult) -> str:
    """Shared threshold, or the per-LF ones with ``inf`` shown as ``off``."""
    if not result.per_lf:
        return f"shared {result.shared_threshold:.3f}"
    return "per-LF " + " ".join("off" if not np.isfinite(t) else f"{t:.2f}" for t in result.thresholds)


# ----------------------------------------------------------------------------------------------- untuned


def untuned_row(
    setting: str,
    L: np.ndarray,
    y: np.ndarray,
    factory: ModelFactory,
    class_balance: Any,
    balance_text: str,
    order: int,
) -> Row:
    """A setting without extension whose prior is fixed by hand or estimated without labels: plain dev accuracy."""
    model = factory().fit(L, class_balance=class_balance)
    rows = dev_rows(y)
    balance = getattr(model, "class_balance_", None)
    return Row(
        setting=setting,
        embedder="-",
        dev_fit="nothing",
        dev_acc=accuracy(y[rows], model.predict(L[rows])),
        acc_kind="plain",
        coverage=coverage(L),
        balance=balance_text if balance is None else balance_text.format(balance=balance),
        order=order,
        extra={"model": model},
    )


def cv_balance_predictions(L: np.ndarray, y: np.ndarray, factory: ModelFactory, cardinality: int) -> np.ndarray:
    """Held-out dev predictions with the class balance taken from the training folds' labels only."""
    rows = dev_rows(y)
    predictions = np.empty(rows.size, dtype=np.int64)
    for _, test in outer_folds(y):
        balance = class_balance_from_labels(hide(y, test), cardinality)
        model = factory().fit(L, class_balance=balance)
        predictions[test] = model.predict(L[rows[test]])
    return predictions


def dev_balance_row(
    setting: str, L: np.ndarray, y: np.ndarray, factory: ModelFactory, class_names: Sequence[str], order: int
) -> Row:
    """A setting without extension whose prior is the dev-label frequency: balance cross-validated."""
    cardinality = len(class_names)
    rows = dev_rows(y)
    balance = class_balance_from_labels(y, cardinality)
    model = factory().fit(L, class_balance=balance)
    return Row(
        setting=setting,
        embedder="-",
        dev_fit="balance",
        dev_acc=accuracy(y[rows], cv_balance_predictions(L, y, factory, cardinality)),
        acc_kind="cv-bal",
        coverage=coverage(L),
        balance=format_balance(balance, class_names, "dev labels"),
        order=order,
        extra={"model": model, "plain_dev_acc": accuracy(y[rows], model.predict(L[rows]))},
    )


# ------------------------------------------------------------------------------------------------- tuned


def _tuned_model(L: np.ndarray, y: np.ndarray, nearest: NearestVoters, cardinality: int, tune: dict[str, Any]):
    """Tune on ``y``'s labels, then fit the label model as the app does; returns (result, L_ext, model)."""
    result = tune_thresholds(L, y, nearest, cardinality, **tune)
    L_ext = extend(L, thresholds=result.thresholds, nearest=nearest)
    factory = tune.get("model_factory") or (lambda: TripletLabelModel(cardinality=cardinality))
    balance = tune.get("class_balance")
    balance = class_balance_from_labels(y, cardinality) if balance is None else balance
    return result, L_ext, factory().fit(L_ext, class_balance=balance), balance


def nested_cv_accuracy(
    L: np.ndarray, y: np.ndarray, nearest: NearestVoters, cardinality: int, tune: dict[str, Any]
) -> float:
    """Accuracy on held-out dev folds of the whole procedure: tune thresholds (and balance) on the rest, predict.

    The tuner's ``cv_score`` is computed with the class balance of *all* dev labels and is the better of
    two cross-validated procedures (shared vs per-LF), so it is slightly optimistic; this figure is not.
    """
    rows = dev_rows(y)
    predictions = np.empty(rows.size, dtype=np.int64)
    for _, test in outer_folds(y):
        _, L_ext, model, _ = _tuned_model(L, hide(y, test), nearest, cardinality, tune)
        predictions[test] = model.predict(L_ext[rows[test]])
    return accuracy(y[rows], predictions)


def tuned_row(
    setting: str,
    embedder: str,
    L: np.ndarray,
    y: np.ndarray,
    nearest: NearestVoters,
    class_names: Sequence[str],
    tune: dict[str, Any],
    order: int,
    nested: bool = True,
) -> Row:
    """Tune thresholds on the dev rows (``tune`` = keyword arguments of ``tune_thresholds``) and score it."""
    cardinality = len(class_names)
    result, L_ext, model, balance = _tuned_model(L, y, nearest, cardinality, tune)
    nested_acc = nested_cv_accuracy(L, y, nearest, cardinality, tune) if nested else math.nan
    if result.metric == "accuracy":
        dev_acc, kind = result.cv_score, "cv"
    else:  # cv_score is another metric: only the outer loop gives a cross-validated accuracy
        if not nested:
            nested_acc = nested_cv_accuracy(L, y, nearest, cardinality, tune)
        dev_acc, kind = nested_acc, "nested"
    source = "dev labels" if tune.get("class_balance") is None else str(tune["class_balance"])
    if isinstance(tune.get("class_balance"), str):
        balance = model.class_balance_  # "estimate": show what the model settled on
    return Row(
        setting=setting,
        embedder=embedder,
        dev_fit="thresh+bal" if tune.get("class_balance") is None else "thresholds",
        dev_acc=dev_acc,
        acc_kind=kind,
        nested_acc=nested_acc,
        coverage=coverage(L_ext),
        balance=format_balance(balance, class_names, source),
        thresholds=format_thresholds(result),
        extended=True,
        per_lf=result.per_lf,
        order=order,
        extra={"result": result, "model": model, "L_ext": L_ext},
    )


# ------------------------------------------------------------------------------------------ table, choice


def selection_score(row: Row) -> float:
    """The figure settings are ranked by: the nested CV accuracy when computed, else ``dev_acc``.

    The tuner's ``cv_score`` is the better of two cross-validated scores (shared vs per-LF thresholds)
    whenever per-LF tuning is tried, so it favours settings that make per-LF tuning win by a row or two;
    the nested figure scores the whole procedure, that choice included, on labels it never saw.
    """
    return row.nested_acc if math.isfinite(row.nested_acc) else row.dev_acc


def recommend(rows: Sequence[Row], default_embedder: str) -> Row:
    """The extension setting with the highest cross-validated dev accuracy (:func:`selection_score`).

    Ties go to the default embedder, then to a shared threshold, then to the setting tried first (the
    library defaults come first in every script's list).
    """
    candidates = [r for r in rows if r.extended and math.isfinite(selection_score(r))]
    if not candidates:
        raise ValueError("No extension setting has a cross-validated dev accuracy to choose from.")
    return min(
        candidates,
        key=lambda r: (-round(selection_score(r), 9), r.embedder != default_embedder, r.per_lf, r.order),
    )


def format_table(rows: Sequence[Row], extra_columns: Sequence[tuple[str, str]] = ()) -> str:
    """A fixed-width text table of ``rows``; ``extra_columns`` = (header, key into ``row.extra``) for floats."""
    headers = ["setting", "embedder", "fit on dev", "dev acc", "how", "nested", "coverage", "class balance"]
    headers += [h for h, _ in extra_columns] + ["thresholds"]

    def fmt(value: float) -> str:
        return "-" if not math.isfinite(value) else f"{value:.3f}"

    lines = []
    for r in rows:
        cells = [r.setting, r.embedder, r.dev_fit, fmt(r.dev_acc), r.acc_kind, fmt(r.nested_acc), fmt(r.coverage)]
        cells += [r.balance] + [fmt(float(r.extra.get(key, math.nan))) for _, key in extra_columns] + [r.thresholds]
        lines.append(cells)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    numeric = {3, 5, 6} | {8 + i for i in range(len(extra_columns))}

    def render(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [render(headers), "  ".join("-" * w for w in widths)]
    out += [render(line) for line in lines]
    return "\n".join(line.rstrip() for line in out)


def majority_vote_factory(cardinality: int) -> ModelFactory:
    """Factory of :class:`MajorityVote` (it accepts ``fit(L, class_balance=...)`` like the label model)."""
    return lambda: MajorityVote(cardinality)
