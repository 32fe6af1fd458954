"""ProjectSettings: one validated value for a project's settings, readable from every version's JSON."""

from __future__ import annotations

import json
import math

import pytest

from epoxy_core.embed.source import EmbeddingSource
from epoxy_core.settings import DEFAULT_THRESHOLD, ProjectSettings


def test_defaults_round_trip_through_json():
    settings = ProjectSettings()
    assert ProjectSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    assert settings.threshold_for("anything") == DEFAULT_THRESHOLD
    assert not settings.graph_built and settings.end_model


def test_every_field_survives_a_round_trip():
    settings = ProjectSettings(
        embedding=EmbeddingSource.columns_source(["a", "b"]),
        graph_built=True,
        n_neighbors=15,
        thresholds={"my": 0.3, "song": None, "neg": -0.25},
        default_threshold=None,
        class_balance="uniform",
        end_model=False,
    )
    again = ProjectSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again == settings
    assert again.threshold_for("song") is None and again.threshold_for("other") is None


def test_off_and_zero_are_different_thresholds():
    # The set-all slider saved 0.8 for both (``value or 0.8``): None (off) and 0.0 must stay what they are.
    assert ProjectSettings(default_threshold=0.0).default_threshold == 0.0
    assert ProjectSettings(default_threshold=None).default_threshold is None
    assert ProjectSettings.from_dict({"default_threshold": 0}).default_threshold == 0.0


def test_version_0_2_keys_are_read():
    built = ProjectSettings.from_dict({"embedder": "minilm", "graph_source": "tfidf", "n_neighbors": 30})
    assert built.embedding == EmbeddingSource.model_source("tfidf") and built.graph_built
    unbuilt = ProjectSettings.from_dict({"embedder": 'columns:["x", "y"]', "graph_source": None})
    assert unbuilt.embedding == EmbeddingSource.columns_source(["x", "y"]) and not unbuilt.graph_built
    npy = ProjectSettings.from_dict({"embedder": "npy:0123abcd", "graph_source": "npy:0123abcd"})
    assert npy.embedding == EmbeddingSource.npy_source("0123abcd")
    # Today's keys win over the legacy ones when a document holds both (a merge kept the old keys).
    mixed = ProjectSettings.from_dict(
        {"embedding": {"kind": "model", "model": "minilm"}, "graph_built": False, "graph_source": "tfidf"}
    )
    assert mixed.embedding == EmbeddingSource.model_source("minilm") and not mixed.graph_built


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"n_neighbors": "30"}, "n_neighbors"),
        ({"n_neighbors": True}, "n_neighbors"),
        ({"n_neighbors": 1}, "n_neighbors"),
        ({"thresholds": {"my": 1.5}}, "threshold of LF 'my'"),
        ({"thresholds": {"my": math.nan}}, "threshold of LF 'my'"),
        ({"thresholds": [0.5]}, "thresholds"),
        ({"default_threshold": "0.8"}, "default_threshold"),
        ({"class_balance": "dev"}, "class_balance"),
        ({"graph_built": 1}, "graph_built"),
        ({"embedding": "no such model"}, "embedding"),
        ({"embedding": "columns:not json"}, "embedding"),
        ({"embedding": "npy:../../etc"}, "embedding"),
        ({"embedding": {"kind": "columns", "columns": []}}, "embedding"),
        ({"colour": "red"}, "Unknown project setting"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(data, message):
    with pytest.raises(ValueError, match=message):
        ProjectSettings.from_dict(data)


def test_the_constructor_validates_too():
    with pytest.raises(ValueError, match="class_balance"):
        ProjectSettings(class_balance="sometimes")
    with pytest.raises(ValueError, match="n_neighbors"):
        ProjectSettings().replace(n_neighbors=0)


def test_salvage_keeps_the_good_settings_and_reports_the_bad():
    settings, problems = ProjectSettings.salvage(
        {"n_neighbors": 12, "thresholds": {"my": "high", "song": 0.4}, "class_balance": "uniform", "future_key": 1}
    )
    assert settings.n_neighbors == 12 and settings.class_balance == "uniform"
    assert settings.thresholds == {"song": 0.4}  # one bad threshold does not cost the others
    assert len(problems) == 2
    assert any("future_key" in p for p in problems) and any("threshold of LF 'my'" in p for p in problems)
    assert ProjectSettings.salvage(["not", "a", "dict"])[0] == ProjectSettings()


def test_salvage_of_valid_settings_reports_nothing():
    settings = ProjectSettings(thresholds={"a": 0.5})
    assert ProjectSettings.salvage(settings.to_dict()) == (settings, [])
