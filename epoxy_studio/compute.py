"""Cached wrappers around ``epoxy_core``: everything the pages compute goes through here.

Cache boundaries (the point is that editing one LF or one threshold stays well under a second):

- embeddings and the k-NN graph: ``st.cache_resource`` in memory, on top of ``epoxy_core.cache`` on disk,
  keyed by what they are computed from (the texts / columns / uploaded file, never the whole table, so
  importing a vote column does not rebuild the graph).  Resources are shared: never mutate them.
- one LF's votes: ``st.cache_data`` keyed by the dataset hash and the LF's JSON;
- one LF's nearest voters (the expensive part of extension): keyed by the graph and the LF's *votes*,
  so editing an LF into one that votes the same rows costs nothing;
- the whole results pipeline (extension, label model, summaries) keyed by all of the above plus thresholds.

Nothing here draws anything except :func:`build_embeddings_and_graph`, which takes a progress callback.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core import analysis
from epoxy_core.config import data_dir
from epoxy_core.data import Dataset
from epoxy_core.embed import cached_embed_texts, embeddings_from_columns, load_embeddings_npy
from epoxy_core.extension import NearestVoters, extend, nearest_voters
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import apply_lfs, lf_from_dict
from epoxy_core.metrics import compare_models, label_model_metrics
from epoxy_core.model import MajorityVote, TripletLabelModel, class_balance_from_labels
from epoxy_core.neighbors import KNNGraph, cached_knn_graph, warm_up_jit

__all__ = [
    "Results",
    "build_embeddings_and_graph",
    "embeddings",
    "graph",
    "label_matrix",
    "lf_json",
    "lf_votes",
    "results",
    "save_uploaded_embeddings",
    "start_jit_warm_up",
]

MIN_LFS_FOR_TRIPLET = 3
"""The triplet label model needs three LFs; with fewer the app falls back to majority vote."""


@st.cache_resource(show_spinner=False)
def start_jit_warm_up() -> bool:
    """Compile PyNNDescent's JIT once per process, in a background thread (first graph is then fast)."""
    warm_up_jit(background=True)
    return True


# ---------------------------------------------------------------------------------------------- embeddings


def lf_json(lf_dict: dict) -> str:
    """Canonical JSON of an LF dict: the cache key of its votes."""
    return json.dumps(lf_dict, sort_keys=True, default=str)


def _uploads_dir() -> Path:
    return data_dir() / "uploads"


def save_uploaded_embeddings(raw: bytes, n_rows: int) -> str:
    """Validate an uploaded ``.npy`` and keep it in the data dir; returns the embedder source ``"npy:<sha>"``.

    Raises
    ------
    ValueError
        If the file is not a usable (n_rows, d) float array (see ``load_embeddings_npy``).
    """
    vectors = load_embeddings_npy(raw, n_rows)  # validates before anything is written
    digest = hashlib.sha256(raw).hexdigest()[:32]
    target = _uploads_dir() / f"{digest}.npy"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        with open(partial, "wb") as handle:  # a handle, so numpy does not append ".npy" to the name
            np.save(handle, vectors, allow_pickle=False)
        partial.replace(target)  # atomic: a crash never leaves a half-written file under the real name
    return f"npy:{digest}"


def source_label(source: str) -> str:
    """Human-readable name of an embedder source."""
    if source.startswith("columns:"):
        return "numeric columns " + ", ".join(json.loads(source[len("columns:") :]))
    if source.startswith("npy:"):
        return "uploaded .npy"
    return {"minilm": "MiniLM (offline ONNX)", "tfidf": "TF-IDF"}.get(source, source)


