"""The triplet label model: probabilistic labels from votes alone, without ground truth.

:class:`TripletLabelModel` is the closed-form method of FlyingSquid (Fu et al., 2020) used by Epoxy.  LFs are
assumed conditionally independent given the true label ``Y`` and better than random.  Under that model the
covariance of the votes of two LFs is the product of their (signed) strengths, so any three LFs determine each
other's strength, ``|a_i| = sqrt(|M_ij M_ik / M_jk|)``; the estimates of all triplets are aggregated (median by
default) and turned into each LF's accuracy *when it votes*.

Sparse LFs (a keyword that votes on 1% of the rows) are where this goes wrong if done naively: two vote
indicators that are never seen together have a sample covariance of exactly ``-mu_f mu_g``, and a triplet of
such pairs makes every LF look perfect.  Here a pair enters a triplet only if the two LFs are *expected* to vote
together on at least :data:`MIN_SUPPORT` rows (``n mu_f mu_g``, a property of the coverages) and did vote
together at least once.  An LF in no such triplet is estimated from its supported pairs with LFs that are, and
an LF with no support at all is not estimated: its accuracy is NaN, it votes with ``fallback_accuracy``, and
when no LF can be estimated the model predicts as majority vote (``fallback_``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from epoxy_core.blas import one_blas_thread
from epoxy_core.labels import LabelMatrix
from epoxy_core.model.balance import DEFAULT_CLASS_BALANCE, ClassBalance, _check_balance
from epoxy_core.model.base import LabelModel
from epoxy_core.model.baselines import MajorityVote, vote_share_balance, vote_share_proba
from epoxy_core.model.statistics import COMPILED_FROM_ROWS, VoteStatistics, vote_statistics

MIN_LFS = 3
"""The triplet method needs three LFs that vote; with fewer the model predicts as majority vote."""

MIN_SUPPORT = 5.0
"""A pair of LFs enters a triplet only if they are expected to vote together on this many rows
(``n_rows * coverage_f * coverage_g``).  Below it the sample covariance is mostly the structural
``-mu_f mu_g`` of indicators that happen never to co-fire."""

BALANCE_GRID = np.linspace(0.01, 0.99, 99)
"""Priors of class 1 over which ``class_balance="estimate"`` integrates the likelihood (two classes)."""

_BALANCE_CHUNK_ROWS = 5_000
"""``class_balance="estimate"`` scores the priors in chunks so that (distinct patterns x priors) stays ~1M floats."""


def _single_threaded_blas(n_rows: int) -> AbstractContextManager[Any]:
    """One BLAS thread (:func:`epoxy_core.blas.one_blas_thread`) for the label model's products.

    From :data:`~epoxy_core.model.statistics.COMPILED_FROM_ROWS` rows the counts and the posterior are
    compiled kernels, not BLAS products, and the switch is skipped.
    """
    if n_rows < COMPILED_FROM_ROWS:
        return one_blas_thread()
    return nullcontext()


def _logit(p: Any) -> Any:
    return np.log(p) - np.log1p(-p)


def _aggregate_triplets(moments: np.ndarray, usable: np.ndarray, aggregate: str) -> np.ndarray:
    """For each row f, aggregate ``sqrt(|M_fg M_fh / M_gh|)`` over usable pairs (g, h); NaN if there is none."""
    strength = np.full(moments.shape[0], np.nan)
    for f in range(moments.shape[0]):
        pairs = np.triu(usable[f][:, None] & usable[f][None, :] & usable, k=1)
        g, h = np.nonzero(pairs)
        if g.size:
            estimates = np.sqrt(np.abs(moments[f, g] * moments[f, h] / moments[g, h]))
            strength[f] = np.median(estimates) if aggregate == "median" else np.mean(estimates)
    return strength


def _flyingsquid_strength(moments: np.ndarray, aggregate: str) -> np.ndarray:
    """FlyingSquid's ``triplet_mean`` / ``triplet_median`` estimate of ``E[lambda_i Y]`` for every LF.

    Every pair (j, k) of other LFs contributes ``sqrt(|M_ij M_ik / M_jk|)``, and 0 where ``M_jk == 0``.
    """
    m = moments.shape[0]
    strength = np.zeros(m)
    for i in range(m):
        others = np.delete(np.arange(m), i)
        j, k = np.triu_indices(others.size, k=1)
        j, k = others[j], others[k]
        denominator = moments[j, k]
        safe = np.where(denominator != 0, denominator, 1.0)
        values = np.where(denominator != 0, np.sqrt(np.abs(moments[i, j] * moments[i, k] / safe)), 0.0)
        if values.size:
            strength[i] = np.median(values) if aggregate == "median" else np.mean(values)
    return strength


def _flyingsquid_clique(plus: float, zero: float, prior: float, strength: float) -> np.ndarray:
    """FlyingSquid's marginal ``P(lambda, Y)`` of one LF, as a (3, 2) table [lambda -1/0/+1, Y -1/+1].

    It is the solution of the linear system FlyingSquid writes for the clique: the table sums to 1,
    ``P(lambda=+1) = plus``, ``P(lambda=0) = zero``, ``P(Y=+1) = prior``, ``P(lambda Y = 1) = (1 + E - zero) / 2``
    with ``E = strength`` its triplet estimate of ``E[lambda Y]``, and ``P(lambda=0, Y=+1) = prior * zero``
    (abstaining independent of Y).  Negative entries are flipped and the table renormalised
    (FlyingSquid's ``flip_negative``).
    """
    agree = 0.5 * (1.0 + strength - zero)
    both_plus = 0.5 * (prior * (1.0 - zero) + plus + agree - (1.0 - zero))
    table = np.array(
        [
            [agree - both_plus, prior * (1.0 - zero) - both_plus],  # lambda = -1: Y = -1, Y = +1
            [(1.0 - prior) * zero, prior * zero],  # lambda = 0
            [plus - both_plus, both_plus],  # lambda = +1
        ]
    )
    table = np.abs(table)
    return table / table.sum()


class TripletLabelModel(LabelModel):
    """Closed-form triplet label model (FlyingSquid family), LFs independent given the label.

    Each (LF, class it votes) pair is an indicator feature ``v_f`` ("LF i voted class c on this row"), with
    ``P(v_f | Y = c_f) = base_f + delta_f`` and ``P(v_f | Y != c_f) = base_f``.  Features of different LFs are
    independent given ``Y``, so ``Cov(v_f, v_g) = delta_f delta_g K[c_f, c_g]`` with ``K = diag(pi) - pi pi^T``:
    dividing the covariance by ``K`` leaves a rank-one matrix whose (supported) triplets give every ``delta_f``.
    With the class prior this yields each LF's full table ``P(lambda_i | y)``, hence its accuracy when it votes
    and the posterior ``P(y) prod_i P(lambda_i | y)``, in which abstaining is evidence too (an LF that votes
    "spam" or abstains abstains more often on ham).

    ``method="symmetric"`` is FlyingSquid's own parametrisation instead: signed votes, one accuracy per LF
    whichever class it votes, abstentions independent of ``Y``, and FlyingSquid's ``triplet_mean`` /
    ``triplet_median`` estimate over all triplets.  It is right for LFs that vote both classes alike but biased
    for one-class LFs (a keyword that votes "spam" or abstains), which is what users mostly write.

    Parameters
    ----------
    cardinality : int, default 2
        Number of classes.
    method : {"class_conditional", "symmetric"}, default "class_conditional"
        See above.  With more than two classes the symmetric model is fitted one class against the rest and
        the per-class posteriors are normalised.
    aggregate : {"median", "mean"}, default "median"
        How the estimates a feature gets from its triplets are combined.  The median resists the odd
        triplet whose denominator is tiny and pairs of LFs that are not independent.
    posterior : {"independent", "flyingsquid"}, default "independent"
        ``"independent"`` is the posterior of the conditional-independence model, ``P(y) prod_i P(lambda_i | y)``.
        ``"flyingsquid"`` (binary, ``method="symmetric"`` only) is FlyingSquid's ``predict_proba``: its clique
        marginals ``P(lambda_i, Y)``, solved from ``P(lambda_i = +1)``, ``P(lambda_i = 0)``, the class balance and the
        triplet estimate of ``E[lambda_i Y]``, combined as ``prod_i P(lambda_i, Y) / P(Y)^(m-2)``, which counts the
        prior twice.  It is here to reproduce FlyingSquid's published figures.
    fallback_accuracy : float, default 0.7
        Accuracy with which an LF that the data cannot estimate votes (it is listed in ``fallback_lfs_`` and its
        ``accuracies_`` entry is NaN).
    accuracy_bounds : tuple of float, default (0.01, 0.99)
        No single vote or abstention is treated as more certain than a vote of precision ``high`` at a uniform
        prior: likelihood ratios are capped at ``high / (1 - high)``; symmetric accuracies are clipped to
        ``[low, high]`` inside the posterior.  ``accuracies_`` is not clipped.
    max_balance_rows : int, default 50_000
        ``class_balance="estimate"`` evaluates the likelihood on at most this many rows, drawn with a fixed seed,
        which keeps refits at a million rows interactive.

    Attributes
    ----------
    accuracies_ : ndarray of shape (n_lfs,)
        Each LF's estimated accuracy when it votes (precision); an LF voting several classes gets the average
        over them weighted by how often it votes each.  NaN for LFs the data cannot estimate.
    class_balance_ : ndarray of shape (cardinality,)
        The prior ``P(y)`` used for prediction.
    coverages_ : ndarray of shape (n_lfs,)
        Fraction of rows each LF votes on, in the data the model was fitted on.
    fallback_lfs_ : list of int
        LFs without an estimate (never voting, or never expected to vote together with other LFs).
    conditional_probs_ : ndarray of shape (n_lfs, cardinality + 1, cardinality)
        ``P(lambda_i = v | Y = y)`` as estimated, Snorkel's layout: ``[i, 0, y]`` abstaining, ``[i, 1 + c, y]`` voting
        class ``c``.  NaN for LFs without an estimate (and for the symmetric model with more than two classes).
    fallback_ : bool
        True when the model predicts as majority vote because it can estimate no LF (fewer than three LFs
        vote, or no supported triplet exists).
    n_lfs_ : int

    Examples
    --------
    >>> L = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]])
    >>> model = TripletLabelModel(method="symmetric").fit(L, class_balance="uniform")
    >>> model.predict(L).tolist()
    [1, 0, 1, 0, 1, 0]
    """

    _state_attributes = (
        *LabelModel._state_attributes,
        "coverages_",
        "fallback_",
        "fallback_lfs_",
        "feature_lfs_",
        "feature_classes_",
        "_weights",
        "_constants",
        "conditional_probs_",
    )

    def __init__(
        self,
        cardinality: int = 2,
        method: Literal["class_conditional", "symmetric"] = "class_conditional",
        aggregate: Literal["median", "mean"] = "median",
        posterior: Literal["independent", "flyingsquid"] = "independent",
        fallback_accuracy: float = 0.7,
        accuracy_bounds: tuple[float, float] = (0.01, 0.99),
        max_balance_rows: int = 50_000,
    ):
        self.cardinality = cardinality
        self.method = method
        self.aggregate = aggregate
        self.posterior = posterior
        self.fallback_accuracy = fallback_accuracy
        self.accuracy_bounds = accuracy_bounds
        self.max_balance_rows = max_balance_rows

    # -- settings and features ---------------------------------------------------------------------
    def _validate_settings(self) -> None:
        self._check_cardinality()
        choices = {
            "method": ("class_conditional", "symmetric"),
            "aggregate": ("median", "mean"),
            "posterior": ("independent", "flyingsquid"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        if self.posterior == "flyingsquid" and (self.method != "symmetric" or self.cardinality != 2):
            raise ValueError(
                "posterior='flyingsquid' is FlyingSquid's binary prediction: it needs method='symmetric' and "
                "cardinality=2."
            )
        low, high = self.accuracy_bounds
        if not 0.5 <= high < 1 or not 0 < low <= 0.5:
            raise ValueError(f"accuracy_bounds must be (low, high) with 0 < low <= 0.5 <= high < 1, got {(low, high)}.")
        if not 0 < self.fallback_accuracy < 1:
            raise ValueError(f"fallback_accuracy must lie strictly between 0 and 1, got {self.fallback_accuracy}.")

    def _indicators(self, L: LabelMatrix, dtype: type[np.floating[Any]] = np.float32) -> npt.NDArray[np.floating[Any]]:
        """(n_rows, n_features) indicators "LF i voted class c" for the fitted features.

        Float32 is exact for the counts of the Gram matrix (integers below 2**24 rows) and twice as fast.
        """
        return (L[:, self.feature_lfs_] == self.feature_classes_.astype(L.dtype)).astype(dtype)

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, L: Any, class_balance: ClassBalance = DEFAULT_CLASS_BALANCE) -> TripletLabelModel:
        """Estimate each LF's accuracy from how LFs agree and disagree (no labels needed).

        Parameters
        ----------
        L : array-like of shape (n_rows, n_lfs)
            Label matrix (``ABSTAIN`` = -1), typically the extended one.
        class_balance : array-like of shape (cardinality,), "estimate", "uniform" or None
            The prior ``P(y)``; ``None`` means :data:`~epoxy_core.model.balance.DEFAULT_CLASS_BALANCE`.
            ``"estimate"`` (two classes) is the mean of the prior under the likelihood of the votes over a grid
            of priors; it lands near an edge only when the likelihood puts its mass there.  With more classes it
            is the fixed point "prior = mean posterior".  The symmetric model cannot tell priors apart, so there
            ``"estimate"`` is the mean vote share.

        Returns
        -------
        TripletLabelModel
            ``self``, fitted.
        """
        self._validate_settings()
        L = self._check_fit_input(L)
        with _single_threaded_blas(L.shape[0]):
            statistics = vote_statistics(L, self.cardinality)
        return self._fit_counted(L, statistics, class_balance)

    def fit_counted(
        self, L: Any, statistics: VoteStatistics, class_balance: ClassBalance = DEFAULT_CLASS_BALANCE
    ) -> TripletLabelModel:
        """:meth:`fit` for a caller that already holds ``vote_statistics(L, cardinality)``.

        The interactive session counts the extended matrix while it extends it
        (:func:`~epoxy_core.model.statistics.extend_and_count`), so the fit need not read it again; the result
        is the same model as ``fit(L, class_balance)``.

        Parameters
        ----------
        L : array-like of shape (n_rows, n_lfs)
            The label matrix the statistics were counted from (still read by ``class_balance="estimate"``,
            the symmetric model and the majority-vote fallback).
        statistics : VoteStatistics
            Its counts; their shape must match ``L`` and ``cardinality``.
        class_balance : see :meth:`fit`

        Returns
        -------
        TripletLabelModel
            ``self``, fitted.
        """
        self._validate_settings()
        L = self._check_fit_input(L)
        if (statistics.n_rows, statistics.n_lfs, statistics.cardinality) != (*L.shape, self.cardinality):
            raise ValueError(
                f"statistics count {statistics.n_rows} rows x {statistics.n_lfs} LFs over {statistics.cardinality} "
                f"classes but L has shape {L.shape} and the model {self.cardinality} classes; count L itself."
            )
        return self._fit_counted(L, statistics, class_balance)

    def _fit_counted(
        self, L: LabelMatrix, statistics: VoteStatistics, class_balance: ClassBalance
    ) -> TripletLabelModel:
        if class_balance is None:
            class_balance = DEFAULT_CLASS_BALANCE
        fixed_balance = self._fixed_balance(class_balance)
        n, m = L.shape
        self.n_lfs_ = m
        counts = statistics.counts  # (m, C)
        self.coverages_ = counts.sum(axis=1) / n
        lfs, classes = np.nonzero(counts)
        self.feature_lfs_, self.feature_classes_ = lfs.astype(np.int64), classes.astype(np.int64)
        if int((self.coverages_ > 0).sum()) < MIN_LFS:
            return self._fit_majority_vote(L, fixed_balance)
        features = self.feature_lfs_ * self.cardinality + self.feature_classes_
        gram = statistics.co_votes[np.ix_(features, features)].astype(np.float64) / n
        mean = counts[lfs, classes] / n
        if self.method == "symmetric":
            self._fit_symmetric(L, gram, fixed_balance)
        else:
            self._fit_class_conditional(L, mean, gram, fixed_balance)
        return self

    def _fixed_balance(self, class_balance: ClassBalance) -> np.ndarray | None:
        """The prior the caller fixed, or None for "estimate"."""
        if isinstance(class_balance, str):
            if class_balance == "estimate":
                return None
            if class_balance == "uniform":
                return np.full(self.cardinality, 1.0 / self.cardinality)
            raise ValueError(f"class_balance must be probabilities, 'estimate' or 'uniform'; got {class_balance!r}.")
        return _check_balance(class_balance, self.cardinality)

    def _fit_majority_vote(self, L: LabelMatrix, fixed_balance: np.ndarray | None) -> TripletLabelModel:
        """No LF can be estimated: predict as majority vote (which has no way to estimate a prior)."""
        self.fallback_ = True
        self.class_balance_ = (
            MajorityVote(self.cardinality).fit(L, "uniform" if fixed_balance is None else fixed_balance).class_balance_
        )
        self.accuracies_ = np.full(self.n_lfs_, np.nan)
        self.conditional_probs_ = np.full((self.n_lfs_, self.cardinality + 1, self.cardinality), np.nan)
        self.fallback_lfs_ = list(range(self.n_lfs_))
        self.feature_lfs_ = np.zeros(0, dtype=np.int64)
        self.feature_classes_ = np.zeros(0, dtype=np.int64)
        self._weights = np.zeros((self.cardinality, 0))
        self._constants = np.zeros(self.cardinality)
        return self

    # -- the class-conditional model ---------------------------------------------------------------
    def _fit_class_conditional(
        self, L: LabelMatrix, mean: np.ndarray, gram: np.ndarray, fixed_balance: np.ndarray | None
    ) -> None:
        n = L.shape[0]
        cov = gram - np.outer(mean, mean)
        lfs = self.feature_lfs_
        # Pairs of different LFs, expected to co-vote on MIN_SUPPORT rows, that did co-vote: the covariance of
        # indicators never seen together is the structural -mu_f mu_g, which would make both look perfect.
        usable = (lfs[:, None] != lfs[None, :]) & (n * np.outer(mean, mean) >= MIN_SUPPORT) & (gram > 0)
        usable &= np.abs(cov) > 1e-12
        if not usable.any():
            self._fit_majority_vote(L, fixed_balance)
            return
        if fixed_balance is not None:
            balance = fixed_balance
        elif self.cardinality == 2:
            balance = self._estimate_binary_balance(L, mean, cov, usable)
        else:
            balance = self._estimate_balance_fixed_point(L, mean, cov, usable)
        delta = self._delta(mean, cov, usable, balance)
        if np.isnan(delta).all():
            self._fit_majority_vote(L, fixed_balance)
            return
        self.fallback_ = False
        self.class_balance_ = balance
        tables = self._feature_tables(mean, delta, balance)
        self._weights, self._constants = self._posterior_weights(tables, delta)
        self._set_class_conditional_accuracies(mean, delta, balance, tables)

    def _delta(self, mean: np.ndarray, cov: np.ndarray, usable: np.ndarray, balance: np.ndarray) -> np.ndarray:
        """Every feature's ``delta_f`` at prior ``balance``; NaN where the data cannot estimate it.

        Triplets of supported pairs give most features; a feature in no such triplet is estimated from its
        supported pairs with features that are (``delta_f = R_fg / delta_g``).
        """
        classes = self.feature_classes_
        kernel = (np.diag(balance) - np.outer(balance, balance))[classes][:, classes]
        ratio = np.divide(cov, kernel, out=np.zeros_like(cov), where=usable)
        delta = _aggregate_triplets(ratio, usable, self.aggregate)
        for f in np.flatnonzero(np.isnan(delta)):
            partners = np.flatnonzero(usable[f] & (np.nan_to_num(delta) > 0))
            if partners.size:
                delta[f] = np.median(np.abs(ratio[f, partners] / delta[partners]))
        # Better than random (delta >= 0) and probabilities in [0, 1]: P(v | other) = mu - q delta >= 0,
        # P(v | own class) = mu + (1 - q) delta <= 1.
        q = balance[classes]
        return np.minimum(delta, np.minimum(mean / q, (1.0 - mean) / (1.0 - q)))

    def _feature_tables(self, mean: np.ndarray, delta: np.ndarray, balance: np.ndarray) -> np.ndarray:
        """(..., cardinality, n_features) ``P(v_f = 1 | y)``; unestimated features get 0 (they are not used).

        ``delta`` (..., n_features) and ``balance`` (..., cardinality) may carry a leading axis of priors.
        """
        classes = self.feature_classes_
        q = balance[..., classes]
        d = np.nan_to_num(delta)
        own = np.clip(mean + (1.0 - q) * d, 0.0, 1.0)[..., None, :]
        other = np.clip(mean - q * d, 0.0, 1.0)[..., None, :]
        return np.where(classes[None, :] == np.arange(self.cardinality)[:, None], own, other)

    def _posterior_weights(self, tables: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Linear posterior ``log P(y) + V @ weights[y] + constants[y]`` of the conditional-independence model.

        For an estimated LF ``log P(lambda_i | y)`` is ``log P(v_f | y) - log P(abstain_i | y)`` per feature plus
        ``log P(abstain_i | y)`` in the constant; likelihood ratios are capped (``accuracy_bounds``).  An LF the
        data cannot estimate votes with ``fallback_accuracy`` and its abstentions say nothing.  ``tables`` is
        (..., cardinality, n_features); ``delta`` (n_features,) says which features are estimated.
        """
        high = self.accuracy_bounds[1]
        cap = high / (1.0 - high)
        C, lfs, classes = self.cardinality, self.feature_lfs_, self.feature_classes_
        of_lf = (lfs[:, None] == np.arange(self.n_lfs_)[None, :]).astype(np.float64)  # (F, m)
        unknown = (~np.isnan(delta) @ of_lf) < of_lf.sum(axis=0)  # an LF with any unestimated feature
        vote = np.maximum(tables, 1e-300)
        vote = np.maximum(vote, vote.max(axis=-2, keepdims=True) / cap)
        abstain = np.maximum(1.0 - tables @ of_lf, 1e-300)  # (..., C, m)
        abstain = np.maximum(abstain, abstain.max(axis=-2, keepdims=True) / cap)
        weights = np.log(vote) - np.log(abstain)[..., lfs]
        constants = np.log(abstain)[..., ~unknown].sum(axis=-1)
        accuracy = float(np.clip(self.fallback_accuracy, 1.0 - high, high))
        own = classes[None, :] == np.arange(C)[:, None]
        fallback = np.where(own, np.log(accuracy), np.log((1.0 - accuracy) / (C - 1)))
        weights = np.where(unknown[lfs], fallback, weights)
        return weights, constants

    def _set_class_conditional_accuracies(
        self, mean: np.ndarray, delta: np.ndarray, balance: np.ndarray, tables: np.ndarray
    ) -> None:
        classes = self.feature_classes_
        own = tables[classes, np.arange(classes.size)]
        precision = np.divide(balance[classes] * own, mean, out=np.full_like(mean, np.nan), where=mean > 0)
        precision[np.isnan(delta)] = np.nan
        self.accuracies_ = self._per_lf(precision, mean)
        self.fallback_lfs_ = np.flatnonzero(np.isnan(self.accuracies_)).astype(int).tolist()
        probs = np.zeros((self.n_lfs_, self.cardinality + 1, self.cardinality))
        probs[self.feature_lfs_, 1 + classes, :] = tables.T
        probs[:, 0, :] = 1.0 - probs[:, 1:, :].sum(axis=1)
        probs[self.fallback_lfs_] = np.nan
        self.conditional_probs_ = probs

    def _per_lf(self, precision: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """An LF's accuracy when voting: its features' precisions weighted by how often it votes each class."""
        accuracies = np.full(self.n_lfs_, np.nan)
        for i in range(self.n_lfs_):
            mine = self.feature_lfs_ == i
            if mine.any() and mean[mine].sum() > 0 and not np.isnan(precision[mine]).any():
                accuracies[i] = np.clip(np.average(precision[mine], weights=mean[mine]), 0.0, 1.0)
        return accuracies

    def _estimate_binary_balance(
        self, L: LabelMatrix, mean: np.ndarray, cov: np.ndarray, usable: np.ndarray
    ) -> np.ndarray:
        """Mean of the prior of class 1 under the likelihood of the votes (flat prior over BALANCE_GRID).

        The likelihood of real votes is often flat over a wide range of priors with small bumps (LFs are
        never quite independent); its argmax then jumps to whichever bump is highest, often near an edge.
        The mean over the whole likelihood stays in the middle of the plausible range and still converges
        to the maximum as the data grow.  Two classes: ``K = p (1 - p) [[1, -1], [-1, 1]]``, so every
        ``delta_f`` is the estimate at p = 1/2 rescaled, and the triplets are computed once.
        """
        at_half = self._delta(mean, cov, usable, np.array([0.5, 0.5]))
        known = np.flatnonzero(~np.isnan(at_half))
        if known.size == 0:  # nothing to estimate with: the model falls back to majority vote anyway
            return np.full(2, 0.5)
        patterns, counts = self._vote_patterns(L)
        patterns = patterns[:, known]  # unestimated LFs vote with a made-up accuracy: not in the likelihood
        balances = np.column_stack([1.0 - BALANCE_GRID, BALANCE_GRID])  # (G, 2)
        q = balances[:, self.feature_classes_]  # (G, F)
        deltas = at_half * (0.5 / np.sqrt(BALANCE_GRID * (1.0 - BALANCE_GRID)))[:, None]
        deltas = np.minimum(deltas, np.minimum(mean / q, (1.0 - mean) / (1.0 - q)))
        weights, constants = self._posterior_weights(self._feature_tables(mean, deltas, balances), at_half)
        weights, offsets = weights[..., known], constants + np.log(balances)  # (G, 2, K), (G, 2)
        scores = np.empty(BALANCE_GRID.size)
        n_chunks = min(BALANCE_GRID.size, max(1, patterns.shape[0] // _BALANCE_CHUNK_ROWS))  # none empty
        for chunk in np.array_split(np.arange(BALANCE_GRID.size), n_chunks):
            logits = (patterns @ weights[chunk].reshape(-1, known.size).T).reshape(-1, chunk.size, 2)
            logits += offsets[chunk]
            scores[chunk] = counts @ np.logaddexp(logits[..., 0], logits[..., 1])
        posterior = np.exp(scores - scores.max())
        p = float(posterior @ BALANCE_GRID / posterior.sum())
        return np.array([1.0 - p, p])

    def _vote_patterns(self, L: LabelMatrix) -> tuple[np.ndarray, np.ndarray]:
        """Distinct rows of (a sample of) ``L`` as float indicators, with how often each occurs."""
        if L.shape[0] > self.max_balance_rows:
            L = L[np.random.default_rng(0).choice(L.shape[0], self.max_balance_rows, replace=False)]
        V = L[:, self.feature_lfs_] == self.feature_classes_.astype(L.dtype)
        if V.shape[1] <= 63:
            # A row's features as the bits of one integer: sorting integers is ~100x faster than rows.
            keys = V.astype(np.uint64) @ (np.uint64(1) << np.arange(V.shape[1], dtype=np.uint64))
            _, first, counts = np.unique(keys, return_index=True, return_counts=True)
            patterns = V[first]
        else:
            patterns, counts = np.unique(V, axis=0, return_counts=True)
        return patterns.astype(np.float64), counts.astype(np.float64)

    def _estimate_balance_fixed_point(
        self, L: LabelMatrix, mean: np.ndarray, cov: np.ndarray, usable: np.ndarray
    ) -> np.ndarray:
        """More than two classes: iterate "prior = mean posterior" from the uniform prior."""
        if L.shape[0] > self.max_balance_rows:
            L = L[np.random.default_rng(0).choice(L.shape[0], self.max_balance_rows, replace=False)]
        sample = self._indicators(L, np.float64)
        balance = np.full(self.cardinality, 1.0 / self.cardinality)
        for _ in range(30):
            delta = self._delta(mean, cov, usable, balance)
            weights, constants = self._posterior_weights(self._feature_tables(mean, delta, balance), delta)
            logits = sample @ weights.T + constants + np.log(balance)
            logits -= logits.max(axis=1, keepdims=True)
            proba = np.exp(logits)
            updated = np.clip((proba / proba.sum(axis=1, keepdims=True)).mean(axis=0), 0.01, None)
            updated /= updated.sum()
            converged = np.abs(updated - balance).max() < 1e-4
            balance = updated
            if converged:
                break
        return balance

    # -- the symmetric (FlyingSquid) model ---------------------------------------------------------
    def _fit_symmetric(self, L: LabelMatrix, gram: np.ndarray, fixed_balance: np.ndarray | None) -> None:
        """FlyingSquid's parametrisation, one class against the rest (one binary model for two classes)."""
        self.fallback_ = False
        if fixed_balance is None:
            # Votes are equally likely under either class in this model: it cannot estimate a prior.
            fixed_balance = vote_share_balance(L, self.cardinality)
        self.class_balance_ = fixed_balance
        low, high = self.accuracy_bounds
        positives = [1] if self.cardinality == 2 else list(range(self.cardinality))
        coverage = self.coverages_
        weights, constants, accuracy_per_model = [], [], []
        probs = np.full((self.n_lfs_, self.cardinality + 1, self.cardinality), np.nan)
        for positive in positives:
            sign = np.where(self.feature_classes_ == positive, 1.0, -1.0)
            # Signed per-LF moments E[l_i l_j] from the indicator Gram matrix: l_i = sum_f sign_f v_f.
            to_lf = np.zeros((self.n_lfs_, sign.size))
            to_lf[self.feature_lfs_, np.arange(sign.size)] = sign
            moments = to_lf @ gram @ to_lf.T
            strength = _flyingsquid_strength(moments, self.aggregate)  # E[l_i Y], abstentions counting 0
            accuracy = np.divide(
                0.5 * (coverage + strength), coverage, out=np.full(self.n_lfs_, np.nan), where=coverage > 0
            )
            accuracy_per_model.append(accuracy)
            if self.posterior == "flyingsquid":
                w, c, tables = self._flyingsquid_weights(sign, (L == positive).mean(axis=0), strength)
                # P(lambda | Y) implied by the clique marginals; rows lambda = -1, 0, +1 are class 0, abstain, class 1.
                probs = (tables / tables.sum(axis=1, keepdims=True))[:, [1, 0, 2], :]
            else:
                w, c = sign * _logit(np.clip(np.nan_to_num(accuracy, nan=0.5), low, high))[self.feature_lfs_], 0.0
                if self.cardinality == 2:
                    right, wrong = coverage * accuracy, coverage * (1.0 - accuracy)
                    probs = np.stack(
                        [np.stack([1 - coverage] * 2, 1), np.stack([right, wrong], 1), np.stack([wrong, right], 1)], 1
                    )
            weights.append(w)
            constants.append(c)
        self._weights, self._constants = np.vstack(weights), np.asarray(constants, dtype=np.float64)
        # An LF's accuracy: from the binary model of the class each of its votes is for.
        accuracy_of = np.vstack(accuracy_per_model)
        model = np.zeros_like(self.feature_classes_) if self.cardinality == 2 else self.feature_classes_
        precision = accuracy_of[model, self.feature_lfs_]
        self.accuracies_ = self._per_lf(np.clip(precision, 0.0, 1.0), np.diag(gram))
        self.conditional_probs_ = probs
        self.fallback_lfs_ = np.flatnonzero(np.isnan(self.accuracies_)).astype(int).tolist()

    def _flyingsquid_weights(
        self, sign: np.ndarray, plus: np.ndarray, strength: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """FlyingSquid's posterior as a linear logit: ``sum_i log mu_i(l_i, +1) / mu_i(l_i, -1) - (m-2) logit(pi)``.

        ``mu_i`` is LF i's clique marginal (:func:`_flyingsquid_clique`, from ``P(l_i = +1) = plus``,
        ``P(l_i = 0)``, the prior and ``E[l_i Y] = strength``).  With ``t_i(v) = log mu_i(v, +1) - log mu_i(v, -1)``
        the sum is ``sum_i t_i(0)`` plus, per vote, ``t_i(v) - t_i(0)``.  Tables are floored at 1e-300 so that a
        zero marginal stays finite.  Also returns the (n_lfs, 3, 2) clique marginals.
        """
        prior = float(self.class_balance_[1])
        tables = np.stack(
            [_flyingsquid_clique(plus[i], 1.0 - self.coverages_[i], prior, strength[i]) for i in range(self.n_lfs_)]
        )
        floored = np.maximum(tables, 1e-300)
        logratio = np.log(floored[:, :, 1]) - np.log(floored[:, :, 0])  # (n_lfs, 3): l = -1, 0, +1
        value = np.where(sign > 0, 2, 0)  # feature f is its LF voting +1 (the positive class) or -1
        weights = logratio[self.feature_lfs_, value] - logratio[self.feature_lfs_, 1]
        constant = logratio[:, 1].sum() - (self.n_lfs_ - 2) * float(_logit(prior))
        return weights, constant, tables

    # -- prediction ------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        super()._restore_state()
        self.fallback_ = bool(self.fallback_)
        self.fallback_lfs_ = [int(i) for i in self.fallback_lfs_]
        self.feature_lfs_ = np.asarray(self.feature_lfs_, dtype=np.int64)
        self.feature_classes_ = np.asarray(self.feature_classes_, dtype=np.int64)
        self._weights = np.asarray(self._weights, dtype=np.float64)
        self._constants = np.asarray(self._constants, dtype=np.float64)

    def _vote_tables(self) -> np.ndarray:
        """``_weights`` as per-LF lookup tables: ``[r, j, v + 1]`` is the evidence for ``r`` of LF j voting v.

        Abstaining adds nothing (its terms are in ``_constants``), nor does a vote for a class the LF never
        voted in the fitted data (it has no feature), exactly as in the indicator product.
        """
        tables = np.zeros((self._weights.shape[0], self.n_lfs_, self.cardinality + 1))
        tables[:, self.feature_lfs_, self.feature_classes_ + 1] = self._weights
        return tables

    def _predict_proba(self, L: LabelMatrix) -> npt.NDArray[np.float64]:
        if self.fallback_:
            return vote_share_proba(L, self.class_balance_)
        binary = self.cardinality == 2
        class_conditional = self.method == "class_conditional"
        if binary:
            # The logit of class 1 is linear in the votes: `base` + one table entry per LF.
            if class_conditional:
                base = _logit(self.class_balance_[1]) + self._constants[1] - self._constants[0]
                weights = self._weights[1] - self._weights[0]
            else:
                # FlyingSquid's constant already holds its prior term; the independent posterior adds it once.
                prior = 0.0 if self.posterior == "flyingsquid" else _logit(self.class_balance_[1])
                base, weights = prior + self._constants[0], self._weights[0]
            if L.shape[0] >= COMPILED_FROM_ROWS:
                from epoxy_core.model._kernels import kernel

                table = np.zeros((self.n_lfs_, 3))  # column 0, abstaining, stays 0
                table[self.feature_lfs_, self.feature_classes_ + 1] = weights
                logit = kernel("binary_logit")(L, table, float(base))
            else:
                with _single_threaded_blas(L.shape[0]):
                    logit = base + self._indicators(L, np.float64) @ weights
            p1 = 0.5 * (1.0 + np.tanh(0.5 * logit))  # a logistic that cannot overflow
            return np.column_stack([1.0 - p1, p1])
        if L.shape[0] >= COMPILED_FROM_ROWS:
            from epoxy_core.model._kernels import kernel

            evidence = kernel("evidence")(L, self._vote_tables(), self._constants)
        else:
            with _single_threaded_blas(L.shape[0]):
                evidence = self._indicators(L, np.float64) @ self._weights.T + self._constants
        if class_conditional:
            logits = np.log(self.class_balance_) + evidence
            logits -= logits.max(axis=1, keepdims=True)
            proba = np.exp(logits)
            return proba / proba.sum(axis=1, keepdims=True)
        per_class = 0.5 * (1.0 + np.tanh(0.5 * (_logit(self.class_balance_) + evidence)))
        # Normalise the one-vs-rest posteriors; the floor keeps a row that every model rejects defined.
        per_class = np.maximum(per_class, 1e-12)
        return per_class / per_class.sum(axis=1, keepdims=True)
