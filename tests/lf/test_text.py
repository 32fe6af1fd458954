"""Tests for epoxy_core.lf.text: keyword and regex LFs, vectorised matching, Unicode word boundaries."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import (
    MAX_PATTERN_CHARS,
    KeywordLF,
    RegexLF,
    match_spans,
)
from tests.lf._helpers import votes

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


def test_options_after_the_pattern_are_keyword_only():
    # KeywordLF("k", 0, ["my"], False) would read as whole_word=False or case_sensitive=False: refuse to guess.
    with pytest.raises(TypeError):
        KeywordLF("k", 0, ["my"], False)  # type: ignore[misc]
    with pytest.raises(TypeError):
        RegexLF("r", 0, "my", True)  # type: ignore[misc]


def test_long_keyword_lists_are_matched_in_chunks_with_the_same_answer(monkeypatch):
    import epoxy_core.lf.text as text_module

    keywords = [f"w{i}" for i in range(200)] + ["café", "c++"]
    texts = ["w7 here", "xw7", "w199", "un café", "cafés", "c++17", "nothing", "W150!"]
    expected = votes(KeywordLF("k", 1, keywords), texts)
    monkeypatch.setattr(text_module, "_TERM_CHUNK_BYTES", 16)
    assert votes(KeywordLF("k", 1, keywords), texts) == expected == [1, -1, 1, 1, -1, 1, -1, 1]


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
