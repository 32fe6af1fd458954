"""The label-model estimator family: one base for every model that turns LF votes into class probabilities.

:class:`LabelModel` follows scikit-learn's conventions (it is a :class:`sklearn.base.BaseEstimator`):
``__init__`` only stores settings, so ``get_params``, ``set_params``, :func:`sklearn.base.clone` and the repr
work; ``fit(L, class_balance=...)`` learns from votes alone and returns ``self``; learned state ends in ``_``;
using an unfitted model raises :class:`sklearn.exceptions.NotFittedError`.  On top of that every label model has
one ``predict`` signature with a tie policy, ``score`` against gold labels, and ``to_params`` / ``from_params``,
which save and rebuild a fitted model from plain data (JSON-able values and numpy arrays, never pickle).

Subclasses implement ``fit`` and ``_predict_proba`` and list the fitted attributes ``to_params`` must save in
``_state_attributes``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from epoxy_core.labels import ABSTAIN, LabelMatrix, check_label_matrix, check_labels
from epoxy_core.model.balance import DEFAULT_CLASS_BALANCE, ClassBalance

TieBreak = Literal["lowest", "abstain"]
TIE_BREAKS: tuple[str, ...] = ("lowest", "abstain")

TIE_TOLERANCE = 1e-5
"""Classes whose probability is within this fraction of the row's top probability are tied with it.

