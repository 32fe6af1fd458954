"""The triplet label model: probabilistic labels from votes alone, without ground truth.

:class:`TripletLabelModel` is the closed-form method of FlyingSquid (Fu et al., 2020) used by Epoxy.
Under the model, LFs are conditionally independent given the true label ``Y``, abstain independently of
``Y``, and are right with the same probability whichever class they vote.  Writing votes as signed
numbers (``+1``/``-1``, ``0`` for abstain) gives ``E[l_i l_j] = a_i a_j`` with ``a_i = E[l_i Y]``, so any
three LFs determine each other's ``|a_i| = sqrt(|M_ij M_ik / M_jk|)``.  The estimates over all triplets
are aggregated (median by default), and turned into each LF's accuracy *when it votes*:
``(1 + a_i / coverage_i) / 2``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from epoxy_core.labels import ABSTAIN, LabelMatrix
from epoxy_core.model.balance import DEFAULT_CLASS_BALANCE, ClassBalance, _check_balance
from epoxy_core.model.base import LabelModel
from epoxy_core.model.baselines import MajorityVote, vote_share_proba

MIN_LFS = 3
"""The triplet method needs three LFs that vote; with fewer the model predicts as majority vote."""


def _single_threaded_blas(n_rows: int) -> AbstractContextManager[Any]:
    """One BLAS thread for the label model's skinny products (rows x a few dozen features) on big inputs.

    Threads buy little on such shapes and, on a busy 2-core machine, spinning OpenBLAS threads made a
    1M x 40 Gram matrix take 13.7 s instead of 0.13 s (measured; the app runs other work beside it).
    Switching costs ~5 ms, so small inputs (threshold tuning refits hundreds of times) skip it.
    """
    return threadpool_limits(limits=1, user_api="blas") if n_rows >= 100_000 else nullcontext()


def _logit(p: Any) -> Any:
    return np.log(p) - np.log1p(-p)


def _median_triplet_strength(cov: np.ndarray, usable: np.ndarray, aggregate: str) -> np.ndarray:
    """For each feature f, aggregate ``sqrt(|C_fg C_fh / C_gh|)`` over usable pairs (g, h); NaN if none."""
    strength = np.full(cov.shape[0], np.nan)
    for f in range(cov.shape[0]):
        pairs = np.triu(usable[f][:, None] & usable[f][None, :] & usable, k=1)
        g, h = np.nonzero(pairs)
        if g.size:
            estimates = np.sqrt(np.abs(cov[f, g] * cov[f, h] / cov[g, h]))
            strength[f] = np.median(estimates) if aggregate == "median" else np.mean(estimates)
    return strength


class TripletLabelModel(LabelModel):
    """Closed-form triplet label model (FlyingSquid family), LFs independent given the label.

    Each (LF, class it votes) pair is an indicator feature ``v_f`` ("LF i voted class c on this row").
    Under conditional independence the features of different LFs are independent given ``Y``, so for a
    binary problem (class ``c`` against the rest, with prior ``p``) their covariance is rank one:
    ``Cov(v_f, v_g) = p (1 - p) d_f d_g`` with ``d_f = P(v_f | Y=c) - P(v_f | Y!=c)``.  Any three features
    of three different LFs give ``|d_f| sqrt(p(1-p)) = sqrt(|C_fg C_fh / C_gh|)``; the estimates of all
    triplets are aggregated.  The sign of ``d_f`` comes from the class the feature votes (every LF is
    assumed better than random).  With the class prior this yields ``P(v_f | y)`` for both classes, hence
    each LF's accuracy when it votes and the posterior.

    ``method="symmetric"`` is FlyingSquid's original parametrisation instead: signed votes with one
    accuracy per LF, the same whichever class it votes, and abstentions carrying no information.  It is
    right for LFs that vote both classes symmetrically but badly biased for one-class LFs (a keyword that
    votes "spam" or abstains), which is what users mostly write; it is kept for comparison.

    Parameters
    ----------
    cardinality : int, default 2
        Number of classes.  More than two are handled one class against the rest, each with its own
        binary triplet model; the per-class posteriors are then normalised to sum to 1.
    method : {"class_conditional", "symmetric"}, default "class_conditional"
        See above.
    aggregate : {"median", "mean"}, default "median"
        How to combine the estimates a feature gets from every triplet it belongs to.  The median
        resists the odd triplet whose denominator is tiny.
    posterior : {"independent", "flyingsquid"}, default "independent"
        ``"independent"`` is the posterior of the conditional-independence model,
        ``P(y) * prod_i P(l_i | y)`` (the joint marginals divided by ``P(y)^(m-1)``).  ``"flyingsquid"``
        reproduces FlyingSquid's prediction, which divides by ``P(y)^(m-2)`` and so counts the prior
        twice; it is here for comparison with published figures.
    fallback_accuracy : float, default 0.7
        Accuracy given to an LF that no triplet can estimate (fewer than 3 LFs voting).  Such LFs are
        listed in ``fallback_lfs_``.
    accuracy_bounds : tuple of float, default (0.01, 0.99)
        Probabilities are clipped to this range inside the posterior so that no single LF is ever
        treated as certain; ``accuracies_`` is only clipped to [0, 1].
    max_balance_rows : int, default 50_000
        The class balance is estimated (``class_balance="estimate"``) on at most this many rows,
        drawn with a fixed seed, which keeps refits at a million rows interactive.

    Attributes
    ----------
    accuracies_ : ndarray of shape (n_lfs,)
        Each LF's estimated accuracy when it votes (precision), in [0, 1]; an LF voting several classes
        gets the average over them weighted by how often it votes each.
    class_balance_ : ndarray of shape (cardinality,)
        The prior ``P(y)`` used for prediction.
    coverages_ : ndarray of shape (n_lfs,)
        Fraction of rows each LF votes on, in the data the model was fitted on.
    fallback_lfs_ : list of int
        LFs whose accuracy is ``fallback_accuracy`` because no triplet estimated it.

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

    # -- features ----------------------------------------------------------------------------------
    def _positive_classes(self) -> list[int]:
        """The class each binary sub-model treats as positive: class 1 for two classes, each class otherwise."""
        return [1] if self.cardinality == 2 else list(range(self.cardinality))

    def _indicators(self, L: LabelMatrix) -> npt.NDArray[np.float32]:
        """(n_rows, n_features) float32 indicators "LF i voted class c" for the fitted features."""
        # One broadcast comparison over the selected columns, in C order for the BLAS products that follow.
        return (L[:, self.feature_lfs_] == self.feature_classes_.astype(L.dtype)).astype(np.float32)

    # -- fitting ---------------------------------------------------------------------------------
    def _validate_settings(self) -> None:
        choices = {
            "method": ("class_conditional", "symmetric"),
            "aggregate": ("median", "mean"),
            "posterior": ("independent", "flyingsquid"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")

    def fit(self, L: Any, class_balance: ClassBalance = DEFAULT_CLASS_BALANCE) -> TripletLabelModel:
        """Estimate each LF's accuracy from how LFs agree and disagree (no labels needed).

        Parameters
        ----------
        L : array-like of shape (n_rows, n_lfs)
            Label matrix (``ABSTAIN`` = -1), typically the extended one.
        class_balance : array-like of shape (cardinality,), "estimate", "uniform" or None
            The prior ``P(y)``.  Pass frequencies from dev labels (:func:`class_balance_from_labels`) when
            there are enough; ``"estimate"`` (the default, also for ``None``) picks the prior that maximises
            the likelihood of the votes (a grid over [0.02, 0.98] for two classes, the EM-style fixed point
            "prior = mean posterior" for more).

        Returns
        -------
        TripletLabelModel
            ``self``, fitted.
        """
        self._validate_settings()
        L = self._check_fit_input(L)
        n, m = L.shape
        self.n_lfs_ = m
        self.coverages_ = (L != ABSTAIN).mean(axis=0)
        self.fallback_ = int((self.coverages_ > 0).sum()) < MIN_LFS
        if self.fallback_:
            return self._fit_majority_vote(L, class_balance)
        votes_class = np.stack([(L == c).any(axis=0) for c in range(self.cardinality)], axis=1)  # (m, C)
        pairs = [(int(i), int(c)) for i, c in zip(*np.nonzero(votes_class), strict=True)]
        self.feature_lfs_ = np.array([i for i, _ in pairs], dtype=np.int64)
        self.feature_classes_ = np.array([c for _, c in pairs], dtype=np.int64)
        V = self._indicators(L)
        self._mean = V.mean(axis=0, dtype=np.float64)
        with _single_threaded_blas(n):
            self._gram = (V.T @ V).astype(np.float64) / n

        fixed_balance = self._fixed_balance(class_balance)
        if self.method == "symmetric":
            feature_precision, fallback = self._fit_symmetric(V, fixed_balance)
        else:
            feature_precision, fallback = self._fit_class_conditional(V, fixed_balance)
        never_votes = np.flatnonzero(self.coverages_ == 0)
        self.fallback_lfs_ = np.union1d(self.feature_lfs_[fallback], never_votes).astype(int).tolist()

        # An LF's accuracy when voting: its features' precisions weighted by how often it votes each class.
        votes = self._mean * n
        accuracies = np.full(m, self.fallback_accuracy)
        for i in range(m):
            mine = self.feature_lfs_ == i
            if votes[mine].sum() > 0:
                accuracies[i] = np.average(feature_precision[mine], weights=votes[mine])
        self.accuracies_ = np.clip(accuracies, 0.0, 1.0)
        return self

    def _fit_majority_vote(self, L: LabelMatrix, class_balance: ClassBalance) -> TripletLabelModel:
        """Fewer than three LFs vote: no triplet exists, so predict as majority vote does."""
        self.class_balance_ = MajorityVote(self.cardinality).fit(L, class_balance).class_balance_
        self.accuracies_ = np.full(self.n_lfs_, np.nan)
        self.fallback_lfs_ = list(range(self.n_lfs_))
        self.feature_lfs_ = np.zeros(0, dtype=np.int64)
        self.feature_classes_ = np.zeros(0, dtype=np.int64)
        self._weights = np.zeros((len(self._positive_classes()), 0), dtype=np.float32)
        self._constants = np.zeros(len(self._positive_classes()))
        return self

    def _fixed_balance(self, class_balance: ClassBalance) -> np.ndarray | None:
        if class_balance is None or (isinstance(class_balance, str) and class_balance == "estimate"):
            return None
        if isinstance(class_balance, str) and class_balance == "uniform":
            return np.full(self.cardinality, 1.0 / self.cardinality)
        if isinstance(class_balance, str):
            raise ValueError(f"class_balance must be probabilities, 'estimate' or 'uniform'; got {class_balance!r}.")
        return _check_balance(class_balance, self.cardinality)

    def _fit_symmetric(self, V: np.ndarray, fixed_balance: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """FlyingSquid's parametrisation, one class against the rest; returns feature precisions, fallback mask."""
        low, high = self.accuracy_bounds
        positives = self._positive_classes()
        weights, precisions, fallback = [], [], np.zeros(len(self.feature_lfs_), dtype=bool)
        for positive in positives:
            sign = np.where(self.feature_classes_ == positive, 1.0, -1.0)
            # Signed per-LF moments E[l_i l_j] from the indicator Gram matrix: l_i = sum_f sign_f v_f.
            to_lf = np.zeros((self.n_lfs_, sign.size))
            to_lf[self.feature_lfs_, np.arange(sign.size)] = sign
            moments = to_lf @ self._gram @ to_lf.T
            usable = np.abs(moments) > 1e-12
            np.fill_diagonal(usable, False)
            strength = _median_triplet_strength(moments, usable, self.aggregate)[self.feature_lfs_]
            missing = np.isnan(strength)
            coverage = np.maximum(self.coverages_[self.feature_lfs_], 1e-12)
            accuracy = np.where(missing, self.fallback_accuracy, 0.5 * (1.0 + np.nan_to_num(strength) / coverage))
            weights.append(sign * _logit(np.clip(accuracy, low, high)))
            precisions.append(np.clip(accuracy, 0.0, 1.0))
            fallback |= missing
        self._weights = np.vstack(weights).astype(np.float32)
        self._constants = np.zeros(len(positives))
        if fixed_balance is None:
            # FlyingSquid's symmetric model says nothing about the class balance: votes are equally
            # likely under either class.  Majority-vote shares are the best cheap guess.
            counts = self._mean @ (self.feature_classes_[:, None] == np.arange(self.cardinality)[None, :])
            fixed_balance = (counts + 1e-3) / (counts + 1e-3).sum()
        self.class_balance_ = fixed_balance
        # The precision of a feature is the accuracy from the binary model of the class it votes.
        model = np.zeros_like(self.feature_classes_) if self.cardinality == 2 else self.feature_classes_
        return np.vstack(precisions)[model, np.arange(model.size)], fallback

    def _class_conditional_params(self, balance: np.ndarray, delta: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Feature probabilities and posterior weights of the class-conditional model at prior ``balance``.

        With ``delta_f = P(v_f | Y=c_f) - P(v_f | Y!=c_f)`` (``c_f`` the class feature f votes),
        ``Cov(v_f, v_g) = delta_f delta_g K[c_f, c_g]`` where ``K = diag(pi) - pi pi^T``.  Dividing the
        covariance by ``K`` leaves a rank-one matrix, whose triplets give each ``delta_f``
        (:meth:`_triplet_delta`, computed here unless the caller passes it).
        """
        low, high = self.accuracy_bounds
        classes, mean = self.feature_classes_, self._mean
        if delta is None:
            delta = self._triplet_delta(balance)
        missing = np.isnan(delta)
        prior_of_vote = balance[classes]
        # A feature no triplet estimates gets the gap that makes its precision fallback_accuracy:
        # precision = q (mu + (1 - q) delta) / mu with q the prior of the class it votes.
        fallback_delta = np.clip(mean * (self.fallback_accuracy / prior_of_vote - 1.0) / (1.0 - prior_of_vote), 0, None)
        delta = np.where(missing, fallback_delta, delta)
        # P(v_f = 1 | Y = c_f) and P(v_f = 1 | Y != c_f).  Precision uses them as estimated (clipped to
        # probabilities only); the posterior uses them bounded away from 0 and 1 so no LF is ever certain.
        raw_class = np.clip(mean + (1.0 - prior_of_vote) * delta, 0.0, 1.0)
        raw_other = np.clip(mean - prior_of_vote * delta, 0.0, 1.0)
        given_class, given_other = np.clip(raw_class, low, high), np.clip(raw_other, low, high)
        w_vote = np.log(given_class / given_other)
        w_abstain = np.log((1.0 - given_class) / (1.0 - given_other))
        one_hot = classes[None, :] == np.arange(self.cardinality)[:, None]  # (C, F)
        fires = prior_of_vote * raw_class + (1.0 - prior_of_vote) * raw_other
        precision = np.divide(
            prior_of_vote * raw_class, fires, out=np.full_like(fires, self.fallback_accuracy), where=fires > 0
        )
        return {
            "weights": np.where(one_hot, w_vote - w_abstain, 0.0),
            "constants": (one_hot * w_abstain).sum(axis=1),
            "base_weights": np.log(given_other) - np.log1p(-given_other),
            "base_constant": np.log1p(-given_other).sum(),
            "precision": precision,
            "missing": missing,
        }

    def _triplet_delta(self, balance: np.ndarray) -> np.ndarray:
        """Triplet estimate of every feature's ``delta_f`` at prior ``balance``; NaN where no triplet exists."""
        classes, mean = self.feature_classes_, self._mean
        kernel = np.diag(balance) - np.outer(balance, balance)
        k_pairs = kernel[classes][:, classes]
        cov = self._gram - np.outer(mean, mean)
        # Features of the same LF are dependent by construction (it votes one class at a time).
        usable = (np.abs(cov) > 1e-12) & (np.abs(k_pairs) > 1e-12)
        usable &= self.feature_lfs_[:, None] != self.feature_lfs_[None, :]
        ratio = np.divide(cov, k_pairs, out=np.zeros_like(cov), where=usable)
        return _median_triplet_strength(ratio, usable, self.aggregate)

    def _log_likelihood(self, V: np.ndarray, params: dict[str, np.ndarray], balance: np.ndarray) -> float:
        """Log-likelihood of indicator rows ``V`` under the class-conditional model."""
        base = V @ params["base_weights"].astype(np.float32) + params["base_constant"]
        logits = V @ params["weights"].T.astype(np.float32) + params["constants"] + np.log(balance)
        return float((np.logaddexp.reduce(logits, axis=1) + base).sum())

    def _fit_class_conditional(self, V: np.ndarray, fixed_balance: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The default model; returns feature precisions and the no-triplet mask."""
        balance = fixed_balance
        if balance is None:
            sample = V
            if V.shape[0] > self.max_balance_rows:
                sample = V[np.random.default_rng(0).choice(V.shape[0], self.max_balance_rows, replace=False)]
            if self.cardinality == 2:
                # Second moments cannot tell the prior apart; the full likelihood can.  A grid is exact enough.
                # K = p(1-p) [[1, -1], [-1, 1]]: the prior only rescales every triplet estimate, so the
                # triplets are computed once (at p = 1/2) and rescaled for each prior tried.
                at_half = self._triplet_delta(np.array([0.5, 0.5]))
                grid = [np.array([1.0 - q, q]) for q in np.linspace(0.02, 0.98, 49)]
                scores = [
                    self._log_likelihood(
                        sample, self._class_conditional_params(b, at_half * 0.5 / np.sqrt(b[0] * b[1])), b
                    )
                    for b in grid
                ]
                balance = grid[int(np.argmax(scores))]
            else:
                balance = np.full(self.cardinality, 1.0 / self.cardinality)
                for _ in range(30):  # fixed point: the prior equals the mean posterior
                    self._set_class_conditional(self._class_conditional_params(balance), balance)
                    # The fixed point is the independent model's; FlyingSquid's doubled prior would run away.
                    updated = np.clip(self._posterior_of_indicators(sample, prior_weight=1.0).mean(axis=0), 0.01, None)
                    updated /= updated.sum()
                    converged = np.abs(updated - balance).max() < 1e-4
                    balance = updated
                    if converged:
                        break
        params = self._class_conditional_params(balance)
        self._set_class_conditional(params, balance)
        return params["precision"], params["missing"]

    def _set_class_conditional(self, params: dict[str, np.ndarray], balance: np.ndarray) -> None:
        self._weights = params["weights"].astype(np.float32)
        self._constants = params["constants"]
        self.class_balance_ = balance

    # -- prediction ------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        super()._restore_state()
        self.fallback_ = bool(self.fallback_)
        self.fallback_lfs_ = [int(i) for i in self.fallback_lfs_]
        self._weights = np.asarray(self._weights, dtype=np.float32)

    def _posterior_of_indicators(self, V: np.ndarray, prior_weight: float | None = None) -> npt.NDArray[np.float64]:
        with _single_threaded_blas(V.shape[0]):
            evidence = (V @ self._weights.T).astype(np.float64) + self._constants
        if prior_weight is None:
            prior_weight = 2.0 if self.posterior == "flyingsquid" else 1.0
        if self.method == "class_conditional" and self.cardinality == 2:
            # Two classes: the softmax is a logistic of the difference of the two logits.
            logit = prior_weight * _logit(self.class_balance_[1]) + evidence[:, 1] - evidence[:, 0]
            p1 = 0.5 * (1.0 + np.tanh(0.5 * logit))  # a logistic that cannot overflow
            return np.column_stack([1.0 - p1, p1])
        if self.method == "class_conditional":
            logits = prior_weight * np.log(self.class_balance_) + evidence
            logits -= logits.max(axis=1, keepdims=True)
            proba = np.exp(logits)
            return proba / proba.sum(axis=1, keepdims=True)
        if self.cardinality == 2:
            logit = prior_weight * _logit(self.class_balance_[1]) + evidence[:, 0]
            p1 = 0.5 * (1.0 + np.tanh(0.5 * logit))  # a logistic that cannot overflow
            return np.column_stack([1.0 - p1, p1])
        per_class = 0.5 * (1.0 + np.tanh(0.5 * (prior_weight * _logit(self.class_balance_) + evidence)))
        # Normalise the one-vs-rest posteriors; the floor keeps a row that every model rejects defined.
        per_class = np.maximum(per_class, 1e-12)
        return per_class / per_class.sum(axis=1, keepdims=True)

    def _predict_proba(self, L: LabelMatrix) -> npt.NDArray[np.float64]:
        if self.fallback_:
            return vote_share_proba(L, self.class_balance_)
        return self._posterior_of_indicators(self._indicators(L))
