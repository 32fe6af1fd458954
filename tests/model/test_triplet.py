"""Tests for epoxy_core.model.triplet: the triplet label model.

Synthetic votes follow the model's own assumptions (LFs conditionally independent given the label), so a
correct estimator must recover the accuracies it was generated with.  Accuracies are compared with each
LF's *empirical* precision on the sample, which removes the sampling noise of the ground truth itself and
leaves only the estimator's error.  Tolerance: 0.03 (absolute) for accuracies and for the class balance;
over 20 seeds the largest error seen on these specs was 0.029 (binary), 0.023 (3 classes) and 0.028
(5 classes), median about 0.015.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from epoxy_core.model.baselines import MajorityVote
from epoxy_core.model.triplet import TripletLabelModel

ACCURACY_TOLERANCE = 0.03
BALANCE_TOLERANCE = 0.03
N_ROWS = 20_000


# -- synthetic data ------------------------------------------------------------------------------
def one_class_votes(
    rng: np.random.Generator, n: int, balance: np.ndarray, specs: list[tuple[int, float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Keyword-like LFs: each votes only its class ``c``, with target precision and coverage.

    ``P(vote | y=c) = a`` and ``P(vote | y!=c) = b`` solve ``precision = pi_c a / coverage`` and
    ``coverage = pi_c a + (1 - pi_c) b``; votes of different LFs are independent given ``y``.
    """
    balance = np.asarray(balance, dtype=np.float64)
    y = rng.choice(balance.size, size=n, p=balance)
    L = np.full((n, len(specs)), -1, dtype=np.int8)
    for j, (c, precision, coverage) in enumerate(specs):
        a, b = true_vote_probabilities(balance, c, precision, coverage)
        fires = rng.random(n) < np.where(y == c, a, b)
        L[fires, j] = c
    return L, y


def true_vote_probabilities(balance: np.ndarray, c: int, precision: float, coverage: float) -> tuple[float, float]:
    a = precision * coverage / balance[c]
    b = (1.0 - precision) * coverage / (1.0 - balance[c])
    assert 0 < b < a <= 1, "spec not realisable"
    return a, b


