"""Tests for epoxy_core.neighbors: exact search, PyNNDescent recall, the KNNGraph contract."""

from __future__ import annotations

import numpy as np
import pytest

from epoxy_core import neighbors
from epoxy_core.cache import cache_dir
from epoxy_core.neighbors import (
    EXACT_MAX_ROWS,
    KNNGraph,
    build_knn_graph,
    cached_knn_graph,
    exact_knn,
    prepare_embeddings,
    resolve_method,
    similarity_to,
    warm_up_jit,
)


def brute_force(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Reference: full similarity matrix, self masked, stable sort (ties -> lower id)."""
    S = similarity_to(X, X, metric).astype(np.float64)
    np.fill_diagonal(S, -np.inf)
    order = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(S, order, axis=1)


def clustered(n: int, d: int, n_clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d))
    return (centres[rng.integers(0, n_clusters, n)] + 0.6 * rng.standard_normal((n, d))).astype(np.float32)


def test_exact_knn_hand_made_cosine_neighbours():
    X = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    indices, sims = exact_knn(X, n_neighbors=2)
    assert indices.tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    np.testing.assert_allclose(sims, [[0.8, 0.0], [0.8, 0.6], [0.6, 0.0], [0.0, -0.8]], atol=1e-6)
    assert indices.dtype == np.int64 and sims.dtype == np.float32


def test_exact_knn_euclidean_similarity_is_minus_distance():
    X = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]], dtype=np.float32)
    indices, sims = exact_knn(X, n_neighbors=2, metric="euclidean")
    assert indices.tolist() == [[2, 1], [2, 0], [0, 1]]
    np.testing.assert_allclose(sims, [[-1.0, -5.0], [-np.sqrt(18), -5.0], [-1.0, -np.sqrt(18)]], rtol=1e-6)


def test_duplicates_are_neighbours_and_self_is_excluded_by_index():
    # Rows 0, 2 and 3 are identical: similarity 1 to each other, but never to themselves.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    indices, sims = exact_knn(X, n_neighbors=2)
    assert indices.tolist() == [[2, 3], [0, 2], [0, 3], [0, 2]]
    np.testing.assert_allclose(sims[[0, 2, 3]], 1.0, atol=1e-6)
    assert not (indices == np.arange(4)[:, None]).any()


def test_ties_go_to_the_lower_row_id():
    # Rows 1..4 are all at cosine 0 from row 0; k=2 must pick 1 and 2.
    X = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, -1, 0], [0, 0, -1]], dtype=np.float32)
    indices, _ = exact_knn(X, n_neighbors=2)
    assert indices[0].tolist() == [1, 2]


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_knn_matches_brute_force_across_blocks(metric):
    X = clustered(700, 16, 7, seed=1)
    ref_idx, ref_sim = brute_force(X, 10, metric)
    # 700 columns: the candidate threshold uses whole rows; block sizes must not matter.
    for block_rows in (None, 1, 64):
        indices, sims = exact_knn(X, 10, metric=metric, block_rows=block_rows)
        np.testing.assert_array_equal(indices, ref_idx)
        np.testing.assert_allclose(sims, ref_sim, rtol=1e-5, atol=1e-5)


def test_exact_knn_with_sampled_threshold_matches_brute_force():
    # More than 1024 columns: the candidate threshold comes from a column sample.
    X = clustered(2500, 8, 40, seed=2)
    ref_idx, ref_sim = brute_force(X, 15, "cosine")
    indices, sims = exact_knn(X, 15, block_rows=300)
    np.testing.assert_allclose(sims, ref_sim, atol=1e-5)
    assert (indices == ref_idx).mean() > 0.999  # float32 vs float64 near-ties may swap


def test_n_neighbors_is_clamped_and_single_row_gives_empty_graph():
    X = np.eye(3, dtype=np.float32)
    graph = build_knn_graph(X, n_neighbors=30)
    assert graph.n_neighbors == 2 and graph.indices.shape == (3, 2)
    single = build_knn_graph(np.ones((1, 4)), n_neighbors=5)
    assert single.indices.shape == (1, 0) and single.similarities.shape == (1, 0)
    assert single.n_neighbors == 0


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN or infinite"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "NaN or infinite"),
        (np.ones(5), "2-D"),
        (np.array([["a", "b"]]), "numeric"),
    ],
)
def test_invalid_embeddings_raise(bad, message):
    with pytest.raises(ValueError, match=message):
        build_knn_graph(bad)


def test_invalid_settings_raise():
    X = np.eye(3)
    with pytest.raises(ValueError, match="metric"):
        build_knn_graph(X, metric="manhattan")
    with pytest.raises(ValueError, match="method"):
        build_knn_graph(X, method="faiss")
    with pytest.raises(ValueError, match="n_neighbors"):
        build_knn_graph(X, n_neighbors=0)


def test_graph_keeps_normalised_embeddings_and_zero_rows_are_similar_to_nothing():
    X = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [3.0, 4.1, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    graph = build_knn_graph(X, n_neighbors=3)
    np.testing.assert_allclose(np.linalg.norm(graph.embeddings, axis=1), 1.0, atol=1e-6)
    assert graph.method == "exact" and graph.metric == "cosine"
    # The zero row is not everyone's neighbour at similarity 0 ahead of real neighbours.
    assert graph.indices[0, 0] == 2
    assert np.all(np.diff(graph.similarities, axis=1) <= 0)


def test_prepare_embeddings_copies_only_when_needed():
    unit = np.array([[0.6, 0.8], [1.0, 0.0]], dtype=np.float32)
    assert prepare_embeddings(unit, "cosine") is unit  # already unit float32: no 1.5 GB copy at 1M rows
    scaled = unit * 2
    np.testing.assert_allclose(prepare_embeddings(scaled, "cosine"), unit, atol=1e-6)
    np.testing.assert_array_equal(scaled, unit * 2)  # the input is not modified
    np.testing.assert_array_equal(prepare_embeddings(scaled, "euclidean"), scaled)


def test_auto_method_threshold():
    assert resolve_method(EXACT_MAX_ROWS - 1) == "exact"
    assert resolve_method(EXACT_MAX_ROWS) == "pynndescent"


def test_knngraph_validates_shapes():
    with pytest.raises(ValueError, match="same shape"):
        KNNGraph(np.zeros((3, 2), np.int64), np.zeros((3, 1), np.float32), "cosine", "exact")


def test_similarity_to_dimension_mismatch():
    with pytest.raises(ValueError, match="same dimension"):
        similarity_to(np.ones((2, 3)), np.ones((2, 4)))


@pytest.fixture(scope="module")
def pynndescent_graphs():
    """Build once per module: the first NNDescent in a process spends 25-60 s in numba."""
    warm_up_jit(background=False)  # also exercises the warm-up path
    X = clustered(3000, 32, 30, seed=3)
    # Duplicate some rows so self-exclusion under distance-0 ties is exercised.
    X[100:110] = X[0]
    return X, build_knn_graph(X, n_neighbors=15, method="pynndescent", random_state=0)


@pytest.mark.slow
def test_pynndescent_recall_and_contract(pynndescent_graphs):
    X, graph = pynndescent_graphs
    exact = build_knn_graph(X, n_neighbors=15, method="exact")
    assert graph.method == "pynndescent" and graph.indices.shape == (3000, 15)
    assert graph.indices.dtype == np.int64 and graph.similarities.dtype == np.float32
    assert not (graph.indices == np.arange(3000)[:, None]).any()
    assert (graph.indices >= 0).all()
    assert np.all(np.diff(graph.similarities, axis=1) <= 1e-6)
    hits = sum(np.intersect1d(a, b).size for a, b in zip(graph.indices, exact.indices, strict=True))
    assert hits / exact.indices.size >= 0.95
    # Similarities are cosine similarities of the listed pairs (converted from distances).
    pairs = np.einsum("id,ikd->ik", graph.embeddings, graph.embeddings[graph.indices])
    np.testing.assert_allclose(graph.similarities, pairs, atol=1e-4)


def test_cached_knn_graph_hits_invalidates_and_recovers(monkeypatch, tmp_path):
    monkeypatch.setenv("EPOXY_DATA_DIR", str(tmp_path / "data"))
    built: list[tuple[int, str]] = []
    real = neighbors.build_knn_graph

    def counting(embeddings, n_neighbors=30, metric="cosine", method="auto", random_state=0):
        built.append((n_neighbors, metric))
        return real(embeddings, n_neighbors=n_neighbors, metric=metric, method=method, random_state=random_state)

    monkeypatch.setattr(neighbors, "build_knn_graph", counting)
    X = np.random.default_rng(0).standard_normal((40, 5)).astype(np.float32)
    first = cached_knn_graph(X, n_neighbors=4)
    second = cached_knn_graph(X, n_neighbors=4)
    assert built == [(4, "cosine")]
    np.testing.assert_array_equal(first.indices, second.indices)
    np.testing.assert_array_equal(first.similarities, second.similarities)
    assert second.method == "exact" and second.embeddings is not None
    np.testing.assert_allclose(np.linalg.norm(second.embeddings, axis=1), 1.0, atol=1e-6)

    cached_knn_graph(X, n_neighbors=5)  # other settings -> rebuild
    cached_knn_graph(X, n_neighbors=4, metric="euclidean")
    assert built == [(4, "cosine"), (5, "cosine"), (4, "euclidean")]

    # Truncate every cached graph: the next call rebuilds instead of failing.
    for path in cache_dir().glob("*.npz"):
        path.write_bytes(path.read_bytes()[:100])
    third = cached_knn_graph(X, n_neighbors=4)
    assert built[-1] == (4, "cosine") and len(built) == 4
    np.testing.assert_array_equal(third.indices, first.indices)
