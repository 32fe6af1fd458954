"""Baselines every label model should beat: majority vote."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN, check_label_matrix
from epoxy_core.model.balance import ClassBalance, _check_balance


class MajorityVote:
    """Each row gets the class most LFs vote for; the baseline for any label model.

    Parameters
    ----------
    cardinality : int, default 2
        Number of classes.

    Examples
    --------
    >>> MajorityVote().fit(None).predict_proba([[1, 1, 0], [-1, -1, -1]]).tolist()
    [[0.3333333333333333, 0.6666666666666666], [0.5, 0.5]]
    """

    def __init__(self, cardinality: int = 2):
        self.cardinality = cardinality

    def fit(self, L: Any = None, class_balance: ClassBalance = None) -> MajorityVote:
        """Set the prior used for rows without votes (uniform unless ``class_balance`` is given)."""
        if class_balance is None or isinstance(class_balance, str):
            self.class_balance_ = np.full(self.cardinality, 1.0 / self.cardinality)
        else:
            self.class_balance_ = _check_balance(class_balance, self.cardinality)
        return self

    def _prior(self) -> npt.NDArray[np.float64]:
        """The fitted class balance, or uniform when ``fit`` was never called (it learns nothing else)."""
        return getattr(self, "class_balance_", np.full(self.cardinality, 1.0 / self.cardinality))

    def _counts(self, L: Any) -> npt.NDArray[np.float64]:
        L = check_label_matrix(L, self.cardinality)
        return np.stack([(L == c).sum(axis=1) for c in range(self.cardinality)], axis=1).astype(np.float64)

    def predict_proba(self, L: Any) -> npt.NDArray[np.float64]:
        """Share of the votes each class received; rows without votes get the class balance."""
        counts = self._counts(L)
        totals = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, totals, out=np.broadcast_to(self._prior(), counts.shape).copy(), where=totals > 0)

    def predict(self, L: Any, tie_break: Literal["first", "abstain"] = "first") -> npt.NDArray[np.int64]:
        """Class with the most votes.

        Parameters
        ----------
        tie_break : {"first", "abstain"}, default "first"
            ``"first"`` resolves ties (and rows without votes) to the lowest tied class index (rows without
            votes: the most likely class a priori); ``"abstain"`` returns ``ABSTAIN`` for them.
        """
        counts = self._counts(L)
        predictions = counts.argmax(axis=1)
        if tie_break == "abstain":
            top = counts.max(axis=1, keepdims=True)
            tied = ((counts == top).sum(axis=1) > 1) | (top[:, 0] == 0)
            predictions[tied] = ABSTAIN
        elif tie_break == "first":
            no_votes = counts.sum(axis=1) == 0
            predictions[no_votes] = int(np.argmax(self._prior()))
        else:
            raise ValueError(f"tie_break must be 'first' or 'abstain', got {tie_break!r}.")
        return predictions
