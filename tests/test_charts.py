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


# ------------------------------------------------------------------------- the data map


def map_points(rows, n_rows, method="umap"):
    points = pd.DataFrame({"row": rows, "x": np.arange(len(rows), dtype=float), "y": np.zeros(len(rows))})
    points.attrs.update(method=method, n_rows=n_rows)
    return points


POINTS = map_points([0, 2, 3, 5], n_rows=6)
TEXTS = ["t0", "t1", "a" * 500, None, "t4", "t5"]


def _by_row(chart) -> dict[int, dict]:
    return {r["row"]: r for r in _values(chart)}


def test_map_by_class_colours_the_sampled_rows_in_class_order():
    chart = charts.map_by_class(POINTS, [1, 0, 0, -1, 1, 1], ["ham", "spam"], texts=TEXTS)
    rows = _by_row(chart)
    assert sorted(rows) == [0, 2, 3, 5]
    assert {r: v["predicted"] for r, v in rows.items()} == {0: "spam", 2: "ham", 3: "no prediction", 5: "spam"}
    assert len(rows[2]["text"]) == 200 and rows[3]["text"] == ""
    spec = chart.to_dict()
    assert spec["title"] == "Predicted class (UMAP map)"
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"] == ["ham", "spam", "no prediction"] and scale["range"][2] == "#c7c7c7"
    assert [t["field"] for t in spec["encoding"]["tooltip"]] == ["row", "predicted", "text"]


def test_map_charts_carry_a_named_point_selection_and_zoom():
    spec = charts.map_by_class(POINTS, [0] * 6, ["ham", "spam"]).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    picker = params[charts.MAP_SELECTION]
    assert picker["select"]["type"] == "point" and picker["select"]["fields"] == ["row"]
    assert any(p.get("bind") == "scales" for p in params.values())
    assert spec["encoding"]["opacity"]["condition"]["param"] == charts.MAP_SELECTION
    interval = charts.map_by_class(POINTS, [0] * 6, ["ham", "spam"], selection="interval").to_dict()
    assert [p["select"]["type"] for p in interval["params"]] == ["interval"]
    with pytest.raises(ValueError, match="selection must be"):
        charts.map_by_class(POINTS, [0] * 6, ["ham", "spam"], selection="lasso")


def test_map_by_lf_tells_own_votes_from_extended_ones():
    votes = [1, -1, -1, -1, 0, 0]
    extended = [1, 1, 0, -1, 0, 0]
    chart = charts.map_by_lf(POINTS, votes, extended, ["ham", "spam"], lf_name="subscribe")
    assert {r: v["vote"] for r, v in _by_row(chart).items()} == {
        0: "spam (own vote)",
        2: "ham (extended)",
        3: "abstains",
        5: "ham (own vote)",
    }
    spec = chart.to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"] == [
        "ham (own vote)",
        "spam (own vote)",
        "ham (extended)",
        "spam (extended)",
        "abstains",
    ]
    own, extended_colour = scale["range"][0], scale["range"][2]
    assert own != extended_colour and extended_colour == charts._tint(own)
    assert "'subscribe'" in spec["title"]


def test_map_by_confidence_and_dev_label():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5], [0.2, 0.8]])
    rows = _by_row(charts.map_by_confidence(POINTS, proba, class_names=["ham", "spam"]))
    assert {r: (v["confidence"], v["most likely"]) for r, v in rows.items()} == {
        0: (0.9, "ham"),
        2: (0.7, "spam"),
        3: (0.6, "ham"),
        5: (0.8, "spam"),
    }
    chart = charts.map_by_dev_label(map_points([0, 2, 3, 5], 6, method="pca"), [-1, 0, 1, -1, 0, -1], ["ham", "spam"])
    values = _values(chart)
    assert [(r["row"], r["dev label"]) for r in values] == [
        (0, "unlabeled"),
        (3, "unlabeled"),
        (5, "unlabeled"),
        (2, "spam"),
    ]  # labelled rows drawn on top
    assert chart.to_dict()["title"] == "Dev labels (PCA map)"


def test_map_charts_want_full_length_per_row_arrays():
    with pytest.raises(ValueError, match=r"one value per row of the data \(6\); got shape \(4,\)"):
        charts.map_by_class(POINTS, [0, 1, 0, 1], ["ham", "spam"])
    with pytest.raises(ValueError, match="proba must have shape"):
        charts.map_by_confidence(POINTS, [0.5] * 6)
    with pytest.raises(ValueError, match="needs columns"):
        charts.map_by_class(pd.DataFrame({"x": [0.0]}), [0], ["a"])