Float32 products inside the models leave rounding noise of about 1e-7 on probabilities, so an exact ``==``
would call two equally supported classes untied at random; 1e-5 is the relative tolerance Snorkel uses.
"""

METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "f1", "coverage")
"""What :meth:`LabelModel.score` can report. ``f1`` is binary (class 1 positive); ``coverage`` is the share of
gold-labelled rows that got a prediction (below 1 only with ``tie_break="abstain"``)."""

PARAMS_VERSION = 1
"""Version of the ``to_params`` layout; ``from_params`` refuses layouts it does not know."""

_MODELS: dict[str, type[LabelModel]] = {}


def _json_value(value: Any) -> Any:
    """A setting as JSON data: tuples become lists, numpy scalars Python numbers."""
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class LabelModel(BaseEstimator):
    """Base of every label model (:class:`~epoxy_core.model.triplet.TripletLabelModel`, majority vote).

    Parameters
    ----------
    cardinality : int, default 2
        Number of classes.

    Attributes
    ----------
    class_balance_ : ndarray of shape (cardinality,)
        The prior ``P(y)`` the model predicts with.
    accuracies_ : ndarray of shape (n_lfs,)
        Each LF's estimated accuracy when it votes; NaN where the model does not know it.
    n_lfs_ : int
        Number of LFs (columns of ``L``) the model was fitted on.
    """

    _state_attributes: ClassVar[tuple[str, ...]] = ("class_balance_", "accuracies_", "n_lfs_")

    def __init__(self, cardinality: int = 2):
        self.cardinality = cardinality

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _MODELS[cls.__name__] = cls

    # -- what subclasses provide ------------------------------------------------------------------
    def fit(self, L: Any, class_balance: ClassBalance = DEFAULT_CLASS_BALANCE) -> LabelModel:
        """Learn from the votes ``L`` (n_rows, n_lfs), ``ABSTAIN`` = -1; returns ``self``."""
        raise NotImplementedError

    def _predict_proba(self, L: LabelMatrix) -> npt.NDArray[np.float64]:
        """Probabilities for a validated label matrix of the fitted width."""
        raise NotImplementedError

    # -- shared checks ------------------------------------------------------------------------------
    def _check_cardinality(self) -> None:
        if isinstance(self.cardinality, bool) or not isinstance(self.cardinality, int | np.integer):
            raise ValueError(f"cardinality must be an integer, got {self.cardinality!r}.")
        if self.cardinality < 2:
            raise ValueError(f"cardinality must be at least 2, got {self.cardinality}.")

    def _check_fit_input(self, L: Any) -> LabelMatrix:
        self._check_cardinality()
        L = check_label_matrix(L, self.cardinality)
        if L.shape[0] == 0:
            raise ValueError("Cannot fit a label model on zero rows.")
        return L

    def _check_predict_input(self, L: Any) -> LabelMatrix:
        check_is_fitted(self, "class_balance_")
        L = check_label_matrix(L, self.cardinality)
        if L.shape[1] != self.n_lfs_:
            raise ValueError(f"The model was fitted on {self.n_lfs_} LFs but L has {L.shape[1]} columns.")
        return L

    # -- prediction -------------------------------------------------------------------------------
    def predict_proba(self, L: Any) -> npt.NDArray[np.float64]:
        """Probability of each class for each row.

        Parameters
        ----------
        L : array-like of shape (n_rows, n_lfs)
            Votes, ``ABSTAIN`` (-1) for no vote, with the columns the model was fitted on.

        Returns
        -------
        ndarray of shape (n_rows, cardinality), float64
            Rows sum to 1.
        """
        return self._predict_proba(self._check_predict_input(L))

    def predict(self, L: Any, *, tie_break: TieBreak = "lowest") -> npt.NDArray[np.int64]:
        """Most probable class per row.

        Parameters
        ----------
        L : array-like of shape (n_rows, n_lfs)
        tie_break : {"lowest", "abstain"}, default "lowest"
            What a row whose top probability is shared by several classes (within a relative
            :data:`TIE_TOLERANCE`) gets: the lowest tied class index, or ``ABSTAIN``.  Under a uniform
            prior this includes rows on which the model has no evidence at all.

        Returns
        -------
        ndarray of shape (n_rows,), int64
        """
        if tie_break not in TIE_BREAKS:
            raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}.")
        return _argmax_with_ties(self.predict_proba(L), tie_break)

    def score(self, L: Any, y: Any, metric: str = "accuracy", *, tie_break: TieBreak = "lowest") -> float:
        """How well the predictions match the gold labels ``y`` on the rows that have one.

        Parameters
        ----------
        L : array-like of shape (n_rows, n_lfs)
        y : array-like of shape (n_rows,)
            Gold class indices, ``ABSTAIN`` (-1) for rows without a label (left out).
        metric : {"accuracy", "balanced_accuracy", "f1", "coverage"}, default "accuracy"
            See :data:`METRICS`.
        tie_break : {"lowest", "abstain"}, default "lowest"
            Passed to :meth:`predict`.  With ``"abstain"`` the rows the model abstains on are left out of
            the metric (Snorkel's convention) and ``"coverage"`` says how many were kept.

        Returns
        -------
        float
            NaN when no labelled row is left to score.
        """
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}.")
        predictions = self.predict(L, tie_break=tie_break)
        gold = check_labels(y, self.cardinality, n_rows=predictions.shape[0])
        labelled = gold != ABSTAIN
        if metric == "coverage":
            return float((predictions[labelled] != ABSTAIN).mean()) if labelled.any() else float("nan")
        kept = labelled & (predictions != ABSTAIN)
        if not kept.any():
            return float("nan")
        from sklearn import metrics  # imported here: sklearn.metrics costs ~0.3 s at import time

        truth, guess = gold[kept], predictions[kept]
        if metric == "accuracy":
            return float(metrics.accuracy_score(truth, guess))
        if metric == "balanced_accuracy":
            return float(metrics.balanced_accuracy_score(truth, guess))
        if self.cardinality != 2:
            raise ValueError("metric='f1' is for two classes (class 1 positive); use 'balanced_accuracy'.")
        return float(metrics.f1_score(truth, guess, pos_label=1, zero_division=0.0))

    # -- saving without pickle --------------------------------------------------------------------
    def to_params(self) -> dict[str, Any]:
        """The fitted model as plain data, for bundles and workspaces (no pickle).

        Returns
        -------
        dict
            ``{"model": class name, "version": PARAMS_VERSION, "settings": {...}, "state": {...}}``.
            ``settings`` (the constructor arguments) is JSON-able; ``state`` maps fitted attribute names to
            numpy arrays or JSON-able scalars and lists.  :meth:`from_params` rebuilds the model.
        """
        check_is_fitted(self, "class_balance_")
        state: dict[str, Any] = {}
        for name in self._state_attributes:
            value = getattr(self, name)
            state[name] = value.copy() if isinstance(value, np.ndarray) else _json_value(value)
        settings = {key: _json_value(value) for key, value in self.get_params(deep=False).items()}
        return {"model": type(self).__name__, "version": PARAMS_VERSION, "settings": settings, "state": state}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> LabelModel:
        """Rebuild a fitted model from :meth:`to_params` output (``predict_proba`` identical to the original).

        Called on :class:`LabelModel` itself it rebuilds whichever model ``params["model"]`` names.

        Raises
        ------
        ValueError
            If ``params`` is not a label model's parameters, names another model, or misses fitted state.
        """
        if not isinstance(params, dict) or not {"model", "version", "settings", "state"} <= params.keys():
            raise ValueError("Not label-model parameters: expected the keys model, version, settings and state.")
        if params["version"] != PARAMS_VERSION:
            raise ValueError(f"Label-model parameters of version {params['version']!r}; this code reads version 1.")
        target = _MODELS.get(params["model"]) if cls is LabelModel else cls
        if target is None or target.__name__ != params["model"]:
            raise ValueError(f"These parameters are for {params['model']!r}, not {cls.__name__}.")
        signature = inspect.signature(target.__init__)
        settings = dict(params["settings"])
        unknown = settings.keys() - signature.parameters.keys()
        if unknown:
            raise ValueError(f"Unknown {target.__name__} settings: {sorted(unknown)}.")
        for key, value in settings.items():
            if isinstance(signature.parameters[key].default, tuple) and isinstance(value, list):
                settings[key] = tuple(value)
        model = target(**settings)
        missing = set(target._state_attributes) - params["state"].keys()
        if missing:
            raise ValueError(f"The parameters miss fitted state: {sorted(missing)}.")
        for name in target._state_attributes:
            value = params["state"][name]
            setattr(model, name, np.array(value) if isinstance(value, np.ndarray) else value)
        model._restore_state()
        return model

    def _restore_state(self) -> None:
        """Turn loaded state back into the types the model computes with (arrays, ints)."""
        self.class_balance_ = np.asarray(self.class_balance_, dtype=np.float64)
        self.accuracies_ = np.asarray(self.accuracies_, dtype=np.float64)
        self.n_lfs_ = int(self.n_lfs_)


def _argmax_with_ties(proba: npt.NDArray[np.float64], tie_break: str) -> npt.NDArray[np.int64]:
    """Top class per row: the lowest index within the tie tolerance, or ABSTAIN for ties.

    >>> _argmax_with_ties(np.array([[0.5, 0.5], [0.2, 0.8]]), "abstain").tolist()
    [-1, 1]
    """
    top = proba.max(axis=1, keepdims=True)
    near_top = proba >= top * (1.0 - TIE_TOLERANCE)
    predictions = near_top.argmax(axis=1).astype(np.int64)
    if tie_break == "abstain":
        predictions[near_top.sum(axis=1) > 1] = ABSTAIN
    return predictions
