"""The one module of the app that calls ``epoxy_core`` for results: votes, embeddings, graph, extension, models.

An :class:`Engine` belongs to one dataset of one project and lives in ``st.session_state`` (see
:func:`epoxy_studio.project.engine`); pages ask it for what they draw and never call the core's computations themselves.
What it computes is kept in caches bounded by bytes and keyed by strings: the dataset's content hash, an
LF's definition digest (:func:`lf_digest`), the graph key, the thresholds.  No raw array or upload is ever
hashed as a cache key.  Embeddings and graphs are shared by every session (``st.cache_resource``, keyed by
what they are computed from); never mutate them.

Designed to hold ``epoxy_core.session.LabelingSession`` later: the engine is already "one object per project
dataset that answers the pages", so the swap is local to this module —

- :meth:`Engine.graph` builds the session once the graph exists (``LabelingSession(dataset, embeddings,
  graph)``), kept as ``self._session``;
- :meth:`Engine.results` becomes ``session.set_lfs(lfs)`` + ``session.results(thresholds, class_balance=...)``
  (:class:`Results` has the fields ``SessionResults`` is specified with);
- :meth:`Engine.draft` becomes ``session.draft(lf)``, :meth:`Engine.problems` reads what ``set_lfs``
  reports, :meth:`Engine.tune` calls ``session.tune``.

Nothing here draws anything except the progress callback :meth:`Engine.build` is given.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from epoxy_core import analysis
from epoxy_core.config import data_dir
from epoxy_core.data import Dataset
from epoxy_core.embed import EmbeddingSource, embed_source, save_npy_upload, source_key
from epoxy_core.extension import NearestVoters, extend, nearest_voters
from epoxy_core.labels import ABSTAIN, label_dtype
from epoxy_core.lf import BaseLF, apply_lfs, lf_to_dict
from epoxy_core.metrics import compare_models, label_model_metrics
from epoxy_core.model import MajorityVote, TripletLabelModel, resolve_class_balance
from epoxy_core.neighbors import KNNGraph, cached_knn_graph, warm_up_jit
from epoxy_core.settings import ProjectSettings
from epoxy_core.tuning import tune_thresholds
from epoxy_studio.lfset import LFItem

__all__ = [
    "DraftPreview",
    "Engine",
    "Results",
    "Tuned",
    "lf_digest",
    "npy_dir",
    "save_uploaded_embeddings",
    "start_jit_warm_up",
]

# Byte budgets of one engine's caches: a project at 1M rows x 20 LFs keeps a few results sets.
_VOTES_BYTES = 128 * 2**20
_NEAREST_BYTES = 512 * 2**20
_RESULTS_BYTES = 512 * 2**20


@st.cache_resource(show_spinner=False)
def start_jit_warm_up() -> bool:
    """Compile PyNNDescent's JIT once per process, in a background thread (first graph is then fast)."""
    warm_up_jit(background=True)
    return True


def npy_dir() -> Path:
    """Where uploaded ``.npy`` embeddings are kept (in the data dir, named by their digest)."""
    return data_dir() / "uploads"


def save_uploaded_embeddings(raw: bytes, n_rows: int) -> EmbeddingSource:
    """Validate an uploaded ``.npy`` (``(n_rows, d)`` floats) and keep it; returns its source.

    Raises
    ------
    ValueError
        If the file is not a usable array for this dataset (the loader's message).
    """
    return save_npy_upload(raw, n_rows, npy_dir=npy_dir())


def lf_digest(lf: BaseLF) -> str:
    """What an LF's votes depend on: its definition without name and on/off switch.

    Renaming an LF or switching it off and on therefore reuses its votes and nearest voters.

    >>> from epoxy_core.lf import KeywordLF
    >>> lf_digest(KeywordLF("a", 1, ["x"])) == lf_digest(KeywordLF("b", 1, ["x"], enabled=False))
    True
    """
    definition = {k: v for k, v in lf_to_dict(lf).items() if k not in ("name", "enabled")}
    return hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode()).hexdigest()[:32]


