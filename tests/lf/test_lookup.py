"""Tests for epoxy_core.lf.lookup: LookupLF (keyword matching for long term lists) and terms_from_file."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import epoxy_core.lf.text as text_module
from epoxy_core.lf import KeywordLF, LookupLF, lfs_from_json, lfs_to_json, match_spans, terms_from_file
from epoxy_core.lf.lookup import MAX_LOOKUP_FILE_BYTES, MAX_LOOKUP_TERMS, MAX_TERM_CHARS
from tests.lf._helpers import votes

TEXTS = ["Buy ACME now", "acmeish", "globex corp rocks", "nothing", "café olé", None, "x-acme-y"]


def test_lookup_matches_like_keywords_whole_words_ignoring_case():
    lf = LookupLF("brands", 1, ["acme", "Globex Corp", "café"])
    assert votes(lf, TEXTS) == [1, -1, 1, -1, 1, -1, 1]
    assert votes(lf, TEXTS) == votes(KeywordLF("brands", 1, ["acme", "Globex Corp", "café"]), TEXTS)


def test_lookup_options_substring_and_case_sensitive():
    assert votes(LookupLF("b", 0, ["acme"], whole_word=False), TEXTS) == [0, 0, -1, -1, -1, -1, 0]
    assert votes(LookupLF("b", 0, ["ACME"], case_sensitive=True), TEXTS) == [0, -1, -1, -1, -1, -1, -1]


def test_lookup_reads_its_own_column():
    df = pd.DataFrame({"text": ["acme", "x"], "title": ["x", "acme"]})
    assert LookupLF("b", 1, ["acme"], column="title").apply(df).tolist() == [-1, 1]


def _reference(terms: list[str], texts: list[str], case_sensitive: bool) -> list[bool]:
    """Whole-word literal matching with Python's re (lookarounds), term by term: slow, obviously right."""
    flags = 0 if case_sensitive else re.IGNORECASE
    patterns = []
    for term in terms:
        body = re.escape(term)
        body = (r"(?<!\w)" if term[0].isalnum() or term[0] == "_" else "") + body
        body += r"(?!\w)" if term[-1].isalnum() or term[-1] == "_" else ""
        patterns.append(re.compile(body, flags))
    return [any(p.search(t) for p in patterns) for t in texts]


def test_chunked_matching_equals_one_pass_and_the_reference(monkeypatch):
    rng = np.random.default_rng(3)
    letters = list("abcdeé_ 1-")
    terms = sorted({"".join(rng.choice(letters[:6], rng.integers(1, 4))) for _ in range(300)})
    texts = ["".join(rng.choice(letters, rng.integers(0, 25))) for _ in range(400)]
    expected = _reference(terms, texts, case_sensitive=False)
    whole = votes(LookupLF("l", 1, terms), texts)
    monkeypatch.setattr(text_module, "_TERM_CHUNK_BYTES", 12)  # dozens of chunks, some of one term
    chunked = votes(LookupLF("l", 1, terms), texts)
    assert chunked == whole == [1 if hit else -1 for hit in expected]
    assert 0 < sum(expected) < len(texts)


@settings(max_examples=40, deadline=None)
@given(
    terms=st.lists(st.text(alphabet="aAbé_ .", min_size=1, max_size=3).filter(str.strip), min_size=1, max_size=8),
    texts=st.lists(st.text(alphabet="aAbé_ .x", max_size=12), min_size=1, max_size=8),
)
def test_chunked_matching_agrees_with_the_reference_on_random_lists(terms, texts):
    old = text_module._TERM_CHUNK_BYTES
    text_module._TERM_CHUNK_BYTES = 3
    try:
        got = votes(LookupLF("l", 1, terms, case_sensitive=True), texts)
    finally:
        text_module._TERM_CHUNK_BYTES = old
    assert got == [1 if hit else -1 for hit in _reference(terms, texts, case_sensitive=True)]


def test_many_matching_rows_switch_to_searching_only_the_rest(monkeypatch):
    # After the first chunks match most rows, later chunks look at the remaining rows only: same answer.
    monkeypatch.setattr(text_module, "_TERM_CHUNK_BYTES", 4)
    texts = ["aa"] * 50 + ["bb zz"] * 10 + ["cc"] * 5
    assert votes(LookupLF("l", 1, ["aa", "xx", "yy", "zz"]), texts) == [1] * 60 + [-1] * 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"terms": []}, "terms must not be empty"),
        ({"terms": "acme"}, "terms must be a list of strings"),
        ({"terms": ["ok", " "]}, r"terms\[1\] must not be empty"),
        ({"terms": ["x" * (MAX_TERM_CHARS + 1)]}, f"limit is {MAX_TERM_CHARS}"),
        ({"terms": ["t"] * (MAX_LOOKUP_TERMS + 1)}, "20,001 given; the limit is 20,000"),
        ({"source": ""}, "source must not be empty"),
        ({"whole_word": 1}, "whole_word must be true or false"),
    ],
)
def test_lookup_validates_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LookupLF(**{"name": "l", "label": 0, "terms": ["acme"], **kwargs})


