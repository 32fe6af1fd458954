"""Benchmark the interactive loop THROUGH THE SESSION OBJECT at d = 384: LF edit, threshold change, end model.

Run from the project root (each command < 10 min and < 6 GB on the 2-core machine)::

    .venv/bin/python bench/interactive_loop.py                       # 10k and 100k rows (~6-9 min under load)
    .venv/bin/python bench/interactive_loop.py --sizes 1000000       # 1M rows (cluster-local graph, ~6 GB)
    .venv/bin/python bench/interactive_loop.py --sizes 10000 --repeats 3   # quick look
    .venv/bin/python bench/interactive_loop.py --sizes 100000 --threshold-only --repeats 9

What is timed (median of ``--repeats`` runs after one untimed warm-up), every figure beside an exact
reference measured in the same run, with the load average printed beside the figures:

- **LF edit** (the target: <= 150 ms at 100k): ``session.set_lfs(lfs with one keyword LF edited)`` then
  ``session.results(thresholds)``.  The edited LF is applied and its nearest voters searched graph-first
  (graph gather, then multi-hop for rows with no voter among their 30 neighbours); the exact answer is
  refined in a background thread (timed separately: "exact refinement").  Reference: the exact Epoxy
  recompute of that LF (dense similarity of every row to the LF's voted rows) + extend + label model +
  summary, on the same data.
- **nearest voters of the edited LF alone**: graph-first, the library's exact ``nearest_voters`` (graph +
  exact search beyond it), and the dense reference; agreement of each with the dense answer at thresholds
  0.5, 0.7 and 0.9 (share of rows whose extended vote is the same).
- **threshold change** (target <= 30 ms at 100k, <= 300 ms at 1M): ``session.results(new thresholds)`` on
  fixed LFs; reference: the same extend + fit + predict_proba + summary + metrics done by plain library calls.
  Its extend + label model + posterior + summary part is also timed alone beside the path the session took
  before it counted votes in one compiled pass (:func:`previous_session_path`).  ``--threshold-only`` stops
  there.
- **end model**: background fit time (``session.end_model(res, wait=True)``), and the threshold change
  measured *while* that fit runs (it must not block).
- **weighing the exact alternatives**: the share of the dense (row, voter) pairs an IVF partition with exact
  cosine bounds would still have to compute, with a perfect visiting order (a lower bound of its cost).
- memory: process RSS now and its peak (sizes run in ascending order, so the peak is cumulative).

Data are synthetic and seeded: clustered unit vectors in 384 dimensions, binary labels correlated with
clusters, and short texts whose words correlate with the class, so keyword LFs are meaningful and votes
cluster in embedding space.  Graphs: exact below 20,000 rows and PyNNDescent above (cached on disk by
``cached_knn_graph``, so a second run reopens it); above ``--approx-graph-above`` rows a cluster-local
approximate graph stands in (see :func:`cluster_local_graph`), and the output says so.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from epoxy_core.analysis import lf_summary
from epoxy_core.blas import one_blas_thread
from epoxy_core.data import DatasetSpec, prepare_dataset
from epoxy_core.extension import NearestVoters, extend, nearest_voters
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import BaseLF, KeywordLF, RegexLF
from epoxy_core.metrics import compare_models, label_model_metrics
from epoxy_core.model import MajorityVote, TripletLabelModel, class_balance_from_labels
from epoxy_core.model.statistics import VoteStatistics
from epoxy_core.neighbors import KNNGraph, cached_knn_graph, resolve_method
from epoxy_core.session import LabelingSession

# ------------------------------------------------------------------------------------------------
# Settings of the synthetic data (printed in the output)
# ------------------------------------------------------------------------------------------------
N_CLUSTERS = 200
DIM = 384
NOISE = 0.6  # norm of a row's offset from its unit cluster centre: same-cluster cosine ~ 1 / (1 + 0.36)
N_NEIGHBORS = 30
WORDS_PER_CLASS = 20  # class-1 words p00..p19, class-0 words n00..n19
N_NEUTRAL = 300  # w000..w299, no class signal
SIGNAL_RATE = 0.3  # chance that a word slot holds a class word
CLASS_WORD_FIDELITY = 0.8  # chance that a class word belongs to the row's own class
WORD_PREFERENCE_ALPHA = 0.3  # Dirichlet concentration of each cluster's preference over class words
MIN_WORDS, MAX_WORDS = 4, 8
# Keywords per LF for the 9 keyword LFs of each class (18 of the 20 class words); words 18-19 go to a regex.
KEYWORD_COUNTS = (1, 1, 2, 2, 2, 2, 2, 3, 3)
EDITED_LF = 0  # the keyword LF that an edit changes
AGREEMENT_THRESHOLDS = (0.5, 0.7, 0.9)
N_DEV = 200

TARGET_EDIT_MS, TARGET_EDIT_ROWS = 150.0, 100_000
TARGET_SPEEDUP = 30.0
TARGET_THRESHOLD_MS = {100_000: 30.0, 1_000_000: 300.0}

# Dense blocks of the reference search: 16M float32 cells (64 MB), the same budget as the engine's search.
_REFERENCE_BLOCK_CELLS = 16 * 2**20


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------
@dataclass
class Dataset:
    """Synthetic rows: texts, unit embeddings, gold labels and cluster ids."""

    df: pd.DataFrame
    embeddings: npt.NDArray[np.float32]
    y: npt.NDArray[np.int64]
    cluster: npt.NDArray[np.int64]


def make_dataset(n: int, seed: int = 0) -> Dataset:
    """Clustered unit vectors with cluster-correlated labels and class-correlated texts.

    Each of :data:`N_CLUSTERS` clusters has a positive rate drawn from Beta(0.5, 0.5) (most clusters are
    clearly one class) and its own Dirichlet preference over the class words, so an LF's votes
    concentrate in some clusters, as a real keyword's do in a real embedding space.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((N_CLUSTERS, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    cluster = rng.integers(0, N_CLUSTERS, n)
    noise = rng.standard_normal((n, DIM), dtype=np.float32)
    noise *= NOISE / np.sqrt(DIM)
    embeddings = noise
    embeddings += centres[cluster]
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    del noise

    positive_rate = rng.beta(0.5, 0.5, N_CLUSTERS)
    y = (rng.random(n) < positive_rate[cluster]).astype(np.int64)

    # Word ids: 0..N_NEUTRAL-1 neutral, then class-1 words, then class-0 words.
    preference = rng.dirichlet(np.full(WORDS_PER_CLASS, WORD_PREFERENCE_ALPHA), size=(N_CLUSTERS, 2))
    cdf = np.cumsum(preference, axis=2).astype(np.float32)
    cdf[..., -1] = 1.0 + 1e-6  # no rounding gap at the end of the distribution
    n_words = rng.integers(MIN_WORDS, MAX_WORDS + 1, n)
    ids = np.empty((n, MAX_WORDS), dtype=np.int64)
    for slot in range(MAX_WORDS):
        signal = rng.random(n) < SIGNAL_RATE
        word_class = np.where(rng.random(n) < CLASS_WORD_FIDELITY, y, 1 - y)
        u = rng.random(n, dtype=np.float32)
        within = (u[:, None] >= cdf[cluster, word_class]).sum(axis=1)
        class_word = N_NEUTRAL + np.where(word_class == 1, 0, WORDS_PER_CLASS) + within
        ids[:, slot] = np.where(signal, class_word, rng.integers(0, N_NEUTRAL, n))
    vocabulary = np.array(
        [f"w{i:03d}" for i in range(N_NEUTRAL)]
        + [f"p{i:02d}" for i in range(WORDS_PER_CLASS)]
        + [f"n{i:02d}" for i in range(WORDS_PER_CLASS)],
        dtype=object,
    )
    words = vocabulary[ids].tolist()
    texts = [" ".join(row[:k]) for row, k in zip(words, n_words.tolist(), strict=True)]
    return Dataset(pd.DataFrame({"text": texts}), embeddings, y, cluster)


