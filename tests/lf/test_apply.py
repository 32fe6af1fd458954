"""Tests for epoxy_core.lf.apply: apply_lfs on tables, and the Snorkel spam tutorial's votes reproduced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epoxy_core.lf import (
    ColumnRuleLF,
    KeywordLF,
    LabelingFunction,
    RegexLF,
    apply_lfs,
    enabled_lfs,
)

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
        LabelingFunction("short", lambda row: len(row.text.split()) < 5, label=0),
    ]
    L = apply_lfs(lfs, df, cardinality=2)
    assert L.shape == expected.shape
    np.testing.assert_array_equal(L, expected)
