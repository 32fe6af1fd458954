"""Tests for epoxy_core.charts: the charts carry the right data and encodings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epoxy_core import charts


def _values(chart) -> list[dict]:
    """The inline data rows of a (single-view) chart."""
    spec = chart.to_dict()
    name = spec["data"]["name"]
    return spec["datasets"][name]


def test_coverage_lift_has_one_bar_per_lf_and_stage_with_lift():
    summary = pd.DataFrame({"coverage": [0.1, 0.5], "extended_coverage": [0.3, 0.5]}, index=["kw", "rx"])
    rows = _values(charts.coverage_lift(summary))
    assert len(rows) == 4
    by_key = {(r["LF"], r["stage"]): r for r in rows}
    assert by_key[("kw", "before extension")]["coverage"] == pytest.approx(0.1)
    assert by_key[("kw", "after extension")]["coverage"] == pytest.approx(0.3)
    assert by_key[("kw", "after extension")]["lift"] == pytest.approx(0.2)
    assert by_key[("rx", "before extension")]["lift"] == pytest.approx(0.0)


def test_coverage_lift_takes_names_from_a_name_column():
    summary = pd.DataFrame({"name": ["a"], "coverage": [0.2], "extended_coverage": [0.4]})
    rows = _values(charts.coverage_lift(summary))
    assert {r["LF"] for r in rows} == {"a"}


def test_coverage_lift_missing_column_is_a_value_error():
    with pytest.raises(ValueError, match="extended_coverage"):
        charts.coverage_lift(pd.DataFrame({"coverage": [0.1]}))


def test_accuracy_comparison_drops_unknown_accuracies():
    summary = pd.DataFrame(
        {"estimated_accuracy": [0.9, 0.7], "empirical_accuracy": [0.8, np.nan]},
        index=["a", "b"],
    )
    rows = _values(charts.accuracy_comparison(summary))
    assert len(rows) == 3  # b has no measured accuracy
    assert {(r["LF"], r["kind"]) for r in rows} == {
        ("a", "estimated (label model)"),
        ("b", "estimated (label model)"),
        ("a", "measured on dev"),
    }


def test_accuracy_comparison_without_a_label_model_shows_measured_only():
    rows = _values(charts.accuracy_comparison(pd.DataFrame({"empirical_accuracy": [0.5]}, index=["a"])))
    assert [(r["LF"], r["kind"], r["accuracy"]) for r in rows] == [("a", "measured on dev", 0.5)]
    with pytest.raises(ValueError, match="at least one of"):
        charts.accuracy_comparison(pd.DataFrame({"coverage": [0.5]}))


def test_embedding_map_keeps_class_colours_in_class_order_and_greys_unlabeled():
    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5], "label": ["spam", "unlabeled", "ham"]})
    spec = charts.embedding_map(points, class_names=["ham", "spam"]).to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"] == ["ham", "spam", "unlabeled"]
    assert scale["range"][2] == "#c7c7c7"
    assert scale["range"][0] != scale["range"][1]


def test_class_balance_rejects_length_mismatch():
    with pytest.raises(ValueError, match="one value per class"):
        charts.class_balance([0.5, 0.5], ["a", "b", "c"])


def test_class_balance_values():
    rows = _values(charts.class_balance([0.25, 0.75], ["ham", "spam"]))
    assert [(r["class"], r["probability"]) for r in rows] == [("ham", 0.25), ("spam", 0.75)]


def test_model_comparison_from_mapping_and_unknown_metric():
    metrics = {"label model": {"accuracy": 0.9}, "majority vote": {"accuracy": 0.8}}
    spec = charts.model_comparison(metrics).to_dict()
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert {(r["model"], r["accuracy"]) for r in rows} == {("label model", 0.9), ("majority vote", 0.8)}
    with pytest.raises(ValueError, match="f1"):
        charts.model_comparison(metrics, metric="f1")


def test_confidence_histogram_uses_row_maxima():
    proba = np.array([[0.9, 0.1], [0.4, 0.6]])
    rows = _values(charts.confidence_histogram(proba))
    assert [r["confidence"] for r in rows] == [0.9, 0.6]
    with pytest.raises(ValueError, match="shape"):
        charts.confidence_histogram(np.array([0.5, 0.5]))