def make_lfs() -> list[BaseLF]:
    """20 LFs: 9 keyword LFs per class and one regex per class."""
    lfs: list[BaseLF] = []
    for prefix, label in (("p", 1), ("n", 0)):
        start = 0
        for j, count in enumerate(KEYWORD_COUNTS):
            keywords = [f"{prefix}{i:02d}" for i in range(start, start + count)]
            lfs.append(KeywordLF(f"kw_{prefix}{j}", label, keywords))
            start += count
        lfs.append(RegexLF(f"re_{prefix}", label, rf"\b{prefix}1[89]\b"))
    return lfs


def edited_lf(edit: int) -> KeywordLF:
    """LF ``EDITED_LF`` (``kw_p0``, keyword ``p00``) after edit number ``edit``, which adds a neutral keyword.

    Every edit number gives a keyword list never used before, so the Extender's cache never answers.
    Building the LF (RE2 validation, ~1-2 ms) is part of a user's edit, so it happens inside the timing.
    """
    extra = [f"w{edit % N_NEUTRAL:03d}"]
    if edit >= N_NEUTRAL:  # a second neutral word keeps later edits distinct from earlier ones
        extra.append(f"w{(edit // N_NEUTRAL + N_NEUTRAL // 2) % N_NEUTRAL:03d}")
    return KeywordLF("kw_p0", 1, ["p00", *extra])


