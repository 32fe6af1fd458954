"""Tests for epoxy_core.lf.column: column rules on every dtype, precomputed vote columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epoxy_core.lf import (
    ColumnRuleLF,
    VoteColumnLF,
    apply_lfs,
)

# ---------------------------------------------------------------------------------------------- ColumnRuleLF


@pytest.fixture
def numbers():
    return pd.DataFrame(
        {
            "x": [1.0, 2.0, np.nan, 3.0],
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "flag": [True, False, True, False],
        }
    )


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", 2, [-1, 0, -1, -1]),
        ("!=", 2, [0, -1, -1, 0]),  # NaN != 2 is true in numpy, but a missing cell abstains
        ("<", 2, [0, -1, -1, -1]),
        ("<=", 2, [0, 0, -1, -1]),
        (">", 2.5, [-1, -1, -1, 0]),
        (">=", 2, [-1, 0, -1, 0]),
        ("in", [1, 3], [0, -1, -1, 0]),
        ("not in", [1, 3], [-1, 0, -1, -1]),
        ("is missing", None, [-1, -1, 0, -1]),
        ("is not missing", None, [0, 0, -1, 0]),
        ("contains", "2", [-1, 0, -1, -1]),
        (">", "1.5", [-1, 0, -1, 0]),  # numeric strings are read as numbers on numeric columns
    ],
)
def test_column_rule_on_float_column_with_missing_values(numbers, op, value, expected):
    assert ColumnRuleLF("rule", 0, "x", op, value).apply(numbers).tolist() == expected


def test_column_rule_on_nullable_integer_column(numbers):
    assert ColumnRuleLF("r", 1, "n", ">=", 3).apply(numbers).tolist() == [-1, -1, 1, 1]
    assert ColumnRuleLF("r", 1, "n", "!=", 3).apply(numbers).tolist() == [1, -1, -1, 1]
    assert ColumnRuleLF("r", 1, "n", "is missing").apply(numbers).tolist() == [-1, 1, -1, -1]


def test_column_rule_on_bool_column(numbers):
    assert ColumnRuleLF("r", 1, "flag", "==", True).apply(numbers).tolist() == [1, -1, 1, -1]


def test_column_rule_on_text_and_categorical_columns():
    df = pd.DataFrame(
        {
            "author": ["Ann", "bob", None, "Ann Lee"],
            "cat": pd.Categorical(["a", "b", "a", None]),
        }
    )
    assert ColumnRuleLF("r", 0, "author", "==", "Ann").apply(df).tolist() == [0, -1, -1, -1]
    assert ColumnRuleLF("r", 0, "author", "!=", "Ann").apply(df).tolist() == [-1, 0, -1, 0]
    assert ColumnRuleLF("r", 0, "author", "in", ["bob", "Ann"]).apply(df).tolist() == [0, 0, -1, -1]
    assert ColumnRuleLF("r", 0, "author", "not in", ["bob"]).apply(df).tolist() == [0, -1, -1, 0]
    assert ColumnRuleLF("r", 0, "author", "contains", "Ann").apply(df).tolist() == [0, -1, -1, 0]
    assert ColumnRuleLF("r", 0, "author", "contains", "ann").apply(df).tolist() == [-1, -1, -1, -1]
    assert ColumnRuleLF("r", 0, "cat", "==", "a").apply(df).tolist() == [0, -1, 0, -1]
    assert ColumnRuleLF("r", 0, "cat", "not in", ["a"]).apply(df).tolist() == [-1, 0, -1, -1]


def test_column_rule_on_date_column():
    df = pd.DataFrame({"date": pd.to_datetime(["2014-01-01", "2015-06-01", None])})
    assert ColumnRuleLF("r", 1, "date", ">=", "2015-01-01").apply(df).tolist() == [-1, 1, -1]
    aware = pd.DataFrame({"date": pd.to_datetime(["2014-01-01 23:00", "2015-06-01 00:00", None]).tz_localize("UTC")})
    assert ColumnRuleLF("r", 1, "date", ">=", "2014-01-01 22:00").apply(aware).tolist() == [1, 1, -1]
    assert ColumnRuleLF("r", 1, "date", "<", "2014-01-02T00:30+02:00").apply(aware).tolist() == [-1, -1, -1]
    assert ColumnRuleLF("r", 1, "date", "<", "2014-01-02T01:30+02:00").apply(aware).tolist() == [1, -1, -1]
    assert ColumnRuleLF("r", 1, "date", "<", "2014-01-01T03:00+02:00").apply(df).tolist() == [1, -1, -1]
    with pytest.raises(ValueError, match="holds dates, so '<' needs a date"):
        ColumnRuleLF("r", 1, "date", "<", "soon").apply(df)


def test_column_rule_type_errors_are_explicit(numbers):
    with pytest.raises(ValueError, match=r"column 'x' is numeric, so '<' needs a number; got 'abc'"):
        ColumnRuleLF("r", 0, "x", "<", "abc").apply(numbers)
    with pytest.raises(ValueError, match=r"'>' compares numbers or dates, but column 'text' holds text"):
        ColumnRuleLF("r", 0, "text", ">", 3).apply(pd.DataFrame({"text": ["a"]}))


@pytest.mark.parametrize(
    ("op", "value", "message"),
    [
        ("~=", 1, "op must be one of"),
        ("in", "abc", "must be a list of values"),
        ("in", [], "at least one value"),
        ("is missing", 3, "must be empty"),
        ("==", None, "is required for '=='"),
        ("==", float("nan"), "finite number"),
        ("==", [1], "must be a number, a string"),
        ("contains", 5, "non-empty string for 'contains'"),
        ("in", [1, {"a": 1}], r"value\[1\] must be a number"),
    ],
)
def test_column_rule_validates_at_construction(op, value, message):
    with pytest.raises(ValueError, match=message):
        ColumnRuleLF("r", 0, "x", op, value)


# ---------------------------------------------------------------------------------------------- VoteColumnLF


def test_vote_column_copies_votes_and_treats_missing_as_abstain():
    df = pd.DataFrame({"v": [0, 1, -1, None, 2.0]})
    lf = VoteColumnLF("imported", "v")
    assert lf.label is None
    assert lf.apply(df).tolist() == [0, 1, -1, -1, 2]
    assert apply_lfs([lf], df).tolist() == [[0], [1], [-1], [-1], [2]]


def test_vote_column_checks_values_against_cardinality():
    df = pd.DataFrame({"v": [0, 2, -1]})
    with pytest.raises(ValueError, match=r"LF 'imported' voted 2 on row 1; .* class index 0..1"):
        apply_lfs([VoteColumnLF("imported", "v")], df, cardinality=2)
    with pytest.raises(ValueError, match="voted -2"):
        VoteColumnLF("imported", "v").apply(pd.DataFrame({"v": [0, -2]}))


@pytest.mark.parametrize(
    ("values", "message"),
    [([0, 0.5], "fractional"), (["1", "spam"], "holds 'spam'"), ([True, False], "true/false")],
)
def test_vote_column_rejects_non_integer_votes(values, message):
    with pytest.raises(ValueError, match=message):
        VoteColumnLF("imported", "v").apply(pd.DataFrame({"v": values}))


def test_enabled_is_keyword_only():
    # VoteColumnLF("v", "col", False) reads like a third positional of another LF kind: refuse it.
    with pytest.raises(TypeError):
        VoteColumnLF("v", "col", False)  # type: ignore[misc]
    with pytest.raises(TypeError):
        ColumnRuleLF("r", 0, "x", ">", 1, False)  # type: ignore[misc]
    assert ColumnRuleLF("r", 0, "x", ">", 1, enabled=False).enabled is False
