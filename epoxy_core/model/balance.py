"""The class balance (prior) of a label model: from labels, given, or checked."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN, check_labels

ClassBalance = npt.ArrayLike | Literal["estimate", "uniform"] | None


def class_balance_from_labels(y: Any, cardinality: int, smoothing: float = 1.0) -> npt.NDArray[np.float64]:
    """Class frequencies among labeled rows, with add-``smoothing`` so no class gets probability 0.

    >>> class_balance_from_labels([0, 0, 1, -1], cardinality=2, smoothing=0).tolist()
    [0.6666666666666666, 0.3333333333333333]
    """
    labels = check_labels(y, cardinality)
    counts = np.bincount(labels[labels != ABSTAIN], minlength=cardinality).astype(np.float64) + smoothing
    if counts.sum() == 0:
        raise ValueError("No labeled rows (and no smoothing): cannot compute a class balance from labels.")
    return counts / counts.sum()


def _check_balance(class_balance: Any, cardinality: int) -> npt.NDArray[np.float64]:
    balance = np.asarray(class_balance, dtype=np.float64)
    if balance.shape != (cardinality,):
        raise ValueError(f"class_balance needs {cardinality} probabilities (one per class), got shape {balance.shape}.")
    if not np.all(np.isfinite(balance)) or np.any(balance <= 0):
        raise ValueError("class_balance must hold positive, finite probabilities.")
    return balance / balance.sum()
