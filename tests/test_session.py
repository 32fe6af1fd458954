"""Tests for epoxy_core.session: the interactive engine equals the step-by-step library calls.

The reference in every test is the plain pipeline a notebook would write: ``apply_lfs`` -> ``nearest_voters``
-> ``extend`` -> ``TripletLabelModel().fit`` -> ``predict_proba`` -> ``lf_summary``.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from epoxy_core import session as session_module
from epoxy_core.analysis import lf_summary
from epoxy_core.data import DatasetSpec, prepare_dataset
from epoxy_core.extension import extend, nearest_voters
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import ColumnRuleLF, KeywordLF, apply_lfs
from epoxy_core.metrics import label_model_metrics
from epoxy_core.model import TripletLabelModel, resolve_class_balance
from epoxy_core.model.statistics import COMPILED_FROM_ROWS
from epoxy_core.neighbors import KNNGraph, build_knn_graph
from epoxy_core.session import LabelingSession, lf_digest

WORDS = [f"w{i}" for i in range(30)]


def make_data(n: int, dim: int = 8, seed: int = 0, n_dev: int = 150):
    """Clustered unit vectors; texts whose words depend on the cluster, so keyword votes cluster too."""
    rng = np.random.default_rng(seed)
    n_clusters = 12
    centres = rng.normal(size=(n_clusters, dim))
    cluster = rng.integers(n_clusters, size=n)
    vectors = centres[cluster] + 0.6 * rng.normal(size=(n, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    y = cluster % 2
    favourite = rng.integers(len(WORDS), size=(n_clusters, 3))
    texts = []
    for i in range(n):
        own = [WORDS[w] for w in favourite[cluster[i]] if rng.random() < 0.3]
        noise = [WORDS[w] for w in rng.integers(len(WORDS), size=2)]
        texts.append(" ".join(own + noise))
    labels = np.array(["", ""], dtype=object)[np.zeros(n, dtype=int)]
    dev = rng.choice(n, size=min(n_dev, n), replace=False)
    labels[dev] = np.where(y[dev] == 1, "pos", "neg")
    frame = pd.DataFrame({"text": texts, "label": labels, "score": rng.random(n)})
    dataset = prepare_dataset(frame, DatasetSpec("text", "label", class_names=["neg", "pos"]))
    return dataset, vectors


def make_lfs() -> list:
    return [
        KeywordLF("w0", 1, ["w0"]),
        KeywordLF("w1", 0, ["w1"]),
        KeywordLF("w2 or w3", 1, ["w2", "w3"]),
        KeywordLF("w4", 0, ["w4"]),
        ColumnRuleLF("high score", 1, "score", ">", 0.97),
    ]


def step_by_step(dataset, graph, lfs, thresholds, class_balance="estimate"):
    L = apply_lfs(lfs, dataset.df, "text", cardinality=2)
    nearest = nearest_voters(L, graph)
    L_ext = extend(L, thresholds=thresholds, nearest=nearest)
    balance = resolve_class_balance(class_balance, dataset.y, 2)
    model = TripletLabelModel(cardinality=2).fit(L_ext, class_balance=balance)
    proba = model.predict_proba(L_ext)
    summary = lf_summary(
        L, L_extended=L_ext, names=[lf.name for lf in lfs], y=dataset.y, model=model, class_names=dataset.class_names
    )
    return L, nearest, L_ext, proba, summary


@pytest.fixture(scope="module")
def small():
    dataset, vectors = make_data(1500)
    graph = build_knn_graph(vectors, n_neighbors=10, method="exact")
    return dataset, vectors, graph


def new_session(small, **options) -> LabelingSession:
    dataset, vectors, graph = small
    options.setdefault("end_model", False)
    return LabelingSession(dataset, vectors, graph, **options)


# -- results equal the library calls ----------------------------------------------------------------------
@pytest.mark.parametrize("thresholds", [0.8, [0.5, 0.6, 0.7, 0.9, np.inf]])
@pytest.mark.parametrize("balance", ["estimate", "dev labels"])
def test_results_equal_the_step_by_step_library_calls(small, thresholds, balance):
    dataset, _, graph = small
    session = new_session(small)
    session.set_lfs(make_lfs())
    res = session.results(thresholds, class_balance=balance)
    L, nearest, L_ext, proba, summary = step_by_step(dataset, graph, make_lfs(), thresholds, balance)
    np.testing.assert_array_equal(res.L, L)
    np.testing.assert_array_equal(res.L_extended, L_ext)
    np.testing.assert_allclose(res.proba, proba, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(res.summary, summary)
    np.testing.assert_array_equal(res.covered, (L_ext != ABSTAIN).any(axis=1))
    assert res.exact and res.refining == []
    assert res.names == [lf.name for lf in make_lfs()]
    assert res.headline.n_dev == 150
    assert next(iter(res.comparison.index)) == "label model, extended"
    full = label_model_metrics(dataset.y, proba=proba, class_names=dataset.class_names, abstain_mask=~res.covered)
    assert res.metrics["label model, extended"] == full
    _, session_nearest = session.nearest()
    np.testing.assert_array_equal(session_nearest.similarity, nearest.similarity)
    np.testing.assert_array_equal(session_nearest.index, nearest.index)


@pytest.mark.slow
def test_results_at_compiled_sizes_equal_the_step_by_step_library_calls():
    # From COMPILED_FROM_ROWS rows the session extends and counts in one compiled pass and the posterior is
    # compiled: the same extended matrix and summary cell for cell, probabilities to 1e-9.
    dataset, vectors = make_data(COMPILED_FROM_ROWS + 300, seed=3)
    graph = build_knn_graph(vectors, n_neighbors=10, method="exact")
    session = LabelingSession(dataset, vectors, graph, refine="sync", end_model=False)
    thresholds = [0.5, 0.6, 0.7, 0.9, np.inf]
    for balance in ("estimate", "dev labels"):
        res = session.results(thresholds, class_balance=balance, lfs=make_lfs())
        L, _, L_ext, proba, summary = step_by_step(dataset, graph, make_lfs(), thresholds, balance)
        np.testing.assert_array_equal(res.L, L)
        np.testing.assert_array_equal(res.L_extended, L_ext)
        np.testing.assert_allclose(res.proba, proba, rtol=0, atol=1e-9)
        pd.testing.assert_frame_equal(res.summary, summary)
        np.testing.assert_array_equal(res.covered, (L_ext != ABSTAIN).any(axis=1))
    session.close()


def test_thresholds_by_name_and_none_means_not_extended(small):
    session = new_session(small)
    lfs = make_lfs()
    session.set_lfs(lfs)
    by_name = session.results({"w0": 0.7, "w1": None}, class_balance="uniform")
    as_list = session.results([0.7, np.inf, np.inf, np.inf, np.inf], class_balance="uniform")
    np.testing.assert_array_equal(by_name.L_extended, as_list.L_extended)
    with pytest.raises(ValueError, match="not active"):
        session.results({"nope": 0.5})


# -- only what changed is recomputed ------------------------------------------------------------------------
def test_only_the_edited_lf_is_applied_and_searched(small):
    session = new_session(small)
    lfs = make_lfs()
    first = session.set_lfs(lfs)
    assert first.applied == first.searched == [lf.name for lf in lfs]
    assert session.set_lfs(lfs).applied == []
    edited = [*lfs[:2], KeywordLF("w2 or w3", 1, ["w2", "w3", "w5"]), *lfs[3:]]
    report = session.set_lfs(edited)
    assert report.applied == ["w2 or w3"] and report.searched == ["w2 or w3"]
    # Renaming and switching off and on reuse the definition's votes and nearest voters.
    renamed = [KeywordLF("zero", 1, ["w0"]), *edited[1:]]
    assert session.set_lfs(renamed).applied == []
    off = [KeywordLF("zero", 1, ["w0"], enabled=False), *edited[1:]]
    report = session.set_lfs(off)
    assert report.disabled == ["zero"] and "zero" not in report.active
    assert session.set_lfs(renamed).searched == []
    # Undoing the edit is free too.
    assert session.set_lfs(lfs).searched == []


def test_lf_digest_ignores_name_and_switch_but_not_the_rule():
    assert lf_digest(KeywordLF("a", 1, ["x"])) == lf_digest(KeywordLF("b", 1, ["x"], enabled=False))
    assert lf_digest(KeywordLF("a", 1, ["x"])) != lf_digest(KeywordLF("a", 0, ["x"]))
    assert lf_digest(KeywordLF("a", 1, ["x"])) != lf_digest(KeywordLF("a", 1, ["x"], whole_word=False))


def test_lfs_that_do_not_fit_are_reported_not_raised(small):
    session = new_session(small)
    lfs = [*make_lfs(), ColumnRuleLF("missing column", 1, "nope", ">", 1), KeywordLF("class 5", 5, ["w0"])]
    report = session.set_lfs(lfs)
    assert set(report.problems) == {"missing column", "class 5"}
    assert "nope" in report.problems["missing column"]
    assert "class" in report.problems["class 5"]
    assert report.active == [lf.name for lf in make_lfs()]
    assert session.results(0.8).names == report.active
    with pytest.raises(ValueError, match="Duplicate"):
        session.set_lfs([KeywordLF("a", 1, ["w0"]), KeywordLF("a", 0, ["w1"])])
    with pytest.raises(ValueError, match="at least one"):
        session.set_lfs([ColumnRuleLF("missing column", 1, "nope", ">", 1)]) and session.results(0.8)


# -- the graph-first answer and the background refinement -------------------------------------------------------
def test_background_refinement_converges_to_the_exact_answer(small, monkeypatch):
    dataset, _vectors, graph = small
    monkeypatch.setattr(session_module, "EXACT_SYNC_MAX_ROWS", 0)  # behave as at 100k rows
    session = new_session(small, refine="background")
    lfs = make_lfs()
    session.set_lfs(lfs)
    assert session.wait_exact(timeout=60)
    res = session.results(0.6)
    assert res.exact and res.refining == []
    _L, nearest, L_ext, proba, _ = step_by_step(dataset, graph, lfs, 0.6)
    np.testing.assert_array_equal(res.L_extended, L_ext)
    np.testing.assert_allclose(res.proba, proba, atol=1e-12)
    _, session_nearest = session.nearest()
    np.testing.assert_array_equal(session_nearest.index, nearest.index)
    session.close()


def test_graph_first_answer_is_marked_and_never_claims_more_than_exact(small, monkeypatch):
    dataset, _vectors, graph = small
    monkeypatch.setattr(session_module, "EXACT_SYNC_MAX_ROWS", 0)
    session = new_session(small, refine="off")
    session.set_lfs(make_lfs())
    res = session.results(0.6)
    assert not res.exact and set(res.refining) <= set(res.names)
    _, nearest, L_ext, _, _ = step_by_step(dataset, graph, make_lfs(), 0.6)
    _, approximate = session.nearest(wait=False)
    # Every voter it found is a real voter at its true similarity, so it extends a subset of the exact answer...
    assert (approximate.similarity <= nearest.similarity + 1e-5).all()
    extended_here = res.L_extended != ABSTAIN
    assert (L_ext[extended_here] == res.L_extended[extended_here]).all()
    # ...and on this clustered data, nearly all of it.
    assert (res.L_extended == L_ext).mean() > 0.97


@pytest.mark.slow
def test_an_lf_edit_at_600k_rows_changes_the_nearest_voters():
    """The st.cache_data collision of issue 11: arrays >= 500k elements were hashed from a sample."""
    n = 600_000
    texts = np.where(np.arange(n) % 1000 == 0, "alpha", "beta").astype(object)
    texts[123_457] = "gamma"  # one row far from the sample the old cache looked at
    frame = pd.DataFrame({"text": texts})
    dataset = prepare_dataset(frame, DatasetSpec("text", class_names=["other", "alpha"]))
    # A ring graph: each row's neighbours are the next rows (similarity 0.9, 0.8).
    rows = np.arange(n)
    indices = np.column_stack([(rows + 1) % n, (rows + 2) % n])
    graph = KNNGraph(indices, np.tile(np.float32([0.9, 0.8]), (n, 1)), "cosine", "exact", embeddings=None)
    session = LabelingSession(dataset, graph=graph, end_model=False)
    before = KeywordLF("alpha", 1, ["alpha"])
    after = KeywordLF("alpha", 1, ["alpha", "gamma"])
    session.set_lfs([before])
    res_before = session.results(0.85)
    report = session.set_lfs([after])
    assert report.searched == ["alpha"]
    res_after = session.results(0.85)
    L_after = apply_lfs([after], frame, "text")
    np.testing.assert_array_equal(res_after.L, L_after)
    np.testing.assert_array_equal(res_after.L_extended, extend(L_after, graph, thresholds=0.85))
    # Row 123,457 now votes (it did not before) and row 123,456 is extended from it.
    assert res_before.L_extended[123_456, 0] == ABSTAIN and res_after.L_extended[123_456, 0] == 1
    _, nearest = session.nearest()
    assert nearest.index[123_456, 0] == 123_457


# -- end model in the background --------------------------------------------------------------------------------
def test_end_model_runs_in_the_background_and_reports_staleness(small):
    session = new_session(small, end_model=True, settle_seconds=0.0)
    session.set_lfs(make_lfs())
    first = session.results(0.8)
    ready = session.end_model(first, wait=30)
    assert ready.status == "ready" and not ready.stale and ready.for_key == first.key
    assert ready.proba.shape == (len(small[0]), 2)
    np.testing.assert_allclose(ready.proba.sum(axis=1), 1.0)
    assert ready.headline.uncovered_by == "end model"
    second = session.results(0.6)
    state = session.end_model(second)  # answers at once with the previous fit, marked stale
    assert state.status in ("running", "ready")
    if state.status == "running":
        assert state.stale and state.for_key == first.key
    assert session.end_model(second, wait=30).for_key == second.key
    assert session.end_model(first).for_key == first.key  # still cached
    session.close()


def test_end_model_skips_results_nobody_asks_for_any_more(small):
    session = new_session(small, end_model=True, settle_seconds=0.2)
    session.set_lfs(make_lfs())
    stale = session.results(0.8)
    latest = session.results(0.7)
    session.end_model(stale)  # waits settle_seconds before starting...
    assert session.end_model(latest, wait=30).for_key == latest.key  # ...and is superseded meanwhile
    assert session.end_model(stale).status == "running"  # never fitted: it was superseded before it started
    session.close()


# -- the LF editor's preview ------------------------------------------------------------------------------------
def test_draft_preview_matches_the_summary_and_the_extension(small):
    dataset, _, graph = small
    session = new_session(small)
    lfs = make_lfs()
    session.set_lfs(lfs)
    draft = KeywordLF("w4", 0, ["w4", "w6"])  # an edit of the LF named "w4"
    preview = session.draft(draft, threshold=0.7)
    others = [lf for lf in lfs if lf.name != "w4"]
    L = apply_lfs([*others, draft], dataset.df, "text", cardinality=2)
    row = lf_summary(L, names=[lf.name for lf in [*others, draft]], y=dataset.y).iloc[-1]
    assert preview.problem is None
    assert preview.coverage == pytest.approx(row["coverage"])
    assert preview.overlaps == pytest.approx(row["overlaps"])
    assert preview.conflicts == pytest.approx(row["conflicts"])
    assert (preview.correct, preview.incorrect) == (row["correct"], row["incorrect"])
    ext = extend(L[:, [-1]], graph, thresholds=0.7)[:, 0]
    extension = preview.extension
    assert extension.added_rows == int(((L[:, -1] == ABSTAIN) & (ext != ABSTAIN)).sum())
    assert extension.extended_coverage == pytest.approx((ext != ABSTAIN).mean())
    dev = dataset.y != ABSTAIN
    assert extension.extended_correct == int((ext[dev] == dataset.y[dev]).sum())
    assert len(extension.samples) == min(5, extension.added_rows)
    for _, sample in extension.samples.iterrows():
        assert L[sample["row"], -1] == ABSTAIN and L[sample["nearest_voter"], -1] == 0
        assert sample["similarity"] >= 0.7 and sample["vote"] == "neg"
    # Saving the draft into the set costs nothing more.
    assert session.set_lfs([*others, draft]).searched == []
    bad = session.draft(ColumnRuleLF("bad", 1, "nope", ">", 1))
    assert bad.votes is None and "nope" in bad.problem


# -- bounded caches, threads ------------------------------------------------------------------------------------
def test_caches_stay_within_their_byte_bound(small):
    budget = 400_000
    session = new_session(small, cache_bytes=budget)
    for i in range(15):  # 15 edits, each a new LF definition and new results
        session.set_lfs([*make_lfs()[:4], KeywordLF("edited", 1, [WORDS[i % 30], WORDS[(i + 7) % 30]])])
        session.results(0.5 + i / 100)
    sizes = session.cache_bytes()
    assert sum(sizes.values()) <= budget
    # Still correct after evictions.
    dataset, _, graph = small
    lfs = [*make_lfs()[:4], KeywordLF("edited", 1, [WORDS[14], WORDS[21]])]
    np.testing.assert_array_equal(session.results(0.6).L_extended, step_by_step(dataset, graph, lfs, 0.6)[2])


def test_concurrent_calls_give_the_sequential_answers(small):
    session = new_session(small)
    lfs = make_lfs()
    thresholds = [0.5, 0.65, 0.8, 0.9]
    reference = new_session(small)
    expected = {t: reference.results(t, lfs=lfs).L_extended for t in thresholds}
    got: dict[float, np.ndarray] = {}
    errors: list[BaseException] = []

    def worker(t: float) -> None:
        try:
            got[t] = session.results(t, lfs=lfs).L_extended
        except BaseException as error:  # collected and re-raised below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(t,)) for t in thresholds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for t in thresholds:
        np.testing.assert_array_equal(got[t], expected[t])


def test_session_needs_a_dataset_and_matching_sizes(small):
    dataset, vectors, graph = small
    with pytest.raises(ValueError, match="Dataset"):
        LabelingSession(dataset.df, vectors, graph)
    with pytest.raises(ValueError, match="rows"):
        LabelingSession(dataset, vectors[:10], build_knn_graph(vectors[:10], 3))
    with pytest.raises(ValueError, match="refine"):
        LabelingSession(dataset, vectors, graph, refine="later")


# -- hand labels: set_labels keeps votes and nearest voters, re-scores only --------------------------------------
def _hand_labels(dataset, count: int = 40, seed: int = 3) -> dict[int, int]:
    rng = np.random.default_rng(seed)
    unlabeled = np.flatnonzero(dataset.y == ABSTAIN)
    return {int(row): int(rng.integers(2)) for row in rng.choice(unlabeled, count, replace=False)}


@pytest.mark.parametrize("balance", ["estimate", "dev labels"])
def test_set_labels_equals_a_fresh_session_on_the_hand_labelled_dataset(small, balance):
    dataset, vectors, graph = small
    session = new_session(small)
    session.set_lfs(make_lfs())
    before = session.results(0.7, class_balance=balance)
    hand = _hand_labels(dataset)
    assert session.set_labels(hand) == 150 + len(hand)
    assert session.dataset.hand_labeled.sum() == len(hand)
    after = session.results(0.7, class_balance=balance)
    fresh = LabelingSession(dataset.with_hand_labels(hand), vectors, graph, end_model=False)
    expected = fresh.results(0.7, class_balance=balance, lfs=make_lfs())
    np.testing.assert_array_equal(after.L_extended, expected.L_extended)
    np.testing.assert_allclose(after.proba, expected.proba, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(after.summary, expected.summary)
    assert after.metrics == expected.metrics and after.headline == expected.headline
    assert after.n_dev == 150 + len(hand) and after.key != before.key and after.labels_key != before.labels_key
    # Nothing was re-applied or re-searched ...
    report = session.set_lfs(make_lfs())
    assert report.applied == [] and report.searched == []
    # ... and the label model is refitted only when the prior comes from the labels.
    assert (after.model_key == before.model_key) == (balance == "estimate")
    if balance == "estimate":
        assert after.L_extended is before.L_extended and after.label_model is before.label_model


def test_set_labels_takes_an_array_a_dataset_or_hand_labels_and_refuses_bad_input(small):
    dataset, _, _ = small
    session = new_session(small)
    session.set_lfs(make_lfs())
    hand = _hand_labels(dataset, 10)
    session.set_labels(hand)
    by_mapping = session.results(0.8)
    y = dataset.with_hand_labels(hand).y
    session.set_labels(y)
    assert session.results(0.8).key == by_mapping.key
    session.set_labels(dataset.with_hand_labels(hand))
    assert session.results(0.8).key == by_mapping.key
    # The full set each time: leaving a hand label out (or mapping it to None) removes it.
    first = next(iter(hand))
    session.set_labels({**hand, first: None})
    assert session.dataset.y[first] == ABSTAIN and session.results(0.8).n_dev == 150 + 9
    session.set_labels({})
    np.testing.assert_array_equal(session.dataset.y, dataset.y)
    with pytest.raises(ValueError, match="out of range"):
        session.set_labels({len(dataset) + 5: 1})
    with pytest.raises(ValueError):
        session.set_labels(np.zeros(3, dtype=int))
    other, _ = make_data(1500, seed=9)
    with pytest.raises(ValueError, match="other data"):
        session.set_labels(other)


def test_hand_labels_rescore_the_end_model_without_refitting_it(small):
    dataset, _, _ = small
    session = new_session(small, end_model=True, settle_seconds=0.0)
    session.set_lfs(make_lfs())
    first = session.results(0.8)
    fitted = session.end_model(first, wait=30)
    assert fitted.status == "ready"
    hand = _hand_labels(dataset, 30)
    session.set_labels(hand)
    relabelled = session.results(0.8)
    state = session.end_model(relabelled)
    assert state.status == "ready" and state.model is fitted.model and state.for_key == relabelled.key
    expected = label_model_metrics(
        session.dataset.y, proba=fitted.proba, class_names=dataset.class_names, abstain_mask=None
    )
    assert state.metrics == expected and state.metrics["n_dev"] == 150 + len(hand)
    session.close()


# -- similarity LFs vote through the session ----------------------------------------------------------------------
def test_similarity_lfs_get_the_graph_embeddings_and_the_embedder(small):
    from epoxy_core.lf import SimilarityLF

    dataset, vectors, graph = small
    embedded: list[list[str]] = []

    def embed(texts):
        embedded.append(list(texts))
        return vectors[[3 for _ in texts]]  # any text "means" row 3 here

    lfs = [
        *make_lfs(),
        SimilarityLF("like row 7", 1, 0.8, rows=[7]),
        SimilarityLF("like a text", 0, 0.85, texts=["some example"]),
    ]
    session = new_session(small, embed=embed)
    report = session.set_lfs(lfs)
    assert report.problems == {} and report.active == [lf.name for lf in lfs]
    assert embedded == [["some example"]]
    expected = apply_lfs(lfs, dataset.df, "text", cardinality=2, embeddings=vectors, embed=embed)
    res = session.results(0.75)
    np.testing.assert_array_equal(res.L, expected)
    assert expected[:, -2:].max(axis=0).tolist() == [1, 0]  # both vote somewhere
    np.testing.assert_array_equal(res.L_extended, extend(expected, graph, thresholds=0.75))
    session.set_lfs(lfs)
    assert len(embedded) == 2  # the session's one call and this test's apply_lfs: the LF's votes are cached
    # Without an embedder, the LF with example texts is listed with the reason; the row-example LF still votes.
    plain = new_session(small)
    report = plain.set_lfs(lfs)
    assert list(report.problems) == ["like a text"] and "embed" in report.problems["like a text"]
    # A session from a graph without embeddings says what is missing.
    bare = KNNGraph(graph.indices, graph.similarities, graph.metric, graph.method, embeddings=None)
    report = LabelingSession(dataset, graph=bare, end_model=False).set_lfs(lfs[-2:])
    assert set(report.problems) == {"like row 7", "like a text"}
    assert "embeddings" in report.problems["like row 7"]


def test_an_embedder_failure_is_a_problem_and_retried(small):
    from epoxy_core.lf import SimilarityLF

    _, vectors, _ = small
    calls = []

    def flaky(texts):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("model file busy")
        return vectors[[0 for _ in texts]]

    lf = SimilarityLF("like a text", 1, 0.9, texts=["x"])
    session = new_session(small, embed=flaky)
    report = session.set_lfs([*make_lfs(), lf])
    assert "model file busy" in report.problems["like a text"]
    assert session.set_lfs([*make_lfs(), lf]).problems == {}  # not cached: the next call tried again
    assert len(calls) == 2


# -- the draft preview is analysis.extension_preview -----------------------------------------------------------
def test_draft_extension_is_the_analysis_preview(small):
    from epoxy_core.analysis import extension_preview

    dataset, _, graph = small
    session = new_session(small)
    session.set_lfs(make_lfs())
    draft = KeywordLF("draft", 1, ["w7", "w8"])
    preview = session.draft(draft, threshold=0.65, n_samples=4)
    votes = apply_lfs([draft], dataset.df, "text", cardinality=2)
    expected = extension_preview(
        votes[:, 0],
        nearest_voters(votes, graph).column(0),
        0.65,
        y=dataset.y,
        texts=dataset.texts,
        class_names=dataset.class_names,
        n_samples=4,
    )
    got = preview.extension
    for name in ("added_rows", "coverage_lift", "added_correct", "added_incorrect", "extended_correct", "exact"):
        assert getattr(got, name) == getattr(expected, name)
    pd.testing.assert_frame_equal(got.samples, expected.samples)
    assert session.draft(draft, threshold=None).extension is None
    # After a hand label the preview's dev figures move with it.
    row = int(np.flatnonzero((votes[:, 0] == 1) & (dataset.y == ABSTAIN))[0])
    session.set_labels({row: 0})
    assert session.draft(draft, threshold=None).incorrect == preview.incorrect + 1
