"""The one module of the app that calls ``epoxy_core`` for results: one ``LabelingSession`` per project.

Every computation the pages show (votes, nearest voters, extension, the label model, the end model, the LF
editor's draft preview, tuning) is done by :class:`epoxy_core.session.LabelingSession`.  The app holds **one
session per project dataset and graph, shared by every browser tab** (``st.cache_resource`` keyed by strings
only: the project, the dataset's content hash, the embedding source's digest and the neighbour count), so two
tabs of one project share every cached vote and nearest voter, and nothing is ever hashed from an array.

Each browser session has an :class:`Engine` (in ``st.session_state``, made by
:func:`epoxy_studio.project.engine`) for the dataset it shows.  It answers the pages:

- before the graph is built, LF votes and problems come from a small cache of its own (the LF page works
  without embeddings); once it is built, everything goes through :attr:`Engine.session`;
- :meth:`Engine.results` = ``session.results(thresholds, class_balance=..., lfs=...)`` under the project
  settings, remembered as :attr:`Engine.latest` for the other views (the hand-labeling queue, the map);
- :meth:`Engine.end_model`, :meth:`Engine.draft`, :meth:`Engine.start_tuning` likewise.

Nothing here draws anything except the progress callback :meth:`Engine.build` is given.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from epoxy_core import analysis
from epoxy_core.cache import BoundedCache
from epoxy_core.config import data_dir
from epoxy_core.data import Dataset
from epoxy_core.embed import EmbeddingSource, embed_source, embed_texts, save_npy_upload, source_key
from epoxy_core.labels import label_dtype
from epoxy_core.lf import BaseLF, apply_lfs
from epoxy_core.neighbors import KNNGraph, cached_knn_graph, warm_up_jit
from epoxy_core.session import DraftPreview, EndModelState, LabelingSession, SessionResults, lf_digest
from epoxy_core.settings import ProjectSettings
from epoxy_studio import memory
from epoxy_studio.lfset import LFItem

__all__ = [
    "END_MODEL_WAIT_ENV",
    "MAX_SESSIONS",
    "Engine",
    "Tuning",
    "npy_dir",
    "save_uploaded_embeddings",
    "session_cache_bytes",
    "start_jit_warm_up",
]

MAX_SESSIONS = 4
"""Sessions (projects x datasets x graphs) the process keeps; the least recently used one is dropped."""
END_MODEL_WAIT_ENV = "EPOXY_STUDIO_END_MODEL_WAIT"
"""Seconds a page waits for the end model before drawing (default 0: it never waits; tests set it)."""
_PRE_GRAPH_VOTES_BYTES = 64 * 2**20
_TUNING_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="epoxy-tune")


@st.cache_resource(show_spinner=False)
def start_jit_warm_up() -> threading.Thread | None:
    """Compile PyNNDescent's JIT once per process, in a background thread (first graph is then fast).

    Returns the warm-up thread (the same one on every call; None when the JIT was compiled in the foreground).
    """
    return warm_up_jit(background=True)


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


def session_cache_bytes(n_rows: int) -> int:
    """The in-memory cache budget of one session: ~1 KiB per row, between 32 MiB and 1 GiB.

    The session's largest entries are one LF's nearest voters (13 bytes per row) and one results set
    (~40 bytes per row per LF); the library's default (1 GiB) suits a notebook at a million rows, but the app
    keeps up to :data:`MAX_SESSIONS` sessions in one process.

    >>> session_cache_bytes(1_836) // 2**20, session_cache_bytes(100_000) // 2**20, session_cache_bytes(10**7) // 2**20
    (32, 97, 1024)
    """
    return int(min(max(n_rows * 1024, 32 * 2**20), 2**30))


def _embedder(source: EmbeddingSource) -> Callable[[Sequence[str]], np.ndarray] | None:
    """What embeds a similarity LF's example texts: the project's text model (None for TF-IDF, uploads, columns)."""
    if not source.embeds_new_texts:
        return None
    model = source.model
    return lambda texts: embed_texts(list(texts), model=model)


# ---------------------------------------------------------------------------------------------- shared sessions


@st.cache_resource(show_spinner=False, max_entries=MAX_SESSIONS)
def _session(key: str, _dataset: Dataset, _source: EmbeddingSource, n_neighbors: int) -> LabelingSession:
    """The process's session for ``key`` (``project:content_hash:source_key:n_neighbors``)."""
    vectors = embed_source(_source, _dataset.df, _dataset.texts, npy_dir=npy_dir())  # a disk-cache hit after build
    vectors.setflags(write=False)  # shared between tabs: make accidental mutation an error
    graph = cached_knn_graph(vectors, n_neighbors=n_neighbors)  # keeps `vectors` (unit rows) as its embeddings
    session = LabelingSession(
        _dataset,
        graph=graph,
        n_neighbors=n_neighbors,
        cache_bytes=session_cache_bytes(len(_dataset)),
        embed=_embedder(_source),  # similarity LFs' example texts
    )
    memory.collect_and_freeze()  # the user is waiting for the load anyway; interactions then skip these objects
    return session