class _BoundedCache:
    """A least-recently-used dict bounded by the bytes of its values (numpy arrays and objects holding them)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # a timed-out preview may still be filling it from a worker thread

    @staticmethod
    def _size(value: Any) -> int:
        if isinstance(value, np.ndarray):
            return value.nbytes
        if isinstance(value, pd.DataFrame | pd.Series):
            return int(value.memory_usage(deep=False).sum()) if isinstance(value, pd.DataFrame) else value.nbytes
        if hasattr(value, "__dataclass_fields__"):
            return sum(_BoundedCache._size(getattr(value, f)) for f in value.__dataclass_fields__)
        return 64

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = compute()  # outside the lock: computations may take seconds and use the cache themselves
        size = self._size(value)
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        return value


# ---------------------------------------------------------------------------------------------- shared resources


@st.cache_resource(show_spinner=False, max_entries=4)
def _embeddings(key: str, _source: EmbeddingSource, _dataset: Dataset) -> np.ndarray:
    vectors = embed_source(_source, _dataset.df, _dataset.texts, npy_dir=npy_dir())
    vectors.setflags(write=False)  # shared between sessions: make accidental mutation an error
    return vectors


@st.cache_resource(show_spinner=False, max_entries=4)
def _graph(key: str, n_neighbors: int, _vectors: np.ndarray) -> KNNGraph:
    return cached_knn_graph(_vectors, n_neighbors=n_neighbors)


# ---------------------------------------------------------------------------------------------- what pages get


@dataclass(frozen=True)
class DraftPreview:
    """What the LF editor shows about a draft: its votes and its statistics among the other active LFs."""

    votes: np.ndarray
    coverage: float
    overlaps: float
    conflicts: float
    correct: int
    incorrect: int
    accuracy: float
    """Dev accuracy of the draft's own votes; NaN when it votes on no dev row."""


@dataclass(frozen=True)
class Results:
    """Everything the results page shows for one LF set, graph, thresholds and class balance."""

    names: list[str]
    L: np.ndarray
    L_extended: np.ndarray
    proba: np.ndarray
    covered: np.ndarray
    """Rows at least one LF votes on after extension."""
    model_name: str
    """"label model", or "majority vote" when too few LFs vote for the triplet model."""
    class_balance: np.ndarray
    summary: pd.DataFrame
    comparison: pd.DataFrame
    metrics: dict[str, Any]
    n_dev: int


@dataclass(frozen=True)
class Tuned:
    """A threshold tuning: the thresholds chosen and the scores that justify them."""

    thresholds: dict[str, float | None]
    default_threshold: float | None
    per_lf: bool
    cv_score: float | None
    """Cross-validated dev score; None when there are too few dev labels to cross-validate."""
    fitted_score: float | None
    no_extension_score: float | None
    metric: str
    n_dev: int
    message: str = ""
    """The tuner's one line: what won, or why a score is missing."""


# ---------------------------------------------------------------------------------------------- the engine


