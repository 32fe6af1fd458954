"""``TripletLabelModel(method="symmetric", posterior="flyingsquid")`` reproduces FlyingSquid (fault 3 of issue 10).

FlyingSquid's ``LabelModel.predict_proba`` for LFs independent given Y (its default graph) is recomputed here in
plain numpy from its formulas, independently of our implementation:

* ``M = L^T L / n`` on signed votes (+1, -1, 0 = abstain); each LF's ``E[lambda_i Y]`` is the mean
  (``solve_method="triplet_mean"``, its default) or median (``"triplet_median"``, Epoxy's choice) of
  ``sqrt(|M_ij M_ik / M_jk|)`` over all pairs of other LFs, 0 where ``M_jk = 0``;
* each LF's clique marginal ``P(lambda_i, Y)`` solves FlyingSquid's 6 x 6 system ``B e = r`` from ``P(lambda_i=+1)``,
  ``P(lambda_i=0)``, ``P(Y=+1)``, ``P(lambda_i Y = 1) = (1 + E - P(lambda_i=0)) / 2`` and
  ``P(lambda_i=0, Y=+1) = P(Y=+1) P(lambda_i=0)``; negative entries are flipped and the table renormalised;
* ``P(Y | lambda) ∝ prod_i P(lambda_i, Y) / P(Y)^(m-2)``, the junction-tree formula with the separator ``{Y}`` of
  degree ``m - 1``.

The reference itself is checked against the output FlyingSquid printed in its Basics tutorial.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from epoxy_core.labels import from_signed
from epoxy_core.model.triplet import TripletLabelModel

# FlyingSquid's examples/tutorials/Basics.ipynb: `print(probabilistic_labels[:10])` of
# `label_model.predict_proba_marginalized(L_train)`, and "Label model accuracy: 70%" on the dev set.
PRINTED_PROBABILITIES = [
    0.46439535, 0.89805256, 0.72736331, 0.48237588, 0.2962007,
    0.2633458, 0.66693893, 0.53600092, 0.72736331, 0.3213108,
]  # fmt: skip


@functools.cache
def basics_tutorial_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Basics tutorial's synthetic votes, regenerated from its recipe with numpy's seeded legacy generator.

    Seed 0; 5 LFs with exponential-family weights theta = (1.5, .5, .2, .2, .05) and no class weight; every
    (lambda, Y) in {-1, 1}^6 has probability ∝ exp(Y theta . lambda), sampled by inverse CDF for 10,000 train
    then 500 dev rows; then votes are set to 0 (abstain) with the per-LF rates (.8, .88, .28, .38, .45).
    """
    rng = np.random.RandomState(0)
    theta, abstain_rate = np.array([1.5, 0.5, 0.2, 0.2, 0.05]), np.array([0.8, 0.88, 0.28, 0.38, 0.45])
    states = np.array(list(itertools.product([-1, 1], repeat=6)), dtype=float)  # last column is Y
    weights = np.exp(states[:, -1] * (states[:, :-1] @ theta))
    cdf = np.cumsum(weights / weights.sum())
    train = states[np.searchsorted(cdf, rng.random_sample(10_000))]
    dev = states[np.searchsorted(cdf, rng.random_sample(500))]
    L_train, L_dev, y_dev = train[:, :-1].copy(), dev[:, :-1].copy(), dev[:, -1]
    L_train[rng.rand(10_000 * 5).reshape(L_train.shape) < abstain_rate] = 0
    L_dev[rng.rand(500 * 5).reshape(L_dev.shape) < abstain_rate] = 0
    return L_train, L_dev, y_dev


# -- an independent numpy FlyingSquid ------------------------------------------------------------
def reference_strengths(L: np.ndarray, aggregate: str) -> np.ndarray:
    n, m = L.shape
    M = L.T @ L / n
    strengths = []
    for i in range(m):
        others = [j for j in range(m) if j != i]
        values = [
            np.sqrt(abs(M[i, j] * M[i, k] / M[j, k])) if M[j, k] != 0 else 0.0
            for j, k in itertools.combinations(others, 2)
        ]
        strengths.append(np.median(values) if aggregate == "median" else np.mean(values))
    return np.array(strengths)


def reference_cliques(L: np.ndarray, strengths: np.ndarray, prior: float) -> tuple[np.ndarray, int]:
    """(m, 3, 2) tables P(lambda_i = -1/0/+1, Y = -1/+1), and how many entries ``flip_negative`` flipped."""
    # Unknowns in the order P(+1,+1), P(0,+1), P(-1,+1), P(+1,-1), P(0,-1), P(-1,-1) (lambda, Y).
    B = np.array(
        [
            [1, 1, 1, 1, 1, 1],  # total
            [1, 0, 0, 1, 0, 0],  # P(lambda = +1)
            [0, 1, 0, 0, 1, 0],  # P(lambda = 0)
            [1, 1, 1, 0, 0, 0],  # P(Y = +1)
            [1, 0, 0, 0, 0, 1],  # P(lambda Y = 1)
            [0, 1, 0, 0, 0, 0],  # P(lambda = 0, Y = +1)
        ],
        dtype=float,
    )
    tables, flipped = np.empty((L.shape[1], 3, 2)), 0
    for i, strength in enumerate(strengths):
        zero, plus = np.mean(L[:, i] == 0), np.mean(L[:, i] == 1)
        r = [1.0, plus, zero, prior, 0.5 * (1 + strength - zero), prior * zero]
        e = np.linalg.solve(B, r)
        flipped += int((e < 0).sum())
        e = np.abs(e) / np.abs(e).sum()
        tables[i] = [[e[5], e[2]], [e[4], e[1]], [e[3], e[0]]]
    return tables, flipped


