"""Tests for epoxy_core.lf.spans: character spans of matches for highlighting, bounded in time."""

from __future__ import annotations

import pytest

from epoxy_core.lf import (
    ColumnRuleLF,
    KeywordLF,
    RegexLF,
    VoteColumnLF,
    match_spans,
)

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
