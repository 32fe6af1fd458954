"""Tests for epoxy_core.lf.python: LabelingFunction(name, f) and the labeling_function decorator."""

from __future__ import annotations

import pandas as pd
import pytest

from epoxy_core.lf import (
    KeywordLF,
    LabelingFunction,
    apply_lfs,
    labeling_function,
    lf_from_dict,
    lfs_to_json,
)

# ---------------------------------------------------------------------------------------------- PythonLF


def test_python_lf_bool_int_and_none_results():
    df = pd.DataFrame({"text": ["a b", "a b c d", "x"], "n": [1, 2, 3]})
    assert LabelingFunction("short", lambda row: len(row.text.split()) < 3, label=0).apply(df).tolist() == [0, -1, 0]
    assert LabelingFunction("by n", lambda row: row["n"] - 2, label=None).apply(df).tolist() == [-1, 0, 1]
    assert LabelingFunction("none", lambda row: None, label=1).apply(df).tolist() == [-1, -1, -1]


def test_labeling_function_decorator_with_and_without_arguments():
    @labeling_function(label=1)
    def has_link(row):
        return "http" in row.text

    @labeling_function
    def vote_zero(row):
        return 0

    @labeling_function(name="renamed", label=0)
    def original(row):
        return True

    df = pd.DataFrame({"text": ["see http://x", "nope"]})
    assert isinstance(has_link, LabelingFunction)
    assert (has_link.name, vote_zero.name, original.name) == ("has_link", "vote_zero", "renamed")
    assert apply_lfs([has_link, vote_zero, original], df).tolist() == [[1, 0, 0], [-1, 0, 0]]
    assert has_link({"text": "http"}) is True


def test_python_lf_errors_name_the_lf_and_row():
    df = pd.DataFrame({"text": ["ok", None]})
    with pytest.raises(ValueError, match=r"LabelingFunction 'upper' failed on row 1: AttributeError"):
        LabelingFunction("upper", lambda row: row.text.isupper(), label=0).apply(df)
    with pytest.raises(ValueError, match="returns true/false, so it needs a label"):
        LabelingFunction("nolabel", lambda row: True, label=None).apply(df)
    with pytest.raises(ValueError, match=r"returned 'spam' on row 0"):
        LabelingFunction("str", lambda row: "spam", label=None).apply(df)
    with pytest.raises(ValueError, match="f must be callable"):
        LabelingFunction("f", "lambda row: True", label=0)


def test_python_lf_is_not_json_serialisable():
    lf = LabelingFunction("code", lambda row: True, label=0)
    with pytest.raises(ValueError, match="LabelingFunction 'code' wraps Python code and cannot be saved as JSON"):
        lfs_to_json([KeywordLF("k", 0, ["k"]), lf])
    with pytest.raises(ValueError, match="never read from JSON"):
        lf_from_dict({"type": "python", "name": "x", "label": 0, "func": "os.system('rm -rf /')"})


def test_arguments_after_f_are_keyword_only_as_snorkel_users_expect():
    # Snorkel's third positional is resources: LabelingFunction("x", f, {"k": 1}) must not become label={"k": 1}.
    with pytest.raises(TypeError):
        LabelingFunction("x", lambda row, k: True, {"k": 1})  # type: ignore[misc]
    with pytest.raises(TypeError):
        labeling_function("x", 1)  # type: ignore[misc]
    lf = LabelingFunction("x", lambda row, k: row.text == k, label=1, resources={"k": "a"})
    assert lf.apply(pd.DataFrame({"text": ["a", "b"]})).tolist() == [1, -1]
