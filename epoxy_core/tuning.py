"""Choose the pipeline on the few labeled (dev) rows, without fooling ourselves.

Everything here scores the one honest figure of :func:`epoxy_core.metrics.headline_accuracy`: accuracy on
*all* dev rows, rows no LF covers labelled by the end model when it is on and by the class prior when it is
off.  The tuner optimises exactly the figure the page shows.

Two entry points:

- :func:`tune_thresholds` chooses extension thresholds for the label model: the best *shared* threshold
  on a grid, then per-LF thresholds by coordinate ascent (a change must gain ``min_gain`` dev rows), kept
  only when cross-validation of the whole procedure (chosen on the other folds, scored on the held-out
  one) beats the shared threshold's.
- :func:`tune_pipeline` chooses among three settings, simplest first: the label model alone, the label
  model with extension (thresholds as above), and the end model on top (extension thresholds, possibly
  none, and its regularisation ``C``).  Each setting's own tuning is wrapped in an outer cross-validation
  (nested CV: the tuning never sees the held-out fold's labels); the setting with the best nested score
  wins, ties going to the simpler one.  With fewer than :data:`FEW_DEV_LABELS` dev labels the differences
  are noise, so it says so and keeps the simplest setting.

The label model and the end model never see a dev label: the label model is fitted on the votes of all
rows and the end model on the label model's soft labels of the covered rows.  Dev labels only choose
settings, and the class balance when it is set to ``"dev labels"`` (then recomputed from the labels a fold
may see).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from epoxy_core.extension import NearestVoters, extend
from epoxy_core.labels import ABSTAIN, check_label_matrix, check_labels
from epoxy_core.metrics import HEADLINE_CONVENTION
from epoxy_core.model import DEFAULT_CLASS_BALANCE, TripletLabelModel, resolve_class_balance
from epoxy_core.model.end_model import EndModel

__all__ = [
    "DEFAULT_C_GRID",
    "END_MODEL",
    "EXTENSION",
    "FEW_DEV_LABELS",
    "LABEL_MODEL",
    "PIPELINE_SETTINGS",
    "PipelineChoice",
    "SettingResult",
    "TuningResult",
    "default_threshold_grid",
    "tune_pipeline",
    "tune_thresholds",
]

Metric = Literal["accuracy", "macro_f1"]
Thresholds = tuple[float, ...]

LABEL_MODEL, EXTENSION, END_MODEL = "label model", "label model + extension", "label model + end model"
PIPELINE_SETTINGS: tuple[str, ...] = (LABEL_MODEL, EXTENSION, END_MODEL)
"""The settings :func:`tune_pipeline` compares, simplest first (ties go to the earlier one)."""

DEFAULT_C_GRID: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
"""End-model regularisation values tried (decades: dev labels cannot resolve finer steps)."""

FEW_DEV_LABELS = 30
"""Below this many dev labels a cross-validated difference of one setting over another is noise."""


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class TuningResult:
    """What :func:`tune_thresholds` chose, and how well the choice generalises on dev.

    Scores are :func:`epoxy_core.metrics.headline_accuracy` figures (or macro-F1 with ``metric="macro_f1"``)
    on all dev rows.  A score that cannot be computed (too few dev labels per class to cross-validate) is
    None, never NaN; ``message`` says why.

    Attributes
    ----------
    thresholds : ndarray of shape (n_lfs,)
        The thresholds to use (``inf`` = no extension for that LF).
    shared_threshold : float
        The best single threshold for all LFs.
    per_lf : bool
        True when per-LF thresholds won on cross-validation and ``thresholds`` holds them.
    cv_score : float or None
        Cross-validated dev score of the chosen procedure.  Thresholds are chosen inside each fold; when
        per-LF thresholds win, the choice between the two procedures is made on all dev rows, which makes
        the figure slightly optimistic then (:func:`tune_pipeline` nests it in an outer CV).
    cv_score_shared, cv_score_per_lf : float or None
        Cross-validated dev scores of the two procedures (None when not run or not computable).
    fitted_score : float
        Dev score at ``thresholds`` when chosen on all dev rows (optimistic).
    no_extension_score : float
        Dev score of the label model without extension, for comparison.
    metric : str
    n_dev : int
    message : str
        One line for the page: what won, or why a score is missing.
    grid : ndarray
        Candidate thresholds.
    """

    thresholds: np.ndarray
    shared_threshold: float
    per_lf: bool
    cv_score: float | None
    cv_score_shared: float | None
    cv_score_per_lf: float | None
    fitted_score: float
    no_extension_score: float
    metric: str
    n_dev: int
    message: str = ""
    grid: np.ndarray = field(default_factory=lambda: np.array([np.inf]), repr=False)


@dataclass(frozen=True)
class SettingResult:
    """One setting of :func:`tune_pipeline`, tuned on all dev rows, with its nested-CV score.

    Attributes
    ----------
    name : str
        One of :data:`PIPELINE_SETTINGS`.
    thresholds : ndarray of shape (n_lfs,)
        ``inf`` everywhere when the setting does not extend.
    per_lf : bool
        Whether the thresholds are per LF (else one shared value, or none).
    end_model_C : float or None
        None when the setting has no end model.
    cv_score : float or None
        Nested-CV headline accuracy: the setting's tuning re-run on each outer fold's other rows and scored on
        the held-out fold.  None when the dev labels cannot be cross-validated.
    fitted_score : float
        Headline accuracy on all dev rows with choices made on them (optimistic; for reference).
    coverage : float
        Share of all rows some LF votes on at ``thresholds``.
    """

    name: str
    thresholds: np.ndarray
    per_lf: bool
    end_model_C: float | None
    cv_score: float | None
    fitted_score: float
    coverage: float

    @property
    def use_extension(self) -> bool:
        return bool(np.isfinite(self.thresholds).any())

    def describe(self) -> str:
        """E.g. ``"label model + end model (shared threshold 0.68, C=1)"``."""
        parts = []
        if not self.use_extension:
            parts.append("no extension")
        elif self.per_lf:
            parts.append(
                "per-LF thresholds " + " ".join("off" if not np.isfinite(t) else f"{t:.2f}" for t in self.thresholds)
            )
        else:
            parts.append(f"shared threshold {float(np.min(self.thresholds)):.3f}")
        if self.end_model_C is not None:
            parts.append(f"C={self.end_model_C:g}")
        return f"{self.name} ({', '.join(parts)})"


@dataclass(frozen=True)
class PipelineChoice:
    """What :func:`tune_pipeline` recommends, why, and every setting's cross-validated dev figure.

    Attributes
    ----------
    setting : str
        The winner, one of :data:`PIPELINE_SETTINGS`.
    thresholds : ndarray of shape (n_lfs,)
        The winner's extension thresholds (``inf`` = off).
    per_lf : bool
    use_extension : bool
    use_end_model : bool
    end_model_C : float or None
    class_balance : ndarray or str
        The label model's class balance setting resolved on all dev labels (pass it to ``fit``).
    cv_scores : dict of str to float or None
        Nested-CV headline accuracy per setting (None when not computable, never NaN).
    settings : dict of str to SettingResult
        Every setting tuned on all dev rows (to use a runner-up, or to print a table).
    margin : float or None
        Winner's nested-CV score minus the best other setting's.
    n_dev : int
    few_labels : bool
        True below :data:`FEW_DEV_LABELS` dev labels: the simplest setting was kept.
    message : str
        One line for the page: which setting won and by how much, or why the simplest was kept.
    convention : str
        :data:`epoxy_core.metrics.HEADLINE_CONVENTION`, the figure every score here is.
    """

    setting: str
    thresholds: np.ndarray
    per_lf: bool
    use_extension: bool
    use_end_model: bool
    end_model_C: float | None
    class_balance: Any
    cv_scores: dict[str, float | None]
    settings: dict[str, SettingResult]
    margin: float | None
    n_dev: int
    few_labels: bool
    message: str
    convention: str = HEADLINE_CONVENTION


# ----------------------------------------------------------------------------------------------- grid


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


def _stratified_folds(labels: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds over positions of ``labels``; empty when every class cannot appear in every fold."""
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    folds = int(min(n_folds, counts.min())) if counts.size >= 2 else 0
    if folds < 2:
        return []
    return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(labels, labels))