def _sync_labels(session: LabelingSession, dataset: Dataset) -> None:
    """Give the shared session this tab's dev labels (hand labels change them; the content hash does not)."""
    if np.array_equal(session.dataset.y, dataset.y):
        return
    session.set_labels(dataset.y)


# ---------------------------------------------------------------------------------------------- tuning


@dataclass(frozen=True)
class Tuning:
    """A pipeline tuning started from the results page (runs in a background thread).

    Attributes
    ----------
    key : str
        What was tuned: the session key and the LF definitions (a finished tuning of other LFs is not applied).
    names : list of str
        The active LFs tuned, in order (the columns of ``choice.thresholds``).
    future : Future
        Resolves to a :class:`epoxy_core.tuning.PipelineChoice` or raises ValueError.
    started : float
        ``time.monotonic()`` at submission.
    """

    key: str
    names: list[str]
    future: concurrent.futures.Future[Any]
    started: float

    @property
    def seconds(self) -> float:
        """Seconds since it started."""
        return time.monotonic() - self.started


# ---------------------------------------------------------------------------------------------- the engine


class Engine:
    """What the pages of one browser session ask about one dataset (see the module docstring).

    Parameters
    ----------
    dataset : Dataset
        The project's current dataset.  An engine never changes datasets: a new one gets a new engine.
    project : str, default ""
        The project's name (part of the shared session's key).
    settings : ProjectSettings, optional
        The project's settings; :func:`epoxy_studio.project.engine` keeps them current.

    Attributes
    ----------
    latest : SessionResults or None
        The results last computed for this browser session (the results page's), for other views.
    """

    def __init__(self, dataset: Dataset, project: str = "", settings: ProjectSettings | None = None):
        self.dataset = dataset
        self.project = project
        self.settings = settings if settings is not None else ProjectSettings()
        self.latest: SessionResults | None = None
        self._source_keys: dict[EmbeddingSource, str] = {}
        self._votes = BoundedCache(_PRE_GRAPH_VOTES_BYTES)  # only until the graph (and so the session) exists
        self._problems: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._held: tuple[str, LabelingSession] | None = None

    # ------------------------------------------------------------------ the shared session

    def source_key(self, source: EmbeddingSource) -> str:
        """Digest of what ``source``'s embeddings of this dataset depend on (computed once per engine)."""
        with self._lock:
            if source not in self._source_keys:
                self._source_keys[source] = source_key(source, self.dataset.df, self.dataset.texts)
            return self._source_keys[source]

    def session_key(self, source: EmbeddingSource | None = None, n_neighbors: int | None = None) -> str:
        """``project:content_hash:source_key:n_neighbors`` of the session for ``source`` (default: the settings')."""
        source = self.settings.embedding if source is None else source
        n_neighbors = self.settings.n_neighbors if n_neighbors is None else n_neighbors
        return f"{self.project}:{self.dataset.content_hash}:{self.source_key(source)}:{int(n_neighbors)}"

    def session_for(self, source: EmbeddingSource, n_neighbors: int) -> LabelingSession:
        """The shared session of this dataset with ``source``'s graph (embedded and built if not cached).

        Call it on the script thread first (``st.cache_resource``); the engine then remembers the session, so
        work it hands to other threads (draft previews, tuning) reuses it.

        Raises
        ------
        ValueError
            For a source that cannot embed this dataset (e.g. an uploaded ``.npy`` gone from the data dir).
        """
        key = self.session_key(source, n_neighbors)
        held = self._held
        if held is None or held[0] != key or get_script_run_ctx(suppress_warning=True) is not None:
            session = _session(key, self.dataset, source, int(n_neighbors))
            self._held = held = (key, session)
        _sync_labels(held[1], self.dataset)
        return held[1]

    @property
    def session(self) -> LabelingSession | None:
        """The project's session once its graph is built (``settings.graph_built``), else None.

        Raises
        ------
        ValueError
            When the graph's embeddings cannot be made again (see :meth:`session_for`).
        """
        if not self.settings.graph_built:
            return None
        return self.session_for(self.settings.embedding, self.settings.n_neighbors)

    def ready_session(self) -> LabelingSession | None:
        """The session when the graph is built and can be loaded, else None (LF questions then need no graph).

        Pages call it (or :attr:`session`) on the script thread before handing work to other threads.
        """
        if not self.settings.graph_built:
            return None
        try:
            return self.session
        except ValueError:
            return None

    def embeddings(self, source: EmbeddingSource | None = None) -> np.ndarray:
        """The (unit, read-only) embeddings of this dataset from ``source`` (default: the settings')."""
        source = self.settings.embedding if source is None else source
        graph = self.session_for(source, self.settings.n_neighbors).graph
        assert graph.embeddings is not None
        return graph.embeddings

    def graph(self, source: EmbeddingSource | None = None, n_neighbors: int | None = None) -> tuple[str, KNNGraph]:
        """``(key, graph)``: the k-NN graph of ``source`` (default: the settings') and its session's key.

        Built, or read from the memory or disk cache.  The key names the graph for caches of what is computed
        from it (a map's layout).
        """
        source = self.settings.embedding if source is None else source
        n_neighbors = self.settings.n_neighbors if n_neighbors is None else n_neighbors
        return self.session_key(source, n_neighbors), self.session_for(source, n_neighbors).graph

    def build(self, source: EmbeddingSource, n_neighbors: int, progress: Callable[[float, str], None]) -> KNNGraph:
        """Embed with a progress report (rows/s and ETA), build the graph and the session; returns the graph.

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

        if source.kind == "model":
            # Fill the disk cache with progress; the session then reads it back.
            embed_source(source, self.dataset.df, self.dataset.texts, npy_dir=npy_dir(), progress=on_rows)
        progress(0.9, f"Building the k-NN graph ({n_neighbors} neighbours per row)…")
        session = self.session_for(source, n_neighbors)
        progress(1.0, f"Done: {len(self.dataset):,} rows in {time.perf_counter() - start:.1f} s.")
        return session.graph

    # ------------------------------------------------------------------ LFs and their votes

    def _apply_without_graph(self, lf: BaseLF) -> np.ndarray | None:
        digest = lf_digest(lf)
        votes = self._votes.get(digest)
        if votes is not None or self._problems.get(digest) is not None:
            return votes
        if getattr(lf, "needs_embeddings", False):
            self._problems[digest] = "It compares rows by their embeddings: build the graph on the data page first."
            return None
        try:
            column = apply_lfs([lf], self.dataset.df, self.dataset.spec.text_column, self.dataset.cardinality)[:, 0]
        except (ValueError, TypeError, pa.ArrowException) as error:
            # The core says ValueError; the other two are caught too because an LF that cannot be applied
            # must never take the LF page down with it (the page lists it, off, with this reason).
            self._problems[digest] = str(error) or "It could not be applied to this data."
            return None
        column = np.ascontiguousarray(column, dtype=label_dtype(self.dataset.cardinality))
        column.setflags(write=False)
        self._votes.put(digest, column)
        self._problems[digest] = None
        return column

    def problem(self, lf: BaseLF) -> str | None:
        """Why ``lf`` cannot vote on this dataset, or None when it can (the answer is remembered per definition)."""
        session = self.ready_session()
        if session is None:
            self._apply_without_graph(lf)
            return self._problems.get(lf_digest(lf))
        try:
            return session.problem(lf)
        except (TypeError, pa.ArrowException) as error:  # never an exception box on the LF page
            return str(error) or "It could not be applied to this data."

    def votes(self, lf: BaseLF) -> np.ndarray:
        """``lf``'s votes on every row (read-only).

        Raises
        ------
        ValueError
            If the LF cannot vote on this dataset; the message names the LF and the problem.
        """
        session = self.ready_session()
        if session is not None:
            return session.votes(lf)
        votes = self._apply_without_graph(lf)
        if votes is None:
            raise ValueError(self.problem(lf) or f"LF {lf.name!r} cannot vote on this dataset.")
        return votes

    def problems(self, items: Sequence[LFItem]) -> list[str | None]:
        """Per item, why it cannot vote (invalid JSON, or does not fit the dataset), or None."""
        return [item.error if item.lf is None else self.problem(item.lf) for item in items]

    def active(self, items: Sequence[LFItem]) -> list[BaseLF]:
        """The LFs the label model sees: switched on and able to vote on this dataset."""
        return [item.lf for item in items if item.enabled and item.lf is not None and self.problem(item.lf) is None]

    def _fitting_votes(self, items: Sequence[LFItem]) -> tuple[list[BaseLF], np.ndarray | None]:
        """The LFs of ``items`` that can vote on this dataset, and their votes side by side (None without any)."""
        fitting = [item.lf for item in items if item.lf is not None and self.problem(item.lf) is None]
        return fitting, (np.column_stack([self.votes(lf) for lf in fitting]) if fitting else None)

    def lf_table(self, items: Sequence[LFItem]) -> pd.DataFrame:
        """``lf_summary`` of every LF that fits, on its own votes, with an ``enabled`` column.

        Overlaps and conflicts (and their forms normalised by coverage) of enabled LFs are among the enabled
        ones (what the label model sees); a disabled LF's are against the enabled ones.
        """
        fitting, L = self._fitting_votes(items)
        if L is None:
            return pd.DataFrame()
        names = [lf.name for lf in fitting]
        dataset = self.dataset
        summary = analysis.lf_summary(L, names=names, y=dataset.y, class_names=dataset.class_names)
        enabled = np.array([lf.enabled for lf in fitting])
        among = ["overlaps", "conflicts", "overlaps_normalized", "conflicts_normalized"]
        if (~enabled).any() and enabled.any():
            on = list(np.flatnonzero(enabled))
            for j in np.flatnonzero(~enabled):
                part = analysis.lf_summary(L[:, [*on, j]], names=[*(names[c] for c in on), names[j]])
                summary.loc[names[j], among] = part.loc[names[j], among].values
            part = analysis.lf_summary(L[:, on], names=[names[c] for c in on])
            summary.loc[part.index, among] = part[among].values
        summary.insert(0, "enabled", enabled)
        columns = ["polarity", "coverage", *among, "correct", "incorrect", "empirical_accuracy"]
        return summary[["enabled", *[c for c in columns if c in summary.columns]]]

    def vote_rates(self, items: Sequence[LFItem]) -> pd.DataFrame:
        """P(vote | gold class) on the dev rows of every LF that can vote (``LFAnalysis.lf_vote_rates``)."""
        fitting, L = self._fitting_votes(items)
        if L is None or not self.dataset.dev_mask.any():
            return pd.DataFrame()
        lf_analysis = analysis.LFAnalysis(L, [lf.name for lf in fitting], cardinality=self.dataset.cardinality)
        return lf_analysis.lf_vote_rates(self.dataset.y, self.dataset.class_names)

    def draft(self, lf: BaseLF, lfs: Sequence[BaseLF], threshold: float | None = None) -> DraftPreview:
        """The LF editor's preview of a draft among ``lfs`` (the active LFs; the draft's namesake is left out).

        With the graph built it is ``session.draft(lf, threshold, lfs=lfs)`` (extension preview included, at
        ``threshold``; None previews none); before, the same statistics without extension.
        """
        session = self.ready_session()
        if session is not None:
            return session.draft(lf, threshold, lfs=list(lfs))
        votes = self._apply_without_graph(lf)
        if votes is None:
            return DraftPreview(name=lf.name, votes=None, problem=self.problem(lf))
        others = [other for other in lfs if other.name != lf.name]
        L = np.column_stack([*(self.votes(other) for other in others), votes])
        names = [*(other.name for other in others), lf.name]
        row = analysis.lf_summary(L, names=names, y=self.dataset.y, class_names=self.dataset.class_names).iloc[-1]
        return DraftPreview(
            name=lf.name,
            votes=votes,
            problem=None,
            coverage=float(row["coverage"]),
            overlaps=float(row["overlaps"]),
            conflicts=float(row["conflicts"]),
            correct=int(row["correct"]),
            incorrect=int(row["incorrect"]),
            accuracy=float(row["empirical_accuracy"]),
        )

    # ------------------------------------------------------------------ results, end model, tuning

    def thresholds(self, lfs: Sequence[BaseLF]) -> dict[str, float | None]:
        """The saved threshold of each LF (None = not extended), as ``session.results`` takes them."""
        return {lf.name: self.settings.threshold_for(lf.name) for lf in lfs}

    def results(self, lfs: Sequence[BaseLF], settings: ProjectSettings | None = None) -> SessionResults:
        """Extension, label model, baselines and summaries for ``lfs`` (the active LFs) under the settings.

        ``settings`` default to the engine's (the project's current ones).  Cached in the session (a rerun costs
        ~1 ms); remembered as :attr:`latest`.

        Raises
        ------
        ValueError
            Without a graph or LFs, or when the core refuses the inputs.
        """
        settings = self.settings if settings is None else settings
        if not settings.graph_built:
            raise ValueError("Build the embeddings and the graph on the data page first.")
        if not lfs:
            raise ValueError("Switch on at least one labeling function that fits the data to see results.")
        session = self.session_for(settings.embedding, settings.n_neighbors)
        thresholds = {lf.name: settings.threshold_for(lf.name) for lf in lfs}
        results = session.results(thresholds, class_balance=settings.class_balance, lfs=list(lfs))
        self.latest = results
        return results

    def end_model(self, results: SessionResults) -> EndModelState:
        """The end model for ``results`` (at once: a background fit starts if needed; see ``session.end_model``).

        Off when the project's settings switch it off.  Waits ``$EPOXY_STUDIO_END_MODEL_WAIT`` seconds (tests).
        """
        session = self.session
        if session is None or not self.settings.end_model:
            return EndModelState(status="off", stale=True)
        if session.end_model_C != self.settings.end_model_C:
            session.end_model_C = self.settings.end_model_C
        wait = float(os.environ.get(END_MODEL_WAIT_ENV, "0") or 0)
        return session.end_model(results, wait=wait if wait > 0 else False)

    def tuning_key(self, lfs: Sequence[BaseLF]) -> str:
        """What a tuning of ``lfs`` depends on (the session, the LF definitions and names, the class balance)."""
        parts = [self.session_key(), self.settings.class_balance, *(f"{lf.name}:{lf_digest(lf)}" for lf in lfs)]
        return "\n".join(parts)

    def start_tuning(self, lfs: Sequence[BaseLF]) -> Tuning:
        """Start ``session.tune(pipeline=True)`` for ``lfs`` in a background thread; poll :attr:`Tuning.future`.

        Raises
        ------
        ValueError
            Without a graph or LFs.
        """
        session = self.session
        if session is None:
            raise ValueError("Build the embeddings and the graph on the data page first.")
        if not lfs:
            raise ValueError("Switch on at least one labeling function that fits the data to tune thresholds.")
        lf_list = list(lfs)
        digests = [lf_digest(lf) for lf in lf_list]
        balance = self.settings.class_balance

        def work() -> Any:
            session.set_lfs(lf_list)
            choice = session.tune(class_balance=balance, pipeline=True)
            if len(choice.thresholds) != len(lf_list) or [lf_digest(lf) for lf in session.lfs] != digests:
                raise ValueError("The labeling functions changed while tuning (another tab?); tune again.")
            return choice

        return Tuning(
            self.tuning_key(lf_list), [lf.name for lf in lf_list], _TUNING_POOL.submit(work), time.monotonic()
        )


def tuned_settings(names: Sequence[str], choice: Any) -> dict[str, Any]:
    """The settings a tuning's choice sets: one threshold per LF (None = off), the end model and its C.

    The default threshold (what the set-all slider and new LFs use) becomes the shared threshold when every
    LF got the same one.
    """
    values = [None if not math.isfinite(float(t)) else min(max(float(t), -1.0), 1.0) for t in choice.thresholds]
    changes: dict[str, Any] = {"thresholds": dict(zip(names, values, strict=True))}
    if len(set(values)) == 1:
        changes["default_threshold"] = values[0]
    changes["end_model"] = bool(choice.use_end_model)
    if choice.use_end_model and choice.end_model_C is not None:
        changes["end_model_C"] = float(choice.end_model_C)
    return changes
