"""The app's loop, headless: from a table and an LF set to a fitted pipeline and its bundle.

:func:`fit_project` runs what the app does interactively, in one call, for scripts and CI (``epoxy fit``):

1. validate the table (:func:`~epoxy_core.data.prepare_dataset`), embed the text column and build the k-NN
   graph (exact below 20k rows, PyNNDescent above);
2. apply the enabled LFs and find every LF's *exact* nearest voter for every row, through
   :class:`~epoxy_core.session.LabelingSession` (``refine="sync"``), the object the results page uses;
3. choose the pipeline on the dev labels when there are at least :data:`MIN_DEV_LABELS_TO_TUNE`:
   :func:`epoxy_core.tuning.tune_pipeline` (label model / + extension / + end model, thresholds, the end
   model's ``C``, by nested cross-validation), else every LF at ``threshold``;
4. the label model on the extended votes, then the end model on the covered rows' embeddings with the label
   model's probabilities as soft labels.

LF sets with similarity LFs go through the same steps as library calls (the session applies LFs without the
rows' embeddings, which those LFs need).  The result keeps every intermediate array, gives the in-project
labels (:meth:`FittedProject.labels_table`) and writes a bundle (:meth:`FittedProject.save_bundle`) that labels
new rows the same way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from epoxy_core.bundle import DEFAULT_MAX_VOTERS_PER_LF, portable_embedder, save_bundle
from epoxy_core.config import data_dir
from epoxy_core.data import Dataset, DatasetSpec, prepare_dataset
from epoxy_core.embed import EmbeddingSource, embed_source, embed_texts
from epoxy_core.export import labels_table
from epoxy_core.extension import NearestVoters, extend, nearest_voters
from epoxy_core.labels import ABSTAIN, LabelMatrix
from epoxy_core.lf import BaseLF, apply_lfs, enabled_lfs
from epoxy_core.model import LabelModel, TripletLabelModel, resolve_class_balance
from epoxy_core.model.end_model import EndModel
from epoxy_core.neighbors import KNNGraph, build_knn_graph
from epoxy_core.session import LabelingSession
from epoxy_core.settings import DEFAULT_CLASS_BALANCE_MODE, DEFAULT_N_NEIGHBORS, DEFAULT_THRESHOLD

__all__ = ["MIN_DEV_LABELS_TO_TUNE", "FittedProject", "fit_project"]

log = logging.getLogger("epoxy")

MIN_DEV_LABELS_TO_TUNE = 10
"""Below this many dev labels nothing is tuned: the given threshold and the end model (C = 1) are used."""

StepCallback = Callable[[str], None]
ProgressCallback = Callable[[int, int], None]


@dataclass(eq=False)
class FittedProject:
    """Everything :func:`fit_project` computed (arrays are in the table's row order).

    Attributes
    ----------
    dataset : Dataset
    lfs : list of BaseLF
    embedder : EmbeddingSource
    embeddings : ndarray of float32, shape (n_rows, d)
    graph : KNNGraph
    L, L_extended : label matrices, shape (n_rows, n_lfs)
    nearest : NearestVoters
    thresholds : ndarray of shape (n_lfs,)
        ``inf`` where an LF's extension is off.
    class_balance : ndarray of shape (n_classes,)
    label_model : LabelModel
    label_model_proba : ndarray of shape (n_rows, n_classes)
    end_model : EndModel or None
    end_model_proba : ndarray or None
    tuning : dict
        How the thresholds and the end model were chosen (method, dev size, cross-validated scores, message).
    """

    dataset: Dataset
    lfs: list[BaseLF]
    embedder: EmbeddingSource
    embeddings: npt.NDArray[np.float32] = field(repr=False)
    graph: KNNGraph = field(repr=False)
    L: LabelMatrix = field(repr=False)
    nearest: NearestVoters = field(repr=False)
    thresholds: npt.NDArray[np.float64]
    L_extended: LabelMatrix = field(repr=False)
    class_balance: npt.NDArray[np.float64]
    label_model: LabelModel
    label_model_proba: npt.NDArray[np.float64] = field(repr=False)
    end_model: EndModel | None
    end_model_proba: npt.NDArray[np.float64] | None = field(repr=False)
    tuning: dict[str, Any]

    @property
    def covered(self) -> npt.NDArray[np.bool_]:
        """Rows some LF voted on, after extension."""
        return (self.L_extended != ABSTAIN).any(axis=1)

    def labels_table(self, *, id_column: str | None = None, with_data: bool = False) -> pd.DataFrame:
        """The in-project labels, in the shape of :func:`epoxy_core.export.labels_table`.

        ``id_column`` (default ``row_id`` when the table has one, else positions) identifies the rows;
        ``with_data`` carries the whole table instead (as the app's export does).
        """
        df = self.dataset.df
        kwargs: dict[str, Any] = {}
        if with_data:
            kwargs["data"] = df
        else:
            column = id_column if id_column is not None else ("row_id" if "row_id" in df.columns else None)
            if column is not None:
                if column not in df.columns:
                    raise ValueError(f"The id column {column!r} is not in the data.")
                kwargs.update(ids=df[column], id_column=column)
        return labels_table(
            self.dataset.class_names,
            label_model_proba=self.label_model_proba,
            end_model_proba=self.end_model_proba,
            L=self.L,
            L_extended=self.L_extended,
            lf_names=[lf.name for lf in self.lfs],
            **kwargs,
        )

    def save_bundle(
        self,
        path: Any,
        *,
        max_voters_per_lf: int | None = DEFAULT_MAX_VOTERS_PER_LF,
        overwrite: bool = False,
        random_state: int = 0,
    ) -> Any:
        """Write the bundle of this fit (see :func:`epoxy_core.bundle.save_bundle`); returns its path."""
        spec = self.dataset.spec
        return save_bundle(
            path,
            lfs=self.lfs,
            thresholds=self.thresholds,
            class_names=self.dataset.class_names,
            text_column=spec.text_column,
            label_model=self.label_model,
            embedder=self.embedder,
            embeddings=self.embeddings,
            L=self.L,
            end_model=self.end_model,
            metric=self.graph.metric,
            max_voters_per_lf=max_voters_per_lf,
            random_state=random_state,
            overwrite=overwrite,
            info={
                "n_rows": len(self.dataset),
                "n_dev": int(self.dataset.dev_mask.sum()),
                "label_column": spec.label_column,
                "n_neighbors": self.graph.n_neighbors,
                "graph_method": self.graph.method,
                "tuning": self.tuning,
            },
        )


def _summary(choice: Any, end_model: bool) -> dict[str, Any]:
    """A JSON-able record of a :class:`~epoxy_core.tuning.PipelineChoice` (kept in the bundle)."""
    return {
        "method": "tune_pipeline",
        "setting": str(choice.setting),
        "n_dev": int(choice.n_dev),
        "per_lf": bool(choice.per_lf),
        "use_extension": bool(choice.use_extension),
        "use_end_model": bool(choice.use_end_model) and end_model,
        "end_model_C": None if choice.end_model_C is None else float(choice.end_model_C),
        "cv_scores": {str(k): (None if v is None else float(v)) for k, v in choice.cv_scores.items()},
        "few_labels": bool(choice.few_labels),
        "message": str(choice.message),
        "convention": str(choice.convention),
    }


@dataclass(frozen=True)
class _Settings:
    default: float
    class_balance: Any
    end_model: bool
    tune: bool


@dataclass(frozen=True)
class _Fit:
    L: LabelMatrix
    nearest: NearestVoters
    thresholds: npt.NDArray[np.float64]
    L_extended: LabelMatrix
    label_model: LabelModel
    label_model_proba: npt.NDArray[np.float64]
    end_model: EndModel | None
    end_model_proba: npt.NDArray[np.float64] | None
    tuning: dict[str, Any]


def _untuned(dataset: Dataset, settings: _Settings) -> dict[str, Any]:
    n_dev = int(dataset.dev_mask.sum())
    why = f"{n_dev} dev labels (< {MIN_DEV_LABELS_TO_TUNE})" if n_dev < MIN_DEV_LABELS_TO_TUNE else "tuning off"
    return {"method": "fixed", "n_dev": n_dev, "message": f"Not tuned ({why}): threshold {settings.default}."}


def _fit_with_session(
    dataset: Dataset,
    lfs: list[BaseLF],
    embeddings: np.ndarray,
    graph: KNNGraph,
    settings: _Settings,
    say: StepCallback,
) -> _Fit:
    """The app's loop through :class:`~epoxy_core.session.LabelingSession`, as the results page runs it."""
    # refine="sync": the exact nearest voters at once (a bundle's new-row extension is exact too);
    # settle_seconds=0: nobody is dragging a slider here.
    session = LabelingSession(
        dataset, embeddings, graph, refine="sync", end_model=settings.end_model, settle_seconds=0.0
    )
    try:
        say(f"Applying {len(lfs)} LFs and finding their nearest voters")
        report = session.set_lfs(lfs)
        if report.problems:
            name, problem = next(iter(report.problems.items()))
            raise ValueError(f"LF {name!r} does not fit the data: {problem}")
        thresholds, balance, use_end_model, C = np.full(len(lfs), settings.default), settings.class_balance, True, 1.0
        tuning = _untuned(dataset, settings)
        if settings.tune:
            say(f"Tuning on {int(dataset.dev_mask.sum())} dev labels (nested cross-validation)")
            choice = session.tune(class_balance=settings.class_balance, pipeline=True)
            thresholds, balance = np.asarray(choice.thresholds, dtype=np.float64), choice.class_balance
            use_end_model, C = bool(choice.use_end_model), float(choice.end_model_C or 1.0)
            tuning = _summary(choice, settings.end_model)
        say("Fitting the label model")
        results = session.results(list(thresholds), class_balance=balance)
        L, nearest = session.nearest(wait=True)
        end_model = end_model_proba = None
        if settings.end_model and use_end_model and results.covered.any():
            say(f"Fitting the end model on {int(results.covered.sum()):,} covered rows (C = {C:g})")
            session.end_model_C = C
            state = session.end_model(results, wait=True)
            if state.status != "ready":
                raise ValueError(f"The end model could not be fitted: {state.error}")
            end_model, end_model_proba = state.model, state.proba
        return _Fit(
            L,
            nearest,
            results.thresholds,
            results.L_extended,
            results.label_model,
            results.proba,
            end_model,
            end_model_proba,
            tuning,
        )
    finally:
        session.close()


def _fit_with_library(
    dataset: Dataset,
    lfs: list[BaseLF],
    embeddings: np.ndarray,
    graph: KNNGraph,
    source: EmbeddingSource,
    settings: _Settings,
    say: StepCallback,
) -> _Fit:
    """The same loop by library calls, for LF sets the session cannot apply (similarity LFs)."""
    from epoxy_core.tuning import tune_pipeline

    say(f"Applying {len(lfs)} LFs")
    model = source.model
    L = apply_lfs(
        lfs,
        dataset.df,
        dataset.spec.text_column,
        cardinality=dataset.cardinality,
        embeddings=embeddings,
        embed=lambda texts: embed_texts(list(texts), model=model),
    )
    say("Finding each LF's nearest voters")
    nearest = nearest_voters(L, graph)  # exact: the graph, then a search of the LF's voters
    thresholds, use_end_model, C = np.full(len(lfs), settings.default), True, 1.0
    balance = resolve_class_balance(settings.class_balance, dataset.y, dataset.cardinality)
    tuning = _untuned(dataset, settings)
    if settings.tune:
        say(f"Tuning on {int(dataset.dev_mask.sum())} dev labels (nested cross-validation)")
        choice = tune_pipeline(
            L,
            dataset.y,
            nearest,
            embeddings=embeddings if settings.end_model else None,
            cardinality=dataset.cardinality,
            class_balance=settings.class_balance,
        )
        thresholds, balance = np.asarray(choice.thresholds, dtype=np.float64), choice.class_balance
        use_end_model, C = bool(choice.use_end_model), float(choice.end_model_C or 1.0)
        tuning = _summary(choice, settings.end_model)
    say("Fitting the label model")
    L_extended = extend(L, thresholds=thresholds, nearest=nearest)
    label_model = TripletLabelModel(cardinality=dataset.cardinality).fit(L_extended, class_balance=balance)
    proba = label_model.predict_proba(L_extended)
    covered = (L_extended != ABSTAIN).any(axis=1)
    end_model = end_model_proba = None
    if settings.end_model and use_end_model and covered.any():
        say(f"Fitting the end model on {int(covered.sum()):,} covered rows (C = {C:g})")
        end_model = EndModel(C=C).fit(embeddings, proba, rows=covered)
        end_model_proba = end_model.predict_proba(embeddings)
    return _Fit(L, nearest, thresholds, L_extended, label_model, proba, end_model, end_model_proba, tuning)


def fit_project(
    df: pd.DataFrame,
    spec: DatasetSpec,
    lfs: Sequence[BaseLF],
    *,
    embedder: EmbeddingSource | str = "wordllama",
    n_neighbors: int = DEFAULT_N_NEIGHBORS,
    threshold: float | None = DEFAULT_THRESHOLD,
    class_balance: Any = DEFAULT_CLASS_BALANCE_MODE,
    end_model: bool = True,
    tune: bool = True,
    graph_method: str = "auto",
    step: StepCallback | None = None,
    progress: ProgressCallback | None = None,
) -> FittedProject:
    """Fit the whole pipeline on a table, headless (see the module docstring).

    Parameters
    ----------
    df : pandas.DataFrame
        The project table.
    spec : DatasetSpec
        Text column, optional label column (its labeled rows are the dev set) and class names.
    lfs : sequence of BaseLF
        The LF set; the enabled LFs are applied (and saved in the bundle), as in the app.
    embedder : EmbeddingSource or str, default "wordllama"
        A text model a bundle can carry (:func:`~epoxy_core.bundle.portable_embedder`).
    n_neighbors : int, default 30
    threshold : float or None, default 0.8
        Every LF's threshold when nothing is tuned (None: no extension).
    class_balance : str or array-like, default the app's default
        One of :data:`~epoxy_core.model.BALANCE_MODES` or probabilities.
    end_model : bool, default True
        Fit the end model (tuning may still turn it off when the dev labels say it does not help).
    tune : bool, default True
        Tune on the dev labels when there are at least :data:`MIN_DEV_LABELS_TO_TUNE`.
    graph_method : {"auto", "exact", "pynndescent"}, default "auto"
    step : callable, optional
        ``step(message)`` at the start of every stage (the command line logs it).
    progress : callable, optional
        ``progress(done, total)`` while embedding.

    Returns
    -------
    FittedProject

    Raises
    ------
    ValueError
        Bad table or spec, an LF that does not fit the data, an embedder a bundle cannot carry.
    """
    say = step or (lambda message: None)
    source = portable_embedder(embedder)
    lf_list = enabled_lfs(lfs)
    if not lf_list:
        raise ValueError("The LF set has no enabled LF: write (or switch on) at least one.")
    dataset = prepare_dataset(df, spec)

    say(f"Embedding {len(dataset):,} rows with {source.label}")
    embeddings = embed_source(source, dataset.df, dataset.texts, npy_dir=data_dir() / "uploads", progress=progress)
    say(f"Building the k-NN graph ({n_neighbors} neighbours)")
    graph = build_knn_graph(embeddings, n_neighbors=n_neighbors, method=graph_method)
    settings = _Settings(
        default=math.inf if threshold is None else float(threshold),
        class_balance=class_balance,
        end_model=end_model,
        tune=tune and int(dataset.dev_mask.sum()) >= MIN_DEV_LABELS_TO_TUNE,
    )
    if any(getattr(lf, "needs_embeddings", False) for lf in lf_list):
        # LabelingSession applies LFs without the rows' embeddings, which similarity LFs need: library steps.
        fit = _fit_with_library(dataset, lf_list, embeddings, graph, source, settings, say)
    else:
        fit = _fit_with_session(dataset, lf_list, embeddings, graph, settings, say)
    log.info("%s", fit.tuning["message"])
    return FittedProject(
        dataset=dataset,
        lfs=lf_list,
        embedder=source,
        embeddings=embeddings,
        graph=graph,
        L=fit.L,
        nearest=fit.nearest,
        thresholds=np.asarray(fit.thresholds, dtype=np.float64),
        L_extended=fit.L_extended,
        class_balance=np.asarray(fit.label_model.class_balance_, dtype=np.float64),
        label_model=fit.label_model,
        label_model_proba=fit.label_model_proba,
        end_model=fit.end_model,
        end_model_proba=fit.end_model_proba,
        tuning=fit.tuning,
    )
