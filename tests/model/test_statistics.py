"""Tests for epoxy_core.model.statistics and the compiled kernels: the counted path equals the plain one.

The references are the computations the label model, the LF summary and the session did before they read
:class:`~epoxy_core.model.statistics.VoteStatistics`: per-class ``count_nonzero`` counts, a float indicator
Gram matrix, :class:`~epoxy_core.analysis.LFAnalysis`'s overlap and conflict counts, ``np.where`` on the
float64 thresholds, and the posterior as an indicator product.  Integer results must be identical and
probabilities equal to 1e-9, both below ``COMPILED_FROM_ROWS`` (numpy) and above it (numba).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from epoxy_core.analysis import LFAnalysis, lf_summary, lf_summary_from_statistics
from epoxy_core.labels import ABSTAIN
from epoxy_core.model import TripletLabelModel
from epoxy_core.model import triplet as triplet_module
from epoxy_core.model.statistics import COMPILED_FROM_ROWS, extend_and_count, vote_bitsets, vote_statistics

SMALL, LARGE = 3_000, COMPILED_FROM_ROWS + 1_001  # numpy path / compiled path (a partial last 64-row word)


def random_votes(rng: np.random.Generator, n: int, m: int, cardinality: int, coverage: float) -> np.ndarray:
    """Votes correlated with a hidden label (so the label model has something to estimate), int8."""
    y = rng.integers(0, cardinality, n)
    accuracy = rng.uniform(0.55, 0.95, m)
    right = rng.random((n, m)) < accuracy
    wrong = (y[:, None] + rng.integers(1, cardinality, (n, m))) % cardinality
    votes = np.where(right, y[:, None], wrong)
    return np.where(rng.random((n, m)) < coverage, votes, ABSTAIN).astype(np.int8)


CASES = [
    # (rows, LFs, classes, coverage)
    pytest.param(SMALL, 8, 2, 0.3, id="small-binary"),
    pytest.param(SMALL, 6, 4, 0.5, id="small-multiclass"),
    pytest.param(SMALL, 12, 2, 0.02, id="small-abstain-heavy"),
    pytest.param(LARGE, 9, 2, 0.3, id="large-binary"),
    pytest.param(LARGE, 5, 3, 0.6, id="large-multiclass"),
    pytest.param(LARGE, 20, 2, 0.01, id="large-abstain-heavy"),
]


def reference_counts(L: np.ndarray, cardinality: int) -> dict[str, np.ndarray | int]:
    """The counts as the label model and LFAnalysis computed them before VoteStatistics."""
    n, m = L.shape
    counts = np.stack([np.count_nonzero(L == c, axis=0) for c in range(cardinality)], axis=1)
    onehot = (L[:, :, None] == np.arange(cardinality)[None, None, :]).reshape(n, m * cardinality)
    co_votes = onehot.astype(np.int64).T @ onehot.astype(np.int64)
    analysis = LFAnalysis(L)
    return {
        "counts": counts,
        "co_votes": co_votes,
        "overlaps": analysis._overlap_counts,
        "conflicts": analysis._conflict_counts,
        "n_covered": int(np.count_nonzero((L != ABSTAIN).any(axis=1))),
    }


def assert_counts_equal(statistics, reference) -> None:
    for name, expected in reference.items():
        np.testing.assert_array_equal(getattr(statistics, name), expected, err_msg=name)


def reference_proba(model: TripletLabelModel, L: np.ndarray) -> np.ndarray:
    """The posterior as an indicator product in float64 (the numpy formula before the compiled kernels)."""
    if model.fallback_:
        return model.predict_proba(L)
    V = (L[:, model.feature_lfs_] == model.feature_classes_).astype(np.float64)
    evidence = V @ model._weights.T + model._constants
    balance = model.class_balance_
    if model.method == "class_conditional":
        logits = np.log(balance) + evidence
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        return proba / proba.sum(axis=1, keepdims=True)
    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    if model.cardinality == 2:
        prior = 0.0 if model.posterior == "flyingsquid" else logit(balance[1])
        p1 = 1.0 / (1.0 + np.exp(-(prior + evidence[:, 0])))
        return np.column_stack([1.0 - p1, p1])
    per_class = np.maximum(1.0 / (1.0 + np.exp(-(logit(balance) + evidence))), 1e-12)
    return per_class / per_class.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(("n", "m", "cardinality", "coverage"), CASES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_vote_statistics_equal_the_plain_counts(n, m, cardinality, coverage, order):
    L = np.asarray(random_votes(np.random.default_rng(n + m), n, m, cardinality, coverage), order=order)
    statistics = vote_statistics(L, cardinality)
    assert (statistics.n_rows, statistics.n_lfs, statistics.cardinality) == (n, m, cardinality)
    assert_counts_equal(statistics, reference_counts(L, cardinality))
    np.testing.assert_array_equal(statistics.coverages, LFAnalysis(L).lf_coverages())


@pytest.mark.parametrize(("n", "m", "cardinality", "coverage"), CASES)
def test_extend_and_count_equals_np_where_on_float64_thresholds(n, m, cardinality, coverage):
    rng = np.random.default_rng(n * m)
    L = random_votes(rng, n, m, cardinality, coverage)
    similarity = np.where(L != ABSTAIN, np.inf, rng.uniform(-0.2, 1.0, (n, m))).astype(np.float32, order="F")
    similarity[rng.random((n, m)) < 0.01] = -np.inf  # rows whose nearest voter was never found
    vote = np.where(L != ABSTAIN, L, random_votes(rng, n, m, cardinality, 0.9)).astype(np.int8, order="F")
    thresholds = rng.uniform(0.3, 0.95, m)
    # Thresholds that fall between two float32 values, exactly on one, and the "not extended" / "all" ends.
    thresholds[0] = np.nextafter(np.float64(similarity[~np.isinf(similarity[:, 0]), 0][0]), 2.0)
    thresholds[1] = float(similarity[~np.isinf(similarity[:, 1]), 1][0])
    thresholds[2], thresholds[3] = np.inf, -np.inf
    L_ext_T, statistics = extend_and_count(similarity.T, vote.T, thresholds, cardinality)
    expected = np.where(similarity >= thresholds, vote, np.int8(ABSTAIN))
    assert L_ext_T.dtype == vote.dtype
    np.testing.assert_array_equal(L_ext_T.T, expected)
    assert_counts_equal(statistics, reference_counts(expected, cardinality))
    # The votes packed once (what the session keeps per LF set) serve any later thresholds.
    bits = vote_bitsets(vote.T, cardinality)
    assert (bits is None) == (n < COMPILED_FROM_ROWS)
    for later in (thresholds, rng.uniform(0.3, 0.95, m)):
        L_ext_T, statistics = extend_and_count(similarity.T, vote.T, later, cardinality, vote_bits=bits)
        expected = np.where(similarity >= later, vote, np.int8(ABSTAIN))
        np.testing.assert_array_equal(L_ext_T.T, expected)
        assert_counts_equal(statistics, reference_counts(expected, cardinality))


@pytest.mark.parametrize(("n", "m", "cardinality", "coverage"), CASES)
@pytest.mark.parametrize(
    ("method", "posterior", "balance"),
    [
        ("class_conditional", "independent", "estimate"),
        ("class_conditional", "independent", "uniform"),
        ("symmetric", "independent", "estimate"),
        ("symmetric", "flyingsquid", "uniform"),
    ],
)
def test_counted_fit_and_compiled_posterior_equal_the_plain_ones(
    n, m, cardinality, coverage, method, posterior, balance
):
    if posterior == "flyingsquid" and cardinality != 2:
        pytest.skip("FlyingSquid's posterior is binary")
    L = np.asfortranarray(random_votes(np.random.default_rng(7 * n + m), n, m, cardinality, coverage))
    settings = {"cardinality": cardinality, "method": method, "posterior": posterior}
    model = TripletLabelModel(**settings).fit(L, class_balance=balance)
    counted = TripletLabelModel(**settings).fit_counted(L, vote_statistics(L, cardinality), class_balance=balance)
    for name in ("class_balance_", "accuracies_", "coverages_", "_weights", "_constants", "conditional_probs_"):
        np.testing.assert_array_equal(getattr(counted, name), getattr(model, name), err_msg=name)
    assert counted.fallback_lfs_ == model.fallback_lfs_
    expected = reference_proba(model, L)
    for layout in (L, np.ascontiguousarray(L)):
        np.testing.assert_allclose(model.predict_proba(layout), expected, rtol=0, atol=1e-9)


def test_the_gram_matrix_of_the_fit_is_the_float_indicator_product():
    # What the model used to compute itself: float32 indicators of the voted (LF, class) pairs, V.T @ V / n.
    L = random_votes(np.random.default_rng(3), LARGE, 7, 3, 0.4)
    statistics = vote_statistics(L, 3)
    lfs, classes = np.nonzero(statistics.counts)
    V = (L[:, lfs] == classes).astype(np.float32)
    features = lfs * 3 + classes
    np.testing.assert_array_equal(
        statistics.co_votes[np.ix_(features, features)].astype(np.float64) / L.shape[0],
        (V.T @ V).astype(np.float64) / L.shape[0],
    )


def test_fit_counted_refuses_statistics_of_another_matrix():
    L = random_votes(np.random.default_rng(4), 200, 4, 2, 0.5)
    with pytest.raises(ValueError, match="count L itself"):
        TripletLabelModel().fit_counted(L, vote_statistics(L[:100], 2))
    with pytest.raises(ValueError, match="count L itself"):
        TripletLabelModel(cardinality=3).fit_counted(L, vote_statistics(L, 2))


@pytest.mark.parametrize(("n", "m", "cardinality", "coverage"), CASES)
def test_summary_from_statistics_equals_lf_summary(n, m, cardinality, coverage):
    rng = np.random.default_rng(n + 2 * m)
    L = random_votes(rng, n, m, cardinality, coverage)
    L[:, 0] = ABSTAIN  # an LF that never votes: NaN shares
    L_ext = np.where(L != ABSTAIN, L, random_votes(rng, n, m, cardinality, coverage)).astype(np.int8)
    names = [f"lf {j}" for j in range(m)]
    class_names = [f"class {c}" for c in range(cardinality)]
    model = TripletLabelModel(cardinality=cardinality).fit(L_ext, class_balance="uniform")
    fast = lf_summary_from_statistics(
        vote_statistics(L, cardinality), vote_statistics(L_ext, cardinality), names, model, class_names
    )
    pd.testing.assert_frame_equal(
        fast, lf_summary(L, L_extended=L_ext, names=names, model=model, class_names=class_names), check_exact=True
    )


def test_summary_from_statistics_refuses_mismatched_counts():
    L = random_votes(np.random.default_rng(5), 50, 3, 2, 0.5)
    with pytest.raises(ValueError, match="same shape"):
        lf_summary_from_statistics(vote_statistics(L, 2), vote_statistics(L[:10], 2), ["a", "b", "c"])
    with pytest.raises(ValueError, match="class names"):
        lf_summary_from_statistics(vote_statistics(L, 2), vote_statistics(L, 2), ["a", "b", "c"], class_names=["x"])


def test_small_inputs_never_import_numba():
    code = (
        "import sys, numpy as np\n"
        "from epoxy_core.model import TripletLabelModel\n"
        "from epoxy_core.model.statistics import extend_and_count, vote_statistics\n"
        "rng = np.random.default_rng(0)\n"
        "L = np.where(rng.random((2000, 6)) < 0.3, rng.integers(0, 2, (2000, 6)), -1).astype(np.int8)\n"
        "TripletLabelModel().fit(L).predict_proba(L)\n"
        "extend_and_count(rng.random((6, 2000)).astype(np.float32), L.T.copy(), np.full(6, 0.5), 2)\n"
        "assert 'numba' not in sys.modules, 'numba imported for 2,000 rows'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the class-balance estimate on tables too small or too sparse to estimate from ------------------
def test_estimate_with_more_chunks_than_priors_does_not_crash(monkeypatch):
    # The likelihood over the 99 priors is scored in chunks of (distinct patterns / _BALANCE_CHUNK_ROWS);
    # more chunks than priors left empty chunks and crashed with "cannot reshape array of size 0".  With
    # the default chunk size this needs > 495,000 distinct vote patterns; a chunk size of 1 needs > 99.
    monkeypatch.setattr(triplet_module, "_BALANCE_CHUNK_ROWS", 1)
    L = random_votes(np.random.default_rng(8), 3_000, 10, 2, 0.5)
    model = TripletLabelModel().fit(L, class_balance="estimate")
    monkeypatch.undo()
    assert not model.fallback_
    np.testing.assert_allclose(model.class_balance_, TripletLabelModel().fit(L).class_balance_, atol=1e-12)


@pytest.mark.parametrize(
    "L",
    [
        [[0, 0, 1], [1, 1, 0]],  # two rows
        [[0, -1, 1], [-1, 1, -1], [1, 0, -1]],  # three rows
        [[0, -1, -1, -1], [-1, 1, -1, -1], [-1, -1, 0, -1], [-1, -1, -1, 1]] * 10,  # LFs that never co-vote
        [[0, 0, 0, -1], [1, 1, 1, -1], [-1, -1, -1, 1]] * 2,  # an LF that never votes with the others
    ],
)
@pytest.mark.parametrize("method", ["class_conditional", "symmetric"])
def test_tiny_or_sparse_tables_get_a_finite_balance_and_posterior(L, method):
    L = np.asarray(L)
    model = TripletLabelModel(method=method).fit(L, class_balance="estimate")
    assert np.all(np.isfinite(model.class_balance_)) and model.class_balance_.sum() == pytest.approx(1.0)
    proba = model.predict_proba(L)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)
