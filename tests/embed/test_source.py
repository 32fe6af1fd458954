"""EmbeddingSource (the typed value for settings) and embed_source / source_key / save_npy_upload."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from epoxy_core.embed import registry
from epoxy_core.embed.source import EmbeddingSource, embed_source, save_npy_upload, source_key


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "source",
    [
        EmbeddingSource.model_source("minilm"),
        EmbeddingSource.model_source("st:all-MiniLM-L6-v2"),
        EmbeddingSource.model_source("onnx:/models/mine"),
        EmbeddingSource.columns_source(["age", "income"]),
        EmbeddingSource.npy_source("0123456789abcdef0123456789abcdef"),
    ],
)
def test_to_dict_round_trips_through_json(source):
    import json

    again = EmbeddingSource.from_dict(json.loads(json.dumps(source.to_dict())))
    assert again == source and hash(again) == hash(source)


def test_default_sources_are_the_registry_defaults():
    assert EmbeddingSource.model_source().model == registry.DEFAULT_MODEL
    assert EmbeddingSource.default(10**6).model == registry.default_model(10**6)
    assert EmbeddingSource.default(10).model == registry.default_model(10)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("minilm", EmbeddingSource(kind="model", model="minilm")),
        ("tfidf", EmbeddingSource(kind="model", model="tfidf")),
        ("wordllama", EmbeddingSource(kind="model", model="wordllama")),
        ('columns:["a", "b c"]', EmbeddingSource(kind="columns", columns=("a", "b c"))),
        ("npy:deadbeef00", EmbeddingSource(kind="npy", npy_digest="deadbeef00")),
    ],
)
def test_parse_legacy_reads_the_old_settings_strings(text, expected):
    assert EmbeddingSource.parse_legacy(text) == expected
    assert EmbeddingSource.from_value(text) == expected
    assert EmbeddingSource.from_value(expected.to_dict()) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("bert", "Unknown embedding model"),
        ("columns:[a, b]", "not a JSON list"),
        ('columns:{"a": 1}', "JSON list"),
        ("columns:[]", "at least one column"),
        ("npy:../../etc/passwd", "hex digits"),
        ("npy:", "hex digits"),
        ("st:", "needs a model name"),
        ("onnx:", "needs a folder"),
    ],
)
def test_parse_legacy_refuses_bad_strings(text, message):
    with pytest.raises(ValueError, match=message):
        EmbeddingSource.parse_legacy(text)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"kind": "model"}, "needs a model name"),
        ({"kind": "text", "model": "minilm"}, "kind must be one of"),
        ({"model": "minilm"}, "needs a 'kind'"),
        ({"kind": "model", "model": "minilm", "columns": ["a"]}, "takes no columns"),
        ({"kind": "columns", "columns": "ab"}, "list of column names"),
        ({"kind": "columns", "columns": ["a", "a"]}, "listed twice"),
        ({"kind": "columns", "columns": ["a", 3]}, "non-empty strings"),
        ({"kind": "npy", "npy_digest": "ABCDEF12"}, "lower-case hex"),
        ({"kind": "npy", "npy_digest": "abcdef12", "model": "tfidf"}, "takes no model"),
        ({"kind": "model", "model": "tfidf", "extra": 1}, "Unknown embedding source fields"),
        (["model", "minilm"], "must be a mapping"),
    ],
)
def test_from_dict_validates(data, message):
    with pytest.raises(ValueError, match=message):
        EmbeddingSource.from_dict(data)


def test_labels_are_readable():
    assert EmbeddingSource.model_source("tfidf").label == "TF-IDF + SVD"
    assert "MiniLM" in EmbeddingSource.model_source("minilm").label
    assert EmbeddingSource.model_source("st:my/model").label == "sentence-transformers my/model"
    assert EmbeddingSource.columns_source(["a", "b"]).label == "numeric columns a, b"
    assert EmbeddingSource.npy_source("0123456789abcdef").label == "uploaded .npy (01234567)"


# ------------------------------------------------------------------ embed_source


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": ["free phone click here", "great song", "free phone now", "nice video", ""],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0],
            "y": [5.0, 3.0, 4.0, 1.0, 2.0],
        }
    )


def test_embed_source_text_model_is_cached_on_disk(table, tmp_path, monkeypatch):
    monkeypatch.setenv("EPOXY_DATA_DIR", str(tmp_path / "data"))
    calls: list[str] = []
    real = registry.embed_texts
    monkeypatch.setattr(
        registry,
        "embed_texts",
        lambda texts, model, progress: calls.append(model) or real(texts, model=model, progress=progress),
    )
    texts = table["text"].tolist()
    source = EmbeddingSource.model_source("tfidf")
    first = embed_source(source, table, texts, npy_dir=tmp_path)
    progress: list[tuple[int, int]] = []
    second = embed_source(source, table, texts, npy_dir=tmp_path, progress=lambda d, t: progress.append((d, t)))
    np.testing.assert_array_equal(first, second)
    assert calls == ["tfidf"] and progress == [(5, 5)]
    np.testing.assert_array_equal(first, real(texts, model="tfidf"))


def test_embed_source_columns_matches_embeddings_from_columns(table, tmp_path):
    from epoxy_core.embed.vectors import embeddings_from_columns

    progress: list[tuple[int, int]] = []
    out = embed_source(
        EmbeddingSource.columns_source(["x", "y"]),
        table,
        None,
        npy_dir=tmp_path,
        progress=lambda *a: progress.append(a),
    )
    np.testing.assert_array_equal(out, embeddings_from_columns(table, ["x", "y"]))
    assert progress == [(5, 5)]


def test_npy_upload_is_stored_once_and_read_back(table, tmp_path):
    vectors = np.arange(10, dtype=np.float64).reshape(5, 2) + 1
    raw = _npy(vectors)
    source = save_npy_upload(raw, 5, npy_dir=tmp_path / "uploads")
    assert source.kind == "npy" and len(source.npy_digest) == 32
    stored = source.npy_path(tmp_path / "uploads")
    assert stored.is_file() and [p.name for p in stored.parent.iterdir()] == [stored.name]
    mtime = stored.stat().st_mtime_ns
    assert save_npy_upload(io.BytesIO(raw), 5, npy_dir=tmp_path / "uploads") == source
    assert stored.stat().st_mtime_ns == mtime  # the same upload writes nothing
    out = embed_source(source, table, table["text"].tolist(), npy_dir=tmp_path / "uploads")
    expected = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert out.dtype == np.float32


def test_npy_upload_is_checked_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="4 rows but the dataset has 5"):
        save_npy_upload(_npy(np.ones((4, 2))), 5, npy_dir=tmp_path)
    with pytest.raises(ValueError, match="too large"):
        save_npy_upload(_npy(np.ones((5, 2))), 5, npy_dir=tmp_path, max_bytes=100)
    assert list(tmp_path.iterdir()) == []


def test_embed_source_reports_a_missing_upload_and_a_changed_table(table, tmp_path):
    source = save_npy_upload(_npy(np.ones((5, 2))), 5, npy_dir=tmp_path)
    with pytest.raises(ValueError, match=r"5 rows but the dataset has 4"):
        embed_source(source, table.iloc[:4], None, npy_dir=tmp_path)
    with pytest.raises(ValueError, match=r"upload the \.npy again"):
        embed_source(EmbeddingSource.npy_source("abcdef0123"), table, None, npy_dir=tmp_path)


def test_embed_source_needs_the_inputs_of_its_kind(table, tmp_path):
    with pytest.raises(ValueError, match="needs the texts"):
        embed_source(EmbeddingSource.model_source("tfidf"), table, None, npy_dir=tmp_path)
    with pytest.raises(ValueError, match="needs the table"):
        embed_source(EmbeddingSource.columns_source(["x", "y"]), None, ["a"] * 5, npy_dir=tmp_path)
    with pytest.raises(ValueError, match="5 rows but 2 texts"):
        embed_source(EmbeddingSource.model_source("tfidf"), table, ["a", "b"], npy_dir=tmp_path)
    with pytest.raises(ValueError, match="EmbeddingSource"):
        embed_source("tfidf", table, table["text"].tolist(), npy_dir=tmp_path)


# ------------------------------------------------------------------ source_key


def test_source_key_depends_only_on_what_the_embeddings_depend_on(table):
    texts = table["text"].tolist()
    model = EmbeddingSource.model_source("tfidf")
    columns = EmbeddingSource.columns_source(["x", "y"])
    base_model, base_columns = source_key(model, table, texts), source_key(columns, table, None)
    assert len(base_model) == 32 and base_model != base_columns
    with_votes = table.assign(votes=[1, 0, 1, 0, -1])  # an imported vote column changes nothing
    assert source_key(model, with_votes, texts) == base_model
    assert source_key(columns, with_votes, None) == base_columns
    assert source_key(model, table, [*texts[:-1], "changed"]) != base_model
    assert source_key(EmbeddingSource.model_source("minilm"), table, texts) != base_model
    assert source_key(columns, table.assign(y=table["y"] + 1), None) != base_columns
    with pytest.raises(ValueError, match="not in the table"):
        source_key(EmbeddingSource.columns_source(["x", "z"]), table, None)
