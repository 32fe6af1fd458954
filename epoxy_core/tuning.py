"""Choose extension thresholds on the few labeled (dev) rows, without fooling ourselves.

A dev set of 100 rows is easy to overfit with ten free thresholds.  :func:`tune_thresholds` therefore

1. picks the best *shared* threshold on a grid (one parameter);
2. then tries per-LF thresholds by coordinate ascent, accepting a change only when it gains at least
   ``min_gain`` dev rows (a penalty for small dev support);
3. scores both procedures by stratified k-fold cross-validation of the *whole selection procedure*
   (thresholds chosen on the other folds, scored on the held-out one), and keeps per-LF thresholds only
   if their cross-validated score beats the shared threshold's.

The label model is unsupervised, so it is fitted on all rows; labels only choose thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from epoxy_core.extension import NearestVoters, extend
from epoxy_core.labels import ABSTAIN, check_label_matrix, check_labels
from epoxy_core.model import ClassBalance, TripletLabelModel, class_balance_from_labels

__all__ = ["TuningResult", "default_threshold_grid", "tune_thresholds"]

Metric = Literal["accuracy", "macro_f1"]


@dataclass(frozen=True)
class TuningResult:
    """What :func:`tune_thresholds` chose, and how well the choice generalises on dev.

    Attributes
    ----------
    thresholds : ndarray of shape (n_lfs,)
        The thresholds to use (``inf`` = no extension for that LF).
    shared_threshold : float
        The best single threshold for all LFs.
    per_lf : bool
        True when per-LF thresholds won on cross-validation and ``thresholds`` holds them.
    cv_score : float
        Cross-validated dev score of the chosen procedure.  Thresholds are chosen inside each fold, but
        two things are decided on all dev rows: the class balance (dev-label frequencies) and, when
        per-LF thresholds win, the choice between the two procedures, which makes the figure slightly
        optimistic then.  For an unbiased figure wrap the whole call in an outer cross-validation
        (the "nested" column of ``bench/spam_quality.py``).
    cv_score_shared, cv_score_per_lf : float
        Cross-validated dev scores of the two procedures (``nan`` when per-LF tuning was not run).
    fitted_score : float
        Dev score at ``thresholds`` when chosen on all dev rows (optimistic).
    no_extension_score : float
        Dev score of the label model without extension, for comparison.
    metric : str
    n_dev : int
    grid : ndarray
        Candidate thresholds.
    """

    thresholds: np.ndarray
    shared_threshold: float
    per_lf: bool
    cv_score: float
    cv_score_shared: float
    cv_score_per_lf: float
    fitted_score: float
    no_extension_score: float
    metric: str
    n_dev: int
    grid: np.ndarray = field(repr=False)


def default_threshold_grid(nearest: NearestVoters, size: int = 16) -> np.ndarray:
    """Candidate thresholds: quantiles of the similarities at which extension would add votes.

    Quantiles adapt to any embedding (cosine similarities of TF-IDF vectors sit far lower than those of a
    sentence model).  ``inf`` (no extension) is always included.

    >>> from epoxy_core.extension import NearestVoters
    >>> nv = NearestVoters(np.zeros((4, 1), np.int64), np.array([[np.inf], [0.9], [0.5], [-np.inf]], np.float32),
    ...                    np.zeros((4, 1), np.int8))
    >>> default_threshold_grid(nv, size=3).tolist()
    [0.5, 0.699999988079071, 0.8999999761581421, inf]
    """
    similarities = nearest.similarity[np.isfinite(nearest.similarity)]
    if similarities.size == 0:
        return np.array([np.inf], dtype=np.float32)
    quantiles = np.quantile(similarities, np.linspace(0.0, 1.0, size)).astype(np.float32)
    return np.append(np.unique(quantiles), np.float32(np.inf))


def _score(y_true: np.ndarray, y_pred: np.ndarray, metric: Metric) -> float:
    if y_true.size == 0:
        return float("nan")
    if metric == "accuracy":
        return float(accuracy_score(y_true, y_pred))
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


class _Evaluator:
    """Dev predictions for a vector of grid indices (one per LF), memoised: folds often walk the same path."""

    def __init__(self, L, nearest, grid, dev_rows, fit_model):
        self.L, self.nearest, self.grid, self.dev_rows, self.fit_model = L, nearest, grid, dev_rows, fit_model
        self._memo: dict[tuple[int, ...], np.ndarray] = {}

    def predictions(self, choice: tuple[int, ...]) -> np.ndarray:
        if choice not in self._memo:
            extended = extend(self.L, thresholds=self.grid[list(choice)], nearest=self.nearest)
            model = self.fit_model(extended)
            self._memo[choice] = model.predict(extended[self.dev_rows])
        return self._memo[choice]


def _select_shared(evaluator: _Evaluator, y_dev: np.ndarray, rows: np.ndarray, metric: Metric, m: int) -> int:
    """Grid index of the best shared threshold on dev rows ``rows`` (ties: the middle of the best run)."""
    scores = np.array(
        [_score(y_dev[rows], evaluator.predictions((g,) * m)[rows], metric) for g in range(len(evaluator.grid))]
    )
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return int(best[len(best) // 2])


def _select_per_lf(
    evaluator: _Evaluator,
    y_dev: np.ndarray,
    rows: np.ndarray,
    metric: Metric,
    m: int,
    start: int,
    candidates: np.ndarray,
    min_gain: float,
    passes: int,
) -> tuple[int, ...]:
    """Coordinate ascent from the shared choice; a change must gain ``min_gain`` dev rows' worth of score."""
    choice = [start] * m
    current = _score(y_dev[rows], evaluator.predictions(tuple(choice))[rows], metric)
    needed = min_gain / max(rows.size, 1)
    for _ in range(passes):
        changed = False
        for j in range(m):
            best_value, best_score = choice[j], current
            for g in candidates:
                if g == choice[j]:
                    continue
                trial = choice.copy()
                trial[j] = int(g)
                score = _score(y_dev[rows], evaluator.predictions(tuple(trial))[rows], metric)
                if score >= best_score + needed:
                    best_value, best_score = int(g), score
            if best_value != choice[j]:
                choice[j], current, changed = best_value, best_score, True
        if not changed:
            break
    return tuple(choice)


