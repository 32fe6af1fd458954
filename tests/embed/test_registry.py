"""The one dispatch on model strings: embed_texts, fingerprints, labels, the catalogue, the disk cache."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from epoxy_core.embed import hub, registry
from epoxy_core.embed.registry import (
    available_embedders,
    cached_embed_texts,
    check_model,
    embed_texts,
    embedder_fingerprint,
    model_label,
)


def test_available_embedders_describe_this_machine():
    infos = {info.name: info for info in available_embedders()}
    assert next(iter(infos)) == registry.DEFAULT_MODEL  # the UI lists the default first
    assert set(infos) == {"minilm", "wordllama", "tfidf", "st:"}
    assert infos["tfidf"].installed and infos["tfidf"].dim == 256
    assert infos["minilm"].installed and infos["minilm"].dim == 384  # packages are installed in the dev env
    assert infos["wordllama"].installed and infos["wordllama"].dim == 256


def test_default_model_is_chosen_by_table_size_among_installed_models(monkeypatch):
    assert registry.default_model(registry.LARGE_TABLE_ROWS) == registry.SMALL_TABLE_MODEL
    assert registry.default_model(registry.LARGE_TABLE_ROWS + 1) == registry.LARGE_TABLE_MODEL
    assert registry.default_model() == registry.DEFAULT_MODEL == registry.SMALL_TABLE_MODEL
    real = registry.available_embedders

    def without(*names):
        return lambda: [replace(i, installed=False) if i.name in names else i for i in real()]

    monkeypatch.setattr(registry, "available_embedders", without(registry.LARGE_TABLE_MODEL))
    assert registry.default_model(10**6) == registry.SMALL_TABLE_MODEL
    monkeypatch.setattr(registry, "available_embedders", without(registry.SMALL_TABLE_MODEL))
    assert registry.default_model(10) == registry.LARGE_TABLE_MODEL
    monkeypatch.setattr(registry, "available_embedders", without("minilm", "wordllama"))
    assert registry.default_model(10) == "tfidf"


def test_embed_texts_without_a_model_uses_the_default_for_its_size(monkeypatch):
    seen: list[int | None] = []
    monkeypatch.setattr(registry, "default_model", lambda n_rows=None: seen.append(n_rows) or "tfidf")
    X = embed_texts(["free phone", "great song", "free phone now"])
    assert seen == [3] and X.shape[0] == 3


@pytest.mark.parametrize("model", ["minilm", "wordllama", "tfidf", "st:some/model", "onnx:/a/folder"])
def test_every_model_string_has_a_label_and_passes_the_check(model):
    assert check_model(model) == model
    assert model_label(model)


def test_fingerprints_differ_between_models_and_name_the_files():
    prints = {model: embedder_fingerprint(model) for model in ("minilm", "wordllama", "tfidf")}
    assert len(set(prints.values())) == 3
    assert "model.onnx" in prints["minilm"] and "safetensors" in prints["wordllama"]


@pytest.mark.parametrize(
    "call",
    [
        lambda model: embed_texts(["a"], model=model),
        embedder_fingerprint,
        check_model,
        model_label,
    ],
)
def test_unknown_model_lists_the_options(call):
    with pytest.raises(ValueError, match=r"'minilm'.*'wordllama'.*'tfidf'"):
        call("bert")
    with pytest.raises(ValueError, match="Unknown embedding model"):
        call(42)


def test_texts_must_be_strings():
    with pytest.raises(ValueError, match="fillna"):
        embed_texts(["ok", None], model="tfidf")
    with pytest.raises(ValueError, match="single string"):
        embed_texts("just one", model="tfidf")
    with pytest.raises(ValueError, match="batch_size"):
        embed_texts(["a"], model="tfidf", batch_size=0)


def test_sentence_transformers_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(hub, "_has_module", lambda name: name != "sentence_transformers")
    with pytest.raises(ValueError, match=r"requirements-hub\.txt"):
        embed_texts(["a"], model="st:all-MiniLM-L6-v2")
    assert not {i.name: i for i in available_embedders()}["st:"].installed
    with pytest.raises(ValueError, match="needs a model name"):
        embed_texts(["a"], model="st:")


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
    cached_embed_texts(texts, model="wordllama")  # other model -> its own entry
    assert calls == ["tfidf", "tfidf", "wordllama"]
