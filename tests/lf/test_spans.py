"""Tests for epoxy_core.lf.spans: character spans of matches for highlighting, bounded in time."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from epoxy_core.lf import (
    ColumnRuleLF,
    KeywordLF,
    RegexLF,
    VoteColumnLF,
    match_spans,
)
from epoxy_core.lf.spans import SPAN_WINDOW_CHARS, _flat_alternation

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


# ---------------------------------------------------------------------------------------------- bounded and total

AWKWARD_PATTERNS = [
    r"\b",
    r"\B",
    r"\Bong",
    r"(?i)\bsong\b",
    r"^",
    r"$",
    r"(?m)^",
    r"(?m)$",
    r"\A",
    r"\z",
    r"a*",
    r"(a|)",
    r"x*$",
    r"(?U)a+",
    r"(?s).*",
    r"\pL*",
    r"\p{Greek}+",
    r"[[:alpha:]]+",
    r"[^\x00-\x7f]+",
    r"\x{1F600}",
    r"\C",
    r"(a+)+$",
    r"a.*b|a",
    r"\d+(?:\.\d+)?",
]
AWKWARD_TEXTS = ["song bong", "", "ééé αβγ 😀 song", "a\nb\nc", "aaaa" * 600, None, "\ue000\ue001x", "12.5 and 3"]


@pytest.mark.parametrize("pattern", AWKWARD_PATTERNS)
def test_awkward_regex_patterns_never_raise_and_give_valid_spans(pattern):
    spans = match_spans(RegexLF("r", 0, pattern), AWKWARD_TEXTS)
    for text, found in zip(AWKWARD_TEXTS, spans, strict=True):
        assert all(0 <= a < b <= len(text or "") for a, b in found)
        assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(found)), "in order, no overlap"


def test_zero_width_patterns_that_used_to_raise_give_their_spans():
    # pyarrow's capped rewrite failed on these with ArrowInvalid "Regex found, but replacement failed".
    assert match_spans(RegexLF("r", 0, r"\Bong"), ["song bong", "ong"]) == [[(1, 4), (6, 9)], []]
    assert match_spans(RegexLF("r", 0, r"\b"), ["song bong"]) == [[]]
    assert match_spans(RegexLF("r", 0, r"\bso"), ["also song"]) == [[(5, 7)]]


@pytest.mark.parametrize("pattern", [r"\bso\w*", r"o+", r"[a-z]+ng", r"^s", r"g$", r"(?m)^[a-z]", r"\d+", r"é+"])
def test_regex_spans_agree_with_python_where_the_syntaxes_agree(pattern):
    texts = ["song bong so", "ssso\nsong", "é é 12 3", "x"]
    expected = [[m.span() for m in re.finditer(pattern, t, re.IGNORECASE) if m.end() > m.start()] for t in texts]
    assert match_spans(RegexLF("r", 0, pattern), texts) == expected


def test_a_million_character_row_with_900_shared_prefix_keywords_is_bounded():
    # Issue 12: Python's re took 64-89 s on this and froze the server; RE2 finds the first match, the window the rest.
    keywords = ["a" * 18 + str(i) for i in range(900)]
    text = "a" * 1_000_000 + " " + "a" * 18 + "5 " + "a" * 18 + "77"
    for whole_word in (False, True):
        lf = KeywordLF("k", 0, keywords, whole_word=whole_word)
        assert match_spans(lf, [text]) == [[(1_000_001, 1_000_020), (1_000_021, 1_000_041)]]


def test_spans_are_looked_for_only_in_the_window_after_the_first_match():
    text = "x " * 2500 + "spam " + "y" * (SPAN_WINDOW_CHARS + 10) + " spam"
    assert match_spans(KeywordLF("k", 0, ["spam"]), [text]) == [[(5000, 5004)]]
    assert match_spans(RegexLF("r", 0, "spam"), [text]) == [[(5000, 5004)]]
    wide = match_spans(RegexLF("r", 0, "spam"), [text], window=SPAN_WINDOW_CHARS + 100)
    assert wide == [[(5000, 5004), (len(text) - 4, len(text))]]
    with pytest.raises(ValueError, match="window"):
        match_spans(RegexLF("r", 0, "spam"), [text], window=0)


def test_keyword_spans_from_the_trie_equal_a_flat_longest_first_alternation():
    rng = random.Random(0)
    alphabet = "aAbé _-+.x"
    for _ in range(100):  # building a KeywordLF compiles its RE2 pattern (~10 ms)
        keywords = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(5)})
        keywords = [k for k in keywords if k.strip()]
        whole_word, case_sensitive = rng.random() < 0.5, rng.random() < 0.5
        lf = KeywordLF("k", 0, keywords, whole_word=whole_word, case_sensitive=case_sensitive)
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(4)]
        flat = re.compile(("" if case_sensitive else "(?i)") + _flat_alternation(tuple(keywords), whole_word))
        expected = [[m.span() for m in flat.finditer(t)][:20] for t in texts]
        assert match_spans(lf, texts) == expected, (keywords, whole_word, case_sensitive, texts)


def test_deeply_nested_keyword_tries_fall_back_to_a_flat_pattern():
    keywords = ["a" * n for n in range(1, 150)]  # 149 nested branches: over the trie depth limit
    assert match_spans(KeywordLF("k", 0, keywords), ["b " + "a" * 149 + " a"]) == [[(2, 151), (152, 153)]]
