"""The end model: a logistic regression on the frozen embeddings, trained on the label model's soft labels.

The label model only labels rows some LF (or its extension) votes on, and only as well as the votes allow.
A linear model on the embeddings generalises from those rows to every row, including the ones no LF
covers, and smooths over individual LFs' mistakes: on the YouTube spam task it lifted held-out accuracy
from the label model's 0.80-0.88 to 0.92-0.95 (``../shared/README.md``).

Soft labels are honoured exactly: each training row appears once per class with sample weight ``P(y=c)``,
so the weighted log-loss scikit-learn minimises *is* the cross-entropy against the label model's
probabilities.  Pairs with weight 0 are left out (they add nothing to the loss).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

__all__ = ["EndModel"]

_PARAMS_KIND = "EndModel"
_PARAMS_VERSION = 1
# Rows per block when predicting, so a million-row float32 matrix never gets a float64 copy at once.
_PREDICT_BLOCK_ROWS = 65_536


def _check_features(X: Any, what: str = "X") -> npt.NDArray[np.floating]:
    """A 2-D finite float32/float64 array (float32 stays float32: half the memory, and lbfgs accepts it)."""
    array = np.asarray(X)
    if array.dtype.kind not in "fiu" or array.dtype == np.bool_:
        raise ValueError(f"{what} must be a numeric (n_rows, n_features) array, got dtype {array.dtype}.")
    if array.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n_rows, n_features); got shape {array.shape}.")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or infinite values; embed or clean those rows first.")
    return array


def _check_proba(proba: Any, n_rows: int) -> npt.NDArray[np.float64]:
    probabilities = np.asarray(proba, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] != n_rows or probabilities.shape[1] < 2:
        raise ValueError(
            f"proba must have shape ({n_rows}, n_classes >= 2), one row of class probabilities per row of X; "
            f"got {probabilities.shape}."
        )
    if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
        raise ValueError("proba must hold finite, non-negative probabilities.")
    sums = probabilities.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        worst = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(f"Each row of proba must sum to 1; row {worst} sums to {sums[worst]:.6g}.")
    return probabilities


def _check_rows(rows: Any, n_rows: int) -> npt.NDArray[np.int64]:
    """Training rows as int64 positions, from positions or a boolean mask."""
    if rows is None:
        return np.arange(n_rows, dtype=np.int64)
    array = np.asarray(rows)
    if array.dtype == np.bool_:
        if array.shape != (n_rows,):
            raise ValueError(f"A boolean rows mask must have length {n_rows}; got shape {array.shape}.")
        return np.flatnonzero(array).astype(np.int64)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError("rows must be a 1-D array of row positions or a boolean mask.")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= n_rows):
        raise ValueError(f"rows holds positions outside 0..{n_rows - 1}.")
    return array


class EndModel(BaseEstimator):
    """Logistic regression on row embeddings, fitted on soft labels of the covered rows; labels every row.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 regularisation strength, as in :class:`sklearn.linear_model.LogisticRegression`
        (the penalty is weighed against the sum of sample weights, i.e. the number of training rows).
        Choose it on dev labels by cross-validation (:func:`epoxy_core.tuning.tune_pipeline`).
    max_iter : int, default 300
        L-BFGS iterations at most; ``converged_`` says whether it stopped before.
    tol : float, default 1e-4
        L-BFGS tolerance.
    warm_start_rows : int, default 20_000
        Above this many training rows, the model is first fitted on a seeded sample of that many rows and
        the full fit starts from its coefficients, which saves most of the full-size iterations.
    random_state : int, default 0
        Seed of that sample.  The fit is otherwise deterministic (L-BFGS on fixed data).

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) for two classes, (n_classes, n_features) otherwise
        Float64 coefficients; for two classes they score class 1 against class 0.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        ``-inf`` for a class no training row gives any weight (multi-class only).
    n_classes_ : int
    n_features_in_ : int
    n_train_ : int
        Rows the model was fitted on.
    n_iter_ : int
        L-BFGS iterations of the final fit (0 when every training row gives all weight to one class,
        in which case the model predicts that class everywhere).
    converged_ : bool

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1], [0.5, 0.5]])
    >>> proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.5, 0.5]])
    >>> model = EndModel(C=10.0).fit(X, proba, rows=[0, 1, 2, 3])
    >>> model.predict(X[:4]).tolist()
    [0, 0, 1, 1]
    """

    def __init__(
        self,
        C: float = 1.0,
        *,
        max_iter: int = 300,
        tol: float = 1e-4,
        warm_start_rows: int = 20_000,
        random_state: int = 0,
    ):
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start_rows = warm_start_rows
        self.random_state = random_state

    def _validate_settings(self) -> None:
        if not (np.isscalar(self.C) and np.isfinite(self.C) and self.C > 0):
            raise ValueError(f"C must be a positive, finite number; got {self.C!r}.")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be at least 1; got {self.max_iter!r}.")
        if int(self.warm_start_rows) < 1:
            raise ValueError(f"warm_start_rows must be at least 1; got {self.warm_start_rows!r}.")

    def _logistic(self, max_iter: int, warm_start: bool = False) -> LogisticRegression:
        return LogisticRegression(
            C=float(self.C), tol=float(self.tol), max_iter=int(max_iter), solver="lbfgs", warm_start=warm_start
        )

    @staticmethod
    def _soft_label_pairs(
        X: np.ndarray, proba: np.ndarray, train: np.ndarray
    ) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Each training row once per class it gives positive weight: (features, class, weight P(class))."""
        row, label = np.nonzero(proba[train] > 0)
        return X[train[row]], label.astype(np.int64), proba[train[row], label]  # one gather, no X[train] copy

    def fit(self, X: Any, proba: Any, *, rows: Any = None) -> EndModel:
        """Fit on the soft labels of ``rows``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Embeddings of every row (float32 is kept as float32).
        proba : array-like of shape (n_rows, n_classes)
            The label model's class probabilities for the same rows (rows outside ``rows`` are ignored and
            may hold anything that passes the checks, e.g. the prior).
        rows : array-like of int or bool, optional
            The training rows, typically the covered ones (``(L_extended != ABSTAIN).any(axis=1)``);
            default all rows.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On mismatched shapes, non-finite values, probabilities that do not sum to 1, no training row,
            or invalid settings.
        """
        self._validate_settings()
        X = _check_features(X)
        probabilities = _check_proba(proba, X.shape[0])
        train = _check_rows(rows, X.shape[0])
        if train.size == 0:
            raise ValueError("The end model needs at least one training row; no LF covers any row yet.")
        n_classes = probabilities.shape[1]
        features, labels, weights = self._soft_label_pairs(X, probabilities, train)
        present = np.unique(labels)
        self.n_classes_ = n_classes
        self.n_features_in_ = X.shape[1]
        self.n_train_ = int(train.size)
        coef = np.zeros((1 if n_classes == 2 else n_classes, X.shape[1]))
        if present.size < 2:
            # All weight on one class: nothing to separate, the model says that class everywhere.
            intercept = np.full(n_classes, -np.inf)
            intercept[present] = 0.0
            if n_classes == 2:
                intercept = np.array([np.inf if present[0] == 1 else -np.inf])
            self.coef_, self.intercept_ = coef, intercept
            self.n_iter_, self.converged_ = 0, True
            return self

        # One BLAS thread: measured faster at 2,000 and at 100,000 rows on a busy 2-core machine (OpenBLAS
        # threads spin against the app's other work: 0.5 s instead of 0.03 s at 2,000 rows), and the end
        # model runs beside the interactive loop, which needs the other core.
        with threadpool_limits(limits=1, user_api="blas"):
            logistic = self._fit_logistic(features, labels, weights, probabilities[train], present)
        self.n_iter_ = int(np.max(logistic.n_iter_))
        self.converged_ = self.n_iter_ < int(self.max_iter)
        if n_classes == 2 or present.size == n_classes:
            self.coef_ = logistic.coef_.astype(np.float64)
            self.intercept_ = logistic.intercept_.astype(np.float64)
        else:
            # A class without weight keeps probability 0; scikit-learn saw only the present classes.
            intercept = np.full(n_classes, -np.inf)
            if present.size == 2:  # scikit-learn's binary form scores present[1] against present[0]
                coef[present[1]] = logistic.coef_[0]
                intercept[present] = [0.0, logistic.intercept_[0]]
            else:
                coef[present] = logistic.coef_
                intercept[present] = logistic.intercept_
            self.coef_, self.intercept_ = coef, intercept
        return self

    def _fit_logistic(
        self, features: np.ndarray, labels: np.ndarray, weights: np.ndarray, proba: np.ndarray, present: np.ndarray
    ) -> LogisticRegression:
        """L-BFGS on the (row, class) pairs, warm-started from a sample's fit when there are many rows."""
        n_rows = proba.shape[0]
        logistic = self._logistic(self.max_iter)
        if n_rows > self.warm_start_rows:
            sample = np.random.default_rng(self.random_state).choice(n_rows, int(self.warm_start_rows), False)
            keep = np.isin(np.nonzero(proba > 0)[0], sample)
            if np.unique(labels[keep]).size == present.size:
                start = self._logistic(self.max_iter)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start.fit(features[keep], labels[keep], sample_weight=weights[keep])
                logistic = self._logistic(self.max_iter, warm_start=True)
                logistic.coef_, logistic.intercept_ = start.coef_.copy(), start.intercept_.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported as converged_ instead
            logistic.fit(features, labels, sample_weight=weights)
        return logistic

    # -- prediction ---------------------------------------------------------------------------------
    def _check_fitted(self, X: Any) -> npt.NDArray[np.floating]:
        if not hasattr(self, "coef_"):
            raise NotFittedError("This EndModel is not fitted yet; call fit(X, proba, rows=...) first.")
        X = _check_features(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features but the end model was fitted on {self.n_features_in_}; "
                "use the same embedding."
            )
        return X

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Class probabilities for every row of ``X``, shape (n_rows, n_classes), rows summing to 1."""
        X = self._check_fitted(X)
        out = np.empty((X.shape[0], self.n_classes_), dtype=np.float64)
        coef = self.coef_.astype(X.dtype)
        for start in range(0, X.shape[0], _PREDICT_BLOCK_ROWS):
            block = slice(start, start + _PREDICT_BLOCK_ROWS)
            scores = (X[block] @ coef.T).astype(np.float64) + self.intercept_
            if self.n_classes_ == 2:
                out[block, 1] = expit(scores[:, 0])
                out[block, 0] = 1.0 - out[block, 1]
            else:
                out[block] = softmax(scores, axis=1)
        return out

    def predict(self, X: Any) -> npt.NDArray[np.int64]:
        """The most probable class of every row (ties: the lowest class index)."""
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    # -- persistence --------------------------------------------------------------------------------
    def to_params(self) -> dict[str, Any]:
        """Settings and learned coefficients as JSON-able scalars and numpy arrays (no pickle).

        >>> model = EndModel(C=2.0).fit(np.eye(2), np.eye(2))
        >>> EndModel.from_params(model.to_params()).C
        2.0
        """
        if not hasattr(self, "coef_"):
            raise NotFittedError("This EndModel is not fitted yet; nothing to save.")
        return {
            "kind": _PARAMS_KIND,
            "version": _PARAMS_VERSION,
            "settings": self.get_params(),
            "coef": self.coef_.copy(),
            "intercept": self.intercept_.copy(),
            "n_classes": int(self.n_classes_),
            "n_train": int(self.n_train_),
            "n_iter": int(self.n_iter_),
            "converged": bool(self.converged_),
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> EndModel:
        """Rebuild a fitted model from :meth:`to_params` output; raises ValueError on anything malformed."""
        if not isinstance(params, dict) or params.get("kind") != _PARAMS_KIND:
            raise ValueError("These parameters were not saved by EndModel.to_params().")
        if params.get("version") != _PARAMS_VERSION:
            raise ValueError(f"End-model parameters of version {params.get('version')!r} are not supported.")
        try:
            model = cls(**dict(params["settings"]))
            model._validate_settings()
            coef = np.asarray(params["coef"], dtype=np.float64)
            intercept = np.asarray(params["intercept"], dtype=np.float64)
            n_classes = int(params["n_classes"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"Malformed end-model parameters: {error}.") from error
        rows = 1 if n_classes == 2 else n_classes
        if n_classes < 2 or coef.ndim != 2 or coef.shape[0] != rows or intercept.shape != (rows,):
            raise ValueError(
                f"End-model coefficients have shapes {coef.shape} and {intercept.shape}, "
                f"which do not fit {n_classes} classes."
            )
        if not np.all(np.isfinite(coef)) or np.any(np.isnan(intercept)):
            raise ValueError("End-model coefficients contain NaN or infinite values.")
        model.coef_, model.intercept_ = coef, intercept
        model.n_classes_, model.n_features_in_ = n_classes, coef.shape[1]
        model.n_train_ = int(params.get("n_train", 0))
        model.n_iter_ = int(params.get("n_iter", 0))
        model.converged_ = bool(params.get("converged", True))
        return model
