"""The WordLlama backend: loads from the installed wheel only, matches WordLlama's own vectors, unit rows."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from epoxy_core.embed import available_embedders, embed_texts
from epoxy_core.embed import wordllama as wordllama_backend
from tests.embed._helpers import TEXTS

pytest.importorskip("wordllama")


def test_wordllama_loads_offline_and_gives_unit_rows(no_network, monkeypatch, tmp_path):
    # An empty home: nothing can come from ~/.cache/wordllama, only from the installed wheel.
    monkeypatch.setenv("HOME", str(tmp_path))
    wordllama_backend._load_wordllama.cache_clear()
    X = embed_texts(TEXTS, model="wordllama")
    assert X.shape == (5, 256) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert X[0] @ X[1] > X[0] @ X[2] + 0.1  # the two spam messages are the closest pair
    assert not (tmp_path / ".cache").exists()


def test_wordllama_matches_the_library_mean_pooling():
    import wordllama
    from wordllama import WordLlama

    reference = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    texts = [*TEXTS, "a much longer comment " * 40, "short"]
    expected = reference.embed(texts, norm=False)
    ours = embed_texts(texts, model="wordllama", batch_size=3)
    for row in np.flatnonzero(np.linalg.norm(expected, axis=1) > 0):
        cosine = ours[row] @ expected[row] / np.linalg.norm(expected[row])
        assert cosine == pytest.approx(1.0, abs=1e-5)


def test_wordllama_empty_texts_get_the_shared_fallback_and_order_is_kept():
    texts = ["", "great song", "", "free phone"]
    X = embed_texts(texts, model="wordllama", batch_size=1)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(X[0], X[2])  # identical empty texts, identical fallback
    assert abs(X[0] @ X[1]) < 0.3
    np.testing.assert_array_equal(X[::-1], embed_texts(texts[::-1], model="wordllama", batch_size=1))


def test_wordllama_progress_is_called_per_batch():
    calls: list[tuple[int, int]] = []
    embed_texts(TEXTS, model="wordllama", batch_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_loading_wordllama_leaves_the_root_logger_alone():
    import sys

    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    for name in [m for m in sys.modules if m == "wordllama" or m.startswith("wordllama.")]:
        sys.modules.pop(name)  # wordllama calls logging.basicConfig when first imported
    wordllama_backend._load_wordllama.cache_clear()
    embed_texts(["x"], model="wordllama")
    assert (list(root.handlers), root.level) == before


def test_wordllama_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(wordllama_backend, "_wordllama_dir", lambda: None)
    wordllama_backend._load_wordllama.cache_clear()
    info = {i.name: i for i in available_embedders()}["wordllama"]
    assert not info.installed and "pip install wordllama" in info.note
    with pytest.raises(ValueError, match="pip install wordllama"):
        embed_texts(["a"], model="wordllama")
    wordllama_backend._load_wordllama.cache_clear()
