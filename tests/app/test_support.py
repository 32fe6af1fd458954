"""Tests of the pure helpers in epoxy_studio (no Streamlit session needed)."""

from __future__ import annotations

import doctest
import io

import numpy as np
import pandas as pd
import pytest

from epoxy_core.data import DatasetSpec, prepare_dataset
from epoxy_studio import highlight, lf_editor, lf_preview, projection, results_view


@pytest.mark.parametrize("module", [highlight, lf_preview])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_highlight_escapes_user_text_inside_and_outside_marks():
    html = highlight.highlight_html('<script>alert("x")</script> buy <b>now</b>', [(28, 31), (32, 42)])
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html
    assert html.count("<mark") == 2
    assert ">buy</mark>" in html
    assert ">&lt;b&gt;now&lt;/b&gt;</mark>" in html


def test_highlight_cuts_long_text_around_the_first_match():
    text = "x" * 1000 + "needle" + "y" * 1000
    html = highlight.highlight_html(text, [(1000, 1006)], max_chars=100)
    assert html.startswith("…") and html.endswith("…")
    assert ">needle</mark>" in html


def test_merge_spans_clips_and_merges():
    assert highlight.merge_spans([(-3, 2), (2, 4), (10, 5), (8, 99)], 10) == [(0, 4), (8, 10)]


def test_rows_table_escapes_headers_only():
    table = highlight.rows_table_html([["<i>safe</i>"]], ["<h>"])
    assert "&lt;h&gt;" in table and "<i>safe</i>" in table


def test_pca_points_samples_and_keeps_labels():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 8)).astype(np.float32)
    labels = ["a"] * 25 + ["b"] * 25
    points = projection.pca_points(emb, labels, texts=[f"t{i}" for i in range(50)], max_points=10)
    assert len(points) == 10
    assert list(points.columns) == ["row", "x", "y", "label", "text"]
    assert all(points["label"] == ["a" if r < 25 else "b" for r in points["row"]])
    assert all(points["text"] == [f"t{r}" for r in points["row"]])
    with pytest.raises(ValueError, match="one label per embedding row"):
        projection.pca_points(emb, labels[:3])


def _dataset():
    df = pd.DataFrame({"text": ["a", "b", "c"], "label": ["spam", None, "ham"], "stars": [1.5, 3.0, None]})
    return prepare_dataset(df, DatasetSpec(text_column="text", label_column="label"))


def test_export_labels_csv_and_parquet_have_names_and_probabilities():
    dataset = _dataset()
    proba = np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])
    covered = np.array([True, False, True])
    frame = pd.read_csv(io.BytesIO(results_view.export_labels(dataset, proba, covered, "csv")))
    assert list(frame.columns) == ["text", "label", "stars", "predicted_label", "P(ham)", "P(spam)"]
    assert frame["predicted_label"].tolist()[0] == "spam" and frame["predicted_label"].isna().tolist()[1]
    assert frame["P(spam)"].tolist() == [0.8, 0.5, 0.1]
    parquet = pd.read_parquet(io.BytesIO(results_view.export_labels(dataset, proba, covered, "parquet")))
    assert parquet["predicted_label"].tolist()[::2] == ["spam", "ham"] and parquet["predicted_label"].isna()[1]
    with pytest.raises(ValueError, match="csv"):
        results_view.export_labels(dataset, proba, covered, "xlsx")


def test_matrix_npy_round_trips():
    L = np.array([[0, -1], [1, 1]], dtype=np.int8)
    back = np.load(io.BytesIO(results_view.matrix_npy(L)))
    assert back.dtype == np.int8 and back.tolist() == L.tolist()


def test_rule_values_follow_the_column_type():
    df = _dataset().df
    assert lf_editor._rule_value(df, "stars", ">=", "2") == 2
    assert lf_editor._rule_value(df, "stars", "in", "1.5, 3") == [1.5, 3]
    assert lf_editor._rule_value(df, "text", "==", "a") == "a"
    assert lf_editor._rule_value(df, "stars", "is missing", "ignored") is None
    with pytest.raises(ValueError, match="not a number"):
        lf_editor._rule_value(df, "stars", ">", "three")


def test_normalise_lf_dicts_fills_defaults_and_reports_bad_ones():
    good, errors = lf_editor.normalise_lf_dicts(
        [{"type": "keyword", "name": "k", "label": 1, "keywords": ["x"]}, {"type": "nope", "name": "bad"}]
    )
    assert good == [
        {
            "type": "keyword",
            "name": "k",
            "label": 1,
            "keywords": ["x"],
            "whole_word": True,
            "case_sensitive": False,
            "column": None,
            "enabled": True,
        }
    ]
    assert len(errors) == 1 and errors[0].startswith("bad:")


def test_lf_description_uses_class_names():
    d = {"type": "column_rule", "name": "r", "label": 0, "column": "stars", "op": "<", "value": 2}
    assert lf_editor.lf_description(d, ["ham", "spam"]) == "stars < 2 → ham"


def test_least_certain_skips_rows_without_votes_and_sorts_by_confidence():
    dataset = _dataset()
    proba = np.array([[0.6, 0.4], [0.5, 0.5], [0.9, 0.1]])
    table = results_view.least_certain(dataset, proba, covered=np.array([True, False, True]), n=5)
    assert table.index.tolist() == [0, 2]
    assert table["confidence"].tolist() == [0.6, 0.9]
    assert table["P(spam)"].tolist() == [0.4, 0.1]