def reference_proba(L: np.ndarray, tables: np.ndarray, prior: float) -> np.ndarray:
    """P(Y = +1 | lambda) for every row (FlyingSquid's ``predict_proba_marginalized``)."""
    m = L.shape[1]
    numerator = np.prod(tables[np.arange(m), (L + 1).astype(int), :], axis=1)  # (n, 2): Y = -1, +1
    joint = numerator / np.array([1 - prior, prior]) ** (m - 2)
    joint[joint.sum(axis=1) == 0] += 0.001
    return joint[:, 1] / joint.sum(axis=1)


def test_the_reference_reproduces_flyingsquids_printed_tutorial_output():
    # The notebook was run when FlyingSquid's default was solve_method="triplet": one triplet per LF, found
    # by a seeded search. Searching all 6^5 choices for the printed numbers leaves these (LF 1 abstains on
    # the ten printed rows; three of its six choices give the printed 70%, the other three 69%).
    L_train, L_dev, y_dev = basics_tutorial_data()
    M = L_train.T @ L_train / L_train.shape[0]
    triplets = {0: (1, 4), 1: (0, 2), 2: (1, 3), 3: (1, 2), 4: (0, 1)}
    strengths = np.array([np.sqrt(abs(M[i, j] * M[i, k] / M[j, k])) for i, (j, k) in triplets.items()])
    tables, _ = reference_cliques(L_train, strengths, prior=0.5)
    np.testing.assert_allclose(reference_proba(L_train[:10], tables, 0.5), PRINTED_PROBABILITIES, atol=1e-8)
    dev_predictions = np.where(reference_proba(L_dev, tables, 0.5) > 0.5, 1, -1)
    assert int(100 * np.mean(dev_predictions == y_dev)) == 70


@pytest.fixture(scope="module")
def one_class_signed() -> np.ndarray:
    """Seeded keyword-like LFs (each votes one class or abstains), where flip_negative matters."""
    rng = np.random.default_rng(3)
    y = np.where(rng.random(4000) < 0.35, 1, -1)
    L = np.zeros((4000, 6))
    for j, (sign, precision, coverage) in enumerate(
        [(1, 0.9, 0.2), (1, 0.8, 0.3), (-1, 0.9, 0.4), (-1, 0.75, 0.3), (1, 0.97, 0.1), (-1, 0.85, 0.2)]
    ):
        own = (y == sign).mean()
        fire = rng.random(4000) < np.where(
            y == sign, precision * coverage / own, (1 - precision) * coverage / (1 - own)
        )
        L[fire, j] = sign
    return L


@pytest.mark.parametrize("aggregate", ["mean", "median"])
@pytest.mark.parametrize("prior", [0.5, 0.3])
@pytest.mark.parametrize("data", ["tutorial", "one-class"])
def test_flyingsquid_posterior_equals_the_reference(aggregate, prior, data, one_class_signed):
    L = basics_tutorial_data()[0] if data == "tutorial" else one_class_signed
    strengths = reference_strengths(L, aggregate)
    tables, flipped = reference_cliques(L, strengths, prior)
    if data == "one-class":
        assert flipped > 0, "these LFs exercise flip_negative"
    model = TripletLabelModel(method="symmetric", posterior="flyingsquid", aggregate=aggregate)
    model.fit(from_signed(L, positive_class=1), class_balance=[1 - prior, prior])
    ours = model.predict_proba(from_signed(L, positive_class=1))[:, 1]
    np.testing.assert_allclose(ours, reference_proba(L, tables, prior), atol=1e-9)
    # Accuracy when voting, 1/2 (1 + E / P(vote)), and the clique tables as conditionals P(lambda | Y).
    coverage = (L != 0).mean(axis=0)
    np.testing.assert_allclose(model.accuracies_, np.clip(0.5 * (1 + strengths / coverage), 0, 1), atol=1e-12)
    conditional = tables / tables.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.conditional_probs_, conditional[:, [1, 0, 2], :], atol=1e-12)


def test_flyingsquid_posterior_counts_the_prior_twice():
    # prod_i P(lambda_i, Y) / P(Y)^(m-2) = P(Y)^2 prod_i P(lambda_i | Y) when the clique marginals are consistent
    # with P(Y) (nothing flipped): the conditional-independence posterior has P(Y) once.  FlyingSquid's own
    # kind of LFs (voting both classes, abstaining independently of Y) at a prior of 0.3:
    rng = np.random.default_rng(8)
    y = np.where(rng.random(5000) < 0.3, 1, -1)
    accuracy, coverage = np.array([0.9, 0.8, 0.7, 0.85, 0.75]), np.array([0.5, 0.4, 0.6, 0.3, 0.5])
    L = np.where(rng.random((5000, 5)) < accuracy, y[:, None], -y[:, None]) * (rng.random((5000, 5)) < coverage)
    prior = np.array([0.7, 0.3])
    assert reference_cliques(L, reference_strengths(L, "median"), prior[1])[1] == 0
    model = TripletLabelModel(method="symmetric", posterior="flyingsquid").fit(from_signed(L, 1), class_balance=prior)
    rows = np.array(list(itertools.product([-1, 0, 1], repeat=5)), dtype=np.int8)
    likelihood = np.prod(model.conditional_probs_[np.arange(5), rows + 1, :], axis=1)  # (rows, 2)
    twice = prior**2 * likelihood
    np.testing.assert_allclose(model.predict_proba(rows), twice / twice.sum(axis=1, keepdims=True), atol=1e-9)
    once = prior * likelihood
    assert np.abs(model.predict_proba(rows) - once / once.sum(axis=1, keepdims=True)).max() > 0.05
