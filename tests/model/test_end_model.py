"""Tests for epoxy_core.model.end_model: soft labels, full coverage, determinism, parameters, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from epoxy_core.model.end_model import EndModel


def _blobs(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two well-separated float32 blobs, confident soft labels (0.9 on the blob's class)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = (rng.normal(size=(n, 5)) + 3.0 * y[:, None]).astype(np.float32)
    proba = np.where(y[:, None] == np.arange(2), 0.9, 0.1)
    return X, proba, y


def test_soft_labels_are_reproduced_not_rounded():
    # Two distinct points, two free parameters (weight, intercept): with almost no penalty the soft-label fit
    # reproduces the probabilities exactly, where hard labels would drive them to 0 and 1.
    X = np.array([[0.0], [1.0]])
    proba = np.array([[0.8, 0.2], [0.1, 0.9]])
    model = EndModel(C=1e8, tol=1e-10, max_iter=1000).fit(X, proba)
    np.testing.assert_allclose(model.predict_proba(X), proba, atol=1e-3)


def test_soft_label_weights_match_duplicated_hard_rows():
    # P(spam) = 0.75 on a row is the loss of that row four times, three as spam and one as ham, at weight 1/4.
    X = np.array([[0.0], [1.0], [2.0]])
    soft = EndModel(C=0.5, tol=1e-10).fit(X, np.array([[1.0, 0.0], [0.25, 0.75], [0.0, 1.0]]))
    X_hard = np.array([[0.0], [1.0], [1.0], [1.0], [1.0], [2.0]])
    y_hard = np.array([0, 1, 1, 1, 0, 1])
    weights = np.array([1.0, 0.25, 0.25, 0.25, 0.25, 1.0])
    hard = LogisticRegression(C=0.5, tol=1e-10).fit(X_hard, y_hard, sample_weight=weights)
    np.testing.assert_allclose(soft.coef_, hard.coef_, rtol=1e-5)
    np.testing.assert_allclose(soft.intercept_, hard.intercept_, rtol=1e-5, atol=1e-8)


def test_fits_on_the_given_rows_only_and_labels_every_row():
    X, proba, y = _blobs()
    rows = np.arange(0, 200, 4) + np.arange(50) % 2  # 50 "covered" rows, both classes
    garbage = proba.copy()
    garbage[np.setdiff1d(np.arange(200), rows)] = [0.5, 0.5]  # what the others hold must not matter
    model = EndModel().fit(X, garbage, rows=rows)
    reference = EndModel().fit(X[rows], proba[rows])
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    assert model.n_train_ == 50
    predicted = model.predict_proba(X)
    assert predicted.shape == (200, 2)
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0)
    assert np.isin(model.predict(X), [0, 1]).all()  # coverage 100%: no row is left without a class
    assert (model.predict(X) == y).mean() > 0.95


def test_boolean_mask_and_positions_agree():
    X, proba, _ = _blobs(60)
    mask = np.zeros(60, bool)
    mask[::3] = True
    by_mask = EndModel().fit(X, proba, rows=mask)
    by_positions = EndModel().fit(X, proba, rows=np.flatnonzero(mask))
    np.testing.assert_array_equal(by_mask.coef_, by_positions.coef_)


def test_deterministic_with_a_seed_also_on_the_warm_start_path():
    X, proba, _ = _blobs(300)
    first = EndModel(warm_start_rows=50, random_state=3).fit(X, proba)
    second = clone(first).fit(X, proba)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    np.testing.assert_array_equal(first.intercept_, second.intercept_)
    # The warm start changes the starting point, not the optimum.
    direct = EndModel(warm_start_rows=10**6).fit(X, proba)
    np.testing.assert_allclose(first.predict_proba(X), direct.predict_proba(X), atol=1e-3)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_params_round_trip_through_json(n_classes):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    proba = rng.dirichlet(np.ones(n_classes), size=40)
    model = EndModel(C=0.3).fit(X, proba)
    params = model.to_params()
    as_json = json.loads(json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in params.items()}))
    for loaded in (EndModel.from_params(params), EndModel.from_params(as_json)):
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-12)
        assert loaded.get_params() == model.get_params()


def test_class_without_weight_gets_probability_zero():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    proba = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 1.0, 0.0]])
    model = EndModel().fit(X, proba)
    predicted = model.predict_proba(X)
    assert predicted.shape == (4, 3)
    np.testing.assert_array_equal(predicted[:, 2], 0.0)
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0)
    np.testing.assert_allclose(EndModel.from_params(model.to_params()).predict_proba(X), predicted, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_one_class_only_predicts_it_everywhere(n_classes):
    X = np.array([[0.0], [1.0]])
    proba = np.zeros((2, n_classes))
    proba[:, 1] = 1.0
    model = EndModel().fit(X, proba)
    np.testing.assert_array_equal(model.predict(np.array([[5.0], [-5.0]])), [1, 1])
    assert model.n_iter_ == 0


@pytest.mark.parametrize(
    ("X", "proba", "rows", "match"),
    [
        (np.ones((3, 2)), np.full((2, 2), 0.5), None, "shape"),
        (np.ones((3, 2)), np.full((3, 2), 0.6), None, "sum to 1"),
        (np.ones((3, 2)), np.full((3, 1), 1.0), None, "n_classes >= 2"),
        (np.array([[1.0, np.nan]] * 3), np.full((3, 2), 0.5), None, "NaN"),
        (np.ones(3), np.full((3, 2), 0.5), None, "2-D"),
        (np.ones((3, 2)), np.full((3, 2), 0.5), [], "at least one training row"),
        (np.ones((3, 2)), np.full((3, 2), 0.5), [0, 3], "outside"),
        (np.ones((3, 2)), np.full((3, 2), 0.5), np.array([True, False]), "mask"),
        (np.ones((3, 2)), np.array([[1.5, -0.5]] * 3), None, "non-negative"),
    ],
)
def test_bad_input_raises_value_error(X, proba, rows, match):
    with pytest.raises(ValueError, match=match):
        EndModel().fit(X, proba, rows=rows)


def test_bad_settings_and_unfitted_use():
    with pytest.raises(ValueError, match="C must be"):
        EndModel(C=0).fit(np.ones((2, 1)), np.eye(2))
    with pytest.raises(NotFittedError):
        EndModel().predict(np.ones((2, 1)))
    model = EndModel().fit(np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="fitted on 2"):
        model.predict(np.ones((2, 3)))


def test_from_params_rejects_malformed_parameters():
    params = EndModel().fit(np.eye(2), np.eye(2)).to_params()
    with pytest.raises(ValueError, match="not saved by EndModel"):
        EndModel.from_params({"kind": "TripletLabelModel"})
    with pytest.raises(ValueError, match="do not fit"):
        EndModel.from_params({**params, "coef": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="NaN"):
        EndModel.from_params({**params, "coef": np.array([[np.nan, 0.0]])})
    with pytest.raises(ValueError, match="Malformed"):
        EndModel.from_params({k: v for k, v in params.items() if k != "coef"})
