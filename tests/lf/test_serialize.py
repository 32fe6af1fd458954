"""Tests for epoxy_core.lf.serialize: the LF JSON format, round trips, and hostile files."""

from __future__ import annotations

import json

import pytest

from epoxy_core.lf import (
    MAX_LFS,
    ColumnRuleLF,
    KeywordLF,
    LookupLF,
    RegexLF,
    SimilarityLF,
    VoteColumnLF,
    lf_from_dict,
    lf_to_dict,
    lfs_from_json,
    lfs_to_json,
)

# ---------------------------------------------------------------------------------------------- JSON


ALL_LFS = [
    KeywordLF("my", 1, ["my", "mine", "c++", "café"], whole_word=True, case_sensitive=True, column="title"),
    KeywordLF("http", 1, ["http"], whole_word=False, enabled=False),
    RegexLF("check out", 1, r"check.*\bout\b", case_sensitive=False, column=None),
    ColumnRuleLF("popular", 0, "likes", ">=", 100.5),
    ColumnRuleLF("authors", 1, "author", "not in", ["Ann", 3, 2.5, True]),
    ColumnRuleLF("no date", 0, "date", "is missing"),
    VoteColumnLF("spacy person", "person_vote", enabled=False),
    LookupLF("brands", 1, ["Acme", "Globex Corp"], whole_word=False, column="title", source="brands.csv"),
    SimilarityLF("like these", 0, 0.8, rows=[4, 2], texts=["great song"]),
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


def test_the_default_size_limit_fits_a_long_lookup_list():
    lfs = [LookupLF(f"big {k}", 0, [f"brand name {k}-{i:05}" for i in range(20_000)]) for k in range(2)]
    text = lfs_to_json(lfs)
    assert len(text.encode()) > 1_000_000
    assert lfs_from_json(text) == lfs


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"type": "lookup", "name": "l", "label": 0}, r"missing field\(s\) 'terms'"),
        ({"type": "lookup", "name": "l", "label": 0, "terms": ["a"], "source": 3}, "source must be a string"),
        ({"type": "similarity", "name": "s", "label": 0, "rows": [1]}, r"missing field\(s\) 'threshold'"),
        ({"type": "similarity", "name": "s", "label": 0, "threshold": 0.9}, "at least one example"),
        ({"type": "similarity", "name": "s", "label": 0, "threshold": 0.9, "rows": [1.5]}, "must be a row number"),
        ({"type": "similarity", "name": "s", "label": 0, "threshold": 0.9, "rows": [0], "x": []}, "unknown field"),
    ],
)
def test_new_kinds_are_validated_when_loaded(item, message):
    with pytest.raises(ValueError, match=message):
        lfs_from_json(document(item))


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
