"""epoxy_core — interactive weak supervision with pre-trained embeddings (the Epoxy method).

The whole pipeline from a notebook::

    import epoxy_core as ec
    emb = ec.embed_texts(df["text"].tolist())                        # offline; the model is chosen by table size
    graph = ec.build_knn_graph(emb, n_neighbors=30)                   # exact below 20k rows, PyNNDescent above
    lfs = [ec.KeywordLF("subscribe", 1, ["subscribe"]), ec.RegexLF("check out", 1, r"check.*out"),
           ec.KeywordLF("song", 0, ["song"])]
    L = ec.apply_lfs(lfs, df, text_column="text")
    nearest = ec.nearest_voters(L, graph)                            # the expensive, cacheable step
    L_ext = ec.extend(L, thresholds=0.8, nearest=nearest)             # cheap: move thresholds freely
    model = ec.TripletLabelModel(cardinality=2).fit(L_ext)
    proba = model.predict_proba(L_ext)
    ec.lf_summary(L, L_ext, names=lfs, model=model)

or, holding everything in one interactive object, ``ec.LabelingSession(dataset, emb, graph)``.

Names are imported on first use (PEP 562), so ``import epoxy_core`` stays fast for the command line and for
Dask workers; heavy dependencies (onnxruntime, PyNNDescent/numba, scikit-learn) load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "LFAnalysis": "epoxy_core.analysis",
    "extension_preview": "epoxy_core.analysis",
    "lf_summary": "epoxy_core.analysis",
    "label_files": "epoxy_core.batch",
    "Bundle": "epoxy_core.bundle",
    "load_bundle": "epoxy_core.bundle",
    "save_bundle": "epoxy_core.bundle",
    "Dataset": "epoxy_core.data",
    "DatasetSpec": "epoxy_core.data",
    "list_demos": "epoxy_core.data",
    "load_demo": "epoxy_core.data",
    "prepare_dataset": "epoxy_core.data",
    "read_table": "epoxy_core.data",
    "EmbeddingSource": "epoxy_core.embed",
    "available_embedders": "epoxy_core.embed",
    "default_model": "epoxy_core.embed",
    "embed_source": "epoxy_core.embed",
    "embed_texts": "epoxy_core.embed",
    "embeddings_from_columns": "epoxy_core.embed",
    "load_embeddings_npy": "epoxy_core.embed",
    "labels_table": "epoxy_core.export",
    "Extender": "epoxy_core.extension",
    "NearestVoters": "epoxy_core.extension",
    "extend": "epoxy_core.extension",
    "extend_new_rows": "epoxy_core.extension",
    "nearest_voters": "epoxy_core.extension",
    "nearest_voters_for_new_rows": "epoxy_core.extension",
    "fit_project": "epoxy_core.fitting",
    "ABSTAIN": "epoxy_core.labels",
    "check_label_matrix": "epoxy_core.labels",
    "check_labels": "epoxy_core.labels",
    "from_signed": "epoxy_core.labels",
    "to_signed": "epoxy_core.labels",
    "BaseLF": "epoxy_core.lf",
    "ColumnRuleLF": "epoxy_core.lf",
    "KeywordLF": "epoxy_core.lf",
    "LabelingFunction": "epoxy_core.lf",
    "LookupLF": "epoxy_core.lf",
    "RegexLF": "epoxy_core.lf",
    "SimilarityLF": "epoxy_core.lf",
    "VoteColumnLF": "epoxy_core.lf",
    "apply_lfs": "epoxy_core.lf",
    "enabled_lfs": "epoxy_core.lf",
    "labeling_function": "epoxy_core.lf",
    "lf_from_dict": "epoxy_core.lf",
    "lf_to_dict": "epoxy_core.lf",
    "lfs_from_json": "epoxy_core.lf",
    "lfs_to_json": "epoxy_core.lf",
    "match_spans": "epoxy_core.lf",
    "HEADLINE_CONVENTION": "epoxy_core.metrics",
    "Headline": "epoxy_core.metrics",
    "compare_models": "epoxy_core.metrics",
    "headline_accuracy": "epoxy_core.metrics",
    "label_model_metrics": "epoxy_core.metrics",
    "metrics_table": "epoxy_core.metrics",
    "DEFAULT_CLASS_BALANCE": "epoxy_core.model",
    "EndModel": "epoxy_core.model",
    "LabelModel": "epoxy_core.model",
    "MajorityVote": "epoxy_core.model",
    "TripletLabelModel": "epoxy_core.model",
    "class_balance_from_labels": "epoxy_core.model",
    "resolve_class_balance": "epoxy_core.model",
    "KNNGraph": "epoxy_core.neighbors",
    "build_knn_graph": "epoxy_core.neighbors",
    "map_points": "epoxy_core.projection",
    "build_report": "epoxy_core.report",
    "LabelingSession": "epoxy_core.session",
    "SessionResults": "epoxy_core.session",
    "ProjectSettings": "epoxy_core.settings",
    "PipelineChoice": "epoxy_core.tuning",
    "TuningResult": "epoxy_core.tuning",
    "tune_pipeline": "epoxy_core.tuning",
    "tune_thresholds": "epoxy_core.tuning",
    "ConflictError": "epoxy_core.workspace",
    "Workspace": "epoxy_core.workspace",
    "WorkspaceError": "epoxy_core.workspace",
}

__all__ = [
    "ABSTAIN",
    "DEFAULT_CLASS_BALANCE",
    "HEADLINE_CONVENTION",
    "BaseLF",
    "Bundle",
    "ColumnRuleLF",
    "ConflictError",
    "Dataset",
    "DatasetSpec",
    "EmbeddingSource",
    "EndModel",
    "Extender",
    "Headline",
    "KNNGraph",
    "KeywordLF",
    "LFAnalysis",
    "LabelModel",
    "LabelingFunction",
    "LabelingSession",
    "LookupLF",
    "MajorityVote",
    "NearestVoters",
    "PipelineChoice",
    "ProjectSettings",
    "RegexLF",
    "SessionResults",
    "SimilarityLF",
    "TripletLabelModel",
    "TuningResult",
    "VoteColumnLF",
    "Workspace",
    "WorkspaceError",
    "apply_lfs",
    "available_embedders",
    "build_knn_graph",
    "build_report",
    "check_label_matrix",
    "check_labels",
    "class_balance_from_labels",
    "compare_models",
    "default_model",
    "embed_source",
    "embed_texts",
    "embeddings_from_columns",
    "enabled_lfs",
    "extend",
    "extend_new_rows",
    "extension_preview",
    "fit_project",
    "from_signed",
    "headline_accuracy",
    "label_files",
    "label_model_metrics",
    "labeling_function",
    "labels_table",
    "lf_from_dict",
    "lf_summary",
    "lf_to_dict",
    "lfs_from_json",
    "lfs_to_json",
    "list_demos",
    "load_bundle",
    "load_demo",
    "load_embeddings_npy",
    "map_points",
    "match_spans",
    "metrics_table",
    "nearest_voters",
    "nearest_voters_for_new_rows",
    "prepare_dataset",
    "read_table",
    "resolve_class_balance",
    "save_bundle",
    "to_signed",
    "tune_pipeline",
    "tune_thresholds",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'epoxy_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # static analysers and IDEs see the real names
    from epoxy_core.analysis import LFAnalysis, extension_preview, lf_summary
    from epoxy_core.batch import label_files
    from epoxy_core.bundle import Bundle, load_bundle, save_bundle
    from epoxy_core.data import Dataset, DatasetSpec, list_demos, load_demo, prepare_dataset, read_table
    from epoxy_core.embed import (
        EmbeddingSource,
        available_embedders,
        default_model,
        embed_source,
        embed_texts,
        embeddings_from_columns,
        load_embeddings_npy,
    )
    from epoxy_core.export import labels_table
    from epoxy_core.extension import (
        Extender,
        NearestVoters,
        extend,
        extend_new_rows,
        nearest_voters,
        nearest_voters_for_new_rows,
    )
    from epoxy_core.fitting import fit_project
    from epoxy_core.labels import ABSTAIN, check_label_matrix, check_labels, from_signed, to_signed
    from epoxy_core.lf import (
        BaseLF,
        ColumnRuleLF,
        KeywordLF,
        LabelingFunction,
        LookupLF,
        RegexLF,
        SimilarityLF,
        VoteColumnLF,
        apply_lfs,
        enabled_lfs,
        labeling_function,
        lf_from_dict,
        lf_to_dict,
        lfs_from_json,
        lfs_to_json,
        match_spans,
    )
    from epoxy_core.metrics import (
        HEADLINE_CONVENTION,
        Headline,
        compare_models,
        headline_accuracy,
        label_model_metrics,
        metrics_table,
    )
    from epoxy_core.model import (
        DEFAULT_CLASS_BALANCE,
        EndModel,
        LabelModel,
        MajorityVote,
        TripletLabelModel,
        class_balance_from_labels,
        resolve_class_balance,
    )
    from epoxy_core.neighbors import KNNGraph, build_knn_graph
    from epoxy_core.projection import map_points
    from epoxy_core.report import build_report
    from epoxy_core.session import LabelingSession, SessionResults
    from epoxy_core.settings import ProjectSettings
    from epoxy_core.tuning import PipelineChoice, TuningResult, tune_pipeline, tune_thresholds
    from epoxy_core.workspace import ConflictError, Workspace, WorkspaceError
