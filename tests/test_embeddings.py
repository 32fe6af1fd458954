"""Tests for epoxy_core.embed: default ONNX model (offline), TF-IDF fallback, bring-your-own vectors."""

from __future__ import annotations

import io
import pickle
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epoxy_core.embed import (
    available_embedders,
    cached_embed_texts,
    embed_texts,
    embeddings_from_columns,
    l2_normalize,
    load_embeddings_npy,
    registry,
)
from epoxy_core.embed import onnx as emb

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

TEXTS = [
    "Check out my channel, free iPhone giveaway!!",
    "win a free phone now, click the link",
    "I love this song so much",
    "",
    "😀😀😀",
]


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not available")
    return SHARED


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything tries to open a connection; force the HF hub offline."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


# ------------------------------------------------------------------ default ONNX model


@pytest.mark.slow
def test_minilm_offline_shape_norm_and_meaning(no_network):
    emb._load_onnx.cache_clear()  # load the model under the network guard
    X = embed_texts(TEXTS)
    assert X.shape == (5, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    # Two spam messages are closer to each other than to a comment about the song.
    assert cosine(X[0], X[1]) > cosine(X[0], X[2]) + 0.1
    np.testing.assert_array_equal(X, embed_texts(TEXTS))  # deterministic


@pytest.mark.slow
def test_minilm_restores_input_order_after_length_sorting():
    forward = embed_texts(TEXTS, batch_size=1)
    backward = embed_texts(TEXTS[::-1], batch_size=1)
    np.testing.assert_array_equal(forward[::-1], backward)
    # Batching (padding to the longest text) changes vectors only by quantisation noise.
    batched = embed_texts(TEXTS, batch_size=5)
    assert np.min(np.einsum("ij,ij->i", forward, batched)) > 0.99


@pytest.mark.slow
def test_progress_is_called_per_batch():
    calls: list[tuple[int, int]] = []
    embed_texts(TEXTS, batch_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_onnx_override_pointing_nowhere_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv(emb.ENV_ONNX_MODEL, str(tmp_path / "missing.onnx"))
    info = available_embedders()[0]
    assert info.name == "minilm" and not info.installed and "EPOXY_ONNX_MODEL" in info.note
    with pytest.raises(ValueError, match="tfidf"):
        embed_texts(["a"])


def test_onnx_folder_must_hold_both_files(tmp_path):
    with pytest.raises(ValueError, match=r"model\.onnx and tokenizer\.json"):
        embed_texts(["a"], model=f"onnx:{tmp_path}")


def test_available_embedders_describe_this_machine():
    infos = {info.name: info for info in available_embedders()}
    assert list(infos) == ["minilm", "tfidf", "st:"]
    assert infos["tfidf"].installed and infos["tfidf"].dim == 256
    assert infos["minilm"].installed and infos["minilm"].dim == 384  # packages are installed in the dev env


# ------------------------------------------------------------------ TF-IDF fallback


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
    assert cosine(X[301], X[302]) > 0.5
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


@pytest.mark.slow
def test_tfidf_on_shared_spam_texts(shared_dir):
    df = pd.read_csv(shared_dir / "data" / "youtube_spam" / "youtube_spam.csv")
    texts = df["text"].fillna("").astype(str).tolist()
    X = embed_texts(texts, model="tfidf")
    assert X.shape == (len(df), 256)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------ input checks


def test_texts_must_be_strings():
    with pytest.raises(ValueError, match="fillna"):
        embed_texts(["ok", None], model="tfidf")
    with pytest.raises(ValueError, match="single string"):
        embed_texts("just one", model="tfidf")


def test_unknown_model_lists_the_options():
    with pytest.raises(ValueError, match=r"'minilm'.*'tfidf'"):
        embed_texts(["a"], model="bert")


def test_sentence_transformers_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(emb, "_has_module", lambda name: name != "sentence_transformers")
    with pytest.raises(ValueError, match=r"requirements-hub\.txt"):
        embed_texts(["a"], model="st:all-MiniLM-L6-v2")
    assert not available_embedders()[2].installed


def test_l2_normalize_zero_rows_get_distinct_unit_vectors_without_seeds():
    X = l2_normalize(np.zeros((2, 64)))
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-6)
    assert abs(cosine(X[0], X[1])) < 0.5
    np.testing.assert_array_equal(X, l2_normalize(np.zeros((2, 64))))


# ------------------------------------------------------------------ .npy upload


def _npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_load_npy_accepts_bytes_paths_and_files(tmp_path):
    array = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    expected = np.array([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    path = tmp_path / "vectors.npy"
    np.save(path, array)
    for source in (_npy_bytes(array), path, str(path), io.BytesIO(_npy_bytes(array))):
        out = load_embeddings_npy(source, n_rows=3)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected, atol=1e-6)
    raw = load_embeddings_npy(_npy_bytes(array), n_rows=3, normalize=False)
    np.testing.assert_array_equal(raw, array.astype(np.float32))


@pytest.mark.parametrize(
    "payload, message",
    [
        (_npy_bytes(np.ones((4, 2))), "4 rows but the dataset has 3"),
        (_npy_bytes(np.array([[1.0, np.nan], [0, 1], [1, 1]])), "NaN or infinite.*row 0"),
        (_npy_bytes(np.array([[1.0, 0], [0, np.inf], [1, 1]])), "NaN or infinite.*row 1"),
        (_npy_bytes(np.array([[1e300, 0], [0, 1], [1, 1]])), "too large for float32"),
        (_npy_bytes(np.array([[1, "a"], [0, 1], [1, 1]], dtype=object), allow_pickle=True), "object array"),
        (pickle.dumps(np.ones((3, 2))), "not a .npy file"),
        (_npy_bytes(np.array([["a", "b"]] * 3)), "dtype <U1"),
        (_npy_bytes(np.ones((3, 2), dtype=bool)), "dtype bool"),
        (_npy_bytes(np.ones((3, 2), dtype=complex)), "dtype complex"),
        (_npy_bytes(np.ones(3)), "2-D"),
        (_npy_bytes(np.ones((3, 2)))[:-8], "truncated or corrupt|Could not read"),
    ],
)
def test_load_npy_refuses_bad_files(payload, message):
    with pytest.raises(ValueError, match=message):
        load_embeddings_npy(payload, n_rows=3)


def test_load_npy_refuses_npz_archives():
    buffer = io.BytesIO()
    np.savez(buffer, a=np.ones((3, 2)))
    with pytest.raises(ValueError, match="npz"):
        load_embeddings_npy(buffer.getvalue(), n_rows=3)


# ------------------------------------------------------------------ numeric columns


def test_embeddings_from_columns_standardises_then_normalises():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10, 10, 40], "text": ["x", "y", "z"]})
    X = embeddings_from_columns(df, ["a", "b"])
    # a -> [-1.2247, 0, 1.2247], b -> [-0.7071, -0.7071, 1.4142], then unit rows.
    expected = [[-0.8660254, -0.5], [0.0, -1.0], [0.6546537, 0.7559289]]
    np.testing.assert_allclose(X, expected, atol=1e-6)
    assert X.dtype == np.float32