def test_lookup_options_are_keyword_only():
    with pytest.raises(TypeError):
        LookupLF("l", 0, ["acme"], False)  # type: ignore[misc]


def test_lookup_json_round_trip_keeps_the_whole_list_and_the_source():
    lf = LookupLF("brands", 1, [f"brand {i}" for i in range(5000)], case_sensitive=True, source="brands.csv")
    loaded = lfs_from_json(lfs_to_json([lf]))
    assert loaded == [lf]
    assert loaded[0].terms[-1] == "brand 4999"


def test_repr_of_a_long_list_stays_short():
    text = repr(LookupLF("brands", 1, [f"brand {i}" for i in range(5000)]))
    assert "5,000 terms: 'brand 0', 'brand 1', 'brand 2', ..." in text
    assert len(text) < 300


def test_keyword_lf_for_highlighting_keeps_only_terms_present():
    lf = LookupLF("b", 1, ["acme", "globex", "initech", "corp"], column="title")
    small = lf.keyword_lf_for(["ACME and Initech", None, "acmecorp"])
    assert small == KeywordLF("b", 1, ["acme", "initech", "corp"], column="title")
    # The smaller LF highlights what the lookup matches: whole words only, so "acmecorp" gets no span.
    assert match_spans(small, ["ACME and Initech", "acmecorp"]) == [[(0, 4), (9, 16)], []]
    assert lf.keyword_lf_for(["nothing here"]) is None


# ---------------------------------------------------------------------------------------------- terms_from_file


def test_txt_one_term_per_line_stripped_deduplicated_in_order():
    data = "\ufeffAcme\r\n  Globex Corp  \n\nacme\nAcme\n#hashtag\n".encode()
    assert terms_from_file(data, "list.TXT") == ["Acme", "Globex Corp", "acme", "#hashtag"]


def test_utf16_text_with_bom_is_read():
    assert terms_from_file("café\nolé\n".encode("utf-16"), "t.txt") == ["café", "olé"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Acme\nGlobex\n", ["Acme", "Globex"]),  # one column, no header: every row is a term
        ("term\nAcme\nGlobex\n", ["Acme", "Globex"]),  # a recognised header is dropped
        ("notes,keyword\nx,Acme\ny,Globex\n", ["Acme", "Globex"]),  # the named column
        ("brand,country\nAcme,US\nGlobex,\n", ["Acme", "Globex"]),  # no known name: the first column
        ('term;n\n"Acme; Inc";1\nGlobex;2\n', ["Acme; Inc", "Globex"]),  # semicolons, quoted cells
        ("term\tn\nAcme\t1\n", ["Acme"]),
    ],
)
def test_csv_terms_column(content, expected):
    assert terms_from_file(content.encode(), "terms.csv") == expected


def test_csv_column_can_be_named():
    data = b"brand,country\nAcme,US\nGlobex,FR\n"
    assert terms_from_file(data, "b.csv", column="country") == ["US", "FR"]
    with pytest.raises(ValueError, match="has no column 'city'; its header is"):
        terms_from_file(data, "b.csv", column="city")
    with pytest.raises(ValueError, match="column= applies to CSV"):
        terms_from_file(b"a\n", "b.txt", column="x")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"a\n", "terms.xlsx", r"upload the terms as a \.txt file"),
        (b"PK\x03\x04rest", "terms.csv", "zip archive"),
        (b"acme\n\xff\xfe\xfa\n", "terms.txt", r"not UTF-8 text \(bad byte at position 5\)"),
        (b"a\x00b\n", "terms.txt", "binary file"),
        (b"\n \n,\n", "terms.csv", "holds no terms"),
        (("x" * (MAX_TERM_CHARS + 1)).encode(), "terms.txt", "entry 1 is 201 characters long"),
        (b"a\nb\nc\n", "terms.txt", "more than 2 terms"),
        (b" " * (MAX_LOOKUP_FILE_BYTES + 1), "terms.txt", "the limit for a term list is 5,000,000"),
    ],
)
def test_bad_term_files_get_a_clear_message(data, name, message):
    with pytest.raises(ValueError, match=message):
        terms_from_file(data, name, max_terms=2)


def test_terms_from_file_wants_bytes():
    with pytest.raises(ValueError, match="reads bytes"):
        terms_from_file("acme", "t.txt")  # type: ignore[arg-type]


def test_a_file_of_thousands_of_terms_builds_a_lookup_lf():
    data = "\n".join(f"term{i}" for i in range(3000)).encode()
    lf = LookupLF("big", 0, terms_from_file(data, "big.txt"), source="big.txt")
    assert len(lf.terms) == 3000
    assert votes(lf, ["has term2999 in it", "term30000", "TERM7"]) == [0, -1, 0]