# ------------------------------------------------------------------------------------------------
# Graphs
# ------------------------------------------------------------------------------------------------
def cluster_local_graph(
    embeddings: npt.NDArray[np.float32], cluster: npt.NDArray[np.int64], k: int, seed: int = 0
) -> KNNGraph:
    """An approximate k-NN graph whose neighbours are ``k`` random other rows of the row's own cluster.

    Similarities are the real cosine similarities of those rows, sorted in descending order, so every
    consumer sees a valid :class:`KNNGraph`.  It is *not* a nearest-neighbour graph (neighbours are random
    cluster mates, not the closest ones); it stands in where building a real graph would dominate the
    benchmark.  Threshold changes do not read the graph at all; the embeddings are attached so an LF edit
    runs the same graph-first search as on a real graph.
    """
    rng = np.random.default_rng(seed)
    n = embeddings.shape[0]
    permutation = rng.permutation(n)
    order = permutation[np.argsort(cluster[permutation], kind="stable")]  # rows grouped by cluster, shuffled
    sizes = np.bincount(cluster, minlength=N_CLUSTERS)
    if sizes[sizes > 0].min() <= k:
        raise ValueError(f"Every cluster needs more than k={k} rows for a cluster-local graph; use more rows.")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n) - starts[cluster[order]]
    size = sizes[cluster]
    # k consecutive cluster mates after a random offset in [1, size - k]: distinct and never the row itself.
    offset = (rng.random(n) * (size - k)).astype(np.int64) + 1
    slots = (position + offset)[:, None] + np.arange(k)[None, :]
    indices = order[starts[cluster][:, None] + slots % size[:, None]]
    similarities = np.empty((n, k), dtype=np.float32)
    block = 20_000
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        similarities[rows] = np.einsum("id,ikd->ik", embeddings[rows], embeddings[indices[rows]])
    order_desc = np.argsort(-similarities, axis=1, kind="stable")
    indices = np.take_along_axis(indices, order_desc, axis=1)
    similarities = np.take_along_axis(similarities, order_desc, axis=1)
    return KNNGraph(indices, similarities, metric="cosine", method="cluster-local", embeddings=embeddings)


# ------------------------------------------------------------------------------------------------
# The exact Epoxy-style reference
# ------------------------------------------------------------------------------------------------
def reference_nearest_column(
    votes: npt.NDArray[np.signedinteger[Any]], embeddings: npt.NDArray[np.float32]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest voted row of every row by dense similarity to *all* of the LF's voted rows (Epoxy's preprocess)."""
    n = votes.shape[0]
    index = np.full(n, -1, dtype=np.int64)
    similarity = np.full(n, -np.inf, dtype=np.float32)
    vote = np.full(n, ABSTAIN, dtype=votes.dtype)
    voted_rows = np.flatnonzero(votes != ABSTAIN)
    if voted_rows.size == 0:
        return index, similarity, vote
    keys = embeddings[voted_rows]
    block = max(1, _REFERENCE_BLOCK_CELLS // voted_rows.size)
    for start in range(0, n, block):
        sims = embeddings[start : start + block] @ keys.T
        best = sims.argmax(axis=1)
        index[start : start + block] = voted_rows[best]
        similarity[start : start + block] = sims[np.arange(best.size), best]
    vote[:] = votes[np.maximum(index, 0)]
    # Like Epoxy, a row's own vote always stands: mark it with similarity +inf, as the engine does.
    index[voted_rows] = voted_rows
    similarity[voted_rows] = np.inf
    vote[voted_rows] = votes[voted_rows]
    return index, similarity, vote


def reference_nearest(L: np.ndarray, embeddings: npt.NDArray[np.float32]) -> NearestVoters:
    """:func:`reference_nearest_column` for every LF."""
    parts = [reference_nearest_column(np.ascontiguousarray(L[:, j]), embeddings) for j in range(L.shape[1])]
    return NearestVoters(
        np.column_stack([p[0] for p in parts]),
        np.column_stack([p[1] for p in parts]),
        np.column_stack([p[2] for p in parts]),
    )


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def timed(step: Callable[[int], Any], repeats: int, warm_up: bool = True) -> list[float]:
    """One untimed warm-up, then ``repeats`` timed runs (seconds); ``step(run)`` gets a fresh run number.

    ``warm_up=False`` for steps of seconds that need none (dense BLAS searches).
    """
    if warm_up:
        step(0)
    seconds = []
    for run in range(1, repeats + 1):
        gc.collect()
        start = time.perf_counter()
        step(run)
        seconds.append(time.perf_counter() - start)
    return seconds


def timed_pair(
    first: Callable[[int], Any], second: Callable[[int], Any], repeats: int
) -> tuple[list[float], list[float]]:
    """:func:`timed` of two steps, alternating run by run, so that a change of load hits both alike."""
    first(0)
    second(0)
    seconds: tuple[list[float], list[float]] = ([], [])
    for run in range(1, repeats + 1):
        for step, out in zip((first, second), seconds, strict=True):
            gc.collect()
            start = time.perf_counter()
            step(run)
            out.append(time.perf_counter() - start)
    return seconds


def ms(seconds: list[float]) -> float:
    return 1000 * statistics.median(seconds)


def agreement(index, similarity, votes, ref_similarity, ref_vote, threshold) -> float:
    """Share of rows whose extended vote at ``threshold`` equals the dense reference's."""
    ours = np.where(similarity >= threshold, np.where(index >= 0, votes[np.maximum(index, 0)], ABSTAIN), ABSTAIN)
    exact = np.where(ref_similarity >= threshold, ref_vote, ABSTAIN)
    return float((ours == exact).mean())