def test_embeddings_from_columns_fills_nan_with_the_column_mean():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [0.0, 1.0, 5.0]})
    X = embeddings_from_columns(df, ["a", "b"])
    # Row 1's missing a becomes the mean (0 after standardising): only b remains.
    np.testing.assert_allclose(X[1], [0.0, -1.0], atol=1e-6)


@pytest.mark.parametrize(
    "columns, message",
    [
        (["a"], "at least two"),
        (["a", "missing"], "not in the table"),
        (["a", "text"], "numeric"),
        (["a", "inf"], "infinite"),
        (["const", "const2"], "constant"),
        (["a", "empty"], "no values"),
    ],
)
def test_embeddings_from_columns_errors(columns, message):
    df = pd.DataFrame(
        {
            "a": [1.0, 2.0, 3.0],
            "text": ["x", "y", "z"],
            "inf": [1.0, np.inf, 0.0],
            "const": [1, 1, 1],
            "const2": [2, 2, 2],
            "empty": [np.nan, np.nan, np.nan],
        }
    )
    with pytest.raises(ValueError, match=message):
        embeddings_from_columns(df, columns)


def test_cached_embed_texts_hits_and_invalidates(monkeypatch, tmp_path):
    monkeypatch.setenv("EPOXY_DATA_DIR", str(tmp_path / "data"))
    calls: list[str] = []
    real = registry.embed_texts

    def counting(texts, model="minilm", progress=None):
        calls.append(model)
        return real(texts, model=model, progress=progress)

    monkeypatch.setattr(registry, "embed_texts", counting)
    texts = ["free phone click here", "great song", "free phone now", "nice video", ""]
    first = cached_embed_texts(texts, model="tfidf")
    progress: list[tuple[int, int]] = []
    second = cached_embed_texts(texts, model="tfidf", progress=lambda d, t: progress.append((d, t)))
    np.testing.assert_array_equal(first, second)
    assert calls == ["tfidf"] and progress == [(5, 5)]
    cached_embed_texts([*texts[:-1], "changed"], model="tfidf")  # changed text -> rebuild
    assert calls == ["tfidf", "tfidf"]
