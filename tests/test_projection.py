"""Tests for epoxy_core.projection: UMAP from the k-NN graph, the PCA fallback, sampling and determinism."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from epoxy_core import projection
from epoxy_core.neighbors import build_knn_graph
from epoxy_core.projection import _umap_knn, map_points, pca_points, umap_points


def blobs(n: int = 300, d: int = 16, centres: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, centres, n)
    points = rng.normal(size=(centres, d))[labels] * 6 + rng.normal(size=(n, d))
    return points.astype(np.float32), labels


def test_pca_samples_deterministically_and_keeps_row_ids():
    X, _ = blobs(500)
    a = pca_points(X, max_points=50, seed=3)
    b = pca_points(X, max_points=50, seed=3)
    assert list(a.columns) == ["row", "x", "y"]
    assert len(a) == 50 and a["row"].is_monotonic_increasing and a["row"].is_unique
    assert a.equals(b)
    assert not a["row"].equals(pca_points(X, max_points=50, seed=4)["row"])
    assert (a.attrs["method"], a.attrs["n_rows"]) == ("pca", 500)
    # The coordinates of a sampled row are those of the PCA of the sample, not of another row.
    assert np.isfinite(a[["x", "y"]].to_numpy()).all()


def test_include_forces_rows_into_the_sample():
    X, _ = blobs(500)
    dev = [3, 250, 499]
    points = pca_points(X, max_points=20, include=dev)
    assert set(dev) <= set(points["row"]) and len(points) == 20
    assert len(pca_points(X, max_points=2, include=dev)) == 3  # forced rows win over the cap
    with pytest.raises(ValueError, match="include holds row 500"):
        pca_points(X, max_points=20, include=[500])
    with pytest.raises(ValueError, match="include holds row -1"):
        pca_points(X, max_points=20, include=[-1, 4])


def test_small_data_is_drawn_whole_and_degenerate_data_on_a_line():
    assert pca_points(np.eye(4), max_points=10)["row"].tolist() == [0, 1, 2, 3]
    line = pca_points(np.ones((1, 3)))
    assert line[["x", "y"]].to_numpy().tolist() == [[0.0, 0.0]]
    with pytest.raises(ValueError, match="max_points must be a positive integer"):
        pca_points(np.eye(3), max_points=0)
    with pytest.raises(ValueError, match="NaN"):
        pca_points(np.full((3, 2), np.nan))


def test_graph_becomes_umaps_precomputed_knn_with_each_row_first():
    graph = SimpleNamespace(
        indices=np.array([[1, 2, 3], [0, 2, 3], [3, 1, 0], [2, 0, 1]]),
        similarities=np.array([[0.9, 0.5, 0.1], [0.9, 0.8, 0.2], [0.7, 0.8, 0.5], [0.7, 0.1, 0.2]], np.float32),
        metric="cosine",
    )
    indices, distances = _umap_knn(graph, n_neighbors=3)
    assert indices.tolist() == [[0, 1, 2], [1, 0, 2], [2, 3, 1], [3, 2, 0]]
    assert distances[:, 0].tolist() == [0.0] * 4
    assert distances[0].tolist() == pytest.approx([0.0, 0.1, 0.5])
    assert indices.base is None or indices.base is not graph.indices  # fresh arrays: umap-learn writes into them
    euclid = SimpleNamespace(indices=graph.indices, similarities=-np.abs(graph.similarities), metric="euclidean")
    assert _umap_knn(euclid, 2)[1][0].tolist() == pytest.approx([0.0, 0.9])
    # More neighbours asked than the graph has: all of them, plus the row itself.
    assert _umap_knn(graph, 50)[0].shape == (4, 4)


def test_map_points_falls_back_to_pca_and_says_why(monkeypatch):
    X, _ = blobs(100)
    assert map_points(embeddings=X).attrs["note"] == "PCA: no k-NN graph was given."
    graph = build_knn_graph(X, n_neighbors=10, method="exact")
    monkeypatch.setattr(projection, "umap_available", lambda: False)
    points = map_points(graph)
    assert (points.attrs["method"], points.attrs["note"]) == ("pca", "PCA: umap-learn is not installed.")
    monkeypatch.setattr(projection, "umap_available", lambda: True)
    monkeypatch.setattr(projection, "MAX_UMAP_ROWS", 50)
    assert "above 50 rows" in map_points(graph).attrs["note"]
    tiny = build_knn_graph(X[:5], n_neighbors=3, method="exact")
    assert "at least 10 rows" in map_points(tiny).attrs["note"]


def test_map_points_refuses_what_it_cannot_draw():
    X, _ = blobs(30)
    with pytest.raises(ValueError, match="needs the rows' embeddings"):
        map_points()
    with pytest.raises(ValueError, match="method='umap' lays out the k-NN graph"):
        map_points(embeddings=X, method="umap")
    with pytest.raises(ValueError, match="method must be"):
        map_points(embeddings=X, method="tsne")  # type: ignore[arg-type]
    graph = build_knn_graph(X, n_neighbors=5, method="exact")
    with pytest.raises(ValueError, match="embeddings have 29 rows but the graph has 30"):
        umap_points(graph, X[:29])
    with pytest.raises(ValueError, match="at least 10 rows"):
        umap_points(build_knn_graph(X[:6], n_neighbors=3, method="exact"))


def test_umap_gets_the_graph_as_precomputed_knn_and_returns_the_sample(monkeypatch):
    import sys

    seen = {}

    class FakeUMAP:
        def __init__(self, **settings):
            seen.update(settings)

        def fit_transform(self, X):
            seen["X"] = X
            return np.column_stack([np.arange(len(X)), -np.arange(len(X))]).astype(np.float32)

    monkeypatch.setitem(sys.modules, "umap", SimpleNamespace(UMAP=FakeUMAP))
    X, _ = blobs(60)
    graph = build_knn_graph(X, n_neighbors=8, method="exact")
    points = umap_points(graph, max_points=20, include=[59], n_neighbors=30, seed=5)
    indices, distances = seen["precomputed_knn"]
    assert seen["n_neighbors"] == 9 and indices.shape == (60, 9)  # capped at the graph's 8 neighbours + the row
    assert (indices[:, 0] == np.arange(60)).all() and (indices[:, 1:] == graph.indices).all()
    assert np.allclose(distances[:, 1:], 1 - graph.similarities)
    assert (seen["metric"], seen["random_state"], seen["n_components"]) == ("cosine", 5, 2)
    assert seen["X"] is graph.embeddings
    assert 59 in points["row"].tolist() and len(points) == 20
    assert (points["x"] == points["row"]).all()  # each drawn row keeps its own coordinates
    assert points.attrs == {"method": "umap", "n_rows": 60, "note": ""}


@pytest.mark.slow
def test_umap_from_the_graph_is_deterministic_and_separates_clusters():
    X, labels = blobs(400, centres=3)
    graph = build_knn_graph(X, n_neighbors=15, method="exact")
    first = map_points(graph, max_points=150, include=[0, 1, 2], seed=7)
    second = umap_points(graph, max_points=150, include=[0, 1, 2], seed=7)
    assert first.attrs["method"] == "umap" and first.attrs["n_rows"] == 400
    assert len(first) == 150 and {0, 1, 2} <= set(first["row"])
    assert first.equals(second)  # same seed, same map
    # Clusters stay apart: each point's nearest drawn point is of its own cluster.
    xy = first[["x", "y"]].to_numpy()
    distance = ((xy[:, None] - xy[None]) ** 2).sum(axis=2)
    np.fill_diagonal(distance, np.inf)
    truth = labels[first["row"].to_numpy()]
    assert (truth[distance.argmin(axis=1)] == truth).mean() > 0.95
