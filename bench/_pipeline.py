"""Shared helpers of the label-quality benchmarks (``spam_quality.py``, ``digits_quality.py``).

Everything here *measures* the shipped library: settings are chosen by :func:`epoxy_core.tuning.tune_pipeline`
(nested cross-validation on the dev labels, the headline figure of :mod:`epoxy_core.metrics`), and fitted
and applied with the library's own pieces: ``extend``, the label model, :class:`EndModel`, and for rows
outside the graph ``nearest_voters_for_new_rows`` / ``extend_new_rows``.  The helpers only add
bookkeeping: fitting a chosen setting, predicting new rows, a held-out-group validation, and a text table.

Honesty rules the helpers follow:

- Nothing is fitted on rows the benchmark scores as new: a held-out group's rows (and the test split) are
  extended from the support rows' voters and labelled by models fitted on the support rows only.
- Every figure computed from a choice made on dev labels is cross-validated so that the choice never saw
  the labels it is scored on (``tune_pipeline``'s nested CV; :func:`held_out_group_scores`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from epoxy_core.extension import NearestVoters, extend, extend_new_rows, nearest_voters, nearest_voters_for_new_rows
from epoxy_core.labels import ABSTAIN
from epoxy_core.metrics import headline_accuracy
from epoxy_core.model import TripletLabelModel
from epoxy_core.model.end_model import EndModel
from epoxy_core.neighbors import build_knn_graph
from epoxy_core.tuning import PIPELINE_SETTINGS, SettingResult, tune_pipeline

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"
N_NEIGHBORS = 30


# ------------------------------------------------------------------------------------------ embeddings


def tfidf_train_only(train_texts: Sequence[str], other_texts: Sequence[str], dim: int = 256) -> tuple[np.ndarray, ...]:
    """TF-IDF + SVD fitted on ``train_texts`` only, then applied to ``other_texts``: (train, other) vectors.

    The same recipe as ``epoxy_core.embed.tfidf`` (word 1-2-grams and char_wb 2-5-grams, sublinear tf,
    ``min_df=2``, TruncatedSVD, L2), which fits on every text it is given and has no transform for new rows;
    a benchmark that scores held-out rows must not fit its vocabulary or SVD on them.
    """
    from scipy import sparse
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from threadpoolctl import threadpool_limits

    vectorizers = [
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, dtype=np.float32),
    ]
    train = sparse.hstack([v.fit_transform(list(train_texts)) for v in vectorizers], format="csr")
    other = sparse.hstack([v.transform(list(other_texts)) for v in vectorizers], format="csr")
    with threadpool_limits(limits=1, user_api="blas"):  # threaded BLAS in the randomized SVD: 15-40x slower here
        svd = TruncatedSVD(n_components=min(dim, train.shape[1] - 1), random_state=0).fit(train)
        parts = [svd.transform(train), svd.transform(other)]
    out = []
    for part in parts:
        norms = np.linalg.norm(part, axis=1, keepdims=True)
        out.append(np.divide(part, norms, out=np.zeros_like(part), where=norms > 0).astype(np.float32))
    return tuple(out)


# --------------------------------------------------------------------------------- fitting a setting


@dataclass
class Prediction:
    """Labels of some rows under a fitted pipeline (headline convention: uncovered rows by EM or prior)."""

    labels: np.ndarray
    proba: np.ndarray
    covered: np.ndarray


@dataclass
class FittedPipeline:
    """A setting fitted on support rows: label model on the extended votes, end model on the covered rows."""

    setting: SettingResult
    label_model: Any
    end_model: EndModel | None
    L_support: np.ndarray
    embeddings: np.ndarray
    L_extended: np.ndarray

    def _labels(self, L_ext: np.ndarray, features: np.ndarray) -> Prediction:
        covered = (L_ext != ABSTAIN).any(axis=1)
        if self.end_model is not None:
            proba = self.end_model.predict_proba(features)
            return Prediction(proba.argmax(axis=1), proba, covered)
        prior = np.asarray(self.label_model.class_balance_, dtype=np.float64)
        proba = np.tile(prior, (L_ext.shape[0], 1))
        if covered.any():
            proba[covered] = self.label_model.predict_proba(L_ext[covered])
        labels = np.where(covered, proba.argmax(axis=1), int(prior.argmax()))
        return Prediction(labels.astype(np.int64), proba, covered)

    def predict_support(self) -> Prediction:
        """The support rows themselves (in the graph), as the app labels them."""
        return self._labels(self.L_extended, self.embeddings)

    def predict_new(self, L_new: np.ndarray, embeddings_new: np.ndarray) -> Prediction:
        """Rows outside the graph: extended from the support rows' voters (exact search), same thresholds."""
        nearest = nearest_voters_for_new_rows(self.L_support, self.embeddings, embeddings_new)
        L_ext = extend_new_rows(L_new, nearest, self.setting.thresholds)
        return self._labels(L_ext, embeddings_new)


