"""One interactive labeling session: the object a notebook holds, and the app holds per project.

A :class:`LabelingSession` owns a dataset, its embeddings and k-NN graph, and everything computed from them
while a user edits labeling functions:

- each LF's votes and nearest voters, keyed by the LF's **content digest** (:func:`lf_digest`: its definition
  without name or on/off switch), so setting a new LF list re-applies and re-searches only LFs whose
  definition changed, and renaming or switching an LF off and on costs nothing.  No array and no upload is
  ever hashed as a cache key: Streamlit's ``st.cache_data`` hashes arrays of >= 500,000 elements from a
  sample, which once gave an edited LF the previous version's nearest voters;
- the label model's results per (LF digests, thresholds, class balance), for the results page;
- the end model, fitted in a background thread once the label model settles, never blocking a threshold
  change (:meth:`LabelingSession.end_model` answers at once with the latest fit and whether it is stale);
- the dev labels: :meth:`LabelingSession.set_labels` takes hand labels and re-scores what reads labels
  (metrics, headline, the summary's dev columns, the end model's scores) while every vote, nearest voter and
  label-model fit is kept (results are cached in a label-independent and a label-dependent part).

Similarity LFs (:class:`~epoxy_core.lf.SimilarityLF`) vote with the graph's embeddings and, for example texts,
the ``embed`` callable the session was given; :meth:`LabelingSession.draft` previews a draft LF's statistics
and :func:`epoxy_core.analysis.extension_preview` at a threshold.

Nearest voters are answered in two steps at large sizes.  An edited LF gets a *graph-first* answer at once:
the first voted row among each row's graph neighbours, and for rows with none, the most similar of their
neighbours' nearest voters (multi-hop, :mod:`epoxy_core.voter_search`).  The exact answer (a blocked BLAS
search of the LF's voters for the rows the graph does not answer) is computed in a background thread and
swapped in; results computed from it say ``exact=True``.  Below :data:`EXACT_SYNC_MAX_ROWS` rows the exact
search is fast enough to run at once.  ``bench/interactive_loop.py`` measures both against a dense exact
recompute and reports their agreement.

All caches are bounded by bytes (:class:`~epoxy_core.cache.BoundedCache`); every public method is safe to
call from several threads (Streamlit reruns and browser tabs sharing one session).

Examples
--------
>>> import pandas as pd
>>> from epoxy_core.data import DatasetSpec, prepare_dataset
>>> from epoxy_core.lf import KeywordLF
>>> frame = pd.DataFrame({"text": ["buy now", "buy cheap", "nice song", "lovely song", "buy it", "song"],
...                       "label": ["spam", "", "ham", "", "", ""]})
>>> data = prepare_dataset(frame, DatasetSpec("text", "label", class_names=["ham", "spam"]))
>>> vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.95, 0.05], [0.05, 0.95]], dtype=np.float32)
>>> session = LabelingSession(data, vectors, end_model=False)
>>> report = session.set_lfs([KeywordLF("buy", 1, ["buy"]), KeywordLF("song", 0, ["song"])])
>>> report.active, report.problems
(['buy', 'song'], {})
>>> res = session.results(0.8)
>>> res.L_extended[:, 0].tolist(), res.exact
([1, 1, -1, -1, 1, -1], True)
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from epoxy_core import analysis
from epoxy_core.analysis import ExtensionPreview
from epoxy_core.blas import one_blas_thread
from epoxy_core.cache import BoundedCache
from epoxy_core.data import Dataset
from epoxy_core.extension import NearestVoters, _nearest_voter_column, thresholds_array
from epoxy_core.labels import ABSTAIN, LabelMatrix, check_labels, label_dtype
from epoxy_core.lf import BaseLF, apply_lfs, lf_to_dict
from epoxy_core.metrics import compare_models, label_model_metrics
from epoxy_core.model import DEFAULT_CLASS_BALANCE, MajorityVote, TripletLabelModel, resolve_class_balance
from epoxy_core.model.statistics import (
    COMPILED_FROM_ROWS,
    VoteStatistics,
    extend_and_count,
    vote_bitsets,
    vote_statistics,
    warm_up_kernels,
)
from epoxy_core.neighbors import KNNGraph, cached_knn_graph, prepare_embeddings

__all__ = [
    "EXACT_SYNC_MAX_ROWS",
    "DraftPreview",
    "EndModelState",
    "ExtensionPreview",
    "LFSetReport",
    "LabelingSession",
    "SessionResults",
    "lf_digest",
]

EXACT_SYNC_MAX_ROWS: int = 20_000
"""Below this many rows an edited LF's exact nearest voters are computed at once (tens of milliseconds)."""

Refine = Literal["background", "sync", "off"]
Embed = Callable[[Sequence[str]], Any]
"""``texts -> (len(texts), d)`` vectors: the project's embedder (for :class:`~epoxy_core.lf.SimilarityLF` texts)."""

_MiB = 2**20
_REFINE_RECENT_SETS = 3


