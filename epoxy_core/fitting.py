"""The app's loop, headless: from a table and an LF set to a fitted pipeline and its bundle.

:func:`fit_project` runs what the app does interactively, in one call, for scripts and CI (``epoxy fit``):

1. validate the table (:func:`~epoxy_core.data.prepare_dataset`), embed the text column and build the k-NN
   graph (exact below 20k rows, PyNNDescent above);
2. apply the LFs and find every LF's nearest voter for every row (exact: the graph, then a search of the
   LF's voters where the graph lists none);
3. choose thresholds on the dev labels when there are any (the Q engineer's
   :func:`epoxy_core.tuning.tune_pipeline`, which also decides whether the end model helps and its ``C``;
   :func:`~epoxy_core.tuning.tune_thresholds` where that is not available), else use ``threshold``;
4. fit the label model on the extended votes, then the end model on the covered rows' embeddings with the
   label model's probabilities as soft labels.

The result keeps every intermediate array, gives the in-project labels (:meth:`FittedProject.labels_table`)
and writes a bundle (:meth:`FittedProject.save_bundle`) that labels new rows the same way.
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
from epoxy_core.lf import BaseLF, apply_lfs
from epoxy_core.model import LabelModel, TripletLabelModel, resolve_class_balance
from epoxy_core.model.end_model import EndModel
from epoxy_core.neighbors import KNNGraph, build_knn_graph
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


def _apply(lfs: Sequence[BaseLF], dataset: Dataset, embeddings: np.ndarray, embed: Callable[..., Any]) -> LabelMatrix:
    import inspect

    kwargs: dict[str, Any] = {}
    parameters = inspect.signature(apply_lfs).parameters
    if "embeddings" in parameters:  # similarity LFs read the rows' vectors
        kwargs["embeddings"] = embeddings
    if "embed" in parameters:
        kwargs["embed"] = embed
    return apply_lfs(lfs, dataset.df, dataset.spec.text_column, cardinality=dataset.cardinality, **kwargs)


def _tune(
    L: LabelMatrix,
    dataset: Dataset,
    nearest: NearestVoters,
    embeddings: np.ndarray,
    class_balance: Any,
    default_threshold: float,
    end_model: bool,
) -> tuple[np.ndarray, bool, float, Any, dict[str, Any]]:
    """Thresholds, whether to use the end model, its C, the class balance, and a summary of how they were chosen."""
    balance = resolve_class_balance(class_balance, dataset.y, dataset.cardinality)
    m = L.shape[1]
    n_dev = int(dataset.dev_mask.sum())
    if n_dev < MIN_DEV_LABELS_TO_TUNE or m == 0:
        why = f"{n_dev} dev labels (< {MIN_DEV_LABELS_TO_TUNE})" if m else "no LFs"
        return (
            np.full(m, default_threshold),
            end_model,
            1.0,
            balance,
            {"method": "fixed", "n_dev": n_dev, "message": f"Not tuned: {why}; threshold {default_threshold}."},
        )
    from epoxy_core import tuning

    tune_pipeline = getattr(tuning, "tune_pipeline", None)
    if tune_pipeline is not None:
        choice = tune_pipeline(
            L,
            dataset.y,
            nearest,
            embeddings=embeddings if end_model else None,
            cardinality=dataset.cardinality,
            class_balance=class_balance,
        )
        use_end_model = bool(choice.use_end_model) and end_model
        C = float(choice.end_model_C) if choice.end_model_C is not None else 1.0
        summary = {
            "method": "tune_pipeline",
            "setting": str(choice.setting),
            "n_dev": int(choice.n_dev),
            "per_lf": bool(choice.per_lf),
            "use_extension": bool(choice.use_extension),
            "use_end_model": use_end_model,
            "end_model_C": C,
            "cv_scores": {str(k): (None if v is None else float(v)) for k, v in choice.cv_scores.items()},
            "few_labels": bool(choice.few_labels),
            "message": str(choice.message),
            "convention": str(choice.convention),
        }
        return np.asarray(choice.thresholds, dtype=np.float64), use_end_model, C, choice.class_balance, summary
    result = tuning.tune_thresholds(L, dataset.y, nearest, cardinality=dataset.cardinality, class_balance=balance)
    summary = {
        "method": "tune_thresholds",
        "n_dev": int(result.n_dev),
        "per_lf": bool(result.per_lf),
        "cv_score": float(result.cv_score),
        "no_extension_score": float(result.no_extension_score),
        "message": (
            f"Thresholds tuned on {result.n_dev} dev labels ({'per LF' if result.per_lf else 'shared'}), "
            f"cross-validated {result.metric} {result.cv_score:.3f} (no extension {result.no_extension_score:.3f}); "
            "end model with C = 1 (tune_pipeline, which chooses C, is not available)."
        ),
    }
    return np.asarray(result.thresholds, dtype=np.float64), end_model, 1.0, balance, summary


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
        The LF set (all of it is applied; filter with :func:`~epoxy_core.lf.enabled_lfs` first).
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
    lf_list = list(lfs)
    if not lf_list:
        raise ValueError("The LF set is empty: write at least one LF.")
    dataset = prepare_dataset(df, spec)

    say(f"Embedding {len(dataset):,} rows with {source.label}")
    embeddings = embed_source(source, dataset.df, dataset.texts, npy_dir=data_dir() / "uploads", progress=progress)
    say(f"Building the k-NN graph ({n_neighbors} neighbours)")
    graph = build_knn_graph(embeddings, n_neighbors=n_neighbors, method=graph_method)
    say(f"Applying {len(lf_list)} LFs")
    model = source.model
    L = _apply(lf_list, dataset, embeddings, lambda texts: embed_texts(list(texts), model=model))
    say("Finding each LF's nearest voters")
    nearest = nearest_voters(L, graph)

    default = math.inf if threshold is None else float(threshold)
    if tune:
        say("Tuning on the dev labels")
        thresholds, use_end_model, C, balance, tuning = _tune(
            L, dataset, nearest, embeddings, class_balance, default, end_model
        )
    else:
        thresholds, use_end_model, C = np.full(L.shape[1], default), end_model, 1.0
        balance = resolve_class_balance(class_balance, dataset.y, dataset.cardinality)
        tuning = {"method": "fixed", "n_dev": int(dataset.dev_mask.sum()), "message": f"Threshold {default}."}
    log.info("%s", tuning["message"])

    say("Fitting the label model")
    L_extended = extend(L, thresholds=thresholds, nearest=nearest)
    label_model = TripletLabelModel(cardinality=dataset.cardinality).fit(L_extended, class_balance=balance)
    label_model_proba = label_model.predict_proba(L_extended)
    covered = (L_extended != ABSTAIN).any(axis=1)
    fitted_end_model = None
    end_model_proba = None
    if use_end_model and covered.any():
        say(f"Fitting the end model on {int(covered.sum()):,} covered rows")
        fitted_end_model = EndModel(C=C).fit(embeddings, label_model_proba, rows=covered)
        end_model_proba = fitted_end_model.predict_proba(embeddings)
    return FittedProject(
        dataset=dataset,
        lfs=lf_list,
        embedder=source,
        embeddings=embeddings,
        graph=graph,
        L=L,
        nearest=nearest,
        thresholds=np.asarray(thresholds, dtype=np.float64),
        L_extended=L_extended,
        class_balance=np.asarray(label_model.class_balance_, dtype=np.float64),
        label_model=label_model,
        label_model_proba=label_model_proba,
        end_model=fitted_end_model,
        end_model_proba=end_model_proba,
        tuning=tuning,
    )
