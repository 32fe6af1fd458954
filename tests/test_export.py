"""The labels output (epoxy_core.export): column shape, LF lists, and never overwriting a user column."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from epoxy_core.export import generated_columns, labels_arrow, labels_table, labels_to_bytes

CLASSES = ["ham", "spam"]
L = np.array([[1, -1, -1], [-1, -1, -1], [-1, 0, -1], [1, 0, -1]], dtype=np.int8)
L_EXT = np.array([[1, -1, 1], [-1, -1, -1], [1, 0, -1], [1, 0, -1]], dtype=np.int8)
LM = np.array([[0.1, 0.9], [0.4, 0.6], [0.7, 0.3], [0.5, 0.5]])
EM = np.array([[0.2, 0.8], [0.9, 0.1], [0.6, 0.4], [0.45, 0.55]])
NAMES = ["my", "song", "http"]


def test_lf_lists_name_own_and_extended_votes_separately():
    table = labels_table(CLASSES, label_model_proba=LM, L=L, L_extended=L_EXT, lf_names=NAMES)
    assert [list(v) for v in table["voted_lfs"]] == [["my"], [], ["song"], ["my", "song"]]
    assert [list(v) for v in table["extended_lfs"]] == [["http"], [], ["my"], []]
    assert table["covered"].tolist() == [True, False, True, True]


def test_label_model_alone_gives_no_label_where_no_lf_voted():
    table = labels_table(CLASSES, label_model_proba=LM, L=L, L_extended=L_EXT, lf_names=NAMES)
    assert table["label"].tolist()[0] == "spam"
    assert pd.isna(table["label"].iloc[1])  # only the prior is known there
    assert table["label"].iloc[3] == "ham"  # a tie goes to the lowest class index
    np.testing.assert_array_equal(table[["P(ham)", "P(spam)"]].to_numpy(), LM)
    assert table["row"].tolist() == [0, 1, 2, 3]


def test_end_model_labels_every_row_and_both_models_are_reported():
    table = labels_table(CLASSES, label_model_proba=LM, end_model_proba=EM, L=L, L_extended=L_EXT, lf_names=NAMES)
    assert table["label"].tolist() == ["spam", "ham", "ham", "spam"]
    np.testing.assert_array_equal(table[["P(ham)", "P(spam)"]].to_numpy(), EM)
    np.testing.assert_array_equal(table[["label_model_P(ham)", "label_model_P(spam)"]].to_numpy(), LM)
    assert table["end_model_label"].tolist() == ["spam", "ham", "ham", "spam"]
    assert pd.isna(table["label_model_label"].iloc[1])
    assert table.columns.tolist() == ["row", *generated_columns(CLASSES, both_models=True)]


def test_user_columns_are_never_overwritten_every_generated_column_is_prefixed():
    data = pd.DataFrame({"text": list("abcd"), "label": ["x", None, "y", "x"], "P(spam)": [1, 2, 3, 4]})
    original = data.copy()
    table = labels_table(CLASSES, label_model_proba=LM, L=L, L_extended=L_EXT, lf_names=NAMES, data=data)
    pd.testing.assert_frame_equal(table[original.columns], original)
    assert table.columns.tolist() == [*original.columns, *generated_columns(CLASSES, prefix="epoxy_")]
    pd.testing.assert_frame_equal(data, original)  # the input is not modified either


def test_a_collision_with_the_prefixed_names_moves_to_the_next_prefix():
    data = pd.DataFrame({"label": list("abcd"), "epoxy_covered": [0, 0, 0, 0]})
    table = labels_table(CLASSES, end_model_proba=EM, data=data)
    assert "epoxy2_label" in table.columns and table["epoxy_covered"].tolist() == [0, 0, 0, 0]


def test_an_explicit_prefix_that_collides_is_refused():
    data = pd.DataFrame({"my_label": list("abcd")})
    with pytest.raises(ValueError, match="overwrite column"):
        labels_table(CLASSES, end_model_proba=EM, data=data, prefix="my_")
    assert "x_label" in labels_table(CLASSES, end_model_proba=EM, data=data, prefix="x_").columns


def test_ids_and_offsets_identify_rows():
    table = labels_table(CLASSES, end_model_proba=EM, ids=["a", "b", "c", "d"], id_column="comment_id")
    assert table.columns[0] == "comment_id" and table["comment_id"].tolist() == ["a", "b", "c", "d"]
    assert labels_table(CLASSES, end_model_proba=EM, row_offset=10)["row"].tolist() == [10, 11, 12, 13]
    # An id column called "label" pushes the generated columns to the prefix, in Arrow too.
    arrow = labels_arrow(CLASSES, end_model_proba=EM, ids=[1, 2, 3, 4], id_column="label")
    assert arrow.column_names[:2] == ["label", "epoxy_label"]


def test_csv_writes_lf_lists_as_json_and_parquet_as_lists():
    table = labels_table(CLASSES, label_model_proba=LM, L=L, L_extended=L_EXT, lf_names=["my", 'a,b "q"', "http"])
    back = pd.read_csv(io.BytesIO(labels_to_bytes(table, "csv")))
    assert [json.loads(v) for v in back["voted_lfs"]] == [["my"], [], ['a,b "q"'], ["my", 'a,b "q"']]
    schema = pq.read_schema(io.BytesIO(labels_to_bytes(table, "parquet")))
    assert "list<" in str(schema.field("extended_lfs").type)
    with pytest.raises(ValueError, match="Unknown labels format"):
        labels_to_bytes(table, "xlsx")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs label_model_proba"),
        ({"label_model_proba": LM[:, :1]}, "one column per class"),
        ({"label_model_proba": LM, "end_model_proba": EM[:3]}, "has 3 rows"),
        ({"label_model_proba": np.full((4, 2), np.nan)}, "NaN"),
        ({"label_model_proba": LM, "L": L, "lf_names": ["a"]}, "lf_names has 1"),
        ({"label_model_proba": LM, "data": pd.DataFrame({"x": [1]})}, "have 1"),
    ],
)
def test_bad_inputs_get_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        labels_table(CLASSES, **kwargs)
