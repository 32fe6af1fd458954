"""The class balance (prior) of a label model: from labels, given, estimated, and the one default.

:data:`DEFAULT_CLASS_BALANCE` is ``"estimate"``: the label model infers the prior from the votes alone (for two
classes, the mean of the prior under the likelihood of the votes, see
:meth:`~epoxy_core.model.triplet.TripletLabelModel.fit`).  ``fit``, ``tune_thresholds`` and the app all start
from it; a user with dev labels can pick ``"dev labels"`` instead (:func:`resolve_class_balance`).

Why, measured in December 2026 (dev accuracy of ``TripletLabelModel()`` on the 100 dev labels of the YouTube
spam votes in ``../shared``; no label is used by the model except for "dev labels", which is 10-fold
cross-validated, the prior from the other nine folds, 20 shuffles):

====================================  =====================  ===================
prior                                 10 tutorial LFs        6 README LFs
====================================  =====================  ===================
``"uniform"``                         0.88                   0.93
``"estimate"``                        0.87 (spam 0.497)      0.93 (spam 0.493)
``"dev labels"`` (10-fold CV)         0.862 (0.85 - 0.89)    0.93
previous estimate (likelihood argmax) 0.90 (spam 0.64)       0.74 (spam 0.36)
====================================  =====================  ===================

On spam, whose classes are balanced, the estimate ties the uniform prior and no longer runs off towards an edge
(the argmax of the likelihood jumped between bumps at 0.36 and 0.64).  On classes that are not balanced the
estimate is what matters: synthetic one-class LFs independent given Y (5 seeds, accuracy on all rows) with
20% positives score 0.878 / 0.873 (2,000 / 20,000 rows, coverage 10-30%) with the estimate against 0.698 /
0.703 with a uniform prior, and 0.806 against 0.613 at 20,000 rows with coverage 2-10%; with balanced classes
both agree within 0.01.  Dev frequencies of 100 labels are no better than the estimate on spam and need labels.

Its limits: with sparse LFs the prior is weakly identified, and the estimate is noisy (20 keyword LFs of 2-10%
coverage, 20,000 rows, 40% positives: off by up to 0.1 over seeds 0-7, costing up to 0.016 accuracy on covered
rows against the true prior).  It adds 10-20 ms to a fit on the spam votes (a 99-point likelihood grid over the
distinct vote patterns of at most ``max_balance_rows`` rows).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN, check_labels

ClassBalance = npt.ArrayLike | Literal["estimate", "uniform"] | None
"""What a label model's ``fit`` takes as the prior: probabilities, ``"estimate"``, ``"uniform"``, or ``None``
(meaning :data:`DEFAULT_CLASS_BALANCE`)."""

DEFAULT_CLASS_BALANCE: str = "estimate"
"""The one default prior of ``fit``, ``tune_thresholds`` and the app (the module docstring says why)."""


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
