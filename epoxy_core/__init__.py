"""epoxy_core — interactive weak supervision with pre-trained embeddings (the Epoxy method).

The whole pipeline from a notebook::

    import epoxy_core as ec
    emb = ec.embed_texts(df["text"].tolist())                       # offline MiniLM, L2-normalised
    graph = ec.build_knn_graph(emb, n_neighbors=30)                  # exact below 20k rows, PyNNDescent above
    lfs = [ec.KeywordLF("subscribe", label=1, keywords=("subscribe",)),
           ec.RegexLF("check out", label=1, pattern=r"check.*out")]
    L = ec.apply_lfs(lfs, df, text_column="text")
    nearest = ec.nearest_voters(L, graph)                           # the expensive, cacheable step
    L_ext = ec.extend(L, thresholds=0.8, nearest=nearest)            # cheap: move thresholds freely
    model = ec.TripletLabelModel(cardinality=2).fit(L_ext)
    proba = model.predict_proba(L_ext)
    ec.lf_summary(L, L_ext, names=[lf.name for lf in lfs], model=model)

Heavy dependencies (onnxruntime, PyNNDescent/numba) load only when first used.
"""

from epoxy_core.analysis import lf_summary
from epoxy_core.data import Dataset, DatasetSpec, list_demos, load_demo, prepare_dataset, read_table
from epoxy_core.embed import available_embedders, embed_texts, embeddings_from_columns, load_embeddings_npy
from epoxy_core.extension import Extender, NearestVoters, extend, nearest_voters
from epoxy_core.labels import ABSTAIN, check_label_matrix, check_labels, from_signed, to_signed
from epoxy_core.lf import (
    BaseLF,
    ColumnRuleLF,
    KeywordLF,
    LabelingFunction,
    RegexLF,
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
from epoxy_core.metrics import compare_models, label_model_metrics, metrics_table
from epoxy_core.model import MajorityVote, TripletLabelModel, class_balance_from_labels
from epoxy_core.neighbors import KNNGraph, build_knn_graph
from epoxy_core.tuning import TuningResult, tune_thresholds
from epoxy_core.workspace import ConflictError, Workspace

__all__ = [
    "ABSTAIN",
    "BaseLF",
    "ColumnRuleLF",
    "ConflictError",
    "Dataset",
    "DatasetSpec",
    "Extender",
    "KNNGraph",
    "KeywordLF",
    "LabelingFunction",
    "MajorityVote",
    "NearestVoters",
    "RegexLF",
    "TripletLabelModel",
    "TuningResult",
    "VoteColumnLF",
    "Workspace",
    "apply_lfs",
    "available_embedders",
    "build_knn_graph",
    "check_label_matrix",
    "check_labels",
    "class_balance_from_labels",
    "compare_models",
    "embed_texts",
    "embeddings_from_columns",
    "enabled_lfs",
    "extend",
    "from_signed",
    "label_model_metrics",
    "labeling_function",
    "lf_from_dict",
    "lf_summary",
    "lf_to_dict",
    "lfs_from_json",
    "lfs_to_json",
    "list_demos",
    "load_demo",
    "load_embeddings_npy",
    "match_spans",
    "metrics_table",
    "nearest_voters",
    "prepare_dataset",
    "read_table",
    "to_signed",
    "tune_thresholds",
]
