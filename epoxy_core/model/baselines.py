"""Baselines every label model should beat: majority vote."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN, LabelMatrix
from epoxy_core.model.balance import DEFAULT_CLASS_BALANCE, ClassBalance, _check_balance
from epoxy_core.model.base import LabelModel


def vote_counts(L: LabelMatrix, cardinality: int) -> npt.NDArray[np.float64]:
    """(n_rows, cardinality) number of LFs voting each class on each row.

    >>> vote_counts(np.array([[1, 1, 0], [-1, -1, -1]]), 2).tolist()
    [[1.0, 2.0], [0.0, 0.0]]
    """
    return np.stack([(L == c).sum(axis=1) for c in range(cardinality)], axis=1).astype(np.float64)


def vote_share_proba(L: LabelMatrix, prior: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Share of the votes each class received; rows without votes get ``prior``."""
    counts = vote_counts(L, prior.size)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.broadcast_to(prior, counts.shape).copy(), where=totals > 0)


def vote_share_balance(L: LabelMatrix, cardinality: int) -> npt.NDArray[np.float64]:
    """Mean vote share over the rows with a vote (add-one smoothed): majority vote's estimate of the prior.

    >>> vote_share_balance(np.array([[1, 1], [0, -1], [-1, -1]]), 2).tolist()
    [0.5, 0.5]
    """
    shares = vote_share_proba(L, np.zeros(cardinality))
    covered = (L != ABSTAIN).any(axis=1)
    counts = shares[covered].sum(axis=0) + 1.0
    return counts / counts.sum()


class MajorityVote(LabelModel):
    """Each row gets the class most LFs vote for; the baseline for any label model.

    Parameters
    ----------
    cardinality : int, default 2
        Number of classes.

    Attributes
    ----------
    class_balance_ : ndarray of shape (cardinality,)
        The probabilities of rows without any vote.
    accuracies_ : ndarray of shape (n_lfs,)
        All NaN: majority vote estimates no LF accuracy.
    n_lfs_ : int

    Examples
    --------
    >>> L = [[1, 1, 0], [-1, -1, -1]]
    >>> MajorityVote().fit(L, class_balance="uniform").predict_proba(L).tolist()
    [[0.3333333333333333, 0.6666666666666666], [0.5, 0.5]]
    >>> MajorityVote().fit(L, class_balance="uniform").predict(L, tie_break="abstain").tolist()
    [1, -1]
    """

    def fit(self, L: Any, class_balance: ClassBalance = DEFAULT_CLASS_BALANCE) -> MajorityVote:
        """Set the prior used for rows without votes.

        Parameters
        ----------
        L : array-like of shape (n_rows, n_lfs)
        class_balance : array-like of shape (cardinality,), "estimate", "uniform" or None
            Majority vote has no model of the votes to estimate a prior from: every string (and ``None``)
            gives the uniform prior.

        Returns
        -------
        MajorityVote
            ``self``, fitted.
        """
        L = self._check_fit_input(L)
        if class_balance is None or (isinstance(class_balance, str) and class_balance in ("estimate", "uniform")):
            self.class_balance_ = np.full(self.cardinality, 1.0 / self.cardinality)
        elif isinstance(class_balance, str):
            raise ValueError(f"class_balance must be probabilities, 'estimate' or 'uniform'; got {class_balance!r}.")
        else:
            self.class_balance_ = _check_balance(class_balance, self.cardinality)
        self.n_lfs_ = L.shape[1]
        self.accuracies_ = np.full(L.shape[1], np.nan)
        return self

    def _predict_proba(self, L: LabelMatrix) -> npt.NDArray[np.float64]:
        return vote_share_proba(L, self.class_balance_)
