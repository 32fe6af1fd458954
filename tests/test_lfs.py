"""Tests for epoxy_core.lf: LF types, vectorised matching, spans and hostile JSON."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import (
    MAX_LFS,
    MAX_PATTERN_CHARS,
    ColumnRuleLF,
    KeywordLF,
    PythonLF,
    RegexLF,
    VoteColumnLF,
    apply_lfs,
    enabled_lfs,
    labeling_function,
    lf_from_dict,
    lf_to_dict,
    lfs_from_json,
    lfs_to_json,
    match_spans,
)


def votes(lf, texts, **columns):
    return lf.apply(pd.DataFrame({"text": texts, **columns})).tolist()


# ---------------------------------------------------------------------------------------------- KeywordLF


TEXTS = ["Check my channel", "mystery song", "MY MY", "no", "my-friend", "tommy"]


def test_keyword_whole_word_ignores_case_by_default():
    assert votes(KeywordLF("my", 1, ["my"]), TEXTS) == [1, -1, 1, -1, 1, -1]


def test_keyword_substring_mode_matches_inside_words():
    assert votes(KeywordLF("my", 1, ["my"], whole_word=False), TEXTS) == [1, 1, 1, -1, 1, 1]


def test_keyword_case_sensitive():
    assert votes(KeywordLF("MY", 0, ["MY"], case_sensitive=True), TEXTS) == [-1, -1, 0, -1, -1, -1]
    assert votes(KeywordLF("My", 0, ["my"], whole_word=False, case_sensitive=True), TEXTS) == [0, 0, -1, -1, 0, 0]


def test_keyword_any_of_several_keywords_votes():
    lf = KeywordLF("spam words", 1, ["song", "no"])
    assert votes(lf, TEXTS) == [-1, 1, -1, 1, -1, -1]


def test_keyword_punctuation_is_literal_and_boundaries_apply_only_at_word_edges():
    texts = ["I love c++!", "c++17", "abc++", "a.b", "axb", "(see)"]
    assert votes(KeywordLF("cpp", 0, ["c++"]), texts) == [0, 0, -1, -1, -1, -1]
    assert votes(KeywordLF("dot", 0, ["a.b"]), texts) == [-1, -1, -1, 0, -1, -1]
    assert votes(KeywordLF("paren", 0, ["(see)"]), texts) == [-1, -1, -1, -1, -1, 0]


def test_keyword_whole_word_understands_unicode_letters():
    texts = ["un café noir", "cafés", "xcafé", "CAFÉ!", "Über alles", "drüber"]
    assert votes(KeywordLF("cafe", 0, ["café"]), texts) == [0, -1, -1, 0, -1, -1]
    assert votes(KeywordLF("uber", 0, ["über"]), texts) == [-1, -1, -1, -1, 0, -1]


def test_keyword_next_to_non_ascii_characters():
    # Letters glue words together whatever the script; symbols and emoji separate them.
    texts = ["émy", "my€", "my😀", "é my", "émy my", "myé", "\ufeffmy", "MY٣", "my_"]
    assert votes(KeywordLF("my", 1, ["my"]), texts) == [-1, 1, 1, 1, 1, -1, 1, -1, -1]
    assert votes(KeywordLF("my", 1, ["my"], whole_word=False), texts) == [1] * 9


def test_keyword_with_spaces_tabs_and_newlines():
    texts = ["check  out", "check out", "a\tb", "x\ny"]
    assert votes(KeywordLF("co", 0, ["check out"]), texts) == [-1, 0, -1, -1]
    assert votes(KeywordLF("ws", 0, ["a\tb", "x\ny"]), texts) == [-1, -1, 0, 0]


def test_null_and_nan_texts_never_match():
    texts = [None, np.nan, "my", pd.NA]
    df = pd.DataFrame({"text": pd.Series(texts, dtype=object)})
    assert KeywordLF("my", 1, ["my"]).apply(df).tolist() == [-1, -1, 1, -1]
    assert RegexLF("any", 1, ".*").apply(df).tolist() == [-1, -1, 1, -1]
    # "nan" spelled out is not how a missing value reads.
    assert KeywordLF("nan", 1, ["nan", "none"]).apply(df).tolist() == [-1, -1, -1, -1]


def test_non_string_values_are_matched_through_str():
    df = pd.DataFrame({"text": ["x", "y", "z"], "code": [105, 15, 5], "mixed": ["a5", 5, 5.5]})
    assert KeywordLF("five", 0, ["5"], column="code").apply(df).tolist() == [-1, -1, 0]
    assert KeywordLF("five", 0, ["5"], whole_word=False, column="code").apply(df).tolist() == [0, 0, 0]
    assert KeywordLF("five", 0, ["5"], column="mixed").apply(df).tolist() == [-1, 0, 0]


def test_keyword_reads_its_own_column_or_the_given_text_column():
    df = pd.DataFrame({"text": ["my", "no"], "title": ["no", "my"]})
    assert KeywordLF("t", 1, ["my"], column="title").apply(df).tolist() == [-1, 1]
    assert KeywordLF("t", 1, ["my"]).apply(df, text_column="title").tolist() == [-1, 1]


def test_apply_returns_int8_of_data_length():
    out = KeywordLF("my", 1, ["my"]).apply(pd.DataFrame({"text": ["my"] * 3}))
    assert out.dtype == np.int8
    assert out.shape == (3,)


def test_pandas_string_dtype_and_empty_frame():
    df = pd.DataFrame({"text": pd.Series(["my", None], dtype="string")})
    assert KeywordLF("my", 1, ["my"]).apply(df).tolist() == [1, -1]
    empty = pd.DataFrame({"text": pd.Series([], dtype=object)})
    assert KeywordLF("my", 1, ["my"]).apply(empty).tolist() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keywords": []}, "keywords must not be empty"),
        ({"keywords": ["ok", "  "]}, r"keywords\[1\] must not be empty"),
        ({"keywords": "my"}, "keywords must be a list of strings"),
        ({"keywords": ["ok", 3]}, r"keywords\[1\] must be a string"),
        ({"name": ""}, "name must not be empty"),
        ({"name": "   "}, "name must not be empty"),
        ({"label": -1}, "label must be a class index between 0"),
        ({"label": True}, "label must be a class index"),
        ({"label": 1.0}, "label must be a class index"),
        ({"whole_word": "yes"}, "whole_word must be true or false"),
        ({"keywords": ["x" * (MAX_PATTERN_CHARS + 1)]}, "limit is 2,000"),
    ],
)
def test_keyword_lf_validates_at_construction(kwargs, message):
    arguments = {"name": "k", "label": 0, "keywords": ["my"], **kwargs}
    with pytest.raises(ValueError, match=message):
        KeywordLF(**arguments)


def test_keyword_list_is_stored_as_tuple_so_lfs_are_hashable():
    lf = KeywordLF("k", 0, ["a", "b"])
    assert lf.keywords == ("a", "b")
    assert hash(lf) == hash(KeywordLF("k", 0, ("a", "b")))


# ---------------------------------------------------------------------------------------------- RegexLF


def test_regex_matches_anywhere_case_insensitive_by_default():
    lf = RegexLF("check out", 1, r"check.*out")
    assert votes(lf, ["Check it OUT", "checkout", "out, check", "check\nout"]) == [1, 1, -1, -1]


def test_regex_case_sensitive_and_anchors():
    assert votes(RegexLF("r", 0, r"^[A-Z]+$", case_sensitive=True), ["ABC", "AbC", "ABC "]) == [0, -1, -1]
    assert votes(RegexLF("r", 0, r"^[A-Z]+$"), ["ABC", "AbC", "ABC "]) == [0, 0, -1]


def test_regex_alternation_keeps_case_flag_on_every_branch():
    assert votes(RegexLF("r", 0, "foo|bar"), ["FOO", "BAR", "baz"]) == [0, 0, -1]


def test_regex_syntax_error_names_position():
    with pytest.raises(ValueError, match=r"invalid regex 'a\(b': missing \), unterminated subpattern at position 1"):
        RegexLF("r", 0, "a(b")
    with pytest.raises(ValueError, match="at position 3"):
        RegexLF("r", 0, "abc)")


def test_regex_that_only_wrapping_would_fix_is_rejected():
    # "(?i:" + "a)(b" + ")" would be valid; the raw pattern must be checked first.
    with pytest.raises(ValueError, match="position 1"):
        RegexLF("r", 0, "a)(b")


@pytest.mark.parametrize("pattern", [r"(?=spam)", r"(?<!x)y", r"(a)\1", r"(?P<w>a)(?P=w)"])
def test_regex_lookarounds_and_backreferences_are_unsupported(pattern):
    with pytest.raises(ValueError, match=r"not supported by RE2 .*lookarounds .* backreferences"):
        RegexLF("r", 0, pattern)


def test_regex_accepts_re2_only_syntax():
    assert votes(RegexLF("letters", 0, r"^\pL+$"), ["héllo", "h3llo"]) == [0, -1]
    assert votes(RegexLF("plus", 0, r"c\x{2b}\x{2b}"), ["c++", "c"]) == [0, -1]


def test_regex_errors_do_not_blame_re2_only_escapes():
    # Python's re has no \pL; the position must point at the real mistake, past the escape.
    with pytest.raises(ValueError, match="at position 4"):
        RegexLF("r", 0, r"\pL+(x")
    with pytest.raises(ValueError, match=r"not supported by RE2 \(invalid repetition size"):
        RegexLF("r", 0, r"a{1001}")
    with pytest.raises(ValueError, match=r"end \\Q with \\E"):
        RegexLF("r", 0, r"\Qa)")


def test_regex_empty_or_too_long_pattern():
    with pytest.raises(ValueError, match="pattern must not be empty"):
        RegexLF("r", 0, "")
    with pytest.raises(ValueError, match="characters long; the limit is 2,000"):
        RegexLF("r", 0, "a" * 2001)


def test_catastrophic_backtracking_pattern_finishes_on_long_text():
    # Python's re would backtrack exponentially here; RE2 is linear.
    lf = RegexLF("evil", 1, r"(a+)+$", case_sensitive=True)
    long_text = "a" * 50_000 + "!"
    assert votes(lf, [long_text, "aaa"]) == [-1, 1]
    assert match_spans(lf, [long_text, "baaa"]) == [[], [(1, 4)]]
    assert votes(RegexLF("evil2", 1, r"^(\w+\s?)*$"), [long_text]) == [-1]


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


# ---------------------------------------------------------------------------------------------- PythonLF


def test_python_lf_bool_int_and_none_results():
    df = pd.DataFrame({"text": ["a b", "a b c d", "x"], "n": [1, 2, 3]})
    assert PythonLF("short", 0, lambda row: len(row.text.split()) < 3).apply(df).tolist() == [0, -1, 0]
    assert PythonLF("by n", None, lambda row: row["n"] - 2).apply(df).tolist() == [-1, 0, 1]
    assert PythonLF("none", 1, lambda row: None).apply(df).tolist() == [-1, -1, -1]


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
    assert isinstance(has_link, PythonLF)
    assert (has_link.name, vote_zero.name, original.name) == ("has_link", "vote_zero", "renamed")
    assert apply_lfs([has_link, vote_zero, original], df).tolist() == [[1, 0, 0], [-1, 0, 0]]
    assert has_link({"text": "http"}) is True


def test_python_lf_errors_name_the_lf_and_row():
    df = pd.DataFrame({"text": ["ok", None]})
    with pytest.raises(ValueError, match=r"PythonLF 'upper' failed on row 1: AttributeError"):
        PythonLF("upper", 0, lambda row: row.text.isupper()).apply(df)
    with pytest.raises(ValueError, match="returns true/false, so it needs a label"):
        PythonLF("nolabel", None, lambda row: True).apply(df)
    with pytest.raises(ValueError, match=r"returned 'spam' on row 0"):
        PythonLF("str", None, lambda row: "spam").apply(df)
    with pytest.raises(ValueError, match="func must be callable"):
        PythonLF("f", 0, "lambda row: True")


def test_python_lf_is_not_json_serialisable():
    lf = PythonLF("code", 0, lambda row: True)
    with pytest.raises(ValueError, match="PythonLF 'code' wraps Python code and cannot be saved as JSON"):
        lfs_to_json([KeywordLF("k", 0, ["k"]), lf])
    with pytest.raises(ValueError, match="never read from JSON"):
        lf_from_dict({"type": "python", "name": "x", "label": 0, "func": "os.system('rm -rf /')"})


# ---------------------------------------------------------------------------------------------- apply_lfs


@pytest.fixture
def comments():
    return pd.DataFrame(
        {
            "text": ["check out my channel", "great song", None, "subscribe plz http://x"],
            "likes": [0, 120, 5, np.nan],
        }
    )


def test_apply_lfs_stacks_votes_in_given_order_including_disabled(comments):
    lfs = [
        KeywordLF("my", 1, ["my"]),
        KeywordLF("song", 0, ["song"], enabled=False),
        RegexLF("link", 1, r"https?://"),
        ColumnRuleLF("popular", 0, "likes", ">", 100),
    ]
    L = apply_lfs(lfs, comments, cardinality=2)
    assert L.dtype == np.int8
    assert L.tolist() == [[1, -1, -1, -1], [-1, 0, -1, 0], [-1, -1, -1, -1], [-1, -1, 1, -1]]
    assert [lf.name for lf in enabled_lfs(lfs)] == ["my", "link", "popular"]
    assert apply_lfs(enabled_lfs(lfs), comments).tolist() == [[1, -1, -1], [-1, -1, 0], [-1, -1, -1], [-1, 1, -1]]


def test_apply_lfs_with_no_lfs_or_no_rows(comments):
    assert apply_lfs([], comments).shape == (4, 0)
    assert apply_lfs([KeywordLF("my", 1, ["my"])], comments.iloc[:0]).shape == (0, 1)


def test_apply_lfs_uses_positions_not_index_labels(comments):
    shuffled = comments.set_axis([10, 3, 7, 0])
    assert apply_lfs([ColumnRuleLF("popular", 0, "likes", ">", 100)], shuffled)[:, 0].tolist() == [-1, 0, -1, -1]


def test_apply_lfs_rejects_duplicate_names(comments):
    with pytest.raises(ValueError, match="Duplicate LF name 'my'"):
        apply_lfs([KeywordLF("my", 1, ["my"]), RegexLF("my", 0, "x")], comments)


def test_apply_lfs_names_missing_column_and_lists_available(comments):
    with pytest.raises(ValueError, match=r"LF 'r' needs column 'stars'.*Available columns: 'text', 'likes'"):
        apply_lfs([ColumnRuleLF("r", 0, "stars", ">", 3)], comments)
    with pytest.raises(ValueError, match="needs column 'body'"):
        apply_lfs([KeywordLF("my", 1, ["my"])], comments, text_column="body")


def test_apply_lfs_rejects_label_outside_cardinality(comments):
    with pytest.raises(ValueError, match=r"LF 'three' votes class 3, but there are only 3 classes \(0..2\)"):
        apply_lfs([KeywordLF("three", 3, ["my"])], comments, cardinality=3)
    assert apply_lfs([KeywordLF("three", 3, ["my"])], comments, cardinality=4)[:, 0].tolist() == [3, -1, -1, -1]


def test_apply_lfs_rejects_non_lfs_and_non_frames(comments):
    with pytest.raises(ValueError, match=r"lfs\[0\] is a str"):
        apply_lfs(["my"], comments)
    with pytest.raises(ValueError, match="pandas DataFrame"):
        apply_lfs([KeywordLF("my", 1, ["my"])], {"text": ["my"]})


def test_apply_lfs_converts_each_column_once_and_matches_single_lf_apply(comments):
    lfs = [KeywordLF(f"k{i}", i % 2, [word]) for i, word in enumerate(["my", "song", "plz", "http", "out"])]
    L = apply_lfs(lfs, comments)
    for j, lf in enumerate(lfs):
        assert L[:, j].tolist() == lf.apply(comments).tolist()


# ---------------------------------------------------------------------------------------------- match_spans


def test_keyword_spans_whole_words_including_adjacent_repeats():
    lf = KeywordLF("cat", 0, ["cat", "check out"])
    texts = ["cat cat", "concat cats", "CHECK OUT the cat.", None]
    assert match_spans(lf, texts) == [[(0, 3), (4, 7)], [], [(0, 9), (14, 17)], []]


def test_keyword_spans_prefer_the_longest_keyword():
    lf = KeywordLF("k", 0, ["my", "my channel"])
    assert match_spans(lf, ["see my channel"]) == [[(4, 14)]]


def test_keyword_spans_in_substring_mode_are_character_offsets():
    lf = KeywordLF("k", 0, ["é"], whole_word=False)
    text = "héhé"
    assert [text[a:b] for a, b in match_spans(lf, [text])[0]] == ["é", "é"]


def test_regex_spans_are_characters_not_bytes():
    text = "héllo wörld hello"
    spans = match_spans(RegexLF("r", 0, r"h.llo"), [text])[0]
    assert spans == [(0, 5), (12, 17)]
    assert [text[a:b] for a, b in spans] == ["héllo", "hello"]


def test_regex_spans_skip_empty_matches_and_respect_max_spans():
    assert match_spans(RegexLF("r", 0, "a*"), ["baaac", "aab", None]) == [[(1, 4)], [(0, 2)], []]
    assert match_spans(RegexLF("r", 0, "(ab)?"), ["xab ab"]) == [[(1, 3), (4, 6)]]
    assert match_spans(RegexLF("r", 0, "a"), ["aaaaa"], max_spans=2) == [[(0, 1), (1, 2)]]
    assert match_spans(KeywordLF("k", 0, ["a"]), ["a a a"], max_spans=2) == [[(0, 1), (2, 3)]]
    assert match_spans(KeywordLF("k", 0, ["a"]), ["a"], max_spans=0) == [[]]


def test_spans_of_quadratic_rewrite_patterns_stay_bounded_on_long_text():
    # Uncapped, each one-letter match of "a.*b|a" rescans to the end (quadratic); spans cap the rewrite.
    long_text = "a" * 50_000
    assert match_spans(RegexLF("r", 0, "a.*b|a"), [long_text], max_spans=3) == [[(0, 1), (1, 2), (2, 3)]]
    assert match_spans(RegexLF("r", 0, "(?:a.*b|a)?"), [long_text], max_spans=2) == [[(0, 1), (1, 2)]]


def test_empty_matching_pattern_on_long_text_keeps_spans_before_first_empty_match():
    text = "ab" + "x" * 5000 + "ab"
    assert match_spans(RegexLF("r", 0, "(ab)?"), [text]) == [[(0, 2)]]
    assert match_spans(RegexLF("r", 0, "(ab)?"), [text[-100:]]) == [[(98, 100)]]


def test_regex_spans_work_when_text_contains_private_use_characters():
    text = "\ue000a\ue001a"
    assert match_spans(RegexLF("r", 0, "a"), [text]) == [[(1, 2), (3, 4)]]


def test_spans_are_empty_for_lfs_without_text_matches():
    texts = ["anything", None]
    assert match_spans(ColumnRuleLF("r", 0, "x", ">", 1), texts) == [[], []]
    assert match_spans(VoteColumnLF("v", "v"), texts) == [[], []]
    with pytest.raises(ValueError, match="max_spans"):
        match_spans(KeywordLF("k", 0, ["a"]), texts, max_spans=-1)


# ---------------------------------------------------------------------------------------------- JSON


ALL_LFS = [
    KeywordLF("my", 1, ["my", "mine", "c++", "café"], whole_word=True, case_sensitive=True, column="title"),
    KeywordLF("http", 1, ["http"], whole_word=False, enabled=False),
    RegexLF("check out", 1, r"check.*\bout\b", case_sensitive=False, column=None),
    ColumnRuleLF("popular", 0, "likes", ">=", 100.5),
    ColumnRuleLF("authors", 1, "author", "not in", ["Ann", 3, 2.5, True]),
    ColumnRuleLF("no date", 0, "date", "is missing"),
    VoteColumnLF("spacy person", "person_vote", enabled=False),
]


def test_json_round_trip_is_exact():
    text = lfs_to_json(ALL_LFS)
    document = json.loads(text)
    assert (document["format"], document["version"]) == ("epoxy-lfs", 1)
    loaded = lfs_from_json(text)
    assert loaded == ALL_LFS
    assert [type(lf) for lf in loaded] == [type(lf) for lf in ALL_LFS]
    assert lfs_to_json(loaded) == text
    assert lfs_from_json(text.encode("utf-8")) == ALL_LFS


def test_lf_dict_round_trip_and_shape():
    assert lf_to_dict(ALL_LFS[4]) == {
        "type": "column_rule",
        "name": "authors",
        "label": 1,
        "column": "author",
        "op": "not in",
        "value": ["Ann", 3, 2.5, True],
        "enabled": True,
    }
    for lf in ALL_LFS:
        assert lf_from_dict(lf_to_dict(lf)) == lf


def test_lf_from_dict_fills_defaults():
    assert lf_from_dict({"type": "keyword", "name": "k", "label": 0, "keywords": ["a"]}) == KeywordLF("k", 0, ["a"])


def document(*lfs, **top):
    return json.dumps({"format": "epoxy-lfs", "version": 1, "lfs": list(lfs), **top})


KEYWORD = {"type": "keyword", "name": "k", "label": 0, "keywords": ["a"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"format": "epoxy-lfs", "lfs": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
        ("{not json", r"not valid JSON: .*line 1, column 2"),
        ("[]", "must hold a JSON object"),
        (json.dumps({"format": "other", "version": 1, "lfs": []}), "field 'format' must be 'epoxy-lfs'"),
        (document(version=2), "version 2, newer than"),
        (document(version="1"), "'version' must be an integer"),
        (document(extra=1), "Unknown top-level field"),
        (json.dumps({"format": "epoxy-lfs", "version": 1, "lfs": {"a": 1}}), "'lfs' must be a list"),
        (document(*[KEYWORD] * (MAX_LFS + 1)), "holds 1,001 LFs; the limit is 1,000"),
        (document(KEYWORD, {**KEYWORD, "keywords": "a"}), r"LF 1 \('k'\): .*keywords must be a list of strings"),
        (document({**KEYWORD, "keywords": ["a", 1]}), r"LF 0 .*keywords\[1\] must be a string"),
        (document({**KEYWORD, "label": "0"}), r"LF 0 .*label must be a class index"),
        (document({**KEYWORD, "label": 1.0}), r"LF 0 .*label must be a class index"),
        (document({**KEYWORD, "label": 10**6}), r"LF 0 .*label must be a class index between 0 and"),
        (document({**KEYWORD, "type": "shell"}), r"LF 0 .*field 'type' must be one of"),
        (document({**KEYWORD, "func": "x"}), r"LF 0 .*unknown field\(s\) 'func'"),
        (document({"type": "regex", "name": "r", "label": 0}), r"LF 0 .*missing field\(s\) 'pattern'"),
        (document({"type": "regex", "name": "r", "label": 0, "pattern": "a" * 2001}), r"LF 0 .*limit is 2,000"),
        (document({"type": "regex", "name": "r", "label": 0, "pattern": "a(?=b)"}), r"LF 0 .*not supported"),
        (document(KEYWORD, KEYWORD), "Duplicate LF name 'k' in the LF file"),
        (document(["k"]), "LF 0: an LF must be a JSON object"),
        ('{"format": "epoxy-lfs", "version": 1, "lfs": [], "version": 1}', "duplicate key 'version'"),
        (
            document({"type": "column_rule", "name": "c", "label": 0, "column": "x", "op": "==", "value": 1}).replace(
                '"value": 1', '"value": NaN'
            ),
            "NaN is not allowed",
        ),
        (document({**KEYWORD, "keywords": ["\ud800"]}), r"keywords\[0\] contains a character UTF-8 cannot encode"),
        ('{"format": "epoxy-lfs", "version": ' + "9" * 5000 + "}", "not acceptable JSON"),
    ],
)
def test_hostile_json_is_rejected_with_a_pointed_message(text, message):
    with pytest.raises(ValueError, match=message):
        lfs_from_json(text)


def test_json_size_limit_applies_before_parsing():
    text = document(KEYWORD)
    with pytest.raises(ValueError, match="limit of 100 bytes"):
        lfs_from_json(text + " " * 100, max_bytes=100)
    with pytest.raises(ValueError, match="bytes; the limit is 100"):
        lfs_from_json(("[" * 200).encode(), max_bytes=100)
    with pytest.raises(ValueError, match="not UTF-8"):
        lfs_from_json(b'{"format": "\xff"}')
    with pytest.raises(ValueError, match="must be str or bytes"):
        lfs_from_json({"format": "epoxy-lfs"})


# ---------------------------------------------------------------------------------------------- properties


# Non-ASCII letters (é, É), a non-ASCII digit (٣) and symbol (€) exercise the Unicode word-boundary stages.
ALPHABET = "abAB _-.éÉ€٣"
texts_strategy = st.text(alphabet=ALPHABET + "\n", max_size=40)
keyword_strategy = st.text(alphabet=ALPHABET, min_size=1, max_size=4).filter(lambda s: s.strip())


@settings(max_examples=150, deadline=None, database=None)
@given(texts=st.lists(texts_strategy, min_size=1, max_size=8), keyword=keyword_strategy, case_sensitive=st.booleans())
def test_substring_keyword_agrees_with_python_in(texts, keyword, case_sensitive):
    lf = KeywordLF("k", 1, [keyword], whole_word=False, case_sensitive=case_sensitive)
    got = lf.apply(pd.DataFrame({"text": texts})).tolist()
    if case_sensitive:
        expected = [1 if keyword in t else ABSTAIN for t in texts]
    else:
        expected = [1 if keyword.lower() in t.lower() else ABSTAIN for t in texts]
    assert got == expected
    # Highlighting agrees with voting: a row votes exactly when it has a span.
    assert [1 if spans else ABSTAIN for spans in match_spans(lf, texts)] == expected


@settings(max_examples=150, deadline=None, database=None)
@given(texts=st.lists(texts_strategy, min_size=1, max_size=8), keyword=keyword_strategy)
def test_whole_word_keyword_agrees_with_python_lookarounds(texts, keyword):
    lf = KeywordLF("k", 0, [keyword])
    pattern = re.escape(keyword)
    if re.match(r"\w", keyword[0]):
        pattern = r"(?<!\w)" + pattern
    if re.match(r"\w", keyword[-1]):
        pattern += r"(?!\w)"
    expected = [0 if re.search(pattern, t, re.IGNORECASE) else ABSTAIN for t in texts]
    assert lf.apply(pd.DataFrame({"text": texts})).tolist() == expected
    assert [0 if spans else ABSTAIN for spans in match_spans(lf, texts)] == expected


# ---------------------------------------------------------------------------------------------- real data


def test_reproduces_snorkel_spam_tutorial_votes(spam_dir):
    """Snorkel's tutorial LFs 0-6 rebuilt declaratively give exactly the shipped votes (signed: +1 spam)."""
    from epoxy_core.labels import from_signed

    df = pd.read_csv(spam_dir / "youtube_spam.csv")
    expected = from_signed(np.load(spam_dir / "lf_votes_signed.npy")[:, :7], positive_class=1)
    lfs = [
        KeywordLF("my", 1, ["my"], whole_word=False),
        KeywordLF("subscribe", 1, ["subscribe"], whole_word=False),
        KeywordLF("http", 1, ["http"], whole_word=False),
        KeywordLF("please", 1, ["please", "plz"], whole_word=False),
        KeywordLF("song", 0, ["song"], whole_word=False),
        RegexLF("check out", 1, r"check.*out"),
        PythonLF("short", 0, lambda row: len(row.text.split()) < 5),
    ]
    L = apply_lfs(lfs, df, cardinality=2)
    assert L.shape == expected.shape
    np.testing.assert_array_equal(L, expected)