def ivf_pair_share(
    embeddings: np.ndarray, votes: np.ndarray, rows: np.ndarray, best: np.ndarray, floor: float, seed: int = 0
) -> float:
    """Share of dense (row, voter) pairs an exact-bound IVF still computes, visiting in the best order.

    Spherical k-means with sqrt(n) clusters (10 iterations on a sample); a voter v in cluster b can be
    skipped for row q only if cos(angle(q, c_b) - angle(v, c_b)) < max(best(q), floor), the exact cosine
    bound; ``best`` is the true nearest-voter similarity (a perfect order knows it from the start).
    """
    rng = np.random.default_rng(seed)
    n = embeddings.shape[0]
    n_clusters = max(2, int(np.sqrt(n)))
    sample = embeddings[rng.choice(n, min(n, 40 * n_clusters), replace=False)]
    centres = sample[rng.choice(sample.shape[0], n_clusters, replace=False)].copy()
    for _ in range(10):
        assign = (sample @ centres.T).argmax(axis=1)
        sums = np.zeros_like(centres)
        np.add.at(sums, assign, sample)
        norms = np.linalg.norm(sums, axis=1)
        sums[norms == 0] = sample[rng.choice(sample.shape[0], int((norms == 0).sum()))]
        centres = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    voters = np.flatnonzero(votes != ABSTAIN)
    voter_sims = embeddings[voters] @ centres.T
    voter_cluster = voter_sims.argmax(axis=1)
    voter_cos = voter_sims[np.arange(voters.size), voter_cluster]
    s = (embeddings[rows] @ centres.T)[:, voter_cluster]  # (rows, voters): cos(q, centre of v's cluster)
    c = voter_cos[None, :]
    bound = np.where(s >= c, 1.0, s * c + np.sqrt(np.maximum(0.0, (1 - s * s) * (1 - c * c))))
    needed = bound >= np.maximum(best, floor)[:, None]
    return float(needed.mean())


# ------------------------------------------------------------------------------------------------
# One size
# ------------------------------------------------------------------------------------------------
@dataclass
class SizeResult:
    n: int
    graph_kind: str
    graph_s: float
    figures: dict[str, Any]


def build_graph(data: Dataset, approx_above: int) -> tuple[KNNGraph, str, float]:
    n = data.embeddings.shape[0]
    start = time.perf_counter()
    if n > approx_above:
        graph = cluster_local_graph(data.embeddings, data.cluster, N_NEIGHBORS)
        kind = "cluster-local approximation"
    else:
        graph = cached_knn_graph(data.embeddings, n_neighbors=N_NEIGHBORS)
        kind = f"{resolve_method(n)} (cached_knn_graph)"
    return graph, kind, time.perf_counter() - start


def reference_results(L, nearest, thresholds, balance, data_y, class_names, names) -> None:
    """What the page needs after a change, by plain library calls (the reference of the session's work).

    Run with one BLAS thread, as the session runs it, so the ratio compares the work, not the threading.
    """
    with one_blas_thread():
        _reference_results(L, nearest, thresholds, balance, data_y, class_names, names)


def _reference_results(L, nearest, thresholds, balance, data_y, class_names, names) -> None:
    L_ext = extend(L, thresholds=thresholds, nearest=nearest)
    model = TripletLabelModel().fit(L_ext, class_balance=balance)
    proba = model.predict_proba(L_ext)
    covered = (L_ext != ABSTAIN).any(axis=1)
    lf_summary(L, L_extended=L_ext, names=names, y=data_y, model=model, class_names=class_names)
    majority = MajorityVote().fit(L_ext, class_balance=balance)
    metrics = {
        "label model": label_model_metrics(data_y, proba=proba, class_names=class_names, abstain_mask=~covered),
        "majority vote": label_model_metrics(
            data_y, proba=majority.predict_proba(L_ext), class_names=class_names, abstain_mask=~covered
        ),
    }
    compare_models(metrics)