def test_selected_rows_reads_streamlits_selection_state():
    event = {"selection": {charts.MAP_SELECTION: [{"row": 5}, {"row": 2}, {"row": 5}]}}
    assert charts.selected_rows(event) == [2, 5]
    assert charts.selected_rows(event["selection"]) == [2, 5]
    assert charts.selected_rows({"selection": {charts.MAP_SELECTION: []}}) == []
    assert charts.selected_rows({"selection": {}}) == []
    box = {charts.MAP_SELECTION: {"x": [2.5, 0.5], "y": [-1, 1]}}
    assert charts.selected_rows(box, POINTS) == [2, 3]
    with pytest.raises(ValueError, match="pass the map's points"):
        charts.selected_rows(box)


def test_extension_curve_chart_layers_lift_accuracy_and_the_current_threshold():
    curve = pd.DataFrame(
        {"threshold": [0.9, 0.8], "added_rows": [1, 3], "coverage_lift": [0.1, 0.3], "added_accuracy": [1.0, np.nan]}
    )
    spec = charts.extension_curve_chart(curve, threshold=0.85).to_dict()
    assert len(spec["layer"]) == 3
    assert spec["resolve"]["scale"]["y"] == "independent"
    with pytest.raises(ValueError, match="needs columns"):
        charts.extension_curve_chart(curve.drop(columns="added_accuracy"))


_SUMMARY_A = pd.DataFrame(
    {
        "coverage": [0.1, 0.5],
        "extended_coverage": [0.3, 0.5],
        "estimated_accuracy": [0.9, 0.7],
        "empirical_accuracy": [0.8, np.nan],
    },
    index=["kw", "rx"],
)
_SUMMARY_B = pd.DataFrame(
    {
        "name": ["z", "a", "m"],
        "coverage": [0.2, 0.0, 0.4],
        "extended_coverage": [0.6, 0.1, 0.4],
        "estimated_accuracy": [0.6, np.nan, 0.95],
        "empirical_accuracy": [0.5, 0.9, 1.0],
        "extended_empirical_accuracy": [0.55, 0.85, np.nan],
    }
)
_COMPARISON_A = pd.DataFrame({"accuracy": [0.9, 0.8]}, index=["label model", "majority vote"])
_COMPARISON_B = pd.DataFrame({"accuracy": [0.7, np.nan, 0.75]}, index=["no extension", "label model", "end model"])

# (chart builder, its table function, two inputs with different names, lengths and missing values)
_ROW_FREE = [
    (charts.coverage_lift, charts.coverage_lift_table, (_SUMMARY_A,), (_SUMMARY_B,)),
    (charts.accuracy_comparison, charts.accuracy_comparison_table, (_SUMMARY_A,), (_SUMMARY_B,)),
    (charts.model_comparison, charts.model_comparison_table, (_COMPARISON_A,), (_COMPARISON_B,)),
    (charts.class_balance, charts.class_balance_table, ([0.4, 0.6], ["ham", "spam"]), ([0.2, 0.3, 0.5], "abc")),
]


@pytest.mark.parametrize(("build", "table", "first", "second"), _ROW_FREE, ids=lambda v: getattr(v, "__name__", ""))
def test_results_charts_are_row_free_and_draw_their_tables(build, table, first, second):
    # The page builds each spec once and draws new rows into it: the spec must not depend on the rows.
    assert charts.row_free_spec(build(*first)) == charts.row_free_spec(build(*second))
    for args in (first, second):
        spec = build(*args).to_dict()  # validated against the Vega-Lite schema
        (inline,) = spec["datasets"].values()
        rows = table(*args)
        assert pd.DataFrame(inline)[list(rows.columns)].to_dict("records") == rows.to_dict("records")
        filled = charts.with_rows(charts.row_free_spec(build(*args)), rows)
        assert filled["data"] == {"name": charts.ROWS} and filled["datasets"][charts.ROWS] is rows


def test_row_free_charts_order_categories_as_given_not_alphabetically():
    rows = charts.coverage_lift_table(_SUMMARY_B)
    assert rows.sort_values("order", kind="stable")["LF"].unique().tolist() == ["z", "a", "m"]
    spec = charts.coverage_lift(_SUMMARY_B).to_dict()
    assert spec["encoding"]["y"]["sort"] == {"field": "order", "op": "min"}
    balance = charts.class_balance_table([0.2, 0.3, 0.5], ["c", "b", "a"])
    assert balance["order"].tolist() == [0, 1, 2] and balance["colour"].nunique() == 3


def test_row_free_spec_refuses_a_chart_with_two_tables():
    curve = pd.DataFrame({"threshold": [0.9], "added_rows": [1], "coverage_lift": [0.1], "added_accuracy": [1.0]})
    with pytest.raises(ValueError, match="one inline table"):
        charts.row_free_spec(charts.extension_curve_chart(curve, threshold=0.85))
