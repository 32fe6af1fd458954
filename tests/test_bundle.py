"""Bundles (epoxy_core.bundle): round trip, new rows labeled as in the project, refusal of bad bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epoxy_core.bundle import (
    BUNDLE_VERSION,
    BundleError,
    BundleIntegrityError,
    BundleVersionError,
    EmbedderMismatchError,
    build_support_set,
    load_bundle,
    portable_embedder,
    save_bundle,
)
from epoxy_core.data import DatasetSpec
from epoxy_core.fitting import fit_project
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import LookupLF, SimilarityLF
from tests.batch._data import CLASS_NAMES, comments, lfs

pytestmark = pytest.mark.slow  # fits WordLlama pipelines (a few seconds per module)

SPEC = DatasetSpec("text", "label", class_names=CLASS_NAMES)


def _lfs() -> list:
    """The shared LF set plus the data-only kinds: a lookup list and "rows like these" (example rows and a text)."""
    return [
        *lfs(),
        LookupLF("giveaway words", 1, terms=["giveaways", "gift cards", "free stuff"]),
        SimilarityLF("like these", 0, 0.8, rows=[1, 3], texts=["what a beautiful voice"]),
    ]


@pytest.fixture(scope="module")
def project():
    """A fitted project (exact graph: 400 rows), thresholds fixed so extension adds votes."""
    return fit_project(comments(), SPEC, _lfs(), threshold=0.6, tune=False, class_balance="dev labels")


@pytest.fixture(scope="module")
def bundle_path(project, tmp_path_factory) -> Path:
    return project.save_bundle(tmp_path_factory.mktemp("bundle") / "spam.bundle", max_voters_per_lf=None)


@pytest.fixture
def copy(bundle_path, tmp_path) -> Path:
    """A private copy of the bundle to damage."""
    return Path(shutil.copytree(bundle_path, tmp_path / "copy.bundle"))


def _rewrite_manifest(folder: Path, name: str) -> None:
    """What a forger would do: recompute the checksum of an edited file."""
    import hashlib

    manifest = json.loads((folder / "manifest.json").read_text())
    content = (folder / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_round_trip_rebuilds_the_same_models_lfs_and_support(project, bundle_path):
    bundle = load_bundle(bundle_path)
    assert bundle.lf_names == [lf.name for lf in project.lfs]
    assert bundle.class_names == CLASS_NAMES and bundle.text_column == "text"
    np.testing.assert_array_equal(bundle.thresholds, project.thresholds)
    np.testing.assert_allclose(
        bundle.label_model.predict_proba(project.L_extended), project.label_model_proba, rtol=0, atol=1e-12
    )
    assert bundle.end_model is not None and project.end_model_proba is not None
    np.testing.assert_allclose(bundle.end_model.predict_proba(project.embeddings), project.end_model_proba, atol=1e-12)
    voted = (project.L != ABSTAIN).any(axis=1)
    np.testing.assert_array_equal(bundle.support.rows, np.flatnonzero(voted))  # uncapped: every voter
    np.testing.assert_array_equal(bundle.support.votes, project.L[voted])
    np.testing.assert_array_equal(bundle.support.embeddings, project.embeddings[voted])
    assert bundle.support.exact and bundle.embedder.model == "wordllama"


def test_new_rows_get_exactly_the_labels_they_have_in_the_project(project, bundle_path):
    # The same rows, passed as new ones (shuffled, other ids): extension from the support set must equal
    # the in-project extension through the exact graph, and both models must agree.
    reference = project.labels_table()
    assert (project.L_extended != project.L).any(), "the fixture must extend some votes"
    order = np.random.default_rng(1).permutation(len(reference))
    new_rows = project.dataset.df.iloc[order].reset_index(drop=True).drop(columns=["label"])
    labeled = load_bundle(bundle_path).label(new_rows)
    expected = reference.iloc[order].reset_index(drop=True)
    pd.testing.assert_frame_equal(labeled, expected, check_exact=False, rtol=0, atol=1e-6)


def test_rows_never_in_the_project_are_labeled_from_the_support_set(bundle_path):
    new = comments(50, seed=7, start_id=10_000)
    labeled = load_bundle(bundle_path).label(new)
    assert labeled["row_id"].tolist() == new["row_id"].tolist()
    assert labeled["label"].notna().all()  # the end model labels every row
    np.testing.assert_allclose(labeled[["P(ham)", "P(spam)"]].sum(axis=1), 1.0)
    assert labeled["extended_lfs"].map(len).sum() > 0


def test_positions_without_an_id_column_and_with_an_offset(bundle_path):
    rows = comments(5, seed=3).drop(columns=["row_id"])
    bundle = load_bundle(bundle_path)
    assert bundle.label(rows, row_offset=100)["row"].tolist() == [100, 101, 102, 103, 104]
    with pytest.raises(ValueError, match="id column 'comment'"):
        bundle.label(rows, id_column="comment")


def test_a_missing_text_or_lf_column_is_named_before_any_work(bundle_path):
    bundle = load_bundle(bundle_path)
    with pytest.raises(ValueError, match=r"text column 'text'.*--text-column"):
        bundle.label(pd.DataFrame({"body": ["hello"]}))
    renamed = bundle.label(pd.DataFrame({"body": ["check out my channel"]}), text_column="body")
    assert renamed["label"].iloc[0] == "spam"


def test_tampered_files_are_refused(copy):
    raw = bytearray((copy / "support.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (copy / "support.npz").write_bytes(bytes(raw))
    with pytest.raises(BundleIntegrityError, match=r"support\.npz .*changed since the bundle was saved"):
        load_bundle(copy)


def test_an_edited_threshold_is_refused(copy):
    document = json.loads((copy / "bundle.json").read_text())
    document["thresholds"][0] = 0.1
    (copy / "bundle.json").write_text(json.dumps(document))
    with pytest.raises(BundleIntegrityError, match=r"bundle\.json"):
        load_bundle(copy)


def test_a_newer_or_invalid_format_version_is_refused(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    for version, message in ((BUNDLE_VERSION + 1, "newer than this Epoxy Studio reads"), ("1", "invalid format")):
        manifest["version"] = version
        (copy / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(BundleVersionError, match=message):
            load_bundle(copy)


def test_missing_or_unexpected_files_are_refused(copy, tmp_path):
    (copy / "probe.npz").unlink()
    with pytest.raises(BundleIntegrityError, match=r"missing probe\.npz"):
        load_bundle(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["../escape.json"] = {"sha256": "0" * 64, "bytes": 1}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleIntegrityError, match="unexpected file"):
        load_bundle(copy)
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        load_bundle(tmp_path / "plain")


def test_a_forged_pickle_is_never_unpickled(copy):
    # A consistent forgery (checksum recomputed) holding an object array: refused, never unpickled.
    with open(copy / "support.npz", "wb") as handle:
        np.savez(handle, embeddings=np.array([object()], dtype=object), votes=np.zeros((1, 7)), rows=np.zeros(1))
    _rewrite_manifest(copy, "support.npz")
    with pytest.raises(BundleIntegrityError, match="cannot be read as numeric arrays"):
        load_bundle(copy)


def test_forged_shapes_are_refused_not_used(copy):
    with np.load(copy / "support.npz", allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["votes"] = arrays["votes"][:, :3]  # fewer LF columns than the LF set
    with open(copy / "support.npz", "wb") as handle:
        np.savez(handle, **arrays)
    _rewrite_manifest(copy, "support.npz")
    with pytest.raises(BundleIntegrityError, match="votes must have shape"):
        load_bundle(copy)


def test_an_embedder_that_moved_is_refused_at_label_time(copy):
    with np.load(copy / "probe.npz", allow_pickle=False) as archive:
        probe = archive["embeddings"]
    rotated = np.roll(probe, 1, axis=1)  # same shapes and norms, other vectors: another model
    with open(copy / "probe.npz", "wb") as handle:
        np.savez(handle, embeddings=rotated)
    _rewrite_manifest(copy, "probe.npz")
    bundle = load_bundle(copy)  # loads: the embedder is checked when it is first used
    with pytest.raises(EmbedderMismatchError, match="not the one the bundle was made with"):
        bundle.label(comments(3))


def test_bundles_refuse_embedders_fitted_per_table(project, tmp_path):
    for source in ("tfidf", {"kind": "columns", "columns": ["video"]}, {"kind": "npy", "npy_digest": "ab" * 16}):
        with pytest.raises(ValueError, match="A bundle cannot carry"):
            portable_embedder(source)
    with pytest.raises(ValueError, match="TF-IDF"):
        save_bundle(
            tmp_path / "b",
            lfs=project.lfs,
            thresholds=project.thresholds,
            class_names=CLASS_NAMES,
            text_column="text",
            label_model=project.label_model,
            embedder="tfidf",
            embeddings=project.embeddings,
            L=project.L,
        )
    assert not (tmp_path / "b").exists()


def test_saving_refuses_to_replace_what_is_not_a_bundle(project, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists"):
        project.save_bundle(tmp_path / "notes")
    with pytest.raises(ValueError, match="not a bundle folder"):
        project.save_bundle(tmp_path / "notes", overwrite=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"
    first = project.save_bundle(tmp_path / "b")
    assert project.save_bundle(first, overwrite=True) == first and load_bundle(first).lf_names


def test_support_cap_keeps_each_class_share_and_is_seeded():
    rng = np.random.default_rng(0)
    L = np.full((1000, 3), ABSTAIN, dtype=np.int8)
    L[:600, 0] = np.where(np.arange(600) < 450, 1, 0)  # LF 0: 450 votes for class 1, 150 for class 0
    L[rng.choice(1000, 50, replace=False), 1] = 1  # LF 1: under the cap
    L[:, 2] = 0  # LF 2: extension off, keeps nothing
    embeddings = rng.standard_normal((1000, 8)).astype(np.float32)
    support = build_support_set(L, embeddings, [0.5, 0.5, np.inf], max_voters_per_lf=100, random_state=3)
    kept0 = support.votes[:, 0]
    assert (kept0 == 1).sum() == 75 and (kept0 == 0).sum() == 25
    assert (support.votes[:, 1] != ABSTAIN).sum() == 50
    assert (support.votes[:, 2] == ABSTAIN).all() and not support.exact
    again = build_support_set(L, embeddings, [0.5, 0.5, np.inf], max_voters_per_lf=100, random_state=3)
    np.testing.assert_array_equal(again.rows, support.rows)
    other = build_support_set(L, embeddings, [0.5, 0.5, np.inf], max_voters_per_lf=100, random_state=4)
    assert not np.array_equal(other.rows, support.rows)
    # Kept rows carry their own vote and embedding.
    np.testing.assert_array_equal(support.votes[kept0 != ABSTAIN, 0], L[support.rows[kept0 != ABSTAIN], 0])
    np.testing.assert_allclose(
        support.embeddings, embeddings[support.rows] / np.linalg.norm(embeddings[support.rows], axis=1)[:, None], 1e-6
    )


def test_model_parameters_of_another_layout_are_refused_with_the_models_reason(copy):
    # What an older or newer label model would leave in a bundle: fitted state this code does not know.
    document = json.loads((copy / "bundle.json").read_text())
    document["label_model"]["state"].pop(next(iter(document["label_model"]["state"])))
    (copy / "bundle.json").write_text(json.dumps(document))
    _rewrite_manifest(copy, "bundle.json")
    with pytest.raises(BundleError, match="label model cannot be rebuilt here"):
        load_bundle(copy)
