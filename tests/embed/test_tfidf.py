"""The TF-IDF + SVD backend: no model files, no zero rows, progress while fitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epoxy_core.embed import embed_texts


def _corpus(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(400)]
    return [" ".join(rng.choice(words, size=8)) for _ in range(n)]


def test_tfidf_has_no_zero_rows_for_empty_and_emoji_texts():
    texts = [*_corpus(300), "", "😀😀😀", "😀😀", "   ", ""]
    X = embed_texts(texts, model="tfidf")
    assert X.shape == (305, 256) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    # Emoji are covered by character n-grams: similar emoji rows are close.
    assert X[301] @ X[302] > 0.5
    # Identical empty texts share their fallback vector; it is near-orthogonal to real texts.
    np.testing.assert_array_equal(X[300], X[304])
    assert np.max(np.abs(X[:300] @ X[300])) < 0.3


def test_tfidf_all_empty_texts_still_give_unit_vectors():
    X = embed_texts(["", "", " "], model="tfidf")
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-6)


def test_tfidf_dimension_shrinks_for_small_inputs_and_is_deterministic():
    texts = _corpus(10)
    X = embed_texts(texts, model="tfidf")
    assert X.shape == (10, 9)
    np.testing.assert_array_equal(X, embed_texts(texts, model="tfidf"))


def test_tfidf_empty_input_gives_an_empty_matrix():
    calls: list[tuple[int, int]] = []
    assert embed_texts([], model="tfidf", progress=lambda *a: calls.append(a)).shape == (0, 0)
    assert calls == []


def test_tfidf_reports_progress_during_fitting_and_ends_at_all_rows():
    calls: list[tuple[int, int]] = []
    embed_texts(_corpus(200), model="tfidf", progress=lambda done, total: calls.append((done, total)))
    assert len(calls) >= 3 and calls[-1] == (200, 200)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert 0 < calls[0][0] < 200


@pytest.mark.slow
def test_tfidf_on_shared_spam_texts(spam_dir):
    df = pd.read_csv(spam_dir / "youtube_spam.csv")
    texts = df["text"].fillna("").astype(str).tolist()
    X = embed_texts(texts, model="tfidf")
    assert X.shape == (len(df), 256)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