def lf_digest(lf: BaseLF) -> str:
    """What an LF's votes depend on: its definition without its name and on/off switch (32 hex digits).

    Renaming an LF or switching it off and on therefore reuses its votes and nearest voters.  An LF written
    in Python (:class:`~epoxy_core.lf.LabelingFunction`) has no definition to hash: it is keyed by the object
    itself, so a new object is a new LF.

    >>> from epoxy_core.lf import KeywordLF
    >>> lf_digest(KeywordLF("a", 1, ["x"])) == lf_digest(KeywordLF("b", 1, ["x"], enabled=False))
    True
    >>> lf_digest(KeywordLF("a", 1, ["x"])) == lf_digest(KeywordLF("a", 1, ["y"]))
    False
    """
    try:
        definition = {k: v for k, v in lf_to_dict(lf).items() if k not in ("name", "enabled")}
    except ValueError:  # Python code: no content to hash
        return f"object-{id(lf):x}"
    text = json.dumps(definition, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


# ------------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class LFSetReport:
    """What :meth:`LabelingSession.set_lfs` did.

    Attributes
    ----------
    active : list of str
        Names of the enabled LFs that fit the data, in order: the columns of every result.
    problems : dict of str to str
        LF name -> why it does not fit the data (missing column, class out of range, ...).  Those LFs are
        left out of the results; nothing is raised.
    disabled : list of str
        LFs switched off.
    applied, searched : list of str
        LFs whose votes were (re)computed, and whose nearest voters were.  Empty when nothing changed.
    refining : list of str
        Active LFs whose exact nearest voters are still being computed in the background.
    """

    active: list[str]
    problems: dict[str, str]
    disabled: list[str]
    applied: list[str]
    searched: list[str]
    refining: list[str]


@dataclass(frozen=True)
class SessionResults:
    """Everything the results page shows for one LF set, thresholds, class balance and set of dev labels.

    ``key`` identifies these results (LF digests, the state of their nearest voters, thresholds, balance,
    dev labels); pass the object to :meth:`LabelingSession.end_model`.
    """

    key: str
    names: list[str]
    L: LabelMatrix
    L_extended: LabelMatrix
    thresholds: npt.NDArray[np.float64]
    """Per LF; ``+inf`` = not extended."""
    proba: npt.NDArray[np.float64]
    """Label model probabilities, (n_rows, n_classes)."""
    covered: npt.NDArray[np.bool_]
    """Rows at least one LF votes on after extension."""
    model_name: str
    """"label model", or "majority vote" when the triplet model fell back (too few LFs vote)."""
    class_balance: npt.NDArray[np.float64]
    summary: pd.DataFrame
    comparison: pd.DataFrame
    metrics: dict[str, Any]
    headline: Any
    """:class:`epoxy_core.metrics.Headline` of the label model (uncovered dev rows get the prior's class)."""
    n_dev: int
    exact: bool
    """False while some LF's nearest voters are the graph-first answer (exact ones being computed)."""
    refining: list[str]
    """Names of the LFs whose exact nearest voters are not in yet."""
    label_model: Any = field(repr=False)
    model_key: str = ""
    """What the label model's output depends on (LFs, nearest voters, thresholds, balance), not the dev labels:
    results that differ only by hand labels share it (and their end-model fit)."""
    labels_key: str = ""
    """The dev labels these results were scored on (``Dataset.labels_key``)."""


@dataclass(frozen=True)
class EndModelState:
    """The end model for some results: ready, running, stale, or off.

    Attributes
    ----------
    status : {"ready", "running", "failed", "off"}
        ``"ready"``: fitted for the results asked about.  ``"running"``: a fit for them is under way
        (``proba`` may hold an older fit, see ``stale``).  ``"failed"``: see ``error``.  ``"off"``: the
        session was made with ``end_model=False`` or no row is covered.
    stale : bool
        True when ``proba`` belongs to other results (an earlier LF set or threshold) or there is none.
    proba, predictions : arrays or None
        The end model's probabilities and labels for every row.
    metrics, headline : dev metrics of ``proba`` (``label_model_metrics``) and its headline, or None.
        Scored on the dev labels of the results asked about (hand labels never refit the end model).
    for_key : str or None
        The results key ``proba`` was fitted (or, after a hand label, re-scored) for.
    seconds : float
        Fit + predict time of that fit.
    """

    status: str
    stale: bool
    proba: npt.NDArray[np.float64] | None = None
    predictions: npt.NDArray[np.int64] | None = None
    metrics: dict[str, Any] | None = None
    headline: Any = None
    for_key: str | None = None
    seconds: float = 0.0
    error: str | None = None
    model: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class DraftPreview:
    """The LF editor's live preview of one draft LF, among the enabled LFs of the current set."""

    name: str
    votes: npt.NDArray[np.signedinteger[Any]] | None
    problem: str | None
    """Why the draft does not fit the data (then every other field is empty)."""
    coverage: float = math.nan
    overlaps: float = math.nan
    conflicts: float = math.nan
    correct: int = 0
    incorrect: int = 0
    accuracy: float = math.nan
    """Dev accuracy of the draft's own votes; NaN when it votes on no dev row."""
    extension: ExtensionPreview | None = None
    """:func:`epoxy_core.analysis.extension_preview` of the draft at the threshold asked for."""


@dataclass
class _Column:
    """One LF's nearest voters (a column of :class:`NearestVoters`)."""

    index: npt.NDArray[np.int64]
    similarity: npt.NDArray[np.float32]
    vote: npt.NDArray[np.signedinteger[Any]]
    exact: bool


@dataclass(frozen=True)
class _Labels:
    """One snapshot of the dev labels, read as a whole so that :meth:`LabelingSession.set_labels` never tears it."""

    dataset: Dataset
    y: npt.NDArray[np.int64]
    dev: npt.NDArray[np.int64]
    """Positions of the rows with a label."""
    key: str


@dataclass(frozen=True)
class _Assembled:
    """The active LFs' matrices, assembled once per (digests, exactness) state: what a threshold change reads.

    ``L`` and ``nearest`` are LF-major (Fortran order); ``vote_bits`` are ``vote_bitsets(nearest.vote.T)``
    (None below ``COMPILED_FROM_ROWS`` rows) and ``counts`` the :class:`VoteStatistics` of ``L``, neither of
    which any threshold changes.
    """

    key: str
    L: LabelMatrix
    nearest: NearestVoters
    vote_bits: npt.NDArray[np.uint64] | None
    counts: VoteStatistics


@dataclass(frozen=True)
class _Fitted:
    """What results hold that does not depend on the dev labels (cached by the model key)."""

    key: str
    names: list[str]
    L: LabelMatrix
    L_extended: LabelMatrix
    thresholds: npt.NDArray[np.float64]
    proba: npt.NDArray[np.float64]
    covered: npt.NDArray[np.bool_]
    model: Any
    model_name: str
    majority: MajorityVote
    class_balance: npt.NDArray[np.float64]
    summary: pd.DataFrame
    """The summary's columns that do not need dev labels."""
    exact: bool
    refining: list[str]


@dataclass(frozen=True)
class _EndFit:
    """One end-model fit (label-independent: it trains on the label model's probabilities)."""

    model_key: str
    for_key: str
    proba: npt.NDArray[np.float64]
    predictions: npt.NDArray[np.int64]
    covered: npt.NDArray[np.bool_]
    seconds: float
    model: Any


# ------------------------------------------------------------------------------------------------ session


class LabelingSession:
    """The interactive engine: LFs in, extension + label model + end model out, recomputing only what changed.

    Parameters
    ----------
    dataset : epoxy_core.data.Dataset
        The prepared table (:func:`epoxy_core.data.prepare_dataset`).
    embeddings : array-like of shape (n_rows, d), optional
        Row embeddings.  Needed unless ``graph`` carries them (``KNNGraph.embeddings``).
    graph : KNNGraph, optional
        The k-NN graph; built (and cached on disk) from ``embeddings`` when omitted.
    n_neighbors : int, default 30
        Neighbours per row when the graph is built here.
    refine : {"background", "sync", "off"}, default "background"
        Exact nearest voters for edited LFs above :data:`EXACT_SYNC_MAX_ROWS` rows: computed in a background
        thread and swapped in (``"background"``), before returning (``"sync"``, a notebook's choice when
        exactness matters more than latency), or never (``"off"``: graph-first answers only).
    min_similarity : float, optional
        Lowest threshold that must be exact (see :func:`epoxy_core.extension.nearest_voters`): rows whose
        k-th neighbour is less similar are not searched.  None: exact at every threshold.
    hops : int, default 2
        Multi-hop depth of the graph-first answer.
    end_model : bool, default True
        Fit the end model (:class:`epoxy_core.model.end_model.EndModel`) in the background for results.
    end_model_C : float, default 1.0
    settle_seconds : float, default 0.3
        The end model starts only once the same results were asked for and this long passed without newer
        ones (a slider being dragged does not start a fit per step); a background exact search waits as long,
        so the edit's own results are computed first.
    cache_bytes : int, default 1 GiB
        Bound of all in-memory caches together (votes, nearest voters, results, end-model fits), split among
        them; the largest entries at a million rows are ~13 MB per LF column and ~40 MB per result.
    label_model : callable, optional
        ``label_model(cardinality) -> LabelModel``; default :class:`~epoxy_core.model.TripletLabelModel`
        (which falls back to majority vote below 3 voting LFs by itself).
    embed : callable, optional
        ``texts -> (len(texts), d)`` vectors, the project's embedder: lets a
        :class:`~epoxy_core.lf.SimilarityLF` with example texts vote.  Similarity LFs compare rows by the
        graph's embeddings; without ``embed``, one with example texts is listed in ``problems``.

    Attributes
    ----------
    graph : KNNGraph
    dataset : Dataset
        The dataset with the current dev labels (see :meth:`set_labels`).
    """

    def __init__(
        self,
        dataset: Dataset,
        embeddings: Any = None,
        graph: KNNGraph | None = None,
        *,
        n_neighbors: int = 30,
        refine: Refine = "background",
        min_similarity: float | None = None,
        hops: int = 2,
        end_model: bool = True,
        end_model_C: float = 1.0,
        settle_seconds: float = 0.3,
        cache_bytes: int = 1024 * _MiB,
        label_model: Any = None,
        embed: Embed | None = None,
    ):
        if not isinstance(dataset, Dataset):
            raise ValueError(
                f"LabelingSession needs an epoxy_core.data.Dataset (prepare_dataset(df, spec)), got "
                f"{type(dataset).__name__}."
            )
        if refine not in ("background", "sync", "off"):
            raise ValueError(f"refine must be 'background', 'sync' or 'off', got {refine!r}.")
        if embed is not None and not callable(embed):
            raise ValueError(f"embed must be a callable texts -> vectors, got {type(embed).__name__}.")
        n = len(dataset)
        if graph is None:
            if embeddings is None:
                raise ValueError("LabelingSession needs embeddings or a k-NN graph.")
            graph = cached_knn_graph(embeddings, n_neighbors=n_neighbors)
        elif graph.embeddings is None and embeddings is not None:
            graph = KNNGraph(
                graph.indices,
                graph.similarities,
                graph.metric,
                graph.method,
                embeddings=prepare_embeddings(embeddings, graph.metric),
            )
        if graph.n_rows != n:
            raise ValueError(f"The graph has {graph.n_rows:,} rows but the dataset has {n:,}.")
        self._base_dataset = dataset
        self.graph = graph
        self.refine = refine
        self.min_similarity = min_similarity
        self.hops = hops
        self.use_end_model = end_model
        self.end_model_C = end_model_C
        self.settle_seconds = settle_seconds
        self.embed = embed
        self._label_model_factory = label_model or (lambda cardinality: TripletLabelModel(cardinality=cardinality))
        self._dtype = label_dtype(dataset.cardinality)
        self._labels = self._snapshot(dataset)

        # Byte budgets: nearest voters dominate (13 bytes per row per LF), then results.
        self._votes = BoundedCache(cache_bytes // 8)
        self._problems = BoundedCache(_MiB)  # digest -> message of an LF that does not fit
        self._nearest = BoundedCache(cache_bytes * 3 // 8)
        # The current LF set's matrices are read by every threshold change: kept even when they alone exceed
        # the budget (1M rows x 20 LFs: 280 MB; assembling them again cost ~35 ms per call).
        self._assembled = BoundedCache(cache_bytes // 8, keep_newest=True)
        self._draft_others = BoundedCache(cache_bytes // 32)  # per-row summaries of the LFs beside a draft
        self._fitted = BoundedCache(cache_bytes * 3 // 16)  # label-independent part of results
        self._results = BoundedCache(cache_bytes // 16)  # the label-dependent rest (shares arrays with _fitted)
        self._end_fits = BoundedCache(cache_bytes // 8)

        self._lock = threading.RLock()
        self._lfs: list[BaseLF] = []
        self._wanted: set[str] = set()  # digests recent LF sets use: refinement skips the others
        self._recent_sets: list[set[str]] = []
        self._pending: list[tuple[str, np.ndarray]] = []  # refinements not started, newest last
        self._code_lfs: dict[str, BaseLF] = {}
        self._transient_problems: dict[str, str] = {}  # an embedder failure: not cached, the next call retries
        self._refining: dict[str, concurrent.futures.Future[Any]] = {}
        self._refiner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="epoxy-refine")
        self._end_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="epoxy-end-model")
        self._end_wanted: str | None = None
        self._end_running: dict[str, concurrent.futures.Future[Any]] = {}
        self._end_latest: _EndFit | None = None
        self._end_errors: dict[str, str] = {}
        self._end_inputs: dict[str, tuple[str, npt.NDArray[np.float64], npt.NDArray[np.bool_]]] = {}
        self._revision = 0
        self._changed = threading.Condition(self._lock)
        self._text_frame = _arrow_text_frame(dataset.df, dataset.spec.text_column)
        if n >= EXACT_SYNC_MAX_ROWS and graph.embeddings is not None:
            from epoxy_core.voter_search import warm_up

            self._refiner.submit(warm_up)  # compile the graph-first kernels before the first LF edit needs them
        if n >= COMPILED_FROM_ROWS:
            # The label model's counting and posterior kernels (~8 s from numba's disk cache on a busy machine,
            # ~30 s cold) before the first results() needs them.
            threading.Thread(target=warm_up_kernels, name="epoxy-kernel-warm-up", daemon=True).start()

    # ------------------------------------------------------------------ dev labels

    @property
    def dataset(self) -> Dataset:
        """The dataset with the current dev labels (those of the table plus hand labels, :meth:`set_labels`)."""
        return self._labels.dataset

    @staticmethod
    def _snapshot(dataset: Dataset) -> _Labels:
        y = np.asarray(dataset.y, dtype=np.int64)
        dev = np.flatnonzero(y != ABSTAIN)
        return _Labels(dataset=dataset, y=y, dev=dev, key=dataset.labels_key)

    def set_labels(self, labels: Any) -> int:
        """Replace the dev labels, e.g. after a hand label; returns how many rows now carry a label.

        Votes, nearest voters and label-model fits are kept (they never read labels); only what does is
        recomputed: metrics, the headline, the summary's dev columns, the end model's scores, and the
        label model itself only when the class balance comes from the dev labels (``"dev labels"``).

        Parameters
        ----------
        labels : mapping, array-like or Dataset
            - ``{row: class index}``: the hand labels, laid over the label column of the dataset the
              session was made with (as :meth:`epoxy_core.data.Dataset.with_hand_labels` does, and as
              ``Workspace.load_hand_labels`` returns them); a row missing from the mapping, or mapped to
              None, keeps the table's label.  Each call gives the full set, so removing a hand label is
              leaving it out.
            - an array of shape (n_rows,): every row's class index, ``ABSTAIN`` (-1) for no label.
            - a :class:`~epoxy_core.data.Dataset` of the same table (same ``content_hash``), e.g.
              ``dataset.with_hand_labels(...)``.

        Raises
        ------
        ValueError
            For rows or classes out of range, another length, or a dataset of other data.
        """
        base = self._base_dataset
        if isinstance(labels, Dataset):
            if labels.content_hash != base.content_hash or len(labels) != len(base):
                raise ValueError(
                    "set_labels got a dataset of other data (its content differs from the session's); "
                    "make a new session for another table."
                )
            dataset = labels
        elif isinstance(labels, Mapping):
            dataset = base.with_hand_labels({row: c for row, c in labels.items() if c is not None})
        else:
            y = check_labels(labels, cardinality=base.cardinality, n_rows=len(base))
            dataset = dataclasses.replace(base, y=y.copy(), hand_labeled=y != base.y)
        snapshot = self._snapshot(dataset)
        with self._lock:
            self._labels = snapshot
            self._revision += 1
            self._changed.notify_all()
        return int(snapshot.dev.size)

    # ------------------------------------------------------------------ LFs

    @property
    def lfs(self) -> list[BaseLF]:
        """The LF list last given to :meth:`set_lfs` (enabled or not, fitting or not)."""
        with self._lock:
            return list(self._lfs)

    @property
    def revision(self) -> int:
        """Increases whenever background work lands (exact nearest voters, an end-model fit) or labels change."""
        return self._revision

    def _apply(self, lf: BaseLF) -> npt.NDArray[np.signedinteger[Any]] | None:
        """The LF's votes (cached by digest), or None when it does not fit the data (message cached)."""
        digest = lf_digest(lf)
        if digest.startswith("object-"):
            with self._lock:  # keep Python LFs alive: their digest is their id, which must not be reused
                self._code_lfs.setdefault(digest, lf)
        votes = self._votes.get(digest)
        if votes is not None:
            return votes
        if digest in self._problems:
            return None
        resources: dict[str, Any] = {}
        if getattr(lf, "needs_embeddings", False):
            if self.graph.embeddings is None:
                self._problems.put(
                    digest,
                    f"LF {lf.name!r} compares rows by their embeddings, but this session was made from a graph "
                    "without them: pass embeddings= to LabelingSession.",
                )
                return None
            resources = {"embeddings": self.graph.embeddings, "embed": self.embed}
        try:
            column = apply_lfs(
                [lf],
                self._text_frame,
                self.dataset.spec.text_column,
                cardinality=self.dataset.cardinality,
                **resources,
            )[:, 0]
        except ValueError as error:
            self._problems.put(digest, str(error))
            return None
        except Exception as error:  # the embedder failed (a model file, memory): say so, and retry next time
            if not resources:
                raise
            with self._lock:
                self._transient_problems[digest] = f"LF {lf.name!r}: embedding its example texts failed: {error}"
            return None
        column = np.ascontiguousarray(column, dtype=self._dtype)
        column.setflags(write=False)
        self._votes.put(digest, column)
        with self._lock:
            self._transient_problems.pop(digest, None)
        return column

    def problem(self, lf: BaseLF) -> str | None:
        """Why ``lf`` does not fit the data, or None (applies it, so later calls are free)."""
        if self._apply(lf) is not None:
            return None
        return self._problem_of(lf_digest(lf))

    def _problem_of(self, digest: str) -> str:
        with self._lock:
            transient = self._transient_problems.get(digest)
        if transient is not None:
            return transient
        return self._problems.get(digest, "The LF's votes were dropped from the cache; apply it again.")

    def votes(self, lf: BaseLF) -> npt.NDArray[np.signedinteger[Any]]:
        """``lf``'s votes on every row (read-only).

        Raises
        ------
        ValueError
            When the LF does not fit the data (the message says why).
        """
        column = self._apply(lf)
        if column is None:
            raise ValueError(self.problem(lf) or f"LF {lf.name!r} cannot vote on this dataset.")
        return column

    def _search(self, digest: str, votes: np.ndarray, exact: bool) -> _Column:
        index, similarity, vote, is_exact = _nearest_voter_column(
            votes, self.graph, self.min_similarity, exact_fallback=exact, hops=0 if exact else self.hops
        )
        return _Column(index, similarity, vote, is_exact)

    def _nearest_column(self, digest: str, votes: np.ndarray, *, refine: bool) -> tuple[_Column, bool]:
        """The cached nearest voters of an LF, computing the fastest good answer when missing.

        Returns the column and whether it was computed now.  ``refine``: schedule the exact answer.
        """
        column = self._nearest.get(digest)
        computed = False
        if column is None:
            exact_now = (
                self.refine == "sync"
                or self.graph.n_rows < EXACT_SYNC_MAX_ROWS
                or self.graph.embeddings is None
                or self.graph.metric != "cosine"  # the multi-hop search is cosine-only
            )
            column = self._nearest.get_or_compute(digest, lambda: self._search(digest, votes, exact_now))
            computed = True
        if refine and not column.exact and self.refine == "background":
            self._schedule_refinement(digest, votes)
        return column, computed

    def _schedule_refinement(self, digest: str, votes: np.ndarray) -> None:
        with self._lock:
            if digest in self._refining:
                return
            self._pending.append((digest, votes))
            self._refining[digest] = self._refiner.submit(self._refine_newest)

    def _refine_newest(self) -> None:
        """Refine the most recently scheduled LF first: the one the user just edited.

        Waits ``settle_seconds`` first, so the edit's own results (computed in the foreground right after
        ``set_lfs``) do not share the two cores with the exact search's BLAS threads.
        """
        if self.settle_seconds > 0:
            time.sleep(self.settle_seconds)
        with self._lock:
            if not self._pending:
                return
            digest, votes = self._pending.pop()
        self._refine(digest, votes)

    def _refine(self, digest: str, votes: np.ndarray) -> None:
        try:
            with self._lock:
                wanted = digest in self._wanted
            current = self._nearest.get(digest)
            if not wanted or current is None or current.exact:
                return
            exact = self._search(digest, votes, exact=True)
            self._nearest.put(digest, exact)
        finally:
            with self._lock:
                self._refining.pop(digest, None)
                self._revision += 1
                self._changed.notify_all()

    def set_lfs(self, lfs: Sequence[BaseLF]) -> LFSetReport:
        """Make ``lfs`` the current LF set: apply and search only LFs whose definition is new.

        LFs that do not fit the data (a missing column, a class the dataset does not have, a rule that does not
        fit the column's type) are reported in ``problems`` and left out; nothing is raised for them.

        Raises
        ------
        ValueError
            For something that is not an LF, or duplicate names.
        """
        lfs = list(lfs)
        names: set[str] = set()
        for i, lf in enumerate(lfs):
            if not isinstance(lf, BaseLF):
                raise ValueError(f"lfs[{i}] is a {type(lf).__name__}, not a labeling function.")
            if lf.name in names:
                raise ValueError(f"Duplicate LF name {lf.name!r}: every LF needs a unique name.")
            names.add(lf.name)
        active, problems, disabled, applied, searched = [], {}, [], [], []
        digests = []
        for lf in lfs:
            if not lf.enabled:
                disabled.append(lf.name)
                continue
            digest = lf_digest(lf)
            fresh = digest not in self._votes
            votes = self._apply(lf)
            if votes is None:
                problems[lf.name] = self._problem_of(digest) or "does not fit the data"
                continue
            if fresh:
                applied.append(lf.name)
            active.append(lf.name)
            digests.append((digest, votes, lf.name))
        with self._lock:
            self._lfs = lfs
            # Refinement serves the LF sets of the last few calls (two tabs may alternate); older edits are
            # dropped from the queue, so typing fast never leaves a backlog of exact searches.
            self._recent_sets.append({d for d, _, _ in digests})
            del self._recent_sets[:-_REFINE_RECENT_SETS]
            self._wanted = set().union(*self._recent_sets)
        refining = []
        for digest, votes, name in digests:
            column, computed = self._nearest_column(digest, votes, refine=True)
            if computed:
                searched.append(name)
            if not column.exact and self.refine == "background":
                refining.append(name)
        return LFSetReport(active, problems, disabled, applied, searched, refining)

    def _active(self, lfs: Sequence[BaseLF] | None) -> list[tuple[BaseLF, str, np.ndarray]]:
        """(LF, digest, votes) of the enabled, fitting LFs of ``lfs`` (set first) or of the current set.

        With ``lfs`` given, the answer is about exactly those LFs even if another thread sets others meanwhile.
        """
        if lfs is not None:
            self.set_lfs(lfs)
            current = list(lfs)
        else:
            with self._lock:
                current = list(self._lfs)
        out = []
        for lf in current:
            if not lf.enabled:
                continue
            votes = self._apply(lf)
            if votes is not None:
                out.append((lf, lf_digest(lf), votes))
        return out

    def cancel_refinement(self) -> int:
        """Drop the background refinements not started yet (a dataset switch, a benchmark); returns how many.

        Their LFs keep their graph-first nearest voters until an edit or :meth:`set_lfs` schedules them again.
        """
        with self._lock:
            dropped = [digest for digest, _ in self._pending]
            self._pending.clear()
            for digest in dropped:
                future = self._refining.pop(digest, None)
                if future is not None:
                    future.cancel()
            self._changed.notify_all()
        return len(dropped)

    def wait_exact(self, timeout: float | None = None) -> bool:
        """Block until every background refinement has landed; True if none is left (False on timeout)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._refining:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    # ------------------------------------------------------------------ results

    def _matrices(self, active: list[tuple[BaseLF, str, np.ndarray]]) -> tuple[_Assembled, list[str]]:
        """The active LFs' assembled matrices, and the names of those whose exact nearest voters are pending."""
        columns = []
        for _lf, digest, votes in active:
            column, _ = self._nearest_column(digest, votes, refine=True)
            columns.append(column)
        state = "|".join(f"{d}:{int(c.exact)}" for (_, d, _), c in zip(active, columns, strict=True))
        key = hashlib.sha256(state.encode()).hexdigest()[:32]

        def assemble() -> _Assembled:
            # LF-major (Fortran order): filling a column is contiguous, and a threshold change extends and
            # counts the transposed (n_lfs, n_rows) arrays (extend_and_count) without a copy.
            n, m = self.graph.n_rows, len(active)
            L = np.empty((n, m), dtype=self._dtype, order="F")
            nearest = NearestVoters(
                np.empty((n, m), np.int64, order="F"),
                np.empty((n, m), np.float32, order="F"),
                np.empty((n, m), self._dtype, order="F"),
                all(c.exact for c in columns),
            )
            for j, ((_, _, votes), column) in enumerate(zip(active, columns, strict=True)):
                L[:, j] = votes
                nearest.index[:, j] = column.index
                nearest.similarity[:, j] = column.similarity
                nearest.vote[:, j] = column.vote
            cardinality = self.dataset.cardinality
            return _Assembled(
                key, L, nearest, vote_bitsets(nearest.vote.T, cardinality), vote_statistics(L, cardinality)
            )

        assembled = self._assembled.get_or_compute(key, assemble)
        refining = [lf.name for (lf, _, _), c in zip(active, columns, strict=True) if not c.exact]
        return assembled, refining

    def _thresholds(self, thresholds: Any, names: list[str]) -> npt.NDArray[np.float64]:
        if isinstance(thresholds, Mapping):
            unknown = sorted(set(thresholds) - set(names))
            if unknown:
                raise ValueError(f"Thresholds given for LFs that are not active: {unknown}.")
            values = [thresholds.get(name) for name in names]
            return thresholds_array([np.inf if v is None else float(v) for v in values], len(names))
        return thresholds_array(thresholds, len(names))

    def _balance(self, class_balance: Any, labels: _Labels) -> Any:
        if isinstance(class_balance, str) and class_balance == "dev labels":
            # Depends on the labels only: resolved once per set of labels (it reads every row's label).
            return self._results.get_or_compute(
                ("dev labels", labels.key),
                lambda: resolve_class_balance("dev labels", labels.y, self.dataset.cardinality),
            )
        return resolve_class_balance(class_balance, labels.y, self.dataset.cardinality)

    def _metrics(self, labels: _Labels, proba_dev: np.ndarray, covered_dev: np.ndarray) -> dict[str, Any]:
        """Dev metrics of probabilities given for the dev rows only (the cost is O(dev rows), not O(rows))."""
        return label_model_metrics(
            labels.y[labels.dev], proba=proba_dev, class_names=self.dataset.class_names, abstain_mask=~covered_dev
        )

    def _headline(
        self, labels: _Labels, predictions_dev: np.ndarray, covered: np.ndarray, coverage: float, prior: Any = None
    ) -> Any:
        """:func:`~epoxy_core.metrics.headline_accuracy` from the dev rows, with the coverage of all rows."""
        from epoxy_core.metrics import headline_accuracy

        dev = labels.dev
        headline = headline_accuracy(labels.y[dev], predictions_dev, covered[dev], prior=prior)
        return dataclasses.replace(headline, coverage=coverage)

    def _fit(self, L: np.ndarray, balance: Any) -> Any:
        return self._label_model_factory(self.dataset.cardinality).fit(L, class_balance=balance)

    def results(
        self,
        thresholds: float | Sequence[float] | Mapping[str, float | None] = 0.8,
        *,
        class_balance: Any = DEFAULT_CLASS_BALANCE,
        lfs: Sequence[BaseLF] | None = None,
    ) -> SessionResults:
        """Extension, label model, summaries and metrics of the current LF set.

        Parameters
        ----------
        thresholds : float, sequence or mapping
            One for all LFs, one per active LF, or ``{name: threshold}`` (missing names and None mean "not
            extended"; ``+inf`` too).
        class_balance : {"dev labels", "estimate", "uniform"} or probabilities
            Resolved with :func:`epoxy_core.model.resolve_class_balance`.
        lfs : sequence of BaseLF, optional
            Set the LFs first (:meth:`set_lfs`); a page can pass them on every call.

        Raises
        ------
        ValueError
            When no enabled LF fits the data, or for invalid thresholds / class balance.
        """
        active = self._active(lfs)
        if not active:
            raise ValueError("Switch on at least one labeling function that fits the data to see results.")
        names = [lf.name for lf, _, _ in active]
        limits = self._thresholds(thresholds, names)
        labels = self._labels
        balance = self._balance(class_balance, labels)
        assembled, refining = self._matrices(active)
        votes_key = _digest([d for _, d, _ in active])
        balance_key = balance if isinstance(balance, str) else np.asarray(balance, dtype=float).round(12).tolist()
        model_key = _digest(assembled.key, names, limits.tolist(), balance_key)
        key = _digest(model_key, labels.key)

        def fitted() -> _Fitted:
            return self._fitted.get_or_compute(
                model_key,
                lambda: self._one_thread(self._fit_thresholds, model_key, names, assembled, limits, balance, refining),
            )

        return self._results.get_or_compute(
            key,
            lambda: self._one_thread(self._score, key, fitted(), labels, votes_key, balance_key, assembled.L, balance),
        )

    @staticmethod
    def _one_thread(function: Callable[..., Any], *args: Any) -> Any:
        with one_blas_thread():
            return function(*args)

    def _baseline(self, votes_key: str, balance_key: Any, L: np.ndarray, balance: Any) -> tuple[str, Any]:
        """The label model without extension: independent of thresholds, nearest voters and dev labels."""

        def compute() -> tuple[str, Any]:
            model = self._fit(L, balance)
            return ("majority vote" if getattr(model, "fallback_", False) else "label model"), model

        return self._fitted.get_or_compute(("baseline", votes_key, json.dumps(balance_key)), compute)

    def _fit_thresholds(
        self,
        key: str,
        names: list[str],
        assembled: _Assembled,
        limits: np.ndarray,
        balance: Any,
        refining: list[str],
    ) -> _Fitted:
        """Extension and the label model at these thresholds: everything of the results but the dev scores."""
        # L and the nearest voters were assembled together from the same cached columns, so extend()'s
        # check that they match (~4 passes over the matrix) is skipped.  One fused pass extends and counts
        # (vote and co-vote counts, overlaps, conflicts): the label model and the summary read the counts.
        # The votes' bitsets were packed with the matrices: only the similarities are compared and packed.
        cardinality = self.dataset.cardinality
        L, nearest = assembled.L, assembled.nearest
        extended_T, counted = extend_and_count(
            nearest.similarity.T, nearest.vote.T, limits, cardinality, vote_bits=assembled.vote_bits
        )
        L_ext = extended_T.T  # (n_rows, n_lfs), Fortran order like L
        model = self._label_model_factory(cardinality)
        if isinstance(model, TripletLabelModel):
            model.fit_counted(L_ext, counted, class_balance=balance)
        else:
            model.fit(L_ext, class_balance=balance)
        fallback = bool(getattr(model, "fallback_", False))
        proba = model.predict_proba(L_ext)
        covered = (extended_T != ABSTAIN).any(axis=0)
        # Majority vote reads nothing but the prior at fit time: one row gives it the shape.
        majority = MajorityVote(cardinality=cardinality).fit(L_ext[:1], class_balance=balance)
        summary = analysis.lf_summary_from_statistics(
            assembled.counts, counted, names, model=None if fallback else model, class_names=self.dataset.class_names
        )
        for array in (L_ext, proba, covered):
            array.setflags(write=False)
        return _Fitted(
            key=key,
            names=names,
            L=L,
            L_extended=L_ext,
            thresholds=limits,
            proba=proba,
            covered=covered,
            model=model,
            model_name="majority vote" if fallback else "label model",
            majority=majority,
            class_balance=np.asarray(model.class_balance_, dtype=float),
            summary=summary,
            exact=nearest.exact,
            refining=refining,
        )

    def _score(
        self,
        key: str,
        fitted: _Fitted,
        labels: _Labels,
        votes_key: str,
        balance_key: Any,
        L: LabelMatrix,
        balance: Any,
    ) -> SessionResults:
        """The label-dependent part of results: dev metrics, headline, the summary's dev columns."""
        dev = labels.dev
        y_dev = labels.y[dev]
        L_ext_dev = fitted.L_extended[dev]
        covered_dev = fitted.covered[dev]
        proba_dev = fitted.proba[dev]
        base_name, base_model = self._baseline(votes_key, balance_key, L, balance)
        L_dev = L[dev]
        metrics = {
            f"{fitted.model_name}, extended": self._metrics(labels, proba_dev, covered_dev),
            "majority vote, extended": self._metrics(labels, fitted.majority.predict_proba(L_ext_dev), covered_dev),
            # Independent of the thresholds: scored once per (LF set, prior, labels).
            f"{base_name}, no extension": self._results.get_or_compute(
                ("no extension", votes_key, json.dumps(balance_key), labels.key),
                lambda: self._metrics(labels, base_model.predict_proba(L_dev), (L_dev != ABSTAIN).any(axis=1)),
            ),
        }  # with the majority-vote fallback the first two keys coincide: the dict keeps one row
        columns = analysis.dev_columns(L_dev, y_dev, L_extended=L_ext_dev)
        # One concat, not assign(): assign inserts the columns one by one into the string column index.
        summary = pd.concat([fitted.summary, pd.DataFrame(columns, index=fitted.summary.index)], axis=1)
        coverage = float(np.count_nonzero(fitted.covered) / max(1, fitted.covered.size))
        headline = self._headline(labels, proba_dev.argmax(axis=1), fitted.covered, coverage, fitted.class_balance)
        return SessionResults(
            key=key,
            names=fitted.names,
            L=fitted.L,
            L_extended=fitted.L_extended,
            thresholds=fitted.thresholds,
            proba=fitted.proba,
            covered=fitted.covered,
            model_name=fitted.model_name,
            class_balance=fitted.class_balance,
            summary=summary,
            comparison=compare_models(metrics),
            metrics=metrics,
            headline=headline,
            n_dev=int(dev.size),
            exact=fitted.exact,
            refining=fitted.refining,
            label_model=fitted.model,
            model_key=fitted.key,
            labels_key=labels.key,
        )

    def nearest(self, lfs: Sequence[BaseLF] | None = None, *, wait: bool = True) -> tuple[LabelMatrix, NearestVoters]:
        """``(L, nearest voters)`` of the active LFs (exact ones first when ``wait``), e.g. for tuning."""
        active = self._active(lfs)
        if wait:
            self.wait_exact()
        assembled, _ = self._matrices(active)
        return assembled.L, assembled.nearest

    def tune(self, *, class_balance: Any = DEFAULT_CLASS_BALANCE, pipeline: bool = False, **options: Any) -> Any:
        """Choose thresholds on the dev labels (exact nearest voters), by :mod:`epoxy_core.tuning`.

        ``pipeline=False``: :func:`~epoxy_core.tuning.tune_thresholds`; ``True``:
        :func:`~epoxy_core.tuning.tune_pipeline` (also decides the end model and its C).  ``options`` are
        passed on.  Nothing is saved: apply the result's thresholds with :meth:`results`.
        """
        from epoxy_core import tuning

        L, nearest = self.nearest(wait=True)
        labels = self._labels
        balance = self._balance(class_balance, labels)
        if pipeline:
            return tuning.tune_pipeline(
                L,
                labels.y,
                nearest,
                embeddings=self.graph.embeddings,
                cardinality=self.dataset.cardinality,
                class_balance=balance,
                **options,
            )
        return tuning.tune_thresholds(
            L, labels.y, nearest, cardinality=self.dataset.cardinality, class_balance=balance, **options
        )

    # ------------------------------------------------------------------ the end model

    def end_model(self, results: SessionResults, *, wait: bool | float = False) -> EndModelState:
        """The end model for ``results``: starts a background fit if needed and answers at once.

        The fit starts once the same results were asked for ``settle_seconds`` ago without newer ones, and only
        the latest results are ever fitted (older requests are dropped).  The threshold loop never waits for
        it: until the fit lands, the state carries the previous fit with ``stale=True``.  A fit depends on the
        label model's output only: results that differ by hand labels alone share it, re-scored on the
        current dev labels.

        Parameters
        ----------
        results : SessionResults
        wait : bool or float, default False
            Block until the fit for these results is done (True) or at most this many seconds.
        """
        if not self.use_end_model:
            return EndModelState(status="off", stale=True)
        model_key = results.model_key or results.key
        done = self._end_fits.get(model_key)
        if done is not None:
            return self._end_state(done, results, "ready")
        if model_key in self._end_errors:
            return EndModelState(status="failed", stale=True, error=self._end_errors[model_key])
        if not results.covered.any():
            return EndModelState(status="off", stale=True, error="No LF votes on any row: nothing to train on.")
        with self._lock:
            self._end_wanted = model_key
            future = self._end_running.get(model_key)
            if future is None:
                self._end_inputs[model_key] = (results.key, results.proba, results.covered)
                future = self._end_pool.submit(self._fit_end_model, model_key)
                self._end_running[model_key] = future
        if wait:
            try:
                future.result(timeout=None if wait is True else float(wait))
            except concurrent.futures.TimeoutError:
                pass
            done = self._end_fits.get(model_key)
            if done is not None:
                return self._end_state(done, results, "ready")
            if model_key in self._end_errors:
                return EndModelState(status="failed", stale=True, error=self._end_errors[model_key])
        latest = self._end_latest
        if latest is None:
            return EndModelState(status="running", stale=True)
        return self._end_state(latest, results, "running")

    def _end_state(self, fit: _EndFit, results: SessionResults, status: str) -> EndModelState:
        """The state of ``fit`` as an answer about ``results``, scored on the current dev labels."""
        labels = self._labels

        def score() -> tuple[dict[str, Any], Any]:
            dev = labels.dev
            everything = np.ones(dev.size, dtype=bool)
            metrics = self._metrics(labels, fit.proba[dev], everything)
            coverage = float(np.count_nonzero(fit.covered) / max(1, fit.covered.size))
            return metrics, self._headline(labels, fit.predictions[dev], fit.covered, coverage)

        metrics, headline = self._results.get_or_compute(("end model", fit.model_key, labels.key), score)
        fresh = status == "ready"
        return EndModelState(
            status=status,
            stale=not fresh,
            proba=fit.proba,
            predictions=fit.predictions,
            metrics=metrics,
            headline=headline,
            for_key=results.key if fresh else fit.for_key,
            seconds=fit.seconds,
            model=fit.model,
        )

    def _fit_end_model(self, model_key: str) -> None:
        from epoxy_core.model.end_model import EndModel

        try:
            if self.settle_seconds > 0:
                time.sleep(self.settle_seconds)
            with self._lock:
                if self._end_wanted != model_key:  # newer results were asked for: skip this one
                    return
                for_key, proba, covered = self._end_inputs[model_key]
            start = time.perf_counter()
            X = self.graph.embeddings
            model = EndModel(C=self.end_model_C).fit(X, proba, rows=np.flatnonzero(covered))
            end_proba = model.predict_proba(X)
            fit = _EndFit(
                model_key=model_key,
                for_key=for_key,
                proba=end_proba,
                predictions=end_proba.argmax(axis=1),
                covered=covered,
                seconds=time.perf_counter() - start,
                model=model,
            )
            self._end_fits.put(model_key, fit)
            self._end_latest = fit
        except Exception as error:  # a failed background fit must reach the page, not vanish in a thread
            self._end_errors[model_key] = f"{type(error).__name__}: {error}"
        finally:
            with self._lock:
                self._end_running.pop(model_key, None)
                self._end_inputs.pop(model_key, None)
                self._revision += 1
                self._changed.notify_all()

    # ------------------------------------------------------------------ the LF editor

    def draft(
        self,
        lf: BaseLF,
        threshold: float | None = 0.8,
        *,
        n_samples: int = 5,
        lfs: Sequence[BaseLF] | None = None,
    ) -> DraftPreview:
        """The live preview of a draft LF: its votes, statistics among the enabled LFs, and what extension adds.

        The draft's votes and nearest voters are cached by its digest, so saving it into the LF set later costs
        nothing more.  The LF with the draft's name (the one being edited) is left out of the comparison.
        The statistics are those of :func:`epoxy_core.analysis.lf_summary` for the draft's column; the extension
        is :func:`epoxy_core.analysis.extension_preview` (samples with texts and dev labels).

        Parameters
        ----------
        lf : BaseLF
            The draft.
        threshold : float or None, default 0.8
            Extension threshold to preview; None skips the extension preview.
        n_samples : int, default 5
            Extended rows to show (spread over the similarity range, most similar first).
        lfs : sequence of BaseLF, optional
            The LF set to compare with (default: the current one).
        """
        votes = self._apply(lf)
        if votes is None:
            return DraftPreview(name=lf.name, votes=None, problem=self.problem(lf))
        labels = self._labels
        others = [(d, v) for o, d, v in self._active(lfs) if o.name != lf.name]
        voted, overlaps, conflicts = self._draft_counts(votes, others)
        n = votes.shape[0]
        own = analysis.dev_columns(votes[labels.dev, None], labels.y[labels.dev])
        extension = None
        if threshold is not None:
            column, _ = self._nearest_column(lf_digest(lf), votes, refine=False)
            extension = analysis.extension_preview(
                votes,
                column,
                float(threshold),
                y=labels.y,
                texts=labels.dataset.texts,
                class_names=labels.dataset.class_names,
                n_samples=n_samples,
            )
        return DraftPreview(
            name=lf.name,
            votes=votes,
            problem=None,
            coverage=voted / n,
            overlaps=overlaps / n,
            conflicts=conflicts / n,
            correct=int(own["correct"][0]),
            incorrect=int(own["incorrect"][0]),
            accuracy=float(own["empirical_accuracy"][0]),
            extension=extension,
        )

    def _draft_counts(self, votes: np.ndarray, others: list[tuple[str, np.ndarray]]) -> tuple[int, int, int]:
        """Rows the draft votes on, of them rows another LF votes on, and rows another LF votes another class.

        The other LFs enter through three per-row summaries (any vote, lowest and highest vote), cached per
        set of their digests, so each keystroke in the LF editor costs a few passes over one column.
        """
        voted = votes != ABSTAIN
        n_voted = int(np.count_nonzero(voted))
        if not others:
            return n_voted, 0, 0

        def summarise() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            stacked = np.stack([v for _, v in others])  # (m, n), LF-major: fast reductions over LFs
            # As unsigned, ABSTAIN (-1) is the largest value: the unsigned minimum skips abstains.
            unsigned = stacked.view(np.dtype(f"u{stacked.itemsize}"))
            lowest = unsigned.min(axis=0).view(stacked.dtype)
            highest = stacked.max(axis=0)
            return highest != ABSTAIN, lowest, highest

        key = ("draft others", _digest([d for d, _ in others]))
        anyone, lowest, highest = self._draft_others.get_or_compute(key, summarise)
        overlap = voted & anyone
        conflict = overlap & ((lowest != votes) | (highest != votes))
        return n_voted, int(np.count_nonzero(overlap)), int(np.count_nonzero(conflict))

    # ------------------------------------------------------------------ housekeeping

    def cache_bytes(self) -> dict[str, int]:
        """Bytes held by each in-memory cache (the embeddings and graph not included)."""
        return {
            "votes": self._votes.bytes,
            "nearest": self._nearest.bytes,
            "assembled": self._assembled.bytes,
            "draft_others": self._draft_others.bytes,
            "fitted": self._fitted.bytes,
            "results": self._results.bytes,
            "end_model": self._end_fits.bytes,
        }

    def close(self) -> None:
        """Stop the background threads (pending work is dropped).  The session stays usable synchronously."""
        self._refiner.shutdown(wait=False, cancel_futures=True)
        self._end_pool.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return (
            f"LabelingSession({len(self.dataset):,} rows, {self.graph.n_neighbors} neighbours, "
            f"{len(self._lfs)} LFs, refine={self.refine!r})"
        )


def _arrow_text_frame(df: pd.DataFrame, text_column: str) -> pd.DataFrame:
    """``df`` with its text column held as Arrow strings once, so each LF apply skips the conversion.

    LFs convert their column to Arrow on every apply (hundreds of ms at a million rows); an Arrow-backed
    column converts for free.  Values are converted exactly as the LFs would (missing cells stay missing).
    Falls back to ``df`` itself if anything about the column is unusual.
    """
    try:
        from epoxy_core.lf.frame import _to_arrow_text

        column = df[text_column]
        if isinstance(column, pd.DataFrame) or isinstance(column.dtype, pd.ArrowDtype):
            return df
        arrow = _to_arrow_text(column)
        frame = df.copy(deep=False)
        frame[text_column] = pd.Series(pd.arrays.ArrowExtensionArray(arrow), index=df.index, name=text_column)
        return frame
    except Exception:  # an optimisation only: the plain frame gives the same votes
        return df