def previous_session_path(L, nearest, thresholds, balance, class_names, names) -> None:
    """The session's threshold change as it was before the counted path (kept here as the baseline).

    ``np.where`` on the float64 thresholds; the label model counting with one ``count_nonzero`` pass per class
    and a float32 indicator Gram product; the posterior as an indicator product (float32 from 100,000 rows);
    ``lf_summary`` reading both matrices.  The model's estimation after the counts is the library's own.
    """
    with one_blas_thread():
        L_ext = np.where(nearest.similarity >= thresholds, nearest.vote, np.array(ABSTAIN, dtype=L.dtype))
        n, m = L_ext.shape
        counts = np.stack([np.count_nonzero(L_ext == c, axis=0) for c in range(2)], axis=1)
        lfs, classes = np.nonzero(counts)
        V = (L_ext[:, lfs] == classes.astype(L_ext.dtype)).astype(np.float32)
        co_votes = np.zeros((2 * m, 2 * m), dtype=np.int64)
        features = lfs * 2 + classes
        co_votes[np.ix_(features, features)] = np.rint(V.T @ V).astype(np.int64)
        counted = VoteStatistics(n, m, 2, counts, co_votes, np.zeros(m, np.int64), np.zeros(m, np.int64), 0)
        model = TripletLabelModel().fit_counted(L_ext, counted, class_balance=balance)
        if not model.fallback_:
            V = (L_ext[:, model.feature_lfs_] == model.feature_classes_.astype(L_ext.dtype)).astype(
                np.float64 if n < 100_000 else np.float32
            )
            evidence = (V @ model._weights.T.astype(V.dtype)).astype(np.float64) + model._constants
            logit = np.log(model.class_balance_[1] / model.class_balance_[0]) + evidence[:, 1] - evidence[:, 0]
            p1 = 0.5 * (1.0 + np.tanh(0.5 * logit))
            np.column_stack([1.0 - p1, p1])
        (L_ext != ABSTAIN).any(axis=1)
        MajorityVote().fit(L_ext[:1], class_balance=balance)
        lf_summary(L, L_extended=L_ext, names=names, model=model, class_names=class_names)