def two_sided_votes(
    rng: np.random.Generator, n: int, p1: float, specs: list[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """FlyingSquid-style binary LFs: vote with probability ``coverage`` whatever y, right with ``accuracy``."""
    y = (rng.random(n) < p1).astype(np.int64)
    L = np.full((n, len(specs)), -1, dtype=np.int8)
    for j, (accuracy, coverage) in enumerate(specs):
        votes = rng.random(n) < coverage
        right = rng.random(n) < accuracy
        L[votes, j] = np.where(right, y, 1 - y)[votes]
    return L, y


def empirical_precision(L: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([(L[L[:, j] >= 0, j] == y[L[:, j] >= 0]).mean() for j in range(L.shape[1])])


def true_posterior(L: np.ndarray, balance: np.ndarray, specs: list[tuple[int, float, float]]) -> np.ndarray:
    """Bayes posterior under the generating parameters (one-class LFs)."""
    k = balance.size
    log_p = np.tile(np.log(balance), (L.shape[0], 1))
    for j, (c, precision, coverage) in enumerate(specs):
        a, b = true_vote_probabilities(balance, c, precision, coverage)
        p_vote = np.where(np.arange(k) == c, a, b)
        log_p += np.where((L[:, j] == c)[:, None], np.log(p_vote), np.log1p(-p_vote))
    p = np.exp(log_p - log_p.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


# Every b = P(vote | other class) stays above the default accuracy_bounds floor of 0.01, so clipping
# does not bias these (see test_accuracies_do_not_depend_on_accuracy_bounds for what it does otherwise).
BINARY_BALANCE = np.array([0.6, 0.4])
BINARY_SPECS = [(1, 0.9, 0.2), (1, 0.8, 0.3), (1, 0.7, 0.25), (0, 0.9, 0.3), (0, 0.75, 0.25), (0, 0.85, 0.2)]


def multiclass_specs(balance: np.ndarray) -> list[tuple[int, float, float]]:
    # Coverage relative to the class prior keeps P(vote | y=c) <= 1 for rare classes.
    return [(c, p, r * balance[c]) for c in range(balance.size) for p, r in [(0.8, 0.6), (0.7, 0.8), (0.85, 0.7)]]


BALANCE_3 = np.array([0.5, 0.3, 0.2])
BALANCE_5 = np.array([0.3, 0.25, 0.2, 0.15, 0.1])


@pytest.fixture(scope="module")
def binary_data() -> tuple[np.ndarray, np.ndarray]:
    return one_class_votes(np.random.default_rng(0), N_ROWS, BINARY_BALANCE, BINARY_SPECS)


@pytest.fixture(scope="module")
def five_class_data() -> tuple[np.ndarray, np.ndarray]:
    return one_class_votes(np.random.default_rng(1), N_ROWS, BALANCE_5, multiclass_specs(BALANCE_5))


# -- recovery of known parameters ----------------------------------------------------------------
def test_recovers_binary_one_class_lf_accuracies_and_balance(binary_data):
    L, y = binary_data
    model = TripletLabelModel().fit(L, class_balance="estimate")
    np.testing.assert_allclose(model.accuracies_, empirical_precision(L, y), atol=ACCURACY_TOLERANCE)
    np.testing.assert_allclose(model.class_balance_, np.bincount(y) / y.size, atol=BALANCE_TOLERANCE)
    np.testing.assert_allclose(model.coverages_, (L != -1).mean(axis=0))
    assert model.fallback_lfs_ == []


@pytest.mark.parametrize("balance", [BALANCE_3, BALANCE_5], ids=["3-classes", "5-classes"])
def test_recovers_multiclass_one_class_lf_accuracies_and_balance(balance):
    L, y = one_class_votes(np.random.default_rng(1), N_ROWS, balance, multiclass_specs(balance))
    model = TripletLabelModel(cardinality=balance.size).fit(L, class_balance="estimate")
    np.testing.assert_allclose(model.accuracies_, empirical_precision(L, y), atol=ACCURACY_TOLERANCE)
    np.testing.assert_allclose(
        model.class_balance_, np.bincount(y, minlength=balance.size) / y.size, atol=BALANCE_TOLERANCE
    )


def test_given_class_balance_is_used_as_is(binary_data):
    L, y = binary_data
    model = TripletLabelModel().fit(L, class_balance=[3.0, 2.0])  # normalised, not required to sum to 1
    np.testing.assert_allclose(model.class_balance_, [0.6, 0.4])
    np.testing.assert_allclose(model.accuracies_, empirical_precision(L, y), atol=ACCURACY_TOLERANCE)
    uniform = TripletLabelModel(cardinality=3).fit(np.array([[0, 1, 2], [1, 1, 2]]), class_balance="uniform")
    np.testing.assert_allclose(uniform.class_balance_, [1 / 3, 1 / 3, 1 / 3])


def test_symmetric_method_recovers_two_sided_lf_accuracies():
    specs = [(0.9, 0.3), (0.8, 0.5), (0.7, 0.4), (0.85, 0.2), (0.75, 0.6), (0.65, 0.5)]
    L, y = two_sided_votes(np.random.default_rng(2), N_ROWS, 0.5, specs)
    model = TripletLabelModel(method="symmetric").fit(L)
    np.testing.assert_allclose(model.accuracies_, empirical_precision(L, y), atol=ACCURACY_TOLERANCE)
    # The symmetric model takes the prior from majority-vote shares.
    np.testing.assert_allclose(model.class_balance_, [0.5, 0.5], atol=BALANCE_TOLERANCE)


def test_multiclass_model_beats_majority_vote(five_class_data):
    L, y = five_class_data
    model = TripletLabelModel(cardinality=5).fit(L, class_balance="estimate")
    model_accuracy = (model.predict(L) == y).mean()
    mv_accuracy = (MajorityVote(cardinality=5).fit(L, class_balance="uniform").predict(L) == y).mean()
    assert model_accuracy >= mv_accuracy


def test_posterior_is_close_to_the_true_bayes_posterior(five_class_data):
    L, _ = five_class_data
    model = TripletLabelModel(cardinality=5).fit(L, class_balance="estimate")
    truth = true_posterior(L, BALANCE_5, multiclass_specs(BALANCE_5))
    proba = model.predict_proba(L)
    assert np.abs(proba - truth).mean() < 0.01
    assert (proba.argmax(axis=1) == truth.argmax(axis=1)).mean() > 0.98


# -- the posterior against a brute-force computation ---------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def brute_force_posterior(model: TripletLabelModel, L: np.ndarray) -> np.ndarray:
    """``P(y) * prod_f P(v_f | y)`` normalised, from the fitted per-feature probabilities.

    ``P(v_f=1 | y != c_f)`` is the logistic of ``base_weights`` and ``P(v_f=1 | y = c_f)`` the logistic of
    ``base_weights + weights[c_f]`` (the weight of a vote is the difference of the two logits).
    """
    params = model._class_conditional_params(model.class_balance_)
    classes, lfs = model.feature_classes_, model.feature_lfs_
    features = np.arange(classes.size)
    given_other = _sigmoid(params["base_weights"])
    given_class = _sigmoid(params["base_weights"] + params["weights"][classes, features])
    proba = np.empty((L.shape[0], model.cardinality))
    for r, row in enumerate(L):
        for y in range(model.cardinality):
            p = model.class_balance_[y]
            for f in features:
                p_vote = given_class[f] if y == classes[f] else given_other[f]
                p *= p_vote if row[lfs[f]] == classes[f] else 1.0 - p_vote
            proba[r, y] = p
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("cardinality", [2, 3])
def test_posterior_equals_brute_force_product_over_every_vote_pattern(cardinality):
    balance = np.full(cardinality, 1.0 / cardinality)
    specs = [(c % cardinality, p, 0.25) for c, p in enumerate([0.8, 0.7, 0.85, 0.75])]
    L, _ = one_class_votes(np.random.default_rng(3), 3000, balance, specs)
    model = TripletLabelModel(cardinality=cardinality).fit(L, class_balance="estimate")
    # Every one of the 2^4 patterns: each LF votes its class or abstains (all-abstain row included).
    patterns = np.array(
        [[specs[j][0] if (mask >> j) & 1 else -1 for j in range(4)] for mask in range(16)], dtype=np.int8
    )
    np.testing.assert_allclose(model.predict_proba(patterns), brute_force_posterior(model, patterns), atol=1e-5)


def test_flyingsquid_posterior_counts_the_prior_twice():
    L, _ = one_class_votes(np.random.default_rng(4), 3000, BALANCE_3, multiclass_specs(BALANCE_3))
    independent = TripletLabelModel(cardinality=3).fit(L, class_balance=BALANCE_3)
    flyingsquid = TripletLabelModel(cardinality=3, posterior="flyingsquid").fit(L, class_balance=BALANCE_3)
    np.testing.assert_allclose(flyingsquid.accuracies_, independent.accuracies_)
    expected = independent.predict_proba(L) * BALANCE_3
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(flyingsquid.predict_proba(L), expected, atol=1e-6)


def test_flyingsquid_posterior_does_not_change_the_estimated_balance():
    L, _ = one_class_votes(np.random.default_rng(4), 3000, BALANCE_3, multiclass_specs(BALANCE_3))
    independent = TripletLabelModel(cardinality=3).fit(L, class_balance="estimate")
    flyingsquid = TripletLabelModel(cardinality=3, posterior="flyingsquid").fit(L, class_balance="estimate")
    np.testing.assert_allclose(flyingsquid.class_balance_, independent.class_balance_, atol=1e-3)
    np.testing.assert_allclose(flyingsquid.accuracies_, independent.accuracies_, atol=1e-3)


def test_accuracies_do_not_depend_on_accuracy_bounds():
    # LF 3: coverage 3 %, precision 0.95, so P(vote | other class) = 0.05 * 0.03 / 0.4 = 0.00375 < 0.01.
    specs = [(1, 0.9, 0.2), (1, 0.8, 0.3), (0, 0.9, 0.3), (0, 0.95, 0.03), (0, 0.75, 0.25)]
    L, y = one_class_votes(np.random.default_rng(5), 200_000, BINARY_BALANCE, specs)
    balance = np.bincount(y) / y.size
    default = TripletLabelModel().fit(L, class_balance=balance)
    loose = TripletLabelModel(accuracy_bounds=(1e-6, 1 - 1e-6)).fit(L, class_balance=balance)
    # With loose bounds the sparse LF's accuracy is right, so the defaults should agree with it.
    assert abs(loose.accuracies_[3] - empirical_precision(L, y)[3]) < 0.03
    np.testing.assert_allclose(default.accuracies_, loose.accuracies_, atol=0.01)


# -- invariants on arbitrary (also degenerate) label matrices ------------------------------------
@st.composite
def label_matrices(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    cardinality = draw(st.integers(2, 4))
    n_rows = draw(st.integers(1, 40))
    n_lfs = draw(st.integers(1, 6))
    L = draw(hnp.arrays(np.int8, (n_rows, n_lfs), elements=st.integers(-1, cardinality - 1)))
    shape = draw(st.sampled_from(["random", "all_abstain_rows", "everywhere", "disjoint", "one_class"]))
    if shape == "all_abstain_rows":
        L[: max(1, n_rows // 2)] = -1
    elif shape == "everywhere":
        L[:, 0] = np.where(L[:, 0] == -1, 0, L[:, 0])
    elif shape == "disjoint":  # LFs that never vote on the same row
        owner = np.arange(n_rows) % n_lfs
        L[owner[:, None] != np.arange(n_lfs)[None, :]] = -1
    elif shape == "one_class":
        L[L != -1] = 0
    return L, cardinality


@settings(max_examples=120, deadline=None)
@given(
    data=label_matrices(),
    method=st.sampled_from(["class_conditional", "symmetric"]),
    posterior=st.sampled_from(["independent", "flyingsquid"]),
    balance=st.sampled_from(["estimate", "uniform"]),
)
def test_posterior_is_a_finite_distribution_equal_for_equal_rows(data, method, posterior, balance):
    L, cardinality = data
    model = TripletLabelModel(cardinality=cardinality, method=method, posterior=posterior).fit(L, balance)
    proba = model.predict_proba(L)
    assert proba.shape == (L.shape[0], cardinality)
    assert np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    # Rows with identical votes get identical probabilities (up to float32 BLAS rounding, which can
    # differ with a row's position in the matrix product).
    _, first, inverse = np.unique(L, axis=0, return_index=True, return_inverse=True)
    np.testing.assert_allclose(proba, proba[first[inverse.ravel()]], rtol=1e-5, atol=1e-12)
    known = model.accuracies_[~np.isnan(model.accuracies_)]
    assert np.all((known >= 0) & (known <= 1))
    assert model.fallback_ or known.size == model.n_lfs_
    np.testing.assert_allclose(model.class_balance_.sum(), 1.0)
    assert set(model.predict(L).tolist()) <= set(range(cardinality))


# -- rows without votes and the prior -----------------------------------------------------------
@pytest.fixture(scope="module")
def two_sided_sample() -> np.ndarray:
    L, _ = two_sided_votes(np.random.default_rng(6), 2000, 0.3, [(0.9, 0.5), (0.8, 0.5), (0.7, 0.5), (0.85, 0.5)])
    return L


def test_all_abstain_row_gets_the_class_balance_under_the_symmetric_model(two_sided_sample):
    model = TripletLabelModel(method="symmetric").fit(two_sided_sample, class_balance=[0.7, 0.3])
    proba = model.predict_proba(np.full((2, 4), -1))
    np.testing.assert_allclose(proba, [[0.7, 0.3], [0.7, 0.3]], atol=1e-12)


def test_all_abstain_row_gets_the_prior_squared_under_flyingsquid_posterior(two_sided_sample):
    model = TripletLabelModel(method="symmetric", posterior="flyingsquid").fit(two_sided_sample, [0.7, 0.3])
    p = 0.3
    expected = p**2 / (p**2 + (1 - p) ** 2)
    np.testing.assert_allclose(model.predict_proba(np.full((1, 4), -1)), [[1 - expected, expected]], atol=1e-12)


def test_all_abstain_row_under_class_conditional_model_counts_abstentions_as_evidence(binary_data):
    # One-class LFs abstaining is weak evidence against their class, so an all-abstain row's posterior is
    # P(y) * prod_f P(v_f = 0 | y), not the prior itself.
    L, _ = binary_data
    model = TripletLabelModel().fit(L, class_balance=BINARY_BALANCE)
    row = np.full((1, L.shape[1]), -1)
    np.testing.assert_allclose(model.predict_proba(row), brute_force_posterior(model, row), atol=1e-6)


def test_fewer_than_three_voting_lfs_predict_as_majority_vote():
    L = np.array([[1, -1, -1], [1, 1, -1], [-1, 0, -1], [0, 0, -1], [-1, -1, -1], [1, 0, -1], [0, -1, -1]])
    for method in ["class_conditional", "symmetric"]:
        model = TripletLabelModel(method=method).fit(L, class_balance="uniform")
        assert model.fallback_, method
        assert np.isnan(model.accuracies_).all()
        mv = MajorityVote().fit(L, class_balance="uniform")
        np.testing.assert_allclose(model.predict_proba(L), mv.predict_proba(L), err_msg=method)


def test_lf_that_never_votes_is_listed_as_fallback(binary_data):
    L, _ = binary_data
    L = np.column_stack([L, np.full(L.shape[0], -1, dtype=np.int8)])
    model = TripletLabelModel().fit(L, class_balance=BINARY_BALANCE)
    assert model.accuracies_[-1] == model.fallback_accuracy
    assert model.fallback_lfs_ == [L.shape[1] - 1]


def test_predict_can_abstain_on_rows_without_votes(two_sided_sample):
    model = TripletLabelModel(method="symmetric").fit(two_sided_sample, class_balance="uniform")
    L = np.array([[1, 1, 1, -1], [-1, -1, -1, -1], [0, 0, -1, 0]])
    # The all-abstain row gets the uniform prior: a tie, which goes to the lower class or abstains.
    assert model.predict(L, tie_break="abstain").tolist() == [1, -1, 0]
    assert model.predict(L).tolist() == [1, 0, 0]


# -- invalid input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "L", "class_balance"),
    [
        ({}, [[0.0, np.nan, 1.0]], None),
        ({}, [[0, 2, 1]], None),  # class 2 with two classes
        ({}, [[0, -2, 1]], None),
        ({}, [[0, 1, 1]], [0.5, 0.3, 0.2]),  # wrong class_balance length
        ({}, [[0, 1, 1]], [1.0, 0.0]),  # a class with prior 0
        ({}, [[0, 1, 1]], [0.5, np.nan]),
        ({}, [[0, 1, 1]], "balanced"),
        ({}, np.empty((0, 3), dtype=np.int8), None),
        ({}, [0, 1, 1], None),  # not 2-D
        ({"cardinality": 1}, [[0, 0, 0]], None),
        ({"method": "snorkel"}, [[0, 1, 1]], None),
        ({"aggregate": "max"}, [[0, 1, 1]], None),
        ({"posterior": "bayes"}, [[0, 1, 1]], None),
    ],
)
def test_fit_rejects_invalid_input(kwargs, L, class_balance):
    with pytest.raises(ValueError):
        TripletLabelModel(**kwargs).fit(L, class_balance=class_balance)


def test_unfitted_or_mismatched_prediction_is_refused():
    model = TripletLabelModel().fit([[0, 1, 1], [1, 1, 0]], class_balance="uniform")
    with pytest.raises(ValueError, match="3 LFs"):
        model.predict_proba([[0, 1]])
    with pytest.raises(ValueError):
        model.predict_proba([[0, 1, 2]])