def tune_thresholds(
    L: Any,
    y: Any,
    nearest: NearestVoters,
    cardinality: int = 2,
    *,
    grid: Any | None = None,
    metric: Metric = "accuracy",
    n_folds: int = 5,
    class_balance: ClassBalance = None,
    per_lf: bool = True,
    min_gain: float = 2.0,
    per_lf_candidates: int = 8,
    passes: int = 1,
    model_factory: Callable[[], Any] | None = None,
    random_state: int = 0,
) -> TuningResult:
    """Choose extension thresholds that maximise dev accuracy (or macro-F1), with a cross-validated score.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix before extension.
    y : array-like of shape (n_rows,)
        Gold labels, ``ABSTAIN`` (-1) for unlabeled rows; labeled rows form the dev set.
    nearest : NearestVoters
        :func:`epoxy_core.extension.nearest_voters` of ``L``.
    cardinality : int, default 2
    grid : array-like, optional
        Candidate thresholds (default :func:`default_threshold_grid`).
    metric : {"accuracy", "macro_f1"}, default "accuracy"
    n_folds : int, default 5
        Folds of the cross-validation (reduced when a class has fewer dev rows).
    class_balance : array-like, "estimate", "uniform" or None
        Passed to the label model.  ``None`` (default) uses the dev-label class frequencies
        (add-one smoothed), which cross-validated best on the spam benchmark.
    per_lf : bool, default True
        Also try per-LF thresholds.
    min_gain : float, default 2.0
        A per-LF change must win at least this many dev rows (the guard against overfitting).
    per_lf_candidates : int, default 8
        Grid values tried per LF (evenly spaced through ``grid``).
    passes : int, default 1
        Coordinate-ascent passes over the LFs.
    model_factory : callable, optional
        Returns an unfitted label model; default ``TripletLabelModel(cardinality)``.
    random_state : int, default 0
        Seed of the fold split.

    Returns
    -------
    TuningResult

    Raises
    ------
    ValueError
        If there are fewer than 2 dev labels or the inputs disagree in shape.
    """
    L = check_label_matrix(L, cardinality)
    y = check_labels(y, cardinality, n_rows=L.shape[0])
    if nearest.shape != L.shape:
        raise ValueError(f"nearest voters have shape {nearest.shape} but L has {L.shape}; recompute them for this L.")
    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1', got {metric!r}.")
    dev_rows = np.flatnonzero(y != ABSTAIN)
    if dev_rows.size < 2:
        raise ValueError(f"Tuning needs labeled dev rows; found {dev_rows.size}. Add labels to some rows.")
    y_dev = y[dev_rows]
    m = L.shape[1]
    grid = default_threshold_grid(nearest) if grid is None else np.sort(np.asarray(grid, dtype=np.float32))
    factory = model_factory or (lambda: TripletLabelModel(cardinality=cardinality))

    # The prior is held fixed while thresholds move, so tuning compares thresholds rather than priors.
    # By default it is the dev-label frequency: heavy extension makes votes correlated, and the
    # unsupervised maximum-likelihood prior then drifts (on the spam task, to 0.98 spam at low thresholds).
    balance = class_balance_from_labels(y, cardinality) if class_balance is None else class_balance
    evaluator = _Evaluator(L, nearest, grid, dev_rows, lambda extended: factory().fit(extended, class_balance=balance))

    everything = np.arange(dev_rows.size)
    shared = _select_shared(evaluator, y_dev, everything, metric, m)
    candidates = np.unique(np.linspace(0, len(grid) - 1, min(per_lf_candidates, len(grid))).round().astype(int))

    present = np.bincount(y_dev, minlength=cardinality)
    present = present[present > 0]
    # Stratified folds need every dev class in every fold; one dev class leaves nothing to cross-validate.
    folds = int(min(n_folds, present.min())) if present.size >= 2 else 0
    cv_shared = cv_per_lf = float("nan")
    if folds >= 2:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        held_out_shared = np.empty_like(y_dev)
        held_out_per_lf = np.empty_like(y_dev)
        for train, test in splitter.split(np.zeros(y_dev.size), y_dev):
            g = _select_shared(evaluator, y_dev, train, metric, m)
            held_out_shared[test] = evaluator.predictions((g,) * m)[test]
            if per_lf:
                choice = _select_per_lf(evaluator, y_dev, train, metric, m, g, candidates, min_gain, passes)
                held_out_per_lf[test] = evaluator.predictions(choice)[test]
        cv_shared = _score(y_dev, held_out_shared, metric)
        if per_lf:
            cv_per_lf = _score(y_dev, held_out_per_lf, metric)

    choice = (shared,) * m
    use_per_lf = per_lf and np.isfinite(cv_per_lf) and cv_per_lf > cv_shared
    if use_per_lf:
        choice = _select_per_lf(evaluator, y_dev, everything, metric, m, shared, candidates, min_gain, passes)
    no_extension = factory().fit(L, class_balance=balance).predict(L[dev_rows])
    return TuningResult(
        thresholds=grid[list(choice)].astype(np.float64),
        shared_threshold=float(grid[shared]),
        per_lf=bool(use_per_lf),
        cv_score=cv_per_lf if use_per_lf else cv_shared,
        cv_score_shared=cv_shared,
        cv_score_per_lf=cv_per_lf,
        fitted_score=_score(y_dev, evaluator.predictions(choice), metric),
        no_extension_score=_score(y_dev, no_extension, metric),
        metric=metric,
        n_dev=int(dev_rows.size),
        grid=grid,
    )
