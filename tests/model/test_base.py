"""The estimator contract every label model keeps (epoxy_core.model.base): scikit-learn conventions, one
``predict`` with a tie policy, ``score``, and saving without pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from epoxy_core.model.base import LabelModel
from epoxy_core.model.baselines import MajorityVote
from epoxy_core.model.triplet import TripletLabelModel

MODELS = [
    MajorityVote(cardinality=3),
    TripletLabelModel(cardinality=3),
    TripletLabelModel(method="symmetric"),
    TripletLabelModel(method="symmetric", posterior="flyingsquid"),
]
IDS = ["majority-vote", "triplet-3-classes", "symmetric", "flyingsquid"]


def votes(cardinality: int, n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Six LFs right 80% of the time when they vote (half the time), labels known."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, cardinality, n)
    wrong = (y[:, None] + rng.integers(1, cardinality, (n, 6))) % cardinality
    L = np.where(rng.random((n, 6)) < 0.8, y[:, None], wrong)
    L[rng.random((n, 6)) < 0.5] = -1
    return L.astype(np.int8), y


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_settings_follow_scikit_learn(model):
    params = model.get_params()
    assert params["cardinality"] == model.cardinality
    copy = clone(model)
    assert copy is not model and copy.get_params() == params
    assert repr(model).startswith(type(model).__name__ + "(")
    assert isinstance(model, LabelModel)
    assert not any(name.endswith("_") for name in vars(model)), "__init__ must store settings only"


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_unfitted_use_raises_not_fitted(model):
    L, y = votes(model.cardinality)
    for call in (model.predict_proba, model.predict):
        with pytest.raises(NotFittedError):
            call(L)
    with pytest.raises(NotFittedError):
        model.to_params()
    with pytest.raises(NotFittedError):
        model.score(L, y)
    assert issubclass(NotFittedError, ValueError)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_fit_returns_self_with_the_fitted_attributes(model):
    L, _ = votes(model.cardinality)
    fitted = clone(model)
    assert fitted.fit(L) is fitted
    assert fitted.n_lfs_ == L.shape[1]
    assert fitted.class_balance_.shape == (model.cardinality,)
    np.testing.assert_allclose(fitted.class_balance_.sum(), 1.0)
    assert fitted.accuracies_.shape == (L.shape[1],)
    proba = fitted.predict_proba(L)
    assert proba.shape == (L.shape[0], model.cardinality) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert fitted.predict(L).dtype == np.int64


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_params_round_trip_through_json_and_arrays(model):
    L, _ = votes(model.cardinality)
    fitted = clone(model).fit(L)
    params = fitted.to_params()
    json.dumps(params["settings"])  # settings are plain JSON
    state = {
        key: value if isinstance(value, np.ndarray) else json.loads(json.dumps(value))
        for key, value in params["state"].items()
    }
    rebuilt = LabelModel.from_params({**params, "state": state})
    assert type(rebuilt) is type(fitted) and rebuilt.get_params() == fitted.get_params()
    np.testing.assert_array_equal(rebuilt.predict_proba(L), fitted.predict_proba(L))
    np.testing.assert_array_equal(rebuilt.accuracies_, fitted.accuracies_)
    np.testing.assert_array_equal(type(fitted).from_params(params).predict(L), fitted.predict(L))


def test_from_params_refuses_other_data():
    fitted = MajorityVote().fit([[0, 1], [1, 1]])
    params = fitted.to_params()
    with pytest.raises(ValueError, match="not TripletLabelModel"):
        TripletLabelModel.from_params(params)
    with pytest.raises(ValueError, match="keys"):
        LabelModel.from_params({"weights": [1, 2]})
    with pytest.raises(ValueError, match="version"):
        LabelModel.from_params({**params, "version": 99})
    with pytest.raises(ValueError, match="miss fitted state"):
        LabelModel.from_params({**params, "state": {}})
    with pytest.raises(ValueError, match="Unknown"):
        LabelModel.from_params({**params, "settings": {"cardinality": 2, "pickle": True}})


TIES = np.array([[0, 1, -1], [1, 1, 0], [-1, -1, -1], [0, 0, 1]])


@pytest.mark.parametrize("tie_break", ["lowest", "abstain"])
def test_tie_policy(tie_break):
    model = MajorityVote().fit(TIES, class_balance="uniform")
    expected = {"lowest": [0, 1, 0, 0], "abstain": [-1, 1, -1, 0]}[tie_break]
    assert model.predict(TIES, tie_break=tie_break).tolist() == expected
    assert model.predict(TIES).tolist() == [0, 1, 0, 0]


def test_tie_policy_rejects_unknown_policies_and_positionals():
    model = MajorityVote().fit(TIES)
    with pytest.raises(ValueError, match="tie_break"):
        model.predict(TIES, tie_break="first")
    with pytest.raises(TypeError):
        model.predict(TIES, "abstain")  # keyword-only, as in the contract


def test_score_counts_rows_with_a_gold_label():
    model = MajorityVote().fit(TIES, class_balance="uniform")
    y = np.array([1, 1, 0, -1])  # row 3 has no gold label
    assert model.score(TIES, y) == pytest.approx(2 / 3)  # predictions 0, 1, 0 on the labelled rows
    # Abstaining drops the tied rows 0 and 2 from the metric and from the coverage.
    assert model.score(TIES, y, tie_break="abstain") == 1.0
    assert model.score(TIES, y, "coverage", tie_break="abstain") == pytest.approx(1 / 3)
    assert model.score(TIES, y, "coverage") == 1.0
    assert model.score(TIES, [0, 1, 1, 0], "f1") == pytest.approx(2 / 3)
    assert model.score(TIES, [1, 1, 1, 0], "balanced_accuracy") == pytest.approx(2 / 3)
    assert np.isnan(model.score(TIES, [-1, -1, -1, -1]))
    with pytest.raises(ValueError, match="metric"):
        model.score(TIES, y, "auc")
    with pytest.raises(ValueError):
        model.score(TIES, y[:2])