def run_size(n: int, args: argparse.Namespace) -> SizeResult:
    print(f"\n== {n:,} rows x {DIM} dims ==  (load average {load()})", flush=True)
    figures: dict[str, Any] = {}
    start = time.perf_counter()
    data = make_dataset(n, seed=args.seed)
    labels = np.full(n, "", dtype=object)
    dev = np.random.default_rng(args.seed).choice(n, N_DEV, replace=False)
    labels[dev] = np.where(data.y[dev] == 1, "pos", "neg")
    frame = data.df.assign(label=labels)
    dataset = prepare_dataset(frame, DatasetSpec("text", "label", class_names=["neg", "pos"]))
    print(f"  data {time.perf_counter() - start:.1f} s", flush=True)
    graph, kind, graph_s = build_graph(data, args.approx_graph_above)
    print(f"  graph: {kind}, k={N_NEIGHBORS}, {graph_s:.1f} s (RSS {rss_mb():,.0f} MB)", flush=True)

    lfs = make_lfs()
    session = LabelingSession(dataset, graph=graph, refine="background")  # the app defaults (settle 0.3 s)
    start = time.perf_counter()
    session.set_lfs(lfs)
    first_s = time.perf_counter() - start
    done = session.wait_exact(timeout=args.initial_exact_timeout)
    waited = time.perf_counter() - start
    dropped = session.cancel_refinement()
    session.wait_exact()  # the one running finishes
    figures["first_set_s"] = first_s
    state = f"all 20 done in {waited:.1f} s" if done else f"{20 - dropped} done in {waited:.0f} s, {dropped} dropped"
    print(
        f"  set_lfs(20 LFs), graph-first: {first_s:.1f} s; exact nearest voters in the background: {state}  "
        f"(load {load()})",
        flush=True,
    )
    balance = class_balance_from_labels(dataset.y, cardinality=2)
    rng = np.random.default_rng(1)
    threshold_sets = [rng.uniform(0.6, 0.95, len(lfs)) for _ in range(args.repeats + 2)]
    fresh_sets = [rng.uniform(0.6, 0.95, len(lfs)) for _ in range(args.repeats + 2)]  # never asked before
    fixed = threshold_sets[0]

    # -- threshold change, session vs plain library calls (after the exact nearest voters are in: no
    # refinement runs in the background while the steps are timed)
    L, nearest = session.nearest()
    names = [lf.name for lf in lfs]
    a = timed(lambda run: session.results(threshold_sets[run], class_balance=balance), args.repeats)
    # The part of results() that the previous path did differently: extend, label model, posterior, summary
    # (results() also scores the dev rows: metrics of three models, the summary's dev columns, the headline).
    assembled, _ = session._matrices(session._active(None))  # the matrices results() reads (cached)
    a_part, a_previous = timed_pair(
        lambda run: session._one_thread(
            session._fit_thresholds,
            f"bench {run}",
            names,
            assembled,
            np.asarray(threshold_sets[run], dtype=np.float64),
            balance,
            [],
        ),
        lambda run: previous_session_path(L, nearest, threshold_sets[run], balance, dataset.class_names, names),
        args.repeats,
    )
    a_ref = timed(
        lambda run: reference_results(L, nearest, threshold_sets[run], balance, dataset.y, dataset.class_names, names),
        args.repeats,
    )
    figures["threshold_ms"], figures["threshold_ref_ms"] = ms(a), ms(a_ref)
    figures["threshold_previous_ms"], figures["threshold_part_ms"] = ms(a_previous), ms(a_part)
    print(
        f"  threshold change: session results() {ms(a):.0f} ms; of it extend + label model + posterior + summary "
        f"{ms(a_part):.0f} ms against {ms(a_previous):.0f} ms by the previous path; plain library calls "
        f"{ms(a_ref):.0f} ms  (load {load()})",
        flush=True,
    )
    if args.threshold_only:
        session.close()
        figures["rss_mb"], figures["peak_rss_mb"], figures["load"] = rss_mb(), peak_rss_mb(), load()
        return SizeResult(n, kind, graph_s, figures)

    # -- LF edit through the session: graph-first, exact refinement in the background
    refine_seconds: list[float] = []

    set_lfs_seconds: list[float] = []

    def edit(run: int) -> None:
        edited = [edited_lf(run + 1), *lfs[1:]]
        t0 = time.perf_counter()
        report = session.set_lfs(edited)
        set_lfs_seconds.append(time.perf_counter() - t0)
        if report.searched != [edited[0].name]:
            raise RuntimeError(f"expected only {edited[0].name} to be searched, got {report.searched}")
        session.results(fixed, class_balance=balance)

    def edit_and_refine(run: int) -> None:
        t0 = time.perf_counter()
        edit(run)
        edit_seconds.append(time.perf_counter() - t0)
        session.wait_exact()
        refine_seconds.append(time.perf_counter() - t0)

    edit_seconds: list[float] = []
    timed(edit_and_refine, args.repeats)
    edit_seconds, refine_seconds = edit_seconds[1:], refine_seconds[1:]  # drop the warm-up
    figures["edit_ms"], figures["edit_exact_ms"] = ms(edit_seconds), ms(refine_seconds)
    figures["edit_set_lfs_ms"] = ms(set_lfs_seconds[1:])
    print(
        f"  LF edit phases: set_lfs (apply + graph-first nearest voters) {figures['edit_set_lfs_ms']:.0f} ms, "
        f"results (extend, label models, summary, metrics) {figures['edit_ms'] - figures['edit_set_lfs_ms']:.0f} ms"
    )
    print(
        f"  LF edit (set_lfs + results), graph-first: {ms(edit_seconds):.0f} ms; exact answer swapped in after "
        f"{ms(refine_seconds):.0f} ms  (load {load()})",
        flush=True,
    )

    # -- the edited LF's nearest voters alone, three ways, and their agreement with the dense answer
    votes = edited_lf(10_000).apply(dataset.df, "text")
    column = votes[:, None]
    graph_first = timed(
        lambda run: nearest_voters(column, graph, exact_fallback=False, hops=session.hops), args.repeats
    )
    approx = nearest_voters(column, graph, exact_fallback=False, hops=session.hops)
    figures["nv_graph_first_ms"] = ms(graph_first)
    exact_runs = 2  # seconds-long dense searches: two runs, no warm-up
    if graph.embeddings is not None and n <= args.exact_max_rows:
        exact_lib = timed(lambda run: nearest_voters(column, graph), exact_runs, warm_up=False)
        exact = nearest_voters(column, graph)
        figures["nv_exact_ms"] = ms(exact_lib)
    if n <= args.ref_max_rows:
        dense = timed(lambda run: reference_nearest_column(votes, data.embeddings), exact_runs, warm_up=False)
        _, ref_sim, ref_vote = reference_nearest_column(votes, data.embeddings)
        figures["nv_dense_ms"] = ms(dense)
        figures["agree_graph_first"] = [
            agreement(approx.index[:, 0], approx.similarity[:, 0], votes, ref_sim, ref_vote, t)
            for t in AGREEMENT_THRESHOLDS
        ]
        if "nv_exact_ms" in figures:
            figures["agree_exact"] = [
                agreement(exact.index[:, 0], exact.similarity[:, 0], votes, ref_sim, ref_vote, t)
                for t in AGREEMENT_THRESHOLDS
            ]
        # The reference LF edit: dense recompute of that LF + the page's work, plain calls.
        L_ref = L.copy()
        ref_nearest = NearestVoters(nearest.index.copy(), nearest.similarity.copy(), nearest.vote.copy())

        def reference_edit(run: int) -> None:
            edited_votes = edited_lf(20_000 + run).apply(dataset.df, "text")
            L_ref[:, EDITED_LF] = edited_votes
            i, s, v = reference_nearest_column(edited_votes, data.embeddings)
            ref_nearest.index[:, EDITED_LF], ref_nearest.similarity[:, EDITED_LF], ref_nearest.vote[:, EDITED_LF] = (
                i,
                s,
                v,
            )
            reference_results(L_ref, ref_nearest, fixed, balance, dataset.y, dataset.class_names, names)

        figures["edit_ref_ms"] = ms(timed(reference_edit, exact_runs, warm_up=False))
        if args.weigh:
            missing = np.flatnonzero((votes == ABSTAIN) & ~(votes[graph.indices] != ABSTAIN).any(axis=1))
            sample = np.random.default_rng(2).choice(missing, min(2000, missing.size), replace=False)
            figures["ivf_share"] = [
                ivf_pair_share(data.embeddings, votes, sample, ref_sim[sample], t) for t in AGREEMENT_THRESHOLDS
            ]
    voted = votes != ABSTAIN
    figures["no_voter_in_graph"] = float((~voted & ~voted[graph.indices].any(axis=1)).mean())
    figures["coverage"] = float(voted.mean())
    print(
        f"  edited LF: coverage {figures['coverage']:.1%}, rows with no voter among their {N_NEIGHBORS} "
        f"neighbours {figures['no_voter_in_graph']:.1%}",
        flush=True,
    )
    for key in ("nv_graph_first_ms", "nv_exact_ms", "nv_dense_ms", "edit_ref_ms"):
        if key in figures:
            print(f"  {key}: {figures[key]:.0f} ms", flush=True)
    for key in ("agree_graph_first", "agree_exact", "ivf_share"):
        if key in figures:
            print(f"  {key} at {AGREEMENT_THRESHOLDS}: {[f'{x:.4%}' for x in figures[key]]}", flush=True)

    # -- end model: background fit, and a threshold change while it runs
    session.set_lfs(lfs)
    res = session.results(fixed, class_balance=balance)
    start = time.perf_counter()
    state = session.end_model(res, wait=True)
    figures["end_model_s"] = time.perf_counter() - start
    res2 = session.results(fresh_sets[0], class_balance=balance)
    session.end_model(res2)  # starts a fit in the background
    time.sleep(0.05)
    during = []
    for run in range(1, len(fresh_sets)):
        t0 = time.perf_counter()
        session.results(fresh_sets[run], class_balance=balance)
        during.append(time.perf_counter() - t0)
    figures["threshold_during_fit_ms"] = ms(during)
    final = session.end_model(res2, wait=True)
    figures["end_model_status"] = f"{state.status}/{final.status}"
    print(
        f"  end model: background fit {figures['end_model_s']:.1f} s ({state.status}); threshold change while "
        f"a fit runs: {ms(during):.0f} ms  (load {load()})",
        flush=True,
    )
    figures["rss_mb"], figures["peak_rss_mb"] = rss_mb(), peak_rss_mb()
    figures["cache_mb"] = sum(session.cache_bytes().values()) / 2**20
    figures["load"] = load()
    print(
        f"  RSS {figures['rss_mb']:,.0f} MB (peak so far {figures['peak_rss_mb']:,.0f} MB); session caches "
        f"{figures['cache_mb']:,.0f} MB",
        flush=True,
    )
    session.close()
    return SizeResult(n, kind, graph_s, figures)


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_threshold_report(results: list[SizeResult]) -> None:
    print(
        "\nThreshold change (median ms): session results(); its extend + label model + posterior + summary, "
        "beside the previous path of that part (same run); plain library calls"
    )
    for r in results:
        f = r.figures
        print(
            f"  {r.n:>9,}: results() {f['threshold_ms']:.1f}; part {f['threshold_part_ms']:.1f} vs previous "
            f"{f['threshold_previous_ms']:.1f} ({f['threshold_previous_ms'] / f['threshold_part_ms']:.1f}x); "
            f"library calls {f['threshold_ref_ms']:.1f}; peak RSS {f['peak_rss_mb']:,.0f} MB; load {f['load']}"
        )
        if r.n in TARGET_THRESHOLD_MS:
            target = TARGET_THRESHOLD_MS[r.n]
            print(f"  {'':>9}  target <= {target:.0f} ms: {verdict(f['threshold_ms'] <= target)}")


