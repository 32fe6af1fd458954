"""The class balance (prior) of a label model: from labels, given, or checked."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN, check_labels

ClassBalance = npt.ArrayLike | Literal["estimate", "uniform"] | None
"""What a label model's ``fit`` takes as the prior: probabilities, ``"estimate"``, ``"uniform"``, or ``None``
(meaning :data:`DEFAULT_CLASS_BALANCE`)."""

DEFAULT_CLASS_BALANCE: str = "estimate"
"""The one default prior of ``fit``, ``tune_thresholds`` and the app (see the module docstring for why)."""


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


BALANCE_MODES: tuple[str, ...] = ("dev labels", "estimate", "uniform")
"""How a user can ask for the class balance: from the dev labels, estimated from the votes, or uniform."""


def resolve_class_balance(mode: Any, y: Any = None, cardinality: int = 2) -> npt.NDArray[np.float64] | str:
    """Turn a class-balance setting into what a label model's ``fit(L, class_balance=...)`` takes.

    Parameters
    ----------
    mode : {"dev labels", "estimate", "uniform"} or array-like of shape (cardinality,)
        ``"dev labels"`` uses the (add-one smoothed) class frequencies of the labeled rows of ``y`` and falls
        back to ``"estimate"`` when no row is labeled; probabilities are checked and normalised.
    y : array-like of shape (n_rows,), optional
        Gold labels, ``ABSTAIN`` for unlabeled rows (needed for ``"dev labels"``).
    cardinality : int, default 2

    Returns
    -------
    numpy.ndarray or str
        Probabilities, or ``"estimate"`` / ``"uniform"``.

    Examples
    --------
    >>> resolve_class_balance("dev labels", [0, 0, 0, -1], cardinality=2).tolist()
    [0.8, 0.2]
    >>> resolve_class_balance("dev labels", [-1, -1]), resolve_class_balance("uniform")
    ('estimate', 'uniform')
    """
    if isinstance(mode, str):
        if mode == "dev labels":
            labels = None if y is None else check_labels(y, cardinality)
            if labels is None or not (labels != ABSTAIN).any():
                return "estimate"
            return class_balance_from_labels(labels, cardinality)
        if mode in ("estimate", "uniform"):
            return mode
        raise ValueError(
            f"class balance must be one of {', '.join(map(repr, BALANCE_MODES))} or probabilities; got {mode!r}."
        )
    return _check_balance(mode, cardinality)
