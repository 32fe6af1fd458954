"""The ONNX backend: MiniLM int8 offline, custom exports, batching by token length."""

from __future__ import annotations

import numpy as np
import pytest

from epoxy_core.embed import available_embedders, embed_texts
from epoxy_core.embed import onnx as onnx_backend
from tests.embed._helpers import TEXTS


@pytest.mark.slow
def test_minilm_offline_shape_norm_and_meaning(no_network):
    onnx_backend._load_onnx.cache_clear()  # load the model under the network guard
    X = embed_texts(TEXTS, model="minilm")
    assert X.shape == (5, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    # Two spam messages are closer to each other than to a comment about the song.
    assert X[0] @ X[1] > X[0] @ X[2] + 0.1
    np.testing.assert_array_equal(X, embed_texts(TEXTS, model="minilm"))  # deterministic


@pytest.mark.slow
def test_minilm_restores_input_order_after_length_sorting():
    forward = embed_texts(TEXTS, model="minilm", batch_size=1)
    backward = embed_texts(TEXTS[::-1], model="minilm", batch_size=1)
    np.testing.assert_array_equal(forward[::-1], backward)
    # Batching (padding to the longest text) changes vectors only by quantisation noise.
    batched = embed_texts(TEXTS, model="minilm", batch_size=5)
    assert np.min(np.einsum("ij,ij->i", forward, batched)) > 0.99


@pytest.mark.slow
def test_minilm_progress_is_called_per_batch():
    calls: list[tuple[int, int]] = []
    embed_texts(TEXTS, model="minilm", batch_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


@pytest.mark.slow
def test_minilm_truncates_long_texts_at_the_trained_length():
    embedder = onnx_backend._load_onnx(*map(str, onnx_backend.onnx_model_paths()))
    (ids,) = embedder.encode(["word " * 1000])
    assert len(ids) == onnx_backend.MAX_TOKENS


def test_onnx_override_pointing_nowhere_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv(onnx_backend.ENV_ONNX_MODEL, str(tmp_path / "missing.onnx"))
    info = available_embedders()[0]
    assert info.name == "minilm" and not info.installed and "EPOXY_ONNX_MODEL" in info.note
    with pytest.raises(ValueError, match="tfidf"):
        embed_texts(["a"], model="minilm")


def test_onnx_folder_must_hold_both_files(tmp_path):
    with pytest.raises(ValueError, match=r"model\.onnx and tokenizer\.json"):
        embed_texts(["a"], model=f"onnx:{tmp_path}")
    with pytest.raises(ValueError, match="needs a folder"):
        embed_texts(["a"], model="onnx:")