def fit_pipeline(
    setting: SettingResult,
    L: np.ndarray,
    embeddings: np.ndarray,
    nearest: NearestVoters,
    class_balance: Any,
    cardinality: int,
) -> FittedPipeline:
    """Fit ``setting`` (thresholds, end model C) on the rows of ``L`` as the app would."""
    L_ext = extend(L, thresholds=setting.thresholds, nearest=nearest) if setting.use_extension else L
    label_model = TripletLabelModel(cardinality=cardinality).fit(L_ext, class_balance=class_balance)
    end_model = None
    if setting.end_model_C is not None:
        covered = (L_ext != ABSTAIN).any(axis=1)
        end_model = EndModel(C=setting.end_model_C).fit(embeddings, label_model.predict_proba(L_ext), rows=covered)
    return FittedPipeline(setting, label_model, end_model, L, embeddings, L_ext)


def graph_voters(L: np.ndarray, embeddings: np.ndarray) -> NearestVoters:
    """Nearest voters of ``L`` through an exact 30-NN graph of ``embeddings`` (the app's path below 20k rows)."""
    return nearest_voters(L, build_knn_graph(embeddings, n_neighbors=N_NEIGHBORS))


# ------------------------------------------------------------------------------ held-out validation


def held_out_group_scores(
    L: np.ndarray,
    y: np.ndarray,
    embeddings: np.ndarray,
    groups: np.ndarray,
    *,
    cardinality: int,
    class_balance: Any,
    **tune: Any,
) -> dict[str, float]:
    """Headline accuracy per setting when each group (e.g. a video) in turn is new rows, as the test split is.

    For each group: the other groups are the support rows (their k-NN graph, their dev labels for tuning
    with ``tune_pipeline``, their votes and embeddings for the label and end models); the group's rows are
    then labelled through the new-row path and its dev rows scored.  Every setting's choice is made without
    the held-out group's labels, so the figure is nested; pooled over all dev rows.
    """
    correct = dict.fromkeys(PIPELINE_SETTINGS, 0)
    n_dev = 0
    for group in np.unique(groups):
        support, held_out = np.flatnonzero(groups != group), np.flatnonzero(groups == group)
        dev = y[held_out] != ABSTAIN
        if not dev.any():
            continue
        nearest = graph_voters(L[support], embeddings[support])
        choice = tune_pipeline(
            L[support],
            y[support],
            nearest,
            embeddings=embeddings[support],
            cardinality=cardinality,
            class_balance=class_balance,
            cross_validate=False,
            **tune,
        )
        for name, setting in choice.settings.items():
            fitted = fit_pipeline(setting, L[support], embeddings[support], nearest, choice.class_balance, cardinality)
            predicted = fitted.predict_new(L[held_out], embeddings[held_out])
            correct[name] += int(np.count_nonzero(predicted.labels[dev] == y[held_out][dev]))
        n_dev += int(dev.sum())
    return {name: correct[name] / n_dev for name in PIPELINE_SETTINGS} if n_dev else {}


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Plain accuracy against labels known for every row (digits); nan on empty input."""
    return float(np.mean(y_true == y_pred)) if y_true.size else math.nan


def headline(y: np.ndarray, prediction: Prediction) -> float:
    """The headline accuracy of a :class:`Prediction` (its labels already follow the convention)."""
    value = headline_accuracy(y, prediction.labels, prediction.covered).accuracy
    return math.nan if value is None else value


# ------------------------------------------------------------------------------------------------ table


def format_table(headers: Sequence[str], lines: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    """A fixed-width text table; floats printed with 3 decimals, None and NaN as ``-``."""

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "-"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    cells = [[cell(v) for v in line] for line in lines]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def render(row: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return "\n".join([render(headers), "  ".join("-" * w for w in widths), *(render(c) for c in cells)])
