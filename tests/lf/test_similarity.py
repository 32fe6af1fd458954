"""Tests for epoxy_core.lf.similarity: "rows like these", by example rows or example texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epoxy_core.lf import KeywordLF, SimilarityLF, apply_lfs, lf_from_dict, lf_to_dict, lfs_from_json, lfs_to_json

# Row i's vector; cosines with row 0: 1, 0.8, 0.6, 0, -1.
E = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
DF = pd.DataFrame({"text": ["a", "b", "c", "d", "e"]})


def fake_embedder(vectors: dict[str, list[float]]):
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([vectors[t] for t in texts])

    embed.calls = calls  # type: ignore[attr-defined]
    return embed


def test_votes_where_the_nearest_example_row_is_similar_enough():
    assert SimilarityLF("like 0", 1, 0.7, rows=[0]).apply(DF, embeddings=E).tolist() == [1, 1, -1, -1, -1]
    # The nearest of several examples counts: row 3 is close to example 4? No: cos(3, 4) = 0; to 3 itself: 1.
    assert SimilarityLF("like 0 or 3", 0, 0.75, rows=[0, 3]).apply(DF, embeddings=E).tolist() == [0, 0, 0, 0, -1]


def test_threshold_is_inclusive_and_example_rows_always_vote():
    assert SimilarityLF("s", 1, 0.6, rows=[0]).apply(DF, embeddings=E).tolist() == [1, 1, 1, -1, -1]
    # At threshold 1.0 only the example itself votes, even if its rounded cosine with itself is 0.99999994.
    unnormalised = E * 3.0
    assert SimilarityLF("s", 1, 1.0, rows=[1]).apply(DF, embeddings=unnormalised).tolist() == [-1, 1, -1, -1, -1]


def test_example_texts_are_embedded_with_the_given_embedder():
    embed = fake_embedder({"free money": [0.0, 2.0]})  # not unit length: normalised like the rows
    lf = SimilarityLF("like spam", 1, 0.75, texts=["free money"])
    assert lf.apply(DF, embeddings=E, embed=embed).tolist() == [-1, -1, 1, 1, -1]
    assert embed.calls == [["free money"]]


def test_rows_and_texts_together():
    lf = SimilarityLF("both", 0, 0.99, rows=[4], texts=["up"])
    assert lf.apply(DF, embeddings=E, embed=fake_embedder({"up": [0.0, 1.0]})).tolist() == [-1, -1, -1, 0, 0]


def test_apply_lfs_passes_embeddings_and_leaves_other_lfs_alone():
    lfs = [KeywordLF("a", 0, ["a"]), SimilarityLF("like 0", 1, 0.7, rows=[0])]
    assert apply_lfs(lfs, DF, cardinality=2, embeddings=E).tolist() == [[0, 1], [-1, 1], [-1, -1], [-1, -1], [-1, -1]]
    # Without similarity LFs, embeddings are not needed (and not checked).
    assert apply_lfs(lfs[:1], DF).ravel().tolist() == [0, -1, -1, -1, -1]


@pytest.mark.parametrize(
    ("lf", "kwargs", "message"),
    [
        (SimilarityLF("s", 1, 0.5, rows=[0]), {}, r"SimilarityLF 's' compares rows by their embeddings: pass embed"),
        (SimilarityLF("s", 1, 0.5, rows=[5]), {"embeddings": E}, r"example row 5 is out of range; the data has 5 rows"),
        (SimilarityLF("s", 1, 0.5, texts=["x"]), {"embeddings": E}, r"has example texts: pass embed="),
        (SimilarityLF("s", 1, 0.5, rows=[0]), {"embeddings": E[:3]}, "embeddings have 3 rows but the data has 5"),
        (SimilarityLF("s", 1, 0.5, rows=[0]), {"embeddings": np.full((5, 2), np.nan)}, "NaN or infinite"),
        (
            SimilarityLF("s", 1, 0.5, texts=["x"]),
            {"embeddings": E, "embed": lambda texts: np.ones((len(texts), 3))},
            r"returned shape \(1, 3\) for 1 texts, but the rows' embeddings have dimension 2",
        ),
    ],
)
def test_missing_or_mismatched_resources_are_a_clear_value_error(lf, kwargs, message):
    with pytest.raises(ValueError, match=message):
        apply_lfs([KeywordLF("a", 0, ["a"]), lf], DF, **kwargs)
    with pytest.raises(ValueError, match=message):
        lf.apply(DF, **kwargs)


def test_checks_run_before_any_lf_is_applied():
    applied = []

    class Spy(KeywordLF):
        def _votes(self, frame):
            applied.append(self.name)
            return super()._votes(frame)

    with pytest.raises(ValueError, match="out of range"):
        apply_lfs([Spy("a", 0, ["a"]), SimilarityLF("s", 1, 0.5, rows=[9])], DF, embeddings=E)
    assert applied == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows": [], "texts": []}, "at least one example row or example text"),
        ({"threshold": 1.5}, "between -1 and 1"),
        ({"threshold": float("nan")}, "between -1 and 1"),
        ({"threshold": True}, "threshold must be a number"),
        ({"threshold": "0.8"}, "threshold must be a number"),
        ({"rows": [0, -1]}, r"rows\[1\] is -1; row numbers start at 0"),
        ({"rows": [0.0]}, r"rows\[0\] must be a row number"),
        ({"rows": "12"}, "rows must be a list of row numbers"),
        ({"texts": "spam"}, "texts must be a list of strings"),
        ({"texts": [" "]}, r"texts\[0\] must not be empty"),
        ({"rows": list(range(1001))}, "1,001 examples; the limit is 1,000"),
    ],
)
def test_similarity_lf_validates_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SimilarityLF(**{"name": "s", "label": 0, "threshold": 0.8, "rows": [0], **kwargs})


def test_json_round_trip_stores_data_not_vectors():
    lf = SimilarityLF("like these", 1, 0.85, rows=np.array([3, 1]), texts=["free money"], enabled=False)
    assert lf.rows == (3, 1) and isinstance(lf.rows[0], int)
    assert lf_to_dict(lf) == {
        "type": "similarity",
        "name": "like these",
        "label": 1,
        "threshold": 0.85,
        "rows": [3, 1],
        "texts": ["free money"],
        "enabled": False,
    }
    assert lfs_from_json(lfs_to_json([lf])) == [lf]
    assert lf_from_dict({"type": "similarity", "name": "s", "label": 0, "threshold": 1, "rows": [0]}).threshold == 1.0


def test_large_data_is_compared_in_blocks(monkeypatch):
    import epoxy_core.lf.similarity as similarity

    monkeypatch.setattr(similarity, "_BLOCK_CELLS", 4)  # two rows x two examples per block
    rng = np.random.default_rng(0)
    X = rng.normal(size=(41, 8))
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    expected = (unit @ unit[[5, 17]].T).max(axis=1) >= 0.3
    expected[[5, 17]] = True
    got = SimilarityLF("s", 1, 0.3, rows=[5, 17]).apply(pd.DataFrame({"text": ["t"] * 41}), embeddings=X)
    assert (got == 1).tolist() == expected.tolist()