def print_report(results: list[SizeResult]) -> None:
    print_threshold_report(results)
    if any("edit_ms" not in r.figures for r in results):
        return  # --threshold-only
    print("\n" + "=" * 110)
    print("RESULTS (median ms; ref = exact reference by plain library calls in the same run; ratio = ref / ours)")
    header = (
        f"{'rows':>9} | {'LF edit':>8} | {'ref edit':>8} | {'ratio':>6} | {'exact in':>8} | {'thr chg':>7} | "
        f"{'ref thr':>7} | {'thr+fit':>7} | {'end s':>5} | {'RSS MB':>7} | {'peak MB':>7} | load"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        f = r.figures
        ratio = f"{f['edit_ref_ms'] / f['edit_ms']:.1f}x" if "edit_ref_ms" in f else "-"
        ref_edit = f"{f['edit_ref_ms']:.0f}" if "edit_ref_ms" in f else "-"
        print(
            f"{r.n:>9,} | {f['edit_ms']:>8.0f} | {ref_edit:>8} | {ratio:>6} | {f['edit_exact_ms']:>8.0f} | "
            f"{f['threshold_ms']:>7.0f} | {f['threshold_ref_ms']:>7.0f} | {f['threshold_during_fit_ms']:>7.0f} | "
            f"{f['end_model_s']:>5.1f} | {f['rss_mb']:>7,.0f} | {f['peak_rss_mb']:>7,.0f} | {f['load']}"
        )
    print(
        "  LF edit = set_lfs (apply the edited LF, graph-first nearest voters) + results; 'exact in' = until the\n"
        "  background exact nearest voters were swapped in; thr chg = results() at new thresholds; thr+fit = the\n"
        "  same while an end-model fit runs in the background; end s = end-model fit (background, after the 0.3 s\n"
        "  settle)."
    )
    print(
        "\nNearest voters of the edited LF alone (ms) and agreement with the dense exact answer at "
        f"thresholds {AGREEMENT_THRESHOLDS}:"
    )
    for r in results:
        f = r.figures
        parts = [f"graph-first {f['nv_graph_first_ms']:.0f}"]
        if "nv_exact_ms" in f:
            parts.append(f"library exact {f['nv_exact_ms']:.0f}")
        if "nv_dense_ms" in f:
            parts.append(f"dense {f['nv_dense_ms']:.0f} ({f['nv_dense_ms'] / f['nv_graph_first_ms']:.0f}x graph-first)")
        print(f"  {r.n:>9,} ({r.graph_kind}): " + ", ".join(parts))
        for key, label in (("agree_graph_first", "graph-first"), ("agree_exact", "library exact")):
            if key in f:
                print(f"  {'':>9}   agreement {label:<14} " + " / ".join(f"{x:.3%}" for x in f[key]))
        if "ivf_share" in f:
            print(
                f"  {'':>9}   exact IVF bound would still compute "
                + " / ".join(f"{x:.0%}" for x in f["ivf_share"])
                + " of the dense pairs of the rows the graph leaves (perfect visiting order)"
            )
    print("\nTargets (this machine, under its current load):")
    for r in results:
        f = r.figures
        if r.n == TARGET_EDIT_ROWS:
            print(
                f"  LF edit <= {TARGET_EDIT_MS:.0f} ms at {r.n:,}: {f['edit_ms']:.0f} ms "
                f"{verdict(f['edit_ms'] <= TARGET_EDIT_MS)}"
            )
            if "edit_ref_ms" in f:
                ratio = f["edit_ref_ms"] / f["edit_ms"]
                print(
                    f"  LF edit >= {TARGET_SPEEDUP:.0f}x the exact recompute at {r.n:,}: {ratio:.1f}x "
                    f"{verdict(ratio >= TARGET_SPEEDUP)}"
                )
            if "agree_graph_first" in f:
                worst = min(f["agree_graph_first"])
                print(f"  graph-first agreement >= 99% at 0.5/0.7/0.9: worst {worst:.3%} {verdict(worst >= 0.99)}")
        if r.n in TARGET_THRESHOLD_MS:
            target = TARGET_THRESHOLD_MS[r.n]
            print(
                f"  threshold change <= {target:.0f} ms at {r.n:,}: {f['threshold_ms']:.0f} ms "
                f"{verdict(f['threshold_ms'] <= target)}"
            )


def environment() -> str:
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    except Exception:  # threadpoolctl is optional here; the figure is informative only
        blas = "unknown"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"Python {platform.python_version()}, numpy {np.__version__}; {cores} usable cores; BLAS: {blas}; "
        f"load average {load()} (1, 5, 15 min)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated row counts (1000000 needs ~6 GB)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per measurement (after one warm-up)")
    parser.add_argument(
        "--ref-max-rows", type=int, default=100_000, help="largest size timed against the dense reference"
    )
    parser.add_argument(
        "--exact-max-rows", type=int, default=300_000, help="largest size timing the library's exact search"
    )
    parser.add_argument(
        "--approx-graph-above",
        type=int,
        default=300_000,
        help="above this many rows use a cluster-local approximate graph instead of a real one",
    )
    parser.add_argument("--no-weigh", dest="weigh", action="store_false", help="skip the IVF-bound statistic")
    parser.add_argument(
        "--initial-exact-timeout",
        type=float,
        default=60.0,
        help="seconds to let the first set_lfs refine all 20 LFs exactly before the timed steps (the rest dropped)",
    )
    parser.add_argument(
        "--threshold-only",
        action="store_true",
        help="time only the threshold change (session, its previous path, plain library calls) and stop",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if any(v < 10 * N_CLUSTERS for v in args.sizes):
        parser.error(f"every size must be at least {10 * N_CLUSTERS} rows ({N_CLUSTERS} clusters)")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    print("Epoxy Studio interactive-loop benchmark, through LabelingSession")
    print(environment())
    print(
        f"Data: synthetic, {N_CLUSTERS} clusters, d = {DIM} float32 unit vectors, noise {NOISE}; 20 LFs "
        f"(18 KeywordLF + 2 RegexLF), {N_DEV} dev labels (class balance fixed from them); k = {N_NEIGHBORS}."
    )
    print(
        "Graphs come from cached_knn_graph: the first run builds them (PyNNDescent's JIT included in the graph "
        "time), later runs reopen them from disk."
    )
    results = []
    for n in args.sizes:
        results.append(run_size(n, args))
        gc.collect()
    print_report(results)
    print(f"\nTotal benchmark time: {time.perf_counter() - started:.0f} s; load average at the end {load()}")


if __name__ == "__main__":
    main()
