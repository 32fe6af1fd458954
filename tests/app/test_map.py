"""The data map: UMAP layouts off the script thread (a thread or a worker process), on disk, and the map view."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from epoxy_core.data import DatasetSpec, prepare_dataset
from epoxy_studio import map_layout
from epoxy_studio.views import map as data_map
from tests.app.helpers import add_keyword_lf, build_graph, no_errors, upload_comments


def fake_layout(indices, similarities, metric, embeddings):
    """A stand-in for UMAP (importable by the worker process): the first two coordinates, and the pid."""
    xy = np.asarray(embeddings[:, :2], dtype=np.float32).copy()
    xy[0] = os.getpid()
    return xy


def failing_layout(indices, similarities, metric, embeddings):
    raise RuntimeError("no layout today")


class Graph:
    def __init__(self, n: int, d: int = 8, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.embeddings = rng.standard_normal((n, d)).astype(np.float32)
        self.indices = np.stack([np.roll(np.arange(n), -k) for k in range(1, 4)], axis=1)
        self.similarities = np.full((n, 3), 0.5, dtype=np.float32)
        self.metric = "cosine"


@pytest.fixture
def layouts(monkeypatch, data_dir):
    """A fresh process-wide registry (other tests' layouts stay out), umap-learn reported as installed."""
    registry = map_layout._Layouts()
    monkeypatch.setattr(map_layout, "_LAYOUTS", registry)
    monkeypatch.setattr("epoxy_core.projection.umap_available", lambda: True)
    return registry


def _wait(graph_key, graph, timeout=120.0):
    deadline = time.monotonic() + timeout
    while True:
        state = map_layout.layout(graph_key, graph)
        if state.status != "running" or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def test_a_small_table_is_laid_out_in_a_thread_then_read_from_disk(layouts, monkeypatch):
    monkeypatch.setattr(map_layout, "_layout_rows", fake_layout)
    graph = Graph(50)
    state = _wait("graph-a", graph)
    assert state.status == "ready" and state.xy.shape == (50, 2)
    assert state.xy[0, 0] == os.getpid()  # in this process
    np.testing.assert_array_equal(state.xy[1:], graph.embeddings[1:, :2])

    # A restarted app (a new registry) gets it from the disk cache without computing.
    monkeypatch.setattr(map_layout, "_LAYOUTS", map_layout._Layouts())
    monkeypatch.setattr(map_layout, "_layout_rows", failing_layout)
    again = map_layout.layout("graph-a", graph)
    assert again.status == "ready"
    np.testing.assert_array_equal(again.xy, state.xy)
    # Another graph key is another layout.
    assert _wait("graph-b", graph).status == "failed"


@pytest.mark.slow
def test_a_large_table_is_laid_out_in_a_worker_process(layouts, monkeypatch):
    # The worker imports the layout function by name: this module's stand-in, instead of UMAP's minutes.
    monkeypatch.setattr(map_layout, "THREAD_MAX_ROWS", 10)
    monkeypatch.setattr(map_layout, "_layout_rows", fake_layout)
    graph = Graph(60)
    assert map_layout.layout("graph-c", graph).status == "running"  # returns at once
    state = _wait("graph-c", graph)
    assert state.status == "ready", state.message
    assert state.xy[0, 0] != os.getpid()  # in another process
    np.testing.assert_array_equal(state.xy[1:], graph.embeddings[1:, :2])


def test_a_failed_layout_says_why_and_is_tried_again(layouts, monkeypatch):
    monkeypatch.setattr(map_layout, "_layout_rows", failing_layout)
    graph = Graph(30)
    state = _wait("graph-d", graph)
    assert state.status == "failed" and "no layout today" in state.message
    monkeypatch.setattr(map_layout, "_layout_rows", fake_layout)
    assert _wait("graph-d", graph).status == "ready"


def test_tables_umap_cannot_lay_out_stay_pca(monkeypatch, data_dir):
    monkeypatch.setattr("epoxy_core.projection.umap_available", lambda: False)
    assert "not installed" in map_layout.layout("k", Graph(30)).message
    monkeypatch.setattr("epoxy_core.projection.umap_available", lambda: True)
    assert map_layout.layout("k", Graph(5)).status == "unavailable"


def _dataset(n: int = 12):
    frame = pd.DataFrame(
        {"text": [f"row {i}" for i in range(n)], "label": ["spam" if i % 4 == 0 else "" for i in range(n)]}
    )
    return prepare_dataset(frame, DatasetSpec("text", "label", class_names=["ham", "spam"])).with_hand_labels({1: 0})


def test_the_selected_rows_table_says_which_labels_are_hand_labels_and_what_is_predicted():
    from types import SimpleNamespace

    dataset = _dataset()
    proba = np.tile([0.3, 0.7], (12, 1))
    results = SimpleNamespace(proba=proba, covered=np.arange(12) % 2 == 0)
    table = data_map.selected_table(dataset, [0, 1, 3], results)
    assert table["dev label"].tolist() == ["spam", "ham (hand)", "—"]
    assert table["predicted"].tolist() == ["spam", "—", "—"]  # no LF votes on rows 1 and 3
    end = SimpleNamespace(proba=np.tile([0.9, 0.1], (12, 1)), stale=False)
    assert data_map.selected_table(dataset, [3], results, end)["predicted"].tolist() == ["ham"]
    stale = SimpleNamespace(proba=np.tile([0.9, 0.1], (12, 1)), stale=True)  # fitted for other results
    assert data_map.predictions_of(results, stale)[2] == "label model"


def _spec(at, index: int = 0) -> dict:
    import json

    return json.loads(at.get("vega_lite_chart")[index].proto.spec)


def _chart_data(at, index: int = 0) -> pd.DataFrame:
    """The points the chart was sent (Streamlit moves a chart's datasets out of its spec, as Arrow)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    proto = at.get("vega_lite_chart")[index].proto
    return convert_arrow_bytes_to_pandas_df(proto.datasets[0].data.data)


@pytest.mark.slow
def test_the_data_page_map_draws_pca_then_umap_and_colours_by_lf(new_app, layouts, monkeypatch):
    monkeypatch.setattr(map_layout, "_layout_rows", fake_layout)
    at = new_app()
    upload_comments(at)
    build_graph(at)
    add_keyword_lf(at, "buy", "my, check, free, visit", 1)
    at.switch_page("app_pages/data.py").run()
    no_errors(at)
    spec = _spec(at)
    assert "Dev labels" in str(spec["title"]) and "dev label" in spec["encoding"]["color"]["field"]
    options = at.selectbox(key="data.map.colour").options
    assert options == ["dev label", "predicted class", "confidence", "LF: buy"]
    deadline = time.monotonic() + 60  # the stand-in layout takes milliseconds, in the background
    while "UMAP map" not in str(_spec(at)["title"]) and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert "UMAP map" in str(_spec(at)["title"])

    at.selectbox(key="data.map.colour").set_value("LF: buy").run()
    no_errors(at)
    spec = _spec(at)
    assert "own and extended votes" in str(spec["title"])
    points = _chart_data(at)
    assert len(points) == 40 and points["text"].str.len().gt(0).all()  # every row, its text in the tooltip
    values = set(points["vote"])
    assert "spam (own vote)" in values and values <= {"spam (own vote)", "spam (extended)", "abstains"}
    at.selectbox(key="data.map.colour").set_value("predicted class").run()
    no_errors(at)
    assert "Predicted class" in str(_spec(at)["title"])