def _middle_of_best(scores: Sequence[float]) -> int:
    """Index of the best score; ties go to the middle of the tied indices (robust to a lucky edge value)."""
    values = np.asarray(scores, dtype=np.float64)
    best = np.flatnonzero(values >= values.max() - 1e-12)
    return int(best[len(best) // 2])


# ------------------------------------------------------------------------------------------ evaluator


class _Evaluator:
    """Headline predictions on the dev rows for any (class balance, thresholds, end-model C), memoised.

    Rows are *positions into the dev rows*.  ``visible`` rows are those whose labels a procedure may use;
    they matter only for a ``"dev labels"`` class balance, which is recomputed from them.
    """

    def __init__(
        self,
        L: np.ndarray,
        y: np.ndarray,
        nearest: NearestVoters,
        *,
        cardinality: int,
        class_balance: Any,
        factory: Callable[[], Any],
        grid: np.ndarray,
        metric: Metric = "accuracy",
        embeddings: np.ndarray | None = None,
        C_grid: Sequence[float] = DEFAULT_C_GRID,
        end_model_max_rows: int = 20_000,
        random_state: int = 0,
    ):
        self.L, self.nearest, self.cardinality, self.factory, self.grid = L, nearest, cardinality, factory, grid
        self.metric, self.embeddings, self.C_grid = metric, embeddings, tuple(float(c) for c in C_grid)
        self.end_model_max_rows, self.random_state = end_model_max_rows, random_state
        self.class_balance = DEFAULT_CLASS_BALANCE if class_balance is None else class_balance
        self.dev_rows = np.flatnonzero(y != ABSTAIN)
        self.y_dev = y[self.dev_rows]
        self.m = L.shape[1]
        self._balances: dict[Any, Any] = {}
        self._memo: dict[tuple[Any, Thresholds, float | None], np.ndarray] = {}
        self._coverage: dict[Thresholds, float] = {}

    # -- class balance ----------------------------------------------------------------------------
    def balance(self, visible: np.ndarray) -> tuple[Any, Any]:
        """(memo key, resolved class balance) for a procedure that sees the labels of ``visible``."""
        if isinstance(self.class_balance, str) and self.class_balance == "dev labels":
            counts = tuple(np.bincount(self.y_dev[visible], minlength=self.cardinality).tolist())
            key: Any = ("dev labels", counts)
            if key not in self._balances:
                labels = np.full(self.L.shape[0], ABSTAIN, dtype=np.int64)
                labels[self.dev_rows[visible]] = self.y_dev[visible]
                self._balances[key] = resolve_class_balance("dev labels", labels, self.cardinality)
            return key, self._balances[key]
        if "fixed" not in self._balances:
            self._balances["fixed"] = resolve_class_balance(self.class_balance, None, self.cardinality)
        return "fixed", self._balances["fixed"]

    # -- predictions ------------------------------------------------------------------------------
    def _extended(self, thresholds: Thresholds) -> np.ndarray:
        if not np.isfinite(thresholds).any():
            return self.L
        return extend(self.L, thresholds=np.asarray(thresholds, dtype=np.float64), nearest=self.nearest)

    def coverage(self, thresholds: Thresholds) -> float:
        if thresholds not in self._coverage:
            self._coverage[thresholds] = float((self._extended(thresholds) != ABSTAIN).any(axis=1).mean())
        return self._coverage[thresholds]

    def predictions(self, visible: np.ndarray, thresholds: Thresholds, C: float | None = None) -> np.ndarray:
        """Headline predictions of all dev rows: label model + prior (``C=None``) or end model (``C``)."""
        balance_key, balance = self.balance(visible)
        key = (balance_key, thresholds, C)
        if key not in self._memo:
            self._fill(balance_key, balance, thresholds, with_end_model=C is not None)
        return self._memo[key]

    def _fill(self, balance_key: Any, balance: Any, thresholds: Thresholds, with_end_model: bool) -> None:
        L_ext = self._extended(thresholds)
        model = self.factory().fit(L_ext, class_balance=balance)
        covered = (L_ext != ABSTAIN).any(axis=1)
        prior_class = int(np.asarray(model.class_balance_).argmax())
        dev_covered = covered[self.dev_rows]
        label_model = np.full(self.dev_rows.size, prior_class, dtype=np.int64)
        if dev_covered.any():
            label_model[dev_covered] = model.predict(L_ext[self.dev_rows[dev_covered]])
        self._memo[(balance_key, thresholds, None)] = label_model
        if not with_end_model:
            return
        train = np.flatnonzero(covered)
        if train.size == 0:  # nothing to learn from: the end model would say the prior everywhere
            for C in self.C_grid:
                self._memo[(balance_key, thresholds, C)] = np.full(self.dev_rows.size, prior_class, dtype=np.int64)
            return
        if train.size > self.end_model_max_rows:  # tuning compares settings; a seeded sample is enough
            rng = np.random.default_rng(self.random_state)
            train = np.sort(rng.choice(train, self.end_model_max_rows, replace=False))
        proba = model.predict_proba(L_ext[train])
        features = self.embeddings[train]
        dev_features = self.embeddings[self.dev_rows]
        for C in self.C_grid:
            end_model = EndModel(C=C, random_state=self.random_state).fit(features, proba)
            self._memo[(balance_key, thresholds, C)] = end_model.predict(dev_features)

    def score(self, rows: np.ndarray, predictions: np.ndarray) -> float:
        """The metric on dev positions ``rows`` of a dev-length prediction vector."""
        return self.score_labels(self.y_dev[rows], predictions[rows])

    def score_labels(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        if self.metric == "accuracy":
            return float(np.mean(y_true == y_pred))
        return float(f1_score(y_true, y_pred, average="macro", zero_division=0))

    # -- procedures (each sees only the labels of `rows`) -----------------------------------------
    def shared(self, g: int) -> Thresholds:
        return (float(self.grid[g]),) * self.m

    def select_shared(self, rows: np.ndarray) -> int:
        """Grid index of the best shared threshold on ``rows`` (ties: the middle of the best run)."""
        return _middle_of_best(
            [self.score(rows, self.predictions(rows, self.shared(g))) for g in range(len(self.grid))]
        )

    def select_per_lf(
        self, rows: np.ndarray, start: int, candidates: np.ndarray, min_gain: float, passes: int
    ) -> Thresholds:
        """Coordinate ascent from the shared choice; a change must gain ``min_gain`` dev rows' worth of score."""
        choice = [start] * self.m
        as_thresholds = lambda c: tuple(float(self.grid[g]) for g in c)  # noqa: E731
        current = self.score(rows, self.predictions(rows, as_thresholds(choice)))
        needed = min_gain / max(rows.size, 1)
        for _ in range(passes):
            changed = False
            for j in range(self.m):
                best_value, best_score = choice[j], current
                for g in candidates:
                    if g == choice[j]:
                        continue
                    trial = choice.copy()
                    trial[j] = int(g)
                    score = self.score(rows, self.predictions(rows, as_thresholds(trial)))
                    if score >= best_score + needed:
                        best_value, best_score = int(g), score
                if best_value != choice[j]:
                    choice[j], current, changed = best_value, best_score, True
            if not changed:
                break
        return as_thresholds(choice)


@dataclass(frozen=True)
class _ExtensionChoice:
    thresholds: Thresholds
    shared_index: int
    per_lf: bool
    cv_shared: float | None
    cv_per_lf: float | None


def _select_extension(
    ev: _Evaluator,
    rows: np.ndarray,
    *,
    per_lf: bool,
    candidates: np.ndarray,
    min_gain: float,
    passes: int,
    n_folds: int,
    seed: int,
) -> _ExtensionChoice:
    """Thresholds on ``rows``: shared, or per-LF when an inner CV over ``rows`` says per-LF generalises better."""
    shared = ev.select_shared(rows)
    folds = _stratified_folds(ev.y_dev[rows], n_folds, seed)
    cv_shared = cv_per_lf = None
    if folds:
        held_out_shared = np.empty(rows.size, dtype=np.int64)
        held_out_per_lf = np.empty(rows.size, dtype=np.int64)
        for inner_train, inner_test in folds:
            train, test = rows[inner_train], rows[inner_test]
            g = ev.select_shared(train)
            held_out_shared[inner_test] = ev.predictions(train, ev.shared(g))[test]
            if per_lf:
                choice = ev.select_per_lf(train, g, candidates, min_gain, passes)
                held_out_per_lf[inner_test] = ev.predictions(train, choice)[test]
        cv_shared = ev.score_labels(ev.y_dev[rows], held_out_shared)
        if per_lf:
            cv_per_lf = ev.score_labels(ev.y_dev[rows], held_out_per_lf)
    use_per_lf = per_lf and cv_per_lf is not None and cv_shared is not None and cv_per_lf > cv_shared
    thresholds = ev.select_per_lf(rows, shared, candidates, min_gain, passes) if use_per_lf else ev.shared(shared)
    return _ExtensionChoice(thresholds, shared, use_per_lf, cv_shared, cv_per_lf)


def _select_end_model(
    ev: _Evaluator, rows: np.ndarray, extension: _ExtensionChoice, shared_indices: np.ndarray
) -> tuple[Thresholds, bool, float]:
    """(thresholds, per_lf, C) for the end model, best headline accuracy on ``rows``.

    Candidates: shared thresholds at ``shared_indices`` of the grid (``inf`` = no extension included), plus
    the extension procedure's per-LF thresholds when it chose them, each with every C.  Ties go to the C
    nearest 1, then to a shared threshold (the middle of the tied run).
    """
    candidates = [(ev.shared(int(g)), False) for g in shared_indices]
    if extension.per_lf:
        candidates.append((extension.thresholds, True))
    scores = np.array([[ev.score(rows, ev.predictions(rows, t, C)) for C in ev.C_grid] for t, _ in candidates])
    tied = scores >= scores.max() - 1e-12
    c = min(np.flatnonzero(tied.any(axis=0)), key=lambda k: (abs(math.log10(ev.C_grid[k])), k))
    shared_tied = np.flatnonzero(tied[: len(shared_indices), c])
    t = int(shared_tied[len(shared_tied) // 2]) if shared_tied.size else len(candidates) - 1
    thresholds, per_lf = candidates[t]
    return thresholds, per_lf, ev.C_grid[c]


def _check_inputs(L: Any, y: Any, nearest: NearestVoters, cardinality: int) -> tuple[np.ndarray, np.ndarray]:
    L = check_label_matrix(L, cardinality)
    y = check_labels(y, cardinality, n_rows=L.shape[0])
    if nearest.shape != L.shape:
        raise ValueError(f"nearest voters have shape {nearest.shape} but L has {L.shape}; recompute them for this L.")
    return L, y


def _grid(nearest: NearestVoters, grid: Any | None) -> np.ndarray:
    if grid is None:
        return default_threshold_grid(nearest)
    values = np.sort(np.asarray(grid, dtype=np.float32).ravel())
    if values.size == 0 or np.isnan(values).any():
        raise ValueError("grid must hold at least one threshold and no NaN.")
    return values


def _per_lf_candidates(grid: np.ndarray, count: int) -> np.ndarray:
    return np.unique(np.linspace(0, len(grid) - 1, min(count, len(grid))).round().astype(int))


def _few_labels_note(n_dev: int) -> str:
    return f"Only {n_dev} dev labels (fewer than {FEW_DEV_LABELS}): differences between settings are within noise"


def tune_thresholds(
    L: Any,
    y: Any,
    nearest: NearestVoters,
    *,
    cardinality: int = 2,
    grid: Any | None = None,
    metric: Metric = "accuracy",
    n_folds: int = 5,
    class_balance: Any = DEFAULT_CLASS_BALANCE,
    per_lf: bool = True,
    min_gain: float = 2.0,
    per_lf_candidates: int = 8,
    passes: int = 1,
    model_factory: Callable[[], Any] | None = None,
    random_state: int = 0,
) -> TuningResult:
    """Choose extension thresholds that maximise the headline dev accuracy (or macro-F1), with a CV score.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix before extension.
    y : array-like of shape (n_rows,)
        Gold labels, ``ABSTAIN`` (-1) for unlabeled rows; labeled rows form the dev set.
    nearest : NearestVoters
        :func:`epoxy_core.extension.nearest_voters` of ``L``.
    cardinality : int, default 2
        Keyword-only: a positional fourth argument used to be mistaken for something else.
    grid : array-like, optional
        Candidate thresholds (default :func:`default_threshold_grid`).
    metric : {"accuracy", "macro_f1"}, default "accuracy"
        Scored on all dev rows, uncovered ones labelled by the prior (the headline convention).
    n_folds : int, default 5
        Folds of the cross-validation (fewer when a class has fewer dev rows).
    class_balance : {"dev labels", "estimate", "uniform"}, array-like or None, default DEFAULT_CLASS_BALANCE
        The label model's prior (:func:`epoxy_core.model.resolve_class_balance`).  ``"dev labels"`` is
        recomputed inside each fold from the labels that fold may see.
    per_lf : bool, default True
        Also try per-LF thresholds (not with fewer than :data:`FEW_DEV_LABELS` dev labels).
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
    L, y = _check_inputs(L, y, nearest, cardinality)
    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1', got {metric!r}.")
    n_dev = int(np.count_nonzero(y != ABSTAIN))
    if n_dev < 2:
        raise ValueError(f"Tuning needs labeled dev rows; found {n_dev}. Add labels to some rows.")
    grid = _grid(nearest, grid)
    factory = model_factory or (lambda: TripletLabelModel(cardinality=cardinality))
    ev = _Evaluator(
        L,
        y,
        nearest,
        cardinality=cardinality,
        class_balance=class_balance,
        factory=factory,
        grid=grid,
        metric=metric,
        random_state=random_state,
    )
    few = n_dev < FEW_DEV_LABELS
    everything = np.arange(n_dev)
    choice = _select_extension(
        ev,
        everything,
        per_lf=per_lf and not few,
        candidates=_per_lf_candidates(grid, per_lf_candidates),
        min_gain=min_gain,
        passes=passes,
        n_folds=n_folds,
        seed=random_state,
    )
    cv_score = choice.cv_per_lf if choice.per_lf else choice.cv_shared
    name = "accuracy" if metric == "accuracy" else "macro-F1"
    if cv_score is None:
        message = (
            f"Thresholds chosen on {n_dev} dev labels without a cross-validated score: cross-validation needs at "
            "least 2 labels of each of 2 classes."
        )
    else:
        kind = "per-LF thresholds" if choice.per_lf else "a shared threshold"
        message = f"Chose {kind}; cross-validated dev {name} {cv_score:.3f} on {n_dev} dev rows."
    if few:
        message = f"{_few_labels_note(n_dev)}; only a shared threshold was tried. {message}"
    return TuningResult(
        thresholds=np.asarray(choice.thresholds, dtype=np.float64),
        shared_threshold=float(grid[choice.shared_index]),
        per_lf=choice.per_lf,
        cv_score=cv_score,
        cv_score_shared=choice.cv_shared,
        cv_score_per_lf=choice.cv_per_lf,
        fitted_score=ev.score(everything, ev.predictions(everything, choice.thresholds)),
        no_extension_score=ev.score(everything, ev.predictions(everything, (math.inf,) * ev.m)),
        metric=metric,
        n_dev=n_dev,
        message=message,
        grid=grid,
    )


def tune_pipeline(
    L: Any,
    y: Any,
    nearest: NearestVoters,
    *,
    embeddings: Any,
    cardinality: int = 2,
    class_balance: Any = DEFAULT_CLASS_BALANCE,
    grid: Any | None = None,
    C_grid: Sequence[float] = DEFAULT_C_GRID,
    end_model_thresholds: int = 9,
    per_lf: bool = True,
    min_gain: float = 2.0,
    per_lf_candidates: int = 8,
    passes: int = 1,
    n_folds: int = 5,
    end_model_max_rows: int = 20_000,
    cross_validate: bool = True,
    model_factory: Callable[[], Any] | None = None,
    random_state: int = 0,
) -> PipelineChoice:
    """Choose label model / + extension / + end model, thresholds and the end model's C by nested CV on dev.

    Every score is the headline accuracy (:data:`epoxy_core.metrics.HEADLINE_CONVENTION`).  Each setting's
    own tuning (thresholds as in :func:`tune_thresholds`; for the end model, a shared threshold or none, or the
    per-LF thresholds the extension tuning chose, jointly with C) is re-run on every outer fold's other rows
    and scored on the held-out fold; the best nested score wins, ties going to the simpler setting.  Picking
    the best of three nested scores on the same dev rows is itself slightly optimistic.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Label matrix before extension.
    y : array-like of shape (n_rows,)
        Gold labels, ``ABSTAIN`` for unlabeled rows.
    nearest : NearestVoters
        :func:`epoxy_core.extension.nearest_voters` of ``L``.
    embeddings : array-like of shape (n_rows, d) or None
        The rows' embeddings, for the end model; None leaves the end model out.
    cardinality : int, default 2
    class_balance : {"dev labels", "estimate", "uniform"} or array-like, default DEFAULT_CLASS_BALANCE
        As in :func:`tune_thresholds`.
    grid : array-like, optional
        Candidate thresholds (default :func:`default_threshold_grid`).
    C_grid : sequence of float, default DEFAULT_C_GRID
    end_model_thresholds : int, default 9
        Shared thresholds tried with the end model, evenly spaced through ``grid`` (``inf`` always included).
    per_lf, min_gain, per_lf_candidates, passes, n_folds, model_factory, random_state
        As in :func:`tune_thresholds`; the outer folds use seed ``random_state + 1``.
    end_model_max_rows : int, default 20_000
        The end model is fitted on at most this many covered rows (a seeded sample) while tuning.
    cross_validate : bool, default True
        False skips the outer cross-validation, for a caller that validates the settings its own way (e.g.
        ``bench/spam_quality.py`` holds out whole videos as new rows): every setting is still tuned on all dev
        rows (``settings``), but none is scored, and the simplest setting is returned.

    Returns
    -------
    PipelineChoice

    Raises
    ------
    ValueError
        With no dev labels, on shapes that disagree, or on non-finite embeddings.
    """
    L, y = _check_inputs(L, y, nearest, cardinality)
    n_dev = int(np.count_nonzero(y != ABSTAIN))
    if n_dev == 0:
        raise ValueError("Choosing a pipeline needs dev labels; found none. Label some rows first.")
    features = None
    if embeddings is not None:
        features = np.asarray(embeddings)
        if features.ndim != 2 or features.shape[0] != L.shape[0]:
            raise ValueError(
                f"embeddings must have shape ({L.shape[0]}, d), one row per row of L; got {features.shape}."
            )
        if features.dtype.kind != "f" or not np.all(np.isfinite(features)):
            raise ValueError("embeddings must be finite floats.")
    if not C_grid or any(not (math.isfinite(c) and c > 0) for c in C_grid):
        raise ValueError(f"C_grid must hold positive, finite values; got {list(C_grid)!r}.")
    grid = _grid(nearest, grid)
    factory = model_factory or (lambda: TripletLabelModel(cardinality=cardinality))
    ev = _Evaluator(
        L,
        y,
        nearest,
        cardinality=cardinality,
        class_balance=class_balance,
        factory=factory,
        grid=grid,
        embeddings=features,
        C_grid=C_grid,
        end_model_max_rows=end_model_max_rows,
        random_state=random_state,
    )
    candidates = _per_lf_candidates(grid, per_lf_candidates)
    shared_indices = np.unique(np.append(_per_lf_candidates(grid, end_model_thresholds), len(grid) - 1))
    if np.isfinite(grid[-1]):  # a grid without inf: "no extension" is still a candidate for the end model
        ev.grid = grid = np.append(grid, np.float32(np.inf))
        shared_indices = np.append(shared_indices, len(grid) - 1)
    settings = [LABEL_MODEL, EXTENSION] + ([END_MODEL] if features is not None else [])
    off: Thresholds = (math.inf,) * ev.m
    extensions: dict[bytes, _ExtensionChoice] = {}

    def extension_on(rows: np.ndarray) -> _ExtensionChoice:
        key = rows.tobytes()
        if key not in extensions:
            extensions[key] = _select_extension(
                ev,
                rows,
                per_lf=per_lf,
                candidates=candidates,
                min_gain=min_gain,
                passes=passes,
                n_folds=n_folds,
                seed=random_state,
            )
        return extensions[key]

    def tune_setting(name: str, rows: np.ndarray) -> tuple[Thresholds, bool, float | None]:
        if name == LABEL_MODEL:
            return off, False, None
        if name == EXTENSION:
            choice = extension_on(rows)
            return choice.thresholds, choice.per_lf, None
        return _select_end_model(ev, rows, extension_on(rows), shared_indices)

    everything = np.arange(n_dev)
    outer = _stratified_folds(ev.y_dev, n_folds, random_state + 1) if cross_validate else []
    cv_scores: dict[str, float | None] = dict.fromkeys(PIPELINE_SETTINGS)
    for name in settings if outer else []:
        held_out = np.empty(n_dev, dtype=np.int64)
        for train, test in outer:
            thresholds, _, C = tune_setting(name, train)
            held_out[test] = ev.predictions(train, thresholds, C)[test]
        cv_scores[name] = ev.score(everything, held_out)

    results: dict[str, SettingResult] = {}
    for name in settings:
        thresholds, chosen_per_lf, C = tune_setting(name, everything)
        results[name] = SettingResult(
            name=name,
            thresholds=np.asarray(thresholds, dtype=np.float64),
            per_lf=chosen_per_lf,
            end_model_C=C,
            cv_score=cv_scores[name],
            fitted_score=ev.score(everything, ev.predictions(everything, thresholds, C)),
            coverage=ev.coverage(thresholds),
        )

    few = n_dev < FEW_DEV_LABELS
    winner = results[LABEL_MODEL]
    margin = None
    if outer:
        for name in settings[1:]:
            if cv_scores[name] > winner.cv_score + 1e-12:  # strictly better: ties go to the simpler setting
                winner = results[name]
        others = [cv_scores[n] for n in settings if n != winner.name]
        margin = float(winner.cv_score - max(others)) if others else None
    if cross_validate:
        message = _pipeline_message(winner, results, cv_scores, settings, n_dev, few, bool(outer), features is None)
    else:
        message = "Settings tuned on all dev rows but not cross-validated (cross_validate=False)."
    if few:
        winner = results[LABEL_MODEL]
    _, balance = ev.balance(everything)
    return PipelineChoice(
        setting=winner.name,
        thresholds=winner.thresholds,
        per_lf=winner.per_lf,
        use_extension=winner.use_extension,
        use_end_model=winner.end_model_C is not None,
        end_model_C=winner.end_model_C,
        class_balance=balance,
        cv_scores=cv_scores,
        settings=results,
        margin=None if few else margin,
        n_dev=n_dev,
        few_labels=few,
        message=message,
    )


def _pipeline_message(
    winner: SettingResult,
    results: dict[str, SettingResult],
    cv_scores: dict[str, float | None],
    settings: list[str],
    n_dev: int,
    few: bool,
    cross_validated: bool,
    no_embeddings: bool,
) -> str:
    """One line for the page: what won and by how much, or why the simplest setting was kept."""
    skipped = " (no embeddings: the end model was not tried)" if no_embeddings else ""
    scores = ", ".join(f"{name} {cv_scores[name]:.3f}" for name in settings if cv_scores[name] is not None)
    if not cross_validated:
        return (
            f"The {n_dev} dev labels cannot be cross-validated (that needs at least 2 labels of each of 2 classes): "
            f"kept the simplest setting, the label model without extension or end model{skipped}."
        )
    if few:
        return (
            f"{_few_labels_note(n_dev)}, so the simplest setting is kept: the label model without extension or end "
            f"model. Nested-CV dev accuracy: {scores}{skipped}. Label about {FEW_DEV_LABELS} rows to tune."
        )
    runner_up = max((n for n in settings if n != winner.name), key=lambda n: cv_scores[n], default=None)
    if runner_up is None:
        return f"{winner.describe()}: nested-CV dev accuracy {winner.cv_score:.3f} on {n_dev} dev rows{skipped}."
    gap = winner.cv_score - cv_scores[runner_up]
    rows = round(gap * n_dev)
    if rows == 0:
        verdict = f"ties with {runner_up} and is simpler"
    else:
        verdict = f"beats {runner_up} ({cv_scores[runner_up]:.3f}) by {gap:.3f} ({rows} of {n_dev} dev rows)"
    return f"{winner.describe()} wins: nested-CV dev accuracy {winner.cv_score:.3f}, {verdict}. All: {scores}{skipped}."