class Engine:
    """Votes, graph and results for one dataset; one per browser session (see :func:`epoxy_studio.project.engine`).

    Parameters
    ----------
    dataset : Dataset
        The project's current dataset.  An engine never changes datasets: a new one gets a new engine.
    """

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self._votes = _BoundedCache(_VOTES_BYTES)
        self._problems: dict[str, str | None] = {}
        self._nearest = _BoundedCache(_NEAREST_BYTES)
        self._results = _BoundedCache(_RESULTS_BYTES)
        self._baselines = _BoundedCache(_RESULTS_BYTES // 4)
        self._source_keys: dict[EmbeddingSource, str] = {}

    # ------------------------------------------------------------------ LFs and their votes

    def votes(self, lf: BaseLF) -> np.ndarray:
        """``lf``'s votes on every row (read-only).

        Raises
        ------
        ValueError
            If the LF cannot vote on this dataset (a class it does not have, a missing column, a rule that does
            not suit the column's type); the core's message, which names the LF and the problem.
        """

        def compute() -> np.ndarray:
            votes = apply_lfs([lf], self.dataset.df, self.dataset.spec.text_column, self.dataset.cardinality)[:, 0]
            votes.setflags(write=False)
            return votes

        return self._votes.get(lf_digest(lf), compute)

    def problem(self, lf: BaseLF) -> str | None:
        """Why ``lf`` cannot vote on this dataset, or None when it can (the answer is remembered per definition)."""
        digest = lf_digest(lf)
        if digest not in self._problems:
            try:
                self.votes(lf)
                self._problems[digest] = None
            except (ValueError, TypeError, pa.ArrowException) as error:
                # The core says ValueError; the other two are caught too because an LF that cannot be applied
                # must never take the LF page down with it (the page lists it, off, with this reason).
                self._problems[digest] = str(error) or "It could not be applied to this data."
        return self._problems[digest]

    def problems(self, items: Sequence[LFItem]) -> list[str | None]:
        """Per item, why it cannot vote (invalid JSON, or does not fit the dataset), or None."""
        return [item.error if item.lf is None else self.problem(item.lf) for item in items]

    def active(self, items: Sequence[LFItem]) -> list[BaseLF]:
        """The LFs the label model sees: switched on and able to vote on this dataset."""
        return [item.lf for item in items if item.enabled and item.lf is not None and self.problem(item.lf) is None]

    def label_matrix(self, lfs: Sequence[BaseLF]) -> np.ndarray:
        """The (rows, LFs) label matrix of LFs that fit (see :meth:`problem`)."""
        dtype = label_dtype(self.dataset.cardinality)
        if not lfs:
            return np.empty((len(self.dataset), 0), dtype=dtype)
        return np.column_stack([self.votes(lf) for lf in lfs]).astype(dtype, copy=False)

    def lf_table(self, items: Sequence[LFItem]) -> pd.DataFrame:
        """``lf_summary`` of every LF that fits, on its own votes, with an ``enabled`` column.

        Overlaps and conflicts of enabled LFs are among the enabled ones (what the label model sees); a disabled
        LF's are against the enabled ones.
        """
        fitting = [item.lf for item in items if item.lf is not None and self.problem(item.lf) is None]
        if not fitting:
            return pd.DataFrame()
        L = self.label_matrix(fitting)
        names = [lf.name for lf in fitting]
        dataset = self.dataset
        summary = analysis.lf_summary(L, names=names, y=dataset.y, class_names=dataset.class_names)
        enabled = np.array([lf.enabled for lf in fitting])
        if (~enabled).any() and enabled.any():
            on = list(np.flatnonzero(enabled))
            for j in np.flatnonzero(~enabled):
                part = analysis.lf_summary(L[:, [*on, j]], names=[*(names[c] for c in on), names[j]])
                summary.loc[names[j], ["overlaps", "conflicts"]] = part.loc[names[j], ["overlaps", "conflicts"]].values
            part = analysis.lf_summary(L[:, on], names=[names[c] for c in on])
            summary.loc[part.index, ["overlaps", "conflicts"]] = part[["overlaps", "conflicts"]].values
        summary.insert(0, "enabled", enabled)
        columns = ["polarity", "coverage", "overlaps", "conflicts", "correct", "incorrect", "empirical_accuracy"]
        return summary[["enabled", *[c for c in columns if c in summary.columns]]]

    def draft(self, lf: BaseLF, others: Sequence[BaseLF]) -> DraftPreview:
        """Statistics of a draft LF among ``others`` (the active LFs, the one being edited left out).

        Raises
        ------
        ValueError
            If the draft cannot vote on this dataset.
        """
        others = [other for other in others if other.name != lf.name]
        L = self.label_matrix([*others, lf])
        names = [*(other.name for other in others), lf.name]
        summary = analysis.lf_summary(L, names=names, y=self.dataset.y, class_names=self.dataset.class_names)
        row = summary.iloc[-1]
        return DraftPreview(
            votes=L[:, -1],
            coverage=float(row["coverage"]),
            overlaps=float(row["overlaps"]),
            conflicts=float(row["conflicts"]),
            correct=int(row["correct"]),
            incorrect=int(row["incorrect"]),
            accuracy=float(row["empirical_accuracy"]),
        )

    # ------------------------------------------------------------------ embeddings and the graph

    def source_key(self, source: EmbeddingSource) -> str:
        """Digest of what ``source``'s embeddings of this dataset depend on (computed once per engine)."""
        if source not in self._source_keys:
            self._source_keys[source] = source_key(source, self.dataset.df, self.dataset.texts)
        return self._source_keys[source]

    def embeddings(self, source: EmbeddingSource) -> np.ndarray:
        """The embeddings of this dataset from ``source`` (read-only, shared between sessions)."""
        return _embeddings(self.source_key(source), source, self.dataset)

    def graph(self, source: EmbeddingSource, n_neighbors: int) -> tuple[str, KNNGraph]:
        """``(graph_key, graph)``: built, or read from the memory or disk cache."""
        key = self.source_key(source)
        return f"{key}-{n_neighbors}", _graph(key, n_neighbors, self.embeddings(source))

    def build(
        self, source: EmbeddingSource, n_neighbors: int, progress: Callable[[float, str], None]
    ) -> tuple[str, KNNGraph]:
        """Embed with a progress report (rows/s and ETA), then build the graph; both end up in the caches.

        Parameters
        ----------
        progress : callable
            ``progress(fraction, message)``; the page wires it to ``st.progress``.

        Raises
        ------
        ValueError
            For a source that cannot embed this dataset (the core's message).
        """
        start = time.perf_counter()

        def on_rows(done: int, total: int) -> None:
            elapsed = max(time.perf_counter() - start, 1e-6)
            rate = done / elapsed
            eta = (total - done) / rate if rate > 0 else float("nan")
            fraction = 0.9 * done / max(total, 1)
            progress(fraction, f"Embedding: {done:,}/{total:,} rows · {rate:,.0f} rows/s · ETA {eta:.0f} s")

        key = self.source_key(source)
        if source.kind == "model":
            # Fill the disk cache with progress; the shared resource below then reads it back.
            embed_source(source, self.dataset.df, self.dataset.texts, npy_dir=npy_dir(), progress=on_rows)
        vectors = _embeddings(key, source, self.dataset)
        progress(0.9, f"Building the k-NN graph ({n_neighbors} neighbours per row)…")
        built = _graph(key, n_neighbors, vectors)
        progress(1.0, f"Done: {len(self.dataset):,} rows in {time.perf_counter() - start:.1f} s.")
        return f"{key}-{n_neighbors}", built

    def map_points(self, source: EmbeddingSource, max_points: int = 5000) -> pd.DataFrame:
        """A 2-D PCA map of (a sample of) the embeddings, labelled with class names or "unlabeled"."""
        from epoxy_studio.projection import pca_points

        def compute() -> pd.DataFrame:
            dataset = self.dataset
            names = np.array([*dataset.class_names, "unlabeled"], dtype=object)
            labels = names[np.where(dataset.y == ABSTAIN, len(dataset.class_names), dataset.y)]
            return pca_points(self.embeddings(source), labels, dataset.texts, max_points=max_points)

        return self._results.get(("map", self.source_key(source), max_points), compute)

    # ------------------------------------------------------------------ extension and label models

    def _nearest_voters(self, graph_key: str, graph: KNNGraph, lfs: Sequence[BaseLF]) -> NearestVoters:
        # One column per LF definition: editing one LF re-searches only that LF's nearest voters.
        parts = [
            self._nearest.get(
                (graph_key, lf_digest(lf)), lambda lf=lf: nearest_voters(self.votes(lf).reshape(-1, 1), graph)
            )
            for lf in lfs
        ]
        return NearestVoters.hstack(parts)

    def _balance(self, mode: str) -> Any:
        return resolve_class_balance(mode, self.dataset.y, self.dataset.cardinality)

    def _fit(self, L: np.ndarray, mode: str) -> tuple[TripletLabelModel, str]:
        model = TripletLabelModel(cardinality=self.dataset.cardinality).fit(L, class_balance=self._balance(mode))
        return model, ("majority vote" if getattr(model, "fallback_", False) else "label model")

    def _metrics(self, proba: np.ndarray, L: np.ndarray) -> dict[str, Any]:
        dataset = self.dataset
        no_votes = (L == ABSTAIN).all(axis=1)
        return label_model_metrics(dataset.y, proba=proba, class_names=dataset.class_names, abstain_mask=no_votes)

    def _baseline(self, lfs: Sequence[BaseLF], mode: str) -> tuple[str, dict[str, Any]]:
        """The label model without extension: independent of thresholds and graph, so cached apart from them."""

        def compute() -> tuple[str, dict[str, Any]]:
            L = self.label_matrix(lfs)
            model, name = self._fit(L, mode)
            return name, self._metrics(model.predict_proba(L), L)

        return self._baselines.get((tuple(lf_digest(lf) for lf in lfs), mode), compute)

    def results(self, lfs: Sequence[BaseLF], settings: ProjectSettings) -> Results:
        """Extension, label model, baselines and summaries for ``lfs`` (the active LFs) under ``settings``.

        Raises
        ------
        ValueError
            Without LFs, or when the core refuses the inputs.
        """
        if not lfs:
            raise ValueError("Switch on at least one labeling function that fits the data to see results.")
        graph_key, graph = self.graph(settings.embedding, settings.n_neighbors)
        thresholds = tuple(_as_threshold(settings.threshold_for(lf.name)) for lf in lfs)
        key = (graph_key, tuple((lf.name, lf_digest(lf)) for lf in lfs), thresholds, settings.class_balance)
        return self._results.get(key, lambda: self._compute_results(lfs, graph_key, graph, thresholds, settings))

    def _compute_results(
        self,
        lfs: Sequence[BaseLF],
        graph_key: str,
        graph: KNNGraph,
        thresholds: tuple[float, ...],
        settings: ProjectSettings,
    ) -> Results:
        dataset = self.dataset
        names = [lf.name for lf in lfs]
        L = self.label_matrix(lfs)
        L_ext = extend(L, nearest=self._nearest_voters(graph_key, graph, lfs), thresholds=np.asarray(thresholds))
        model, model_name = self._fit(L_ext, settings.class_balance)
        proba = model.predict_proba(L_ext)
        majority = MajorityVote(cardinality=dataset.cardinality).fit(
            L_ext, class_balance=self._balance(settings.class_balance)
        )
        base_name, base_metrics = self._baseline(lfs, settings.class_balance)
        summary = analysis.lf_summary(
            L,
            L_extended=L_ext,
            names=names,
            y=dataset.y,
            model=None if model_name == "majority vote" else model,
            class_names=dataset.class_names,
        )
        metrics = {
            f"{model_name}, extended": self._metrics(proba, L_ext),
            "majority vote, extended": self._metrics(majority.predict_proba(L_ext), L_ext),
            f"{base_name}, no extension": base_metrics,
        }  # when the label model falls back to majority vote, the first two keys coincide: one row
        return Results(
            names=names,
            L=L,
            L_extended=L_ext,
            proba=proba,
            covered=(L_ext != ABSTAIN).any(axis=1),
            model_name=model_name,
            class_balance=np.asarray(model.class_balance_, dtype=float),
            summary=summary,
            comparison=compare_models(metrics),
            metrics=metrics,
            n_dev=int(dataset.dev_mask.sum()),
        )

    def tune(self, lfs: Sequence[BaseLF], settings: ProjectSettings) -> Tuned:
        """Choose thresholds on the dev labels by cross-validation (nothing is saved here).

        Raises
        ------
        ValueError
            Too few dev labels or LFs (the tuner's message).
        """
        if not lfs:
            raise ValueError("Switch on at least one labeling function that fits the data to tune thresholds.")
        graph_key, graph = self.graph(settings.embedding, settings.n_neighbors)
        L = self.label_matrix(lfs)
        result = tune_thresholds(
            L,
            self.dataset.y,
            self._nearest_voters(graph_key, graph, lfs),
            cardinality=self.dataset.cardinality,
            class_balance=settings.class_balance,  # a mode: "dev labels" is recomputed inside each fold
        )
        shared = float(result.shared_threshold)
        return Tuned(
            thresholds={lf.name: _as_setting(t) for lf, t in zip(lfs, result.thresholds, strict=True)},
            default_threshold=_as_setting(shared) if math.isfinite(shared) else settings.default_threshold,
            per_lf=bool(result.per_lf),
            cv_score=_score(result.cv_score),
            fitted_score=_score(result.fitted_score),
            no_extension_score=_score(result.no_extension_score),
            metric=str(result.metric),
            n_dev=int(result.n_dev),
            message=str(getattr(result, "message", "") or ""),
        )


def _score(value: Any) -> float | None:
    """A score as the page shows it: None when it could not be computed (the tuner says None or NaN)."""
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _as_threshold(value: float | None) -> float:
    """A stored threshold as the core takes it: None (off) is +inf."""
    return math.inf if value is None else float(value)


def _as_setting(value: float) -> float | None:
    """A core threshold as stored: +inf (off) is None; others clipped to a similarity's range."""
    return None if not math.isfinite(value) else min(max(float(value), -1.0), 1.0)