def _compute_embeddings(
    dataset: Dataset, source: str, progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    if source.startswith("columns:"):
        vectors = embeddings_from_columns(dataset.df, json.loads(source[len("columns:") :]))
        if progress is not None:
            progress(len(dataset), len(dataset))
        return vectors
    if source.startswith("npy:"):
        path = _uploads_dir() / f"{source[4:]}.npy"
        if not path.exists():
            raise ValueError("The uploaded embeddings file is gone from the data dir; upload the .npy again.")
        return load_embeddings_npy(path.read_bytes(), len(dataset))
    return cached_embed_texts(dataset.texts, model=source, progress=progress)


def _source_key(dataset: Dataset, source: str) -> str:
    """What the embeddings depend on: the texts (or the chosen columns) and the source, not the whole table."""
    digest = hashlib.sha256(source.encode())
    if source.startswith("columns:"):
        frame = dataset.df[json.loads(source[len("columns:") :])]
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    elif not source.startswith("npy:"):
        digest.update(pd.util.hash_pandas_object(pd.Series(dataset.texts), index=False).to_numpy().tobytes())
    digest.update(str(len(dataset)).encode())
    return digest.hexdigest()[:32]


@st.cache_data(show_spinner=False, max_entries=16)
def source_key(content_hash: str, source: str, _dataset: Dataset) -> str:
    """Cached :func:`_source_key` (hashing 10k texts each rerun would cost a few ms for nothing)."""
    return _source_key(_dataset, source)


@st.cache_resource(show_spinner=False, max_entries=4)
def _embeddings(key: str, source: str, _dataset: Dataset) -> np.ndarray:
    vectors = _compute_embeddings(_dataset, source)
    vectors.setflags(write=False)  # shared between sessions: make accidental mutation an error
    return vectors


def embeddings(dataset: Dataset, source: str) -> np.ndarray:
    """The embeddings of ``dataset`` with ``source`` (read-only, shared)."""
    return _embeddings(source_key(dataset.content_hash, source, dataset), source, dataset)


@st.cache_resource(show_spinner=False, max_entries=4)
def _graph(key: str, n_neighbors: int, _vectors: np.ndarray) -> KNNGraph:
    return cached_knn_graph(_vectors, n_neighbors=n_neighbors)


def graph(dataset: Dataset, source: str, n_neighbors: int) -> tuple[str, KNNGraph]:
    """``(graph_key, graph)`` for ``dataset``; built (or read from the disk cache) on first use."""
    key = source_key(dataset.content_hash, source, dataset)
    return f"{key}-{n_neighbors}", _graph(key, n_neighbors, embeddings(dataset, source))


def build_embeddings_and_graph(
    dataset: Dataset,
    source: str,
    n_neighbors: int,
    progress: Callable[[float, str], None],
) -> KNNGraph:
    """Embed with a progress report (rows/s and ETA), then build the graph; both end up in the caches.

    Parameters
    ----------
    progress : callable
        ``progress(fraction, message)``; the page wires it to ``st.progress``.
    """
    start = time.perf_counter()

    def on_rows(done: int, total: int) -> None:
        elapsed = max(time.perf_counter() - start, 1e-6)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else float("nan")
        progress(
            0.9 * done / max(total, 1), f"Embedding: {done:,}/{total:,} rows · {rate:,.0f} rows/s · ETA {eta:.0f} s"
        )

    key = source_key(dataset.content_hash, source, dataset)
    if source.startswith("npy:") or source.startswith("columns:"):
        vectors = _embeddings(key, source, dataset)
    else:
        # Fill the disk cache with progress; the resource wrapper below then reads it back.
        _compute_embeddings(dataset, source, progress=on_rows)
        vectors = _embeddings(key, source, dataset)
    progress(0.9, f"Building the k-NN graph ({n_neighbors} neighbours per row)…")
    built = _graph(key, n_neighbors, vectors)
    progress(1.0, f"Done: {len(dataset):,} rows in {time.perf_counter() - start:.1f} s.")
    return built


# ---------------------------------------------------------------------------------------------- votes


@st.cache_data(show_spinner=False, max_entries=1024)
def lf_votes(content_hash: str, lf_key: str, _dataset: Dataset) -> np.ndarray:
    """One LF's votes on the dataset (``lf_key`` is :func:`lf_json` of its dict).

    Raises
    ------
    ValueError
        If the LF is invalid or cannot be applied (missing column, bad regex...).
    """
    lf = lf_from_dict(json.loads(lf_key))
    return apply_lfs([lf], _dataset.df, _dataset.spec.text_column, cardinality=_dataset.cardinality)[:, 0]


def label_matrix(dataset: Dataset, lf_dicts: Sequence[dict]) -> np.ndarray:
    """The (rows, LFs) label matrix of ``lf_dicts``, from the per-LF cache."""
    if not lf_dicts:
        return np.empty((len(dataset), 0), dtype=np.int8)
    columns = [lf_votes(dataset.content_hash, lf_json(d), dataset) for d in lf_dicts]
    return np.column_stack(columns).astype(np.int8 if dataset.cardinality <= 127 else np.int16)


@st.cache_data(show_spinner=False, max_entries=1024)
def _lf_nearest(graph_key: str, votes: np.ndarray, _graph: KNNGraph) -> NearestVoters:
    return nearest_voters(votes.reshape(-1, 1), _graph)


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Results:
    """Everything the results page shows, for one LF set, graph and set of thresholds."""

    names: list[str]
    L: np.ndarray
    L_extended: np.ndarray
    proba: np.ndarray
    proba_no_extension: np.ndarray
    model_name: str
    class_balance: np.ndarray
    summary: pd.DataFrame
    comparison: pd.DataFrame
    metrics: dict[str, Any]
    dev_size: int


def class_balance_for(dataset: Dataset, mode: str) -> Any:
    """The prior the label model uses: from dev labels, uniform, or estimated from the votes."""
    if mode == "dev labels" and dataset.dev_mask.sum() > 0:
        return class_balance_from_labels(dataset.y, dataset.cardinality)
    if mode == "uniform":
        return "uniform"
    return "estimate"


def _fit(L: np.ndarray, cardinality: int, balance: Any) -> tuple[Any, str]:
    if L.shape[1] >= MIN_LFS_FOR_TRIPLET:
        return TripletLabelModel(cardinality=cardinality).fit(L, class_balance=balance), "label model"
    return MajorityVote(cardinality).fit(L), "majority vote"


@st.cache_data(show_spinner=False, max_entries=16)
def _baseline(
    content_hash: str, lf_keys: tuple[str, ...], balance_mode: str, _dataset: Dataset
) -> tuple[np.ndarray, dict[str, Any]]:
    """The label model without extension: independent of thresholds, so cached apart from them."""
    L = label_matrix(_dataset, [json.loads(k) for k in lf_keys])
    model, _ = _fit(L, _dataset.cardinality, class_balance_for(_dataset, balance_mode))
    proba = model.predict_proba(L)
    metrics = label_model_metrics(
        _dataset.y, proba=proba, class_names=_dataset.class_names, abstain_mask=(L == ABSTAIN).all(axis=1)
    )
    return proba, metrics


@st.cache_data(show_spinner=False, max_entries=64)
def _results(
    content_hash: str,
    graph_key: str,
    lf_keys: tuple[str, ...],
    thresholds: tuple[float, ...],
    balance_mode: str,
    _dataset: Dataset,
    _graph: KNNGraph,
) -> Results:
    dataset = _dataset
    dicts = [json.loads(k) for k in lf_keys]
    names = [d["name"] for d in dicts]
    L = label_matrix(dataset, dicts)
    nearest = NearestVoters.hstack([_lf_nearest(graph_key, L[:, j], _graph) for j in range(L.shape[1])])
    L_ext = extend(L, nearest=nearest, thresholds=np.asarray(thresholds, dtype=np.float64))
    balance = class_balance_for(dataset, balance_mode)
    model, model_name = _fit(L_ext, dataset.cardinality, balance)
    proba = model.predict_proba(L_ext)
    proba_base, base_metrics = _baseline(content_hash, lf_keys, balance_mode, dataset)
    mv = MajorityVote(dataset.cardinality).fit(L_ext)
    summary = analysis.lf_summary(
        L,
        L_extended=L_ext,
        names=names,
        y=dataset.y,
        model=model if hasattr(model, "accuracies_") else None,
        class_names=dataset.class_names,
    )
    no_votes_ext = (L_ext == ABSTAIN).all(axis=1)
    metrics = {
        f"{model_name}, extended": label_model_metrics(
            dataset.y, proba=proba, class_names=dataset.class_names, abstain_mask=no_votes_ext
        ),
        "majority vote, extended": label_model_metrics(
            dataset.y, proba=mv.predict_proba(L_ext), class_names=dataset.class_names, abstain_mask=no_votes_ext
        ),
        f"{model_name}, no extension": base_metrics,
    }  # with fewer than 3 LFs the first two keys coincide: the dict keeps one row
    used_balance = getattr(model, "class_balance_", None)
    if used_balance is None:
        used_balance = np.full(dataset.cardinality, 1.0 / dataset.cardinality)
    return Results(
        names=names,
        L=L,
        L_extended=L_ext,
        proba=proba,
        proba_no_extension=proba_base,
        model_name=model_name,
        class_balance=np.asarray(used_balance, dtype=float),
        summary=summary,
        comparison=compare_models(metrics),
        metrics=metrics,
        dev_size=int(dataset.dev_mask.sum()),
    )


def results(
    dataset: Dataset,
    graph_key: str,
    graph_: KNNGraph,
    lf_dicts: Sequence[dict],
    thresholds: Sequence[float],
    balance_mode: str,
) -> Results:
    """Extension + label model + summaries for the enabled LFs (cached on every input)."""
    if not lf_dicts:
        raise ValueError("Enable at least one labeling function to see results.")
    return _results(
        dataset.content_hash,
        graph_key,
        tuple(lf_json(d) for d in lf_dicts),
        tuple(float(t) for t in thresholds),
        balance_mode,
        dataset,
        graph_,
    )


def nearest_for(graph_key: str, graph_: KNNGraph, L: np.ndarray) -> NearestVoters:
    """Nearest voters of every column of ``L`` from the per-LF cache (for tuning)."""
    return NearestVoters.hstack([_lf_nearest(graph_key, L[:, j], graph_) for j in range(L.shape[1])])


@st.cache_data(show_spinner=False, max_entries=8)
def embedding_points(content_hash: str, source: str, _dataset: Dataset, max_points: int = 5000) -> pd.DataFrame:
    """A PCA map of (a sample of) the embeddings, labelled with class names or "unlabeled"."""
    from epoxy_studio.projection import pca_points

    dataset = _dataset
    names = np.array([*dataset.class_names, "unlabeled"], dtype=object)
    labels = names[np.where(dataset.y == ABSTAIN, len(dataset.class_names), dataset.y)]
    return pca_points(embeddings(dataset, source), labels, dataset.texts, max_points=max_points)


@st.cache_data(show_spinner=False, max_entries=8)
def read_upload(raw: bytes, filename: str) -> pd.DataFrame:
    """``read_table`` on uploaded bytes, cached so widget reruns do not re-parse the file."""
    from epoxy_core.data import read_table

    return read_table(raw, filename)
