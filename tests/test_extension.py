"""Tests for epoxy_core.extension: nearest voted rows per LF, thresholds, and the caching Extender.

The reference throughout is the exact Epoxy extension, computed densely here: for each LF, the similarity
of every row to every row the LF voted on; an abstaining row takes the vote of the most similar voted row
when that similarity reaches the LF's threshold.  Graphs are built by a brute-force helper in this file
(float64 similarities, ties to the lower row id), so the tests do not depend on the neighbour search.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epoxy_core.extension import (
    Extender,
    NearestVoters,
    extend,
    extend_new_rows,
    nearest_voters,
    nearest_voters_for_new_rows,
    thresholds_array,
)

COSINE_LOWEST = -1.0  # every cosine similarity reaches it


# -- helpers ----------------------------------------------------------------------------------------
def _prepared(embeddings: np.ndarray, metric: str) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True) if metric == "cosine" else x


def dense_similarity(queries: np.ndarray, keys: np.ndarray, metric: str = "cosine") -> np.ndarray:
    a, b = _prepared(queries, metric), _prepared(keys, metric)
    if metric == "cosine":
        return a @ b.T
    return -np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2), 0.0))


def brute_force_graph(
    embeddings: np.ndarray, k: int, metric: str = "cosine", with_embeddings: bool = True
) -> SimpleNamespace:
    """Exact k-NN graph shaped like KNNGraph: self excluded, most similar first, ties to the lower id."""
    sims = dense_similarity(embeddings, embeddings, metric)
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return SimpleNamespace(
        indices=order.astype(np.int64),
        similarities=np.take_along_axis(sims, order, axis=1).astype(np.float32),
        metric=metric,
        embeddings=np.asarray(embeddings, dtype=np.float32) if with_embeddings else None,
    )


def reference_extend(
    L: np.ndarray, thresholds: float | np.ndarray, sims: np.ndarray | None = None, embeddings=None, metric="cosine"
) -> np.ndarray:
    """Exact Epoxy extension from the dense similarity of every row to every voted row."""
    L = np.asarray(L)
    if sims is None:
        sims = dense_similarity(embeddings, embeddings, metric)
    limits = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (L.shape[1],))
    out = L.copy()
    rows = np.arange(L.shape[0])
    for j in range(L.shape[1]):
        voted = np.flatnonzero(L[:, j] != -1)
        if voted.size == 0:
            continue
        block = sims[:, voted]
        best = block.argmax(axis=1)
        take = (L[:, j] == -1) & (block[rows, best] >= limits[j])
        out[take, j] = L[voted[best[take]], j]
    return out


def unit(degrees: list[float]) -> np.ndarray:
    """2-D unit vectors at these angles: cosine similarity is the cosine of the angle between them."""
    radians = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    return np.column_stack([np.cos(radians), np.sin(radians)])


def hand_graph(indices, similarities, embeddings=None, metric="cosine") -> SimpleNamespace:
    return SimpleNamespace(
        indices=np.asarray(indices, dtype=np.int64),
        similarities=np.asarray(similarities, dtype=np.float32),
        metric=metric,
        embeddings=None if embeddings is None else np.asarray(embeddings, dtype=np.float32),
    )


# -- degenerate LFs ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_cloud() -> tuple[np.ndarray, SimpleNamespace]:
    embeddings = np.random.default_rng(0).normal(size=(30, 4))
    return embeddings, brute_force_graph(embeddings, 5)


def test_empty_support_never_extends(small_cloud):
    _, graph = small_cloud
    L = np.full((30, 2), -1, dtype=np.int8)
    L[::4, 1] = 1
    nearest = nearest_voters(L, graph)
    assert (nearest.index[:, 0] == -1).all()
    assert (nearest.similarity[:, 0] == -np.inf).all()
    assert (nearest.vote[:, 0] == -1).all()
    for threshold in [COSINE_LOWEST, 0.0, -np.inf]:
        assert (extend(L, graph, thresholds=threshold)[:, 0] == -1).all()
    # The other LF, with support, does extend to every row at the lowest threshold.
    assert (extend(L, graph, thresholds=COSINE_LOWEST)[:, 1] == 1).all()


def test_abstain_only_label_matrix_stays_abstain(small_cloud):
    _, graph = small_cloud
    L = np.full((30, 3), -1, dtype=np.int8)
    for threshold in [-np.inf, COSINE_LOWEST, 0.5]:
        np.testing.assert_array_equal(extend(L, graph, thresholds=threshold), L)


def test_lf_voting_everywhere_is_unchanged(small_cloud):
    _, graph = small_cloud
    L = np.random.default_rng(1).integers(0, 3, size=(30, 2)).astype(np.int8)
    nearest = nearest_voters(L, graph)
    np.testing.assert_array_equal(nearest.index, np.tile(np.arange(30)[:, None], (1, 2)))
    assert (nearest.similarity == np.inf).all()
    for threshold in [COSINE_LOWEST, 0.9, np.inf]:
        np.testing.assert_array_equal(extend(L, graph, thresholds=threshold), L)


def test_hand_made_graph_gives_exact_nearest_voters():
    graph = hand_graph([[1, 2], [0, 2], [1, 0], [2, 1]], [[0.9, 0.5], [0.9, 0.7], [0.7, 0.5], [0.6, 0.4]])
    L = np.array([[1, -1], [-1, 0], [-1, -1], [-1, -1]])
    nearest = nearest_voters(L, graph)
    # Row 3 lists no voter of LF 0 and the graph has no embeddings: nothing found.
    np.testing.assert_array_equal(nearest.index, [[0, 1], [0, 1], [0, 1], [-1, 1]])
    np.testing.assert_array_equal(
        nearest.similarity, np.float32([[np.inf, 0.9], [0.9, np.inf], [0.5, 0.7], [-np.inf, 0.4]])
    )
    np.testing.assert_array_equal(nearest.vote, [[1, 0], [1, 0], [1, 0], [-1, 0]])
    extended = extend(L, graph, thresholds=0.65)
    np.testing.assert_array_equal(extended, [[1, 0], [1, 0], [-1, 0], [-1, -1]])
    assert extended.dtype == np.int8


# -- thresholds -------------------------------------------------------------------------------------
BOUNDARY_GRAPH = hand_graph([[1], [0], [1]], [[0.75], [0.75], [0.75]])


def test_similarity_equal_to_threshold_extends():
    L = np.array([[-1], [1], [-1]])
    np.testing.assert_array_equal(extend(L, BOUNDARY_GRAPH, thresholds=0.75), [[1], [1], [1]])


def test_threshold_just_above_similarity_does_not_extend():
    L = np.array([[-1], [1], [-1]])
    just_above = float(np.nextafter(np.float32(0.75), np.float32(1.0)))
    np.testing.assert_array_equal(extend(L, BOUNDARY_GRAPH, thresholds=just_above), L)


def test_infinite_threshold_disables_extension(small_cloud):
    _, graph = small_cloud
    L = np.full((30, 2), -1, dtype=np.int8)
    L[::3, 0], L[1::5, 1] = 0, 1
    np.testing.assert_array_equal(extend(L, graph, thresholds=np.inf), L)
    mixed = extend(L, graph, thresholds=[np.inf, COSINE_LOWEST])
    np.testing.assert_array_equal(mixed[:, 0], L[:, 0])
    assert (mixed[:, 1] == 1).all()


@pytest.mark.parametrize("thresholds", [np.nan, [0.5, np.nan], [0.5, 0.6, 0.7], [[0.5, 0.6]], "high"])
def test_invalid_thresholds_are_refused(thresholds):
    L = np.array([[-1, 0], [1, -1], [-1, -1]])
    graph = hand_graph([[1], [0], [1]], [[0.75], [0.75], [0.75]])
    with pytest.raises(ValueError):
        extend(L, graph, thresholds=thresholds)


def test_thresholds_array_broadcasts_a_scalar_and_keeps_a_vector():
    np.testing.assert_array_equal(thresholds_array(0.5, 3), np.float32([0.5, 0.5, 0.5]))
    np.testing.assert_array_equal(thresholds_array([0.5, np.inf], 2), np.float32([0.5, np.inf]))
    assert thresholds_array([], 0).shape == (0,)


def test_per_lf_thresholds_match_scalar_thresholds_column_by_column(small_cloud):
    _, graph = small_cloud
    L = np.random.default_rng(2).choice([-1, -1, -1, 0, 1], size=(30, 3)).astype(np.int8)
    per_lf = [0.2, 0.5, 0.8]
    extended = extend(L, graph, thresholds=per_lf)
    for j, threshold in enumerate(per_lf):
        np.testing.assert_array_equal(extended[:, j], extend(L, graph, thresholds=threshold)[:, j])
    # Hand-made: LF 0 at 0.8 keeps row 2 (similarity 0.75) abstaining, LF 1 at 0.7 extends it.
    L = np.array([[-1, -1], [1, 0], [-1, -1]])
    np.testing.assert_array_equal(extend(L, BOUNDARY_GRAPH, thresholds=[0.8, 0.7]), [[-1, 0], [1, 0], [-1, 0]])


# -- ties -------------------------------------------------------------------------------------------
def test_tie_between_neighbours_goes_to_the_one_listed_first():
    L = np.array([[-1], [0], [1]])
    first_is_row_1 = hand_graph([[1, 2], [0, 2], [0, 1]], [[0.9, 0.9], [0.9, 0.5], [0.9, 0.5]])
    first_is_row_2 = hand_graph([[2, 1], [0, 2], [0, 1]], [[0.9, 0.9], [0.9, 0.5], [0.9, 0.5]])
    assert extend(L, first_is_row_1, thresholds=0.8)[0, 0] == 0
    assert extend(L, first_is_row_2, thresholds=0.8)[0, 0] == 1
    assert nearest_voters(L, first_is_row_2).index[0, 0] == 2


def test_tie_in_exact_search_goes_to_the_lowest_row_index():
    # Rows 2 and 3 are the same vector; row 0's only listed neighbour (row 1) does not vote, so the
    # exact search decides.  (1, 0) . v == v[0] exactly, so the tie is exact in floating point too.
    embeddings = np.array([[1.0, 0.0], [0.96, 0.28], [0.6, 0.8], [0.6, 0.8]])
    graph = brute_force_graph(embeddings, 1)
    assert graph.indices[0, 0] == 1
    for votes in ([-1, -1, 1, 0], [-1, -1, 0, 1]):
        L = np.array(votes)[:, None]
        nearest = nearest_voters(L, graph)
        assert nearest.index[0, 0] == 2
        assert extend(L, graph, thresholds=0.5)[0, 0] == votes[2]


# -- exact fallback beyond the k neighbours -------------------------------------------------------
FALLBACK_EMBEDDINGS = unit([0, 2, 30])  # row 0's only neighbour (k=1) is row 1; row 2 votes
FALLBACK_L = np.array([[-1], [-1], [1]])


def test_exact_fallback_finds_a_voter_beyond_the_k_neighbours():
    graph = brute_force_graph(FALLBACK_EMBEDDINGS, 1)
    np.testing.assert_array_equal(graph.indices[:, 0], [1, 0, 1])
    nearest = nearest_voters(FALLBACK_L, graph)
    np.testing.assert_array_equal(nearest.index[:, 0], [2, 2, 2])
    np.testing.assert_allclose(nearest.similarity[:2, 0], np.cos(np.deg2rad([30, 28])), atol=1e-6)
    np.testing.assert_array_equal(extend(FALLBACK_L, graph, thresholds=0.85), [[1], [1], [1]])
    np.testing.assert_array_equal(extend(FALLBACK_L, graph, thresholds=0.87), [[-1], [1], [1]])


def test_without_embeddings_only_the_k_neighbours_are_searched():
    graph = brute_force_graph(FALLBACK_EMBEDDINGS, 1, with_embeddings=False)
    nearest = nearest_voters(FALLBACK_L, graph)
    np.testing.assert_array_equal(nearest.index[:, 0], [-1, -1, 2])
    np.testing.assert_array_equal(extend(FALLBACK_L, graph, thresholds=COSINE_LOWEST), FALLBACK_L)
    # exact_fallback=False behaves the same even when embeddings are there.
    with_embeddings = brute_force_graph(FALLBACK_EMBEDDINGS, 1)
    np.testing.assert_array_equal(
        nearest_voters(FALLBACK_L, with_embeddings, exact_fallback=False).index, nearest.index
    )


def test_euclidean_fallback_picks_the_nearest_voter_by_distance():
    # Row 2 points the same way as row 0 (cosine 1) but is far; row 3 is close.  Epoxy's reference code
    # once compared distances as if they were similarities; here similarity is minus the distance.
    embeddings = np.array([[1.0, 0.0], [1.1, 0.0], [10.0, 0.0], [1.0, 0.5]])
    graph = brute_force_graph(embeddings, 1, metric="euclidean")
    L = np.array([[-1], [-1], [0], [1]])
    nearest = nearest_voters(L, graph)
    np.testing.assert_array_equal(nearest.index[:2, 0], [3, 3])
    np.testing.assert_allclose(nearest.similarity[:2, 0], [-0.5, -np.sqrt(0.26)], atol=1e-6)
    np.testing.assert_array_equal(extend(L, graph, thresholds=-0.6)[:, 0], [1, 1, 0, 1])
    np.testing.assert_array_equal(extend(L, graph, thresholds=-0.505)[:, 0], [1, -1, 0, 1])


# Rows 0-1 are close together (k-th neighbour similarity 0.9994); rows 3-4 are each other's nearest
# neighbour at 55 degrees (similarity 0.574).  Only row 2 votes.
MIN_SIM_EMBEDDINGS = unit([0, 2, 20, 120, 175])
MIN_SIM_L = np.array([[-1], [-1], [0], [-1], [-1]])


def test_min_similarity_skips_the_fallback_only_where_the_kth_neighbour_is_below_it():
    graph = brute_force_graph(MIN_SIM_EMBEDDINGS, 1)
    np.testing.assert_array_equal(graph.indices[:, 0], [1, 0, 1, 4, 3])
    everything = nearest_voters(MIN_SIM_L, graph)
    np.testing.assert_array_equal(everything.index[:, 0], [2, 2, 2, 2, 2])
    pruned = nearest_voters(MIN_SIM_L, graph, min_similarity=0.9)
    np.testing.assert_array_equal(pruned.index[:, 0], [2, 2, 2, -1, -1])
    assert (pruned.similarity[3:, 0] == -np.inf).all()
    # At min_similarity equal to rows 3-4's k-th neighbour similarity they are still searched.
    at_boundary = nearest_voters(MIN_SIM_L, graph, min_similarity=float(graph.similarities[3, 0]))
    np.testing.assert_array_equal(at_boundary.index[:, 0], [2, 2, 2, 2, 2])


def test_min_similarity_is_exact_for_thresholds_at_or_above_it():
    graph = brute_force_graph(MIN_SIM_EMBEDDINGS, 1)
    for threshold in [0.9, 0.94, 0.95, 1.0]:
        np.testing.assert_array_equal(
            extend(MIN_SIM_L, graph, thresholds=threshold, min_similarity=0.9),
            extend(MIN_SIM_L, graph, thresholds=threshold),
        )
    # Below min_similarity, the skipped rows get graph-only answers, as documented.
    np.testing.assert_array_equal(extend(MIN_SIM_L, graph, thresholds=COSINE_LOWEST), np.zeros((5, 1)))
    np.testing.assert_array_equal(
        extend(MIN_SIM_L, graph, thresholds=COSINE_LOWEST, min_similarity=0.9)[:, 0], [0, 0, 0, -1, -1]
    )


# -- properties on random small problems ----------------------------------------------------------
@st.composite
def random_problems(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 12))
    m = draw(st.integers(0, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    embeddings = rng.normal(size=(n, 3))
    density = draw(st.floats(0.0, 1.0))
    L = np.where(rng.random((n, m)) < density, rng.integers(0, 3, size=(n, m)), -1).astype(np.int8)
    threshold = st.one_of(st.floats(-1.5, 1.5), st.just(np.inf), st.just(-np.inf))
    return {
        "embeddings": embeddings,
        "L": L,
        "k": min(draw(st.integers(0, 11)), n - 1),
        "with_embeddings": draw(st.booleans()),
        "min_similarity": draw(st.one_of(st.none(), st.floats(-1.0, 1.0))),
        "thresholds": np.array(draw(st.lists(threshold, min_size=m, max_size=m))),
    }


@settings(max_examples=150, deadline=None)
@given(problem=random_problems())
def test_extension_keeps_votes_and_matches_the_exact_reference(problem):
    L, thresholds = problem["L"], problem["thresholds"]
    graph = brute_force_graph(problem["embeddings"], problem["k"], with_embeddings=problem["with_embeddings"])
    extended = extend(L, graph, thresholds=thresholds, min_similarity=problem["min_similarity"])
    assert extended.shape == L.shape
    # Original votes are never removed, at any threshold.
    voted = L != -1
    np.testing.assert_array_equal(extended[voted], L[voted])
    # Extended cells only copy votes of the same LF, and agree with the exact reference.
    reference = reference_extend(L, thresholds, embeddings=problem["embeddings"])
    added = (extended != -1) & ~voted
    np.testing.assert_array_equal(extended[added], reference[added])
    # Graph-only answers are a subset of the exact ones; with embeddings they are exact at any threshold
    # at or above min_similarity.
    if problem["with_embeddings"]:
        floor = -np.inf if problem["min_similarity"] is None else problem["min_similarity"]
        high = np.maximum(thresholds, floor)
        np.testing.assert_array_equal(
            extend(L, graph, thresholds=high, min_similarity=problem["min_similarity"]),
            reference_extend(L, high, embeddings=problem["embeddings"]),
        )


# -- agreement with the exact reference on a clustered dataset -------------------------------------
N_ROWS, DIM, N_CLUSTERS, K = 2000, 16, 8, 10
COVERAGES = [0.3, 0.2, 0.15, 0.1, 0.03, 0.03, 0.05, 0.03]  # LFs 4, 5 and 7 are sparse
SCALAR_THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.9]
PER_LF_THRESHOLDS = np.linspace(0.5, 0.9, len(COVERAGES))


@pytest.fixture(scope="module")
def clustered() -> SimpleNamespace:
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(N_CLUSTERS, DIM))
    cluster = rng.integers(N_CLUSTERS, size=N_ROWS)
    embeddings = centers[cluster] + 0.5 * rng.normal(size=(N_ROWS, DIM))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    y = cluster % 2
    L = np.full((N_ROWS, len(COVERAGES)), -1, dtype=np.int8)
    for j, coverage in enumerate(COVERAGES):
        fires = rng.random(N_ROWS) < coverage
        votes = np.ones(N_ROWS, dtype=np.int64) if j % 3 == 2 else np.where(rng.random(N_ROWS) < 0.8, y, 1 - y)
        L[fires, j] = votes[fires]
    sims = dense_similarity(embeddings, embeddings)
    np.fill_diagonal(sims, -np.inf)  # a row is never its own voter (it abstains there)
    return SimpleNamespace(embeddings=embeddings, L=L, sims=sims, graph=brute_force_graph(embeddings, K))


def _all_thresholds() -> list:
    return [*SCALAR_THRESHOLDS, PER_LF_THRESHOLDS]


def test_exact_graph_with_embeddings_equals_the_exact_reference(clustered):
    nearest = nearest_voters(clustered.L, clustered.graph)
    pruned = nearest_voters(clustered.L, clustered.graph, min_similarity=0.5)
    for thresholds in _all_thresholds():
        reference = reference_extend(clustered.L, thresholds, sims=clustered.sims)
        np.testing.assert_array_equal(extend(clustered.L, thresholds=thresholds, nearest=nearest), reference)
        np.testing.assert_array_equal(extend(clustered.L, thresholds=thresholds, nearest=pruned), reference)
    # The test is not vacuous: extension adds many votes, also to the sparse LFs.
    extended = extend(clustered.L, thresholds=0.7, nearest=nearest)
    assert ((extended != -1).mean(axis=0) > 2 * np.asarray(COVERAGES)).all()


def test_graph_only_extension_is_a_subset_of_the_exact_reference(clustered):
    graph = SimpleNamespace(**{**vars(clustered.graph), "embeddings": None})
    nearest = nearest_voters(clustered.L, graph)
    for thresholds in _all_thresholds():
        reference = reference_extend(clustered.L, thresholds, sims=clustered.sims)
        extended = extend(clustered.L, thresholds=thresholds, nearest=nearest)
        added = extended != -1
        np.testing.assert_array_equal(extended[added], reference[added])


def test_approximate_graph_agrees_with_the_exact_reference_on_99_percent_of_cells(clustered):
    # Mimic an approximate search (recall ~0.9, as PyNNDescent): drop each true neighbour with
    # probability 0.1 and fill the list from the next-nearest rows, keeping it sorted.
    wide = brute_force_graph(clustered.embeddings, 2 * K)
    keep = np.random.default_rng(1).random(wide.indices.shape) < 0.9
    keep[:, K:] = True
    order = np.argsort(~keep, axis=1, kind="stable")[:, :K]  # kept positions, in rank order
    graph = hand_graph(
        np.take_along_axis(wide.indices, order, axis=1),
        np.take_along_axis(wide.similarities, order, axis=1),
        embeddings=clustered.embeddings,
    )
    nearest = nearest_voters(clustered.L, graph)
    for thresholds in _all_thresholds():
        reference = reference_extend(clustered.L, thresholds, sims=clustered.sims)
        agreement = (extend(clustered.L, thresholds=thresholds, nearest=nearest) == reference).mean()
        assert agreement >= 0.99, f"thresholds {thresholds}: agreement {agreement:.4f}"


def test_knn_graph_from_neighbors_module_gives_the_exact_reference(clustered):
    neighbors = pytest.importorskip("epoxy_core.neighbors")
    graph = neighbors.build_knn_graph(clustered.embeddings, K, metric="cosine", method="exact")
    for thresholds in [0.6, PER_LF_THRESHOLDS]:
        np.testing.assert_array_equal(
            extend(clustered.L, graph, thresholds=thresholds),
            reference_extend(clustered.L, thresholds, sims=clustered.sims),
        )


# -- Extender ---------------------------------------------------------------------------------------
def _edited(L: np.ndarray, columns: list[int]) -> np.ndarray:
    edited = L.copy()
    for j in columns:
        edited[j::7, j] = -1  # remove some votes
    return edited


def test_extender_recomputes_only_changed_columns_and_matches_extend(clustered):
    L, graph = clustered.L, clustered.graph
    extender = Extender(graph, min_similarity=0.5)
    assert extender.update(L).last_recomputed_ == list(range(L.shape[1]))
    np.testing.assert_array_equal(extender.extend(0.7), extend(L, graph, thresholds=0.7, min_similarity=0.5))

    L2 = _edited(L, [3, 5])
    assert extender.update(L2).last_recomputed_ == [3, 5]
    for thresholds in [0.7, PER_LF_THRESHOLDS]:
        np.testing.assert_array_equal(
            extender.extend(thresholds), extend(L2, graph, thresholds=thresholds, min_similarity=0.5)
        )
    # Undoing the edit is free: both versions are cached.
    assert extender.update(L).last_recomputed_ == []
    np.testing.assert_array_equal(extender.extend(0.8), extend(L, graph, thresholds=0.8))


def test_extender_shares_identical_columns_and_evicts_the_least_recently_used():
    embeddings = np.random.default_rng(3).normal(size=(40, 3))
    graph = brute_force_graph(embeddings, 4)
    L = np.random.default_rng(4).choice([-1, -1, 0, 1], size=(40, 4)).astype(np.int8)
    assert Extender(graph).update(np.column_stack([L[:, 0], L[:, 0]])).last_recomputed_ == [0]

    extender = Extender(graph, max_cached_columns=4)
    extender.update(L)
    L2 = _edited(L, [1, 2])
    assert extender.update(L2).last_recomputed_ == [1, 2]
    # The cache held 6 columns; the two dropped are the old versions of columns 1 and 2.
    assert extender.update(L).last_recomputed_ == [1, 2]
    np.testing.assert_array_equal(extender.extend(0.3), extend(L, graph, thresholds=0.3))


def test_extender_must_be_updated_before_extending():
    with pytest.raises(ValueError, match="update"):
        Extender(BOUNDARY_GRAPH).extend(0.5)


def test_extender_with_no_lfs_returns_an_empty_matrix():
    extended = Extender(BOUNDARY_GRAPH).update(np.empty((3, 0), dtype=np.int8)).extend(0.5)
    assert extended.shape == (3, 0)


# -- NearestVoters ----------------------------------------------------------------------------------
def test_nearest_voters_columns_stack_back_together(small_cloud):
    _, graph = small_cloud
    L = np.random.default_rng(5).choice([-1, -1, 0, 1], size=(30, 3)).astype(np.int8)
    nearest = nearest_voters(L, graph)
    stacked = NearestVoters.hstack([nearest.column(j) for j in range(3)])
    for name in ("index", "similarity", "vote"):
        np.testing.assert_array_equal(getattr(stacked, name), getattr(nearest, name))
    assert stacked.shape == (30, 3)
    # One LF on its own gives the same answer as inside the matrix.
    np.testing.assert_array_equal(nearest_voters(L[:, [1]], graph).index, nearest.column(1).index)
    with pytest.raises(ValueError):
        NearestVoters.hstack([])


# -- invalid input ----------------------------------------------------------------------------------
def test_row_count_mismatch_is_refused(small_cloud):
    _, graph = small_cloud
    L = np.full((31, 2), -1, dtype=np.int8)
    with pytest.raises(ValueError, match="31 rows"):
        nearest_voters(L, graph)
    with pytest.raises(ValueError, match="31 rows"):
        extend(L, graph, thresholds=0.5)
    with pytest.raises(ValueError):
        Extender(graph).update(L)
    nearest = nearest_voters(L[:30], graph)
    with pytest.raises(ValueError, match="shape"):
        extend(L, thresholds=0.5, nearest=nearest)
    with pytest.raises(ValueError, match="shape"):
        extend(L[:30, :1], thresholds=0.5, nearest=nearest)


def test_extend_needs_a_graph_or_nearest_voters_and_a_valid_label_matrix(small_cloud):
    _, graph = small_cloud
    with pytest.raises(ValueError, match="graph"):
        extend(np.full((30, 2), -1), thresholds=0.5)
    with pytest.raises(ValueError):
        extend(np.full((30, 2), np.nan), graph, thresholds=0.5)
    with pytest.raises(ValueError):
        extend(np.full((30, 2), -2), graph, thresholds=0.5)


# ------------------------------------------------------------------ rows outside the graph (new rows)


def test_new_rows_copy_the_nearest_support_voter_exactly():
    rng = np.random.default_rng(3)
    support = rng.standard_normal((60, 8)).astype(np.float32)
    new = rng.standard_normal((25, 8)).astype(np.float32)
    L_support = np.where(rng.random((60, 3)) < 0.2, rng.integers(0, 2, (60, 3)), -1).astype(np.int8)
    L_support[:, 2] = -1  # an LF that votes nowhere never extends
    nearest = nearest_voters_for_new_rows(L_support, support, new)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    dense = unit(new) @ unit(support).T
    for j in range(2):
        voters = np.flatnonzero(L_support[:, j] != -1)
        best = voters[dense[:, voters].argmax(axis=1)]
        np.testing.assert_array_equal(nearest.index[:, j], best)
        np.testing.assert_allclose(nearest.similarity[:, j], dense[np.arange(25), best], atol=1e-5)
        np.testing.assert_array_equal(nearest.vote[:, j], L_support[best, j])
    assert (nearest.index[:, 2] == -1).all() and (nearest.vote[:, 2] == -1).all()

    L_new = np.full((25, 3), -1, dtype=np.int8)
    L_new[0, 0] = 1 - nearest.vote[0, 0]  # an own vote is kept, whatever the neighbours say
    extended = extend_new_rows(L_new, nearest, thresholds=[0.3, np.inf, 0.3])
    assert extended[0, 0] == L_new[0, 0]
    copied = nearest.similarity[1:, 0] >= 0.3
    np.testing.assert_array_equal(extended[1:, 0], np.where(copied, nearest.vote[1:, 0], -1))
    assert (extended[:, 1] == -1).all() and (extended[:, 2] == -1).all()


def test_new_rows_need_matching_dimensions():
    with pytest.raises(ValueError, match="dimension"):
        nearest_voters_for_new_rows([[0]], np.ones((1, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="rows"):
        nearest_voters_for_new_rows([[0], [1]], np.ones((1, 3)), np.ones((2, 3)))


# -- API traps (issue 9) ----------------------------------------------------------------------------
def test_a_threshold_passed_as_the_graph_gets_a_clear_message(small_cloud):
    _, graph = small_cloud
    L = np.full((30, 1), -1, dtype=np.int8)
    L[0, 0] = 1
    with pytest.raises(ValueError, match=r"thresholds=0\.8"):
        extend(L, 0.8)
    with pytest.raises(TypeError):
        extend(L, graph, 0.8)  # thresholds is keyword-only


def test_nearest_voters_of_other_votes_are_refused(small_cloud):
    _, graph = small_cloud
    L = np.random.default_rng(11).choice([-1, -1, 0, 1], size=(30, 3)).astype(np.int8)
    nearest = nearest_voters(L, graph)
    other = L.copy()
    other[np.flatnonzero(other[:, 1] == -1)[0], 1] = 0  # one more vote in LF 1
    with pytest.raises(ValueError, match=r"other votes.*\[1\]"):
        extend(other, thresholds=0.5, nearest=nearest)
    flipped = L.copy()
    flipped[np.flatnonzero(flipped[:, 2] != -1)[0], 2] ^= 1  # same rows, another class
    with pytest.raises(ValueError, match="other votes"):
        extend(flipped, thresholds=0.5, nearest=nearest)
    np.testing.assert_array_equal(extend(L, thresholds=0.5, nearest=nearest), extend(L, graph, thresholds=0.5))


# -- compiled kernels and the multi-hop search ---------------------------------------------------------
def test_compiled_graph_gather_equals_the_numpy_gather(clustered):
    from epoxy_core.extension import _COMPILED_GATHER_MIN_ROWS, _graph_gather
    from epoxy_core.voter_search import first_voted_neighbour

    graph = clustered.graph
    for j in range(clustered.L.shape[1]):
        voted = clustered.L[:, j] != -1
        compiled = first_voted_neighbour(voted, graph.indices, graph.similarities)
        assert graph.indices.shape[0] < _COMPILED_GATHER_MIN_ROWS  # so _graph_gather takes the numpy path
        plain = _graph_gather(voted, graph)
        np.testing.assert_array_equal(compiled[0], plain[0])
        np.testing.assert_array_equal(compiled[1], plain[1])


def test_multi_hop_finds_real_voters_and_says_it_is_not_exact(clustered):
    L, graph = clustered.L, clustered.graph
    exact = nearest_voters(L, graph)
    graph_only = nearest_voters(L, graph, exact_fallback=False)
    hops = nearest_voters(L, graph, exact_fallback=False, hops=2)
    assert exact.exact and graph_only.exact and not hops.exact
    found = np.isfinite(hops.similarity) & (hops.index >= 0)
    # Every voter it reports is a row the LF voted on, with its true similarity, never above the exact best.
    rows, cols = np.nonzero(found & (hops.similarity < np.inf))
    assert rows.size
    assert (L[hops.index[rows, cols], cols] != -1).all()
    true_sims = clustered.sims[rows, hops.index[rows, cols]]
    np.testing.assert_allclose(hops.similarity[rows, cols], true_sims, atol=1e-5)
    assert (hops.similarity <= exact.similarity + 1e-5).all()
    # It never loses what the graph found, and finds more.
    assert (hops.similarity >= graph_only.similarity).all()
    assert (np.isfinite(hops.similarity)).sum() > (np.isfinite(graph_only.similarity)).sum()
