"""Bundles: what a labeling project learned, saved as data, to label rows the project never saw.

A bundle is a folder::

    BUNDLE/
      manifest.json     {"format": "epoxy-bundle", "version": 1, "files": {name: {"sha256", "bytes"}}}
      bundle.json       the LF set, thresholds, class names and balance, embedder, model settings
      label_model.npz   the label model's fitted arrays (``LabelModel.to_params``)
      end_model.npz     the end model's coefficients (``EndModel.to_params``), when there is one
      support.npz       the support set: embeddings of the rows the LFs voted on, and those votes
      probe.npz         the embedder's vectors for a few fixed texts (the embedder check)

Everything is JSON or numpy arrays read with ``allow_pickle=False``: loading a bundle never runs code from
it.  :func:`load_bundle` checks the format version first (a newer or unknown version is refused with
:class:`BundleVersionError`), then every file's size and SHA-256 against the manifest
(:class:`BundleIntegrityError`), then every field and array shape.  Checksums catch corruption and edits
by hand, not a deliberate forger who rewrites the manifest too; since nothing in a bundle is executed, the
worst such a file can do is give wrong labels, which is what the field checks narrow down.

**Labeling new rows** (:meth:`Bundle.label`) is Epoxy's path for validation and test rows: embed the rows
with the project's embedder, apply the LFs, extend each LF that abstains on a row from the *nearest support
row it voted on* (an exact, blocked BLAS search; never from the new rows themselves) when that row is at
least the LF's threshold similar, then the label model's posterior and the end model's prediction.  With
an uncapped support set this gives a row exactly the labels it would get inside the project.

**The support set** keeps, for every LF whose extension is on, the rows it voted on itself (not extended
votes: extension copies only original votes).  An LF with more than ``max_voters_per_lf`` voters keeps a
seeded random sample of that many, drawn per class in proportion to its votes of each class
(:func:`build_support_set`); the search costs ``rows x kept voters x dim`` multiply-adds, which is what the
cap bounds.  LFs whose extension is off keep no support rows.

**Embedders.**  A bundle can label new rows only with an embedder that embeds each text on its own:
``"minilm"``, ``"wordllama"``, ``"onnx:<folder>"``, ``"st:<name>"``.  TF-IDF is fitted on the whole table
(its vocabulary and SVD change with the rows), and uploaded vectors or numeric-column embeddings are
standardised or supplied per table, so :func:`save_bundle` refuses them.  At label time the embedder must
reproduce the saved probe vectors (cosine >= ``PROBE_MIN_COSINE``), otherwise
:class:`EmbedderMismatchError`: a different model behind the same name would silently move every
similarity.

Examples
--------
>>> bundle = load_bundle("spam.bundle")  # doctest: +SKIP
>>> labels = bundle.label(pd.read_parquet("new_comments.parquet"))  # doctest: +SKIP
>>> labels[["row_id", "label", "P(spam)", "voted_lfs", "extended_lfs"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from epoxy_core._cells import cell_to_text
from epoxy_core._json import loads_strict
from epoxy_core.embed import EmbeddingSource, embed_texts, embedder_fingerprint
from epoxy_core.export import labels_arrow
from epoxy_core.extension import extend_new_rows, nearest_voters_for_new_rows, thresholds_array
from epoxy_core.labels import ABSTAIN, LabelMatrix, check_label_matrix
from epoxy_core.lf import BaseLF, SimilarityLF, apply_lfs, lfs_from_json, lfs_to_json
from epoxy_core.model import LabelModel
from epoxy_core.model.end_model import EndModel
from epoxy_core.neighbors import prepare_embeddings

__all__ = [
    "BUNDLE_FILES",
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "DEFAULT_MAX_VOTERS_PER_LF",
    "PROBE_MIN_COSINE",
    "Bundle",
    "BundleError",
    "BundleIntegrityError",
    "BundleVersionError",
    "EmbedderMismatchError",
    "Prediction",
    "SupportSet",
    "build_support_set",
    "load_bundle",
    "portable_embedder",
    "save_bundle",
]

BUNDLE_FORMAT = "epoxy-bundle"
BUNDLE_VERSION = 1
"""Version of the folder layout and ``bundle.json`` fields; a reader refuses any version above its own."""

DEFAULT_MAX_VOTERS_PER_LF = 5_000
"""Support rows kept per LF.  At 10 LFs of 256-d vectors the exact search then costs ~13 M multiply-adds
per labeled row (about 4 ms per row on one core at ~50 GFLOP/s); ``None`` keeps every voter (exact)."""

PROBE_MIN_COSINE = 0.99
"""How close the embedder's vectors for the probe texts must stay to the saved ones.  The same model gives
0.9999+ across machines (float rounding, int8 kernels); another model or version falls far below."""

PROBE_TEXTS: tuple[str, ...] = (
    "Check out my new channel and subscribe!",
    "This song is beautiful, I listen to it every day.",
    "The invoice was charged twice; please refund the second payment.",
    "App crashes on startup after the latest update.",
    "Great value for the price, would buy again.",
    "Le service client n'a jamais répondu à mon message.",
    "",
    "12345 !!! ???",
)
"""Fixed texts whose vectors a bundle stores to recognise its embedder (any language, an empty text)."""

_MAX_JSON_BYTES = 64 * 2**20
_FILE_NAME = re.compile(r"^[a-z_]+\.(json|npz)$")
_ARRAY_TAG = "__ndarray__"
_FILES = ("bundle.json", "label_model.npz", "end_model.npz", "support.npz", "probe.npz", "similarity.npz")
BUNDLE_FILES: tuple[str, ...] = ("manifest.json", *_FILES)
"""Every file a bundle folder can hold (``end_model.npz`` and ``similarity.npz`` are optional)."""


class BundleError(ValueError):
    """A bundle that cannot be used: its message says why and what to do."""


class BundleVersionError(BundleError):
    """The bundle was written in a format version this Epoxy Studio does not read."""


class BundleIntegrityError(BundleError):
    """A bundle file is missing, truncated, changed since it was saved, or holds invalid content."""


class EmbedderMismatchError(BundleError):
    """The embedder available here does not reproduce the vectors the bundle was made with."""


# ---------------------------------------------------------------------------------------------- embedders


def portable_embedder(source: EmbeddingSource | Mapping[str, Any] | str) -> EmbeddingSource:
    """The embedding source as one a bundle can carry, or a ValueError saying why it cannot.

    >>> portable_embedder("wordllama").model
    'wordllama'
    >>> portable_embedder("tfidf")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: A bundle cannot carry the TF-IDF embedder: ...
    """
    source = EmbeddingSource.from_value(source)
    fix = (
        "Fit with a text model that embeds each text on its own: 'wordllama' (fast), 'minilm', "
        "'st:<name>' or 'onnx:<folder>'."
    )
    if source.kind == "columns":
        raise ValueError(
            "A bundle cannot carry numeric-column embeddings: they are standardised with the project table's "
            f"column statistics. {fix}"
        )
    if source.kind == "npy":
        raise ValueError(f"A bundle cannot carry uploaded vectors: new rows would have none. {fix}")
    if source.model == "tfidf":
        raise ValueError(
            "A bundle cannot carry the TF-IDF embedder: it is fitted on the whole table (vocabulary and SVD change "
            f"with the rows), so new rows would not land in the project's space. {fix}"
        )
    return source


def _texts_of(column: pd.Series) -> list[str]:
    """A text column as strings, missing cells as "" (the conversion :func:`prepare_dataset` applies)."""
    return [cell_to_text(v) for v in column.tolist()]


# ---------------------------------------------------------------------------------------------- support set


@dataclass(frozen=True, eq=False)
class SupportSet:
    """The rows new rows are extended from: their embeddings and the LFs' own votes on them.

    Attributes
    ----------
    embeddings : ndarray of float32, shape (n_support, d)
        Prepared for the metric (unit rows for cosine).
    votes : ndarray of int8/int16, shape (n_support, n_lfs)
        LF ``j``'s vote where row ``i`` was kept for LF ``j``, else ``ABSTAIN``.
    rows : ndarray of int64, shape (n_support,)
        Each support row's position in the project table.
    voters : ndarray of int64, shape (n_lfs,)
        How many rows each LF voted on in the project.
    max_voters_per_lf : int or None
        The cap the set was built with (None: every voter kept).
    random_state : int
        The seed of the subsampling.
    """

    embeddings: npt.NDArray[np.float32]
    votes: LabelMatrix
    rows: npt.NDArray[np.int64]
    voters: npt.NDArray[np.int64]
    max_voters_per_lf: int | None
    random_state: int

    @property
    def kept(self) -> npt.NDArray[np.int64]:
        """Support rows kept per LF."""
        return (self.votes != ABSTAIN).sum(axis=0).astype(np.int64)

    @property
    def exact(self) -> bool:
        """True when every voter of every LF whose extension is on was kept."""
        return self.max_voters_per_lf is None or bool(np.all(self.voters <= self.max_voters_per_lf))


def _proportional_counts(counts: npt.NDArray[np.int64], total: int) -> npt.NDArray[np.int64]:
    """Split ``total`` over groups in proportion to ``counts`` (largest remainder), never above a count.

    >>> _proportional_counts(np.array([90, 10]), 10).tolist()
    [9, 1]
    """
    share = counts * (total / counts.sum())
    out = np.minimum(np.floor(share).astype(np.int64), counts)
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    for g in order:
        if out.sum() >= total:
            break
        if out[g] < counts[g]:
            out[g] += 1
    return out


def build_support_set(
    L: Any,
    embeddings: Any,
    thresholds: Any,
    *,
    max_voters_per_lf: int | None = DEFAULT_MAX_VOTERS_PER_LF,
    metric: str = "cosine",
    random_state: int = 0,
) -> SupportSet:
    """Choose the support set of a bundle from the project's own votes and embeddings.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        The LFs' own votes on the project rows (not the extended ones).
    embeddings : array-like of shape (n_rows, d)
        The project rows' embeddings.
    thresholds : float or array-like of shape (n_lfs,)
        Extension thresholds; LFs at ``+inf`` (off) keep no support rows.
    max_voters_per_lf : int or None, default :data:`DEFAULT_MAX_VOTERS_PER_LF`
        An LF with more voters keeps a random sample of this many, stratified by the class voted (each class
        keeps its share, largest remainder), drawn with ``numpy.random.default_rng([random_state, j])`` for LF
        ``j`` so that one LF's sample does not depend on the others.  None keeps every voter.
    metric : {"cosine", "euclidean"}, default "cosine"
    random_state : int, default 0

    Returns
    -------
    SupportSet
        The union of the kept rows, in project order.

    Examples
    --------
    >>> support = build_support_set([[1, -1], [-1, 0], [1, 0]], np.eye(3), [0.5, np.inf])
    >>> support.rows.tolist(), support.votes.tolist()
    ([0, 2], [[1, -1], [1, -1]])
    """
    L = check_label_matrix(L)
    vectors = prepare_embeddings(embeddings, metric)
    if vectors.shape[0] != L.shape[0]:
        raise ValueError(f"L has {L.shape[0]} rows but the embeddings have {vectors.shape[0]}.")
    limits = thresholds_array(thresholds, L.shape[1])
    if max_voters_per_lf is not None and (isinstance(max_voters_per_lf, bool) or int(max_voters_per_lf) < 1):
        raise ValueError(f"max_voters_per_lf must be a positive integer or None, got {max_voters_per_lf!r}.")
    n, m = L.shape
    keep = np.zeros((n, m), dtype=bool)
    voters = np.zeros(m, dtype=np.int64)
    for j in range(m):
        voted = np.flatnonzero(L[:, j] != ABSTAIN)
        voters[j] = voted.size
        if not np.isfinite(limits[j]) or voted.size == 0:
            continue
        if max_voters_per_lf is None or voted.size <= max_voters_per_lf:
            keep[voted, j] = True
            continue
        rng = np.random.default_rng([int(random_state), j])
        classes, counts = np.unique(L[voted, j], return_counts=True)
        for c, k in zip(classes, _proportional_counts(counts, int(max_voters_per_lf)), strict=True):
            of_class = voted[L[voted, j] == c]
            keep[rng.choice(of_class, size=int(k), replace=False), j] = True
    rows = np.flatnonzero(keep.any(axis=1)).astype(np.int64)
    votes = np.where(keep[rows], L[rows], np.array(ABSTAIN, dtype=L.dtype)).astype(L.dtype)
    return SupportSet(
        embeddings=np.ascontiguousarray(vectors[rows]),
        votes=votes,
        rows=rows,
        voters=voters,
        max_voters_per_lf=None if max_voters_per_lf is None else int(max_voters_per_lf),
        random_state=int(random_state),
    )


# ---------------------------------------------------------------------------------------------- the bundle


@dataclass(frozen=True, eq=False)
class Prediction:
    """What a bundle computes for new rows (see :meth:`Bundle.predict`)."""

    L: LabelMatrix
    L_extended: LabelMatrix
    label_model_proba: npt.NDArray[np.float64]
    end_model_proba: npt.NDArray[np.float64] | None
    embeddings: npt.NDArray[np.float32] = field(repr=False)


ProgressCallback = Callable[[int, int], None]


@dataclass(eq=False)
class Bundle:
    """A loaded bundle: everything needed to label rows the project never saw.

    Build one with :func:`load_bundle` (or keep the one :func:`save_bundle` wrote).  Attributes are the
    bundle's content; ``info`` holds descriptive fields (creation date, project size, tuning summary).
    """

    lfs: list[BaseLF]
    thresholds: npt.NDArray[np.float64]
    class_names: list[str]
    text_column: str
    label_model: LabelModel
    end_model: EndModel | None
    embedder: EmbeddingSource
    support: SupportSet
    probe: npt.NDArray[np.float32]
    metric: str = "cosine"
    examples: dict[int, npt.NDArray[np.float32]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    _embedder_checked: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def lf_names(self) -> list[str]:
        return [lf.name for lf in self.lfs]

    @property
    def cardinality(self) -> int:
        return len(self.class_names)

    @property
    def dim(self) -> int:
        return int(self.support.embeddings.shape[1] if self.support.embeddings.size else self.probe.shape[1])

    # -- embedding -------------------------------------------------------------------------------
    def check_embedder(self) -> None:
        """Embed the probe texts and compare with the saved vectors (once per bundle object).

        Raises
        ------
        EmbedderMismatchError
            If the embedder cannot run here, gives another dimension, or moves the probe vectors.
        """
        with self._lock:
            if self._embedder_checked:
                return
            assert self.embedder.model is not None
            try:
                now = embed_texts(list(PROBE_TEXTS), model=self.embedder.model)
            except ValueError as error:
                raise EmbedderMismatchError(
                    f"The bundle's embedder {self.embedder.label} cannot run here: {error}"
                ) from None
            if now.shape != self.probe.shape:
                raise EmbedderMismatchError(
                    f"The embedder {self.embedder.label} gives {now.shape[1]}-d vectors here, but the bundle was "
                    f"made with {self.probe.shape[1]}-d ones: install the same model the project used."
                )
            cosine = np.einsum("ij,ij->i", now, self.probe)
            if float(cosine.min()) < PROBE_MIN_COSINE:
                raise EmbedderMismatchError(
                    f"The embedder {self.embedder.label} here is not the one the bundle was made with (probe "
                    f"cosine {float(cosine.min()):.3f} < {PROBE_MIN_COSINE}): another model version or model files. "
                    "Install the version the project used, or fit a new bundle here."
                )
            self._embedder_checked = True

    def embed(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> npt.NDArray[np.float32]:
        """Embed ``texts`` with the bundle's embedder (checked once against the probe vectors)."""
        self.check_embedder()
        assert self.embedder.model is not None
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        return embed_texts(list(texts), model=self.embedder.model, progress=progress)

    # -- labeling --------------------------------------------------------------------------------
    def _text_column(self, df: pd.DataFrame, text_column: str | None) -> str:
        column = self.text_column if text_column is None else text_column
        if column not in df.columns:
            shown = ", ".join(repr(str(c)) for c in list(df.columns)[:30])
            raise ValueError(
                f"The text column {column!r} the bundle reads is not in the data (columns: {shown}); "
                "pass the column that holds the text (--text-column)."
            )
        return column

    def _apply(self, df: pd.DataFrame, text_column: str, embeddings: np.ndarray) -> LabelMatrix:
        """The LFs' own votes on new rows.

        A similarity LF's example *rows* are rows of the project, not of ``df``: their vectors are stored in
        the bundle and appended after the new rows, and the LF is pointed at them (its own code then compares
        every new row with the project's examples, exactly as in the project).
        """
        if not self.examples:
            return apply_lfs(
                self.lfs, df, text_column, cardinality=self.cardinality, embeddings=embeddings, embed=self.embed
            )
        n = len(df)
        plain = [j for j in range(len(self.lfs)) if j not in self.examples]
        L = np.full((n, len(self.lfs)), ABSTAIN, dtype=np.int16)
        if plain:
            L[:, plain] = apply_lfs(
                [self.lfs[j] for j in plain],
                df,
                text_column,
                cardinality=self.cardinality,
                embeddings=embeddings,
                embed=self.embed,
            )
        for j, vectors in self.examples.items():
            k = vectors.shape[0]
            lf = dataclasses.replace(self.lfs[j], rows=tuple(range(n, n + k)))
            both = np.vstack([embeddings, vectors]) if n else vectors
            votes = apply_lfs(
                [lf],
                pd.DataFrame(index=pd.RangeIndex(n + k)),
                text_column,
                cardinality=self.cardinality,
                embeddings=both,
                embed=self.embed,
            )
            L[:, j] = votes[:n, 0]
        return check_label_matrix(L, self.cardinality)

    def extend(self, L: Any, embeddings: Any) -> LabelMatrix:
        """Extend new rows' votes ``L`` from the support set at the bundle's thresholds.

        Only LFs whose extension is on and that kept support rows are searched (exact nearest voter,
        blocked BLAS; :func:`epoxy_core.extension.nearest_voters_for_new_rows`).
        """
        L = check_label_matrix(L, self.cardinality)
        extended = L.copy()
        active = np.flatnonzero(np.isfinite(self.thresholds) & (self.support.kept > 0))
        if active.size == 0 or L.shape[0] == 0:
            return extended
        nearest = nearest_voters_for_new_rows(
            self.support.votes[:, active], self.support.embeddings, embeddings, metric=self.metric
        )
        extended[:, active] = extend_new_rows(L[:, active], nearest, self.thresholds[active])
        return extended

    def predict(
        self, df: pd.DataFrame, *, text_column: str | None = None, progress: ProgressCallback | None = None
    ) -> Prediction:
        """Embed, apply the LFs, extend from the support set, and run the label and end models.

        Parameters
        ----------
        df : pandas.DataFrame
            New rows with the text column (and any column an LF reads).
        text_column : str, optional
            The column holding the text, when it is not named as in the project.
        progress : callable, optional
            ``progress(done_rows, total_rows)`` while embedding.

        Raises
        ------
        ValueError
            A missing column (the message lists the available ones), an LF that does not fit the data.
        EmbedderMismatchError
            The embedder here is not the bundle's.
        """
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"Bundle.predict needs a pandas DataFrame, got {type(df).__name__}.")
        column = self._text_column(df, text_column)
        for lf in self.lfs:  # before the costly embedding: a missing LF column fails at once
            for needed in lf.required_columns(column):
                if needed not in df.columns:
                    raise ValueError(f"LF {lf.name!r} needs column {needed!r}, which is not in the data.")
        embeddings = self.embed(_texts_of(df[column]), progress)
        L = self._apply(df, column, embeddings)
        L_extended = self.extend(L, embeddings)
        label_model_proba = self.label_model.predict_proba(L_extended)
        end_model_proba = None if self.end_model is None else self.end_model.predict_proba(embeddings)
        return Prediction(L, L_extended, label_model_proba, end_model_proba, embeddings)

    def _ids(self, df: pd.DataFrame, id_column: str | None) -> tuple[Any, str]:
        if id_column is not None:
            if id_column not in df.columns:
                raise ValueError(f"The id column {id_column!r} is not in the data.")
            return df[id_column], id_column
        if "row_id" in df.columns:
            return df["row_id"], "row_id"
        return None, "row_id"

    def _output(self, prediction: Prediction) -> dict[str, Any]:
        return {
            "label_model_proba": prediction.label_model_proba,
            "end_model_proba": prediction.end_model_proba,
            "L": prediction.L,
            "L_extended": prediction.L_extended,
            "lf_names": self.lf_names,
        }

    def label(
        self,
        df: pd.DataFrame,
        *,
        id_column: str | None = None,
        text_column: str | None = None,
        row_offset: int = 0,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """Label new rows: the table of :func:`epoxy_core.export.labels_table`.

        Parameters
        ----------
        df : pandas.DataFrame
            The rows to label.
        id_column : str, optional
            The column identifying rows, copied to the output; default ``row_id`` when the data has one,
            else the output's ``row`` column holds each row's position (plus ``row_offset``).
        text_column : str, optional
            See :meth:`predict`.
        row_offset : int, default 0
            Position of the first row, when ``df`` is one part of a larger input.
        progress : callable, optional
            See :meth:`predict`.

        Returns
        -------
        pandas.DataFrame
            Id (or ``row``), ``label``, ``P(<class>)``, ``covered``, ``voted_lfs``, ``extended_lfs`` and,
            with an end model, both models' labels and probabilities.

        Examples
        --------
        >>> bundle = load_bundle("spam.bundle")  # doctest: +SKIP
        >>> bundle.label(pd.DataFrame({"text": ["check out my channel", "lovely song"]}))  # doctest: +SKIP
           row label  P(ham)  P(spam)  covered voted_lfs extended_lfs  ...
        """
        return self.label_arrow(
            df, id_column=id_column, text_column=text_column, row_offset=row_offset, progress=progress
        ).to_pandas()

    def label_arrow(
        self,
        df: pd.DataFrame,
        *,
        id_column: str | None = None,
        text_column: str | None = None,
        row_offset: int = 0,
        progress: ProgressCallback | None = None,
    ) -> pa.Table:
        """:meth:`label` as an Arrow table (what ``epoxy label`` writes to Parquet)."""
        ids, name = self._ids(df, id_column)
        prediction = self.predict(df, text_column=text_column, progress=progress)
        return labels_arrow(
            self.class_names, ids=ids, id_column=name, row_offset=row_offset, **self._output(prediction)
        )

    def describe(self) -> str:
        """A few lines for logs: LFs, classes, embedder, support set, models."""
        kept = int(self.support.embeddings.shape[0])
        on = int(np.isfinite(self.thresholds).sum())
        cap = "uncapped" if self.support.max_voters_per_lf is None else f"cap {self.support.max_voters_per_lf:,}/LF"
        return (
            f"{len(self.lfs)} LFs ({on} extended), classes {', '.join(self.class_names)}; embedder "
            f"{self.embedder.label} ({self.dim}-d); support set {kept:,} rows ({cap}"
            f"{'' if self.support.exact else ', subsampled'}); label model {type(self.label_model).__name__}"
            f"{', end model on' if self.end_model is not None else ', no end model'}."
        )


# ---------------------------------------------------------------------------------------------- saving


def _split_arrays(value: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """``value`` as JSON data, each numpy array replaced by ``{"__ndarray__": key}`` and stored in ``arrays``.

    ``path`` (where the value sits, e.g. ``state._weights``) only names things in error messages; archive
    keys are ``a0``, ``a1``, ... so that any parameter name can be saved.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise ValueError(f"Cannot save array {path!r} of dtype {value.dtype} in a bundle (numbers only).")
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(value)
        return {_ARRAY_TAG: key}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"Cannot save parameter name {key!r} of {path or 'the parameters'} (not a string).")
            out[key] = _split_arrays(item, arrays, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, list | tuple):
        return [_split_arrays(item, arrays, f"{path}.{i}") for i, item in enumerate(value)]
    if isinstance(value, np.generic):
        return _split_arrays(value.item(), arrays, path)
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}  # JSON has no inf/nan; tagged so it reads back exactly
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"Cannot save parameter {path!r} of type {type(value).__name__} in a bundle.")


def _join_arrays(value: Any, arrays: Mapping[str, np.ndarray], where: str) -> Any:
    """Inverse of :func:`_split_arrays`; every reference must name an array of the archive."""
    if isinstance(value, dict):
        if set(value) == {_ARRAY_TAG}:
            key = value[_ARRAY_TAG]
            if not isinstance(key, str) or key not in arrays:
                raise BundleIntegrityError(f"{where} refers to array {key!r}, which the bundle does not hold.")
            return arrays[key]
        if set(value) == {"__float__"}:
            text = value["__float__"]
            if text not in ("inf", "-inf", "nan"):
                raise BundleIntegrityError(f"{where} holds an invalid number {text!r}.")
            return float(text)
        return {key: _join_arrays(item, arrays, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_join_arrays(item, arrays, where) for item in value]
    return value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:  # a handle, so numpy does not append ".npz" to the name
        np.savez(handle, **arrays)


def _threshold_json(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def save_bundle(
    path: str | os.PathLike[str],
    *,
    lfs: Sequence[BaseLF],
    thresholds: Any,
    class_names: Sequence[str],
    text_column: str,
    label_model: LabelModel,
    embedder: EmbeddingSource | Mapping[str, Any] | str,
    embeddings: Any,
    L: Any,
    end_model: EndModel | None = None,
    metric: str = "cosine",
    max_voters_per_lf: int | None = DEFAULT_MAX_VOTERS_PER_LF,
    random_state: int = 0,
    info: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a bundle folder (see the module docstring for its layout and guarantees).

    Parameters
    ----------
    path : path
        The folder to create.  It is written beside itself and renamed into place, so a crash never leaves a
        half-written bundle under the name.
    lfs : sequence of BaseLF
        The LF set, in label-matrix column order (LFs written as Python code cannot be saved).
    thresholds : float or array-like of shape (n_lfs,)
        Extension thresholds, ``+inf`` for an LF whose extension is off.
    class_names : sequence of str
    text_column : str
        The column the LFs and the embedder read.
    label_model : LabelModel
        Fitted on the project's extended votes.
    embedder : EmbeddingSource, its dict, or a model name
        The embedder of ``embeddings`` (see :func:`portable_embedder` for which ones a bundle can carry).
    embeddings : array-like of shape (n_rows, d)
        The project rows' embeddings.
    L : array-like of shape (n_rows, n_lfs)
        The LFs' own votes on the project rows.
    end_model : EndModel, optional
        Fitted on ``embeddings``; when given it makes the final labels.
    metric : {"cosine", "euclidean"}, default "cosine"
    max_voters_per_lf : int or None, default :data:`DEFAULT_MAX_VOTERS_PER_LF`
        See :func:`build_support_set`.
    random_state : int, default 0
    info : mapping, optional
        JSON-able descriptive fields kept in ``bundle.json`` (e.g. the project size, the tuning summary).
    overwrite : bool, default False
        Replace an existing bundle at ``path`` (a folder that is not a bundle is never replaced).

    Returns
    -------
    pathlib.Path
        The bundle folder.

    Raises
    ------
    ValueError
        For inputs that disagree, an embedder a bundle cannot carry, an existing ``path`` without
        ``overwrite``, or a model that cannot be saved.
    """
    target = Path(path)
    source = portable_embedder(embedder)
    lf_list = list(lfs)
    lf_document = json.loads(lfs_to_json(lf_list))  # validates: no code LFs, unique names, limits
    L = check_label_matrix(L, len(class_names))
    if L.shape[1] != len(lf_list):
        raise ValueError(f"L has {L.shape[1]} LF columns but {len(lf_list)} LFs were given.")
    limits = thresholds_array(thresholds, len(lf_list))
    n_lfs_model = getattr(label_model, "n_lfs_", None)
    if n_lfs_model is not None and int(n_lfs_model) != len(lf_list):
        raise ValueError(f"The label model was fitted on {n_lfs_model} LFs but {len(lf_list)} LFs were given.")
    support = build_support_set(
        L, embeddings, limits, max_voters_per_lf=max_voters_per_lf, metric=metric, random_state=random_state
    )
    if end_model is not None and int(end_model.n_features_in_) != support.embeddings.shape[1]:
        raise ValueError(
            f"The end model expects {end_model.n_features_in_}-d inputs but the embeddings are "
            f"{support.embeddings.shape[1]}-d."
        )
    assert source.model is not None
    probe = embed_texts(list(PROBE_TEXTS), model=source.model)
    if probe.shape[1] != support.embeddings.shape[1]:
        raise ValueError(
            f"The embeddings are {support.embeddings.shape[1]}-d but {source.label} gives {probe.shape[1]}-d "
            "vectors: pass the embedder that made them."
        )
    if target.exists():
        if not overwrite:
            raise ValueError(f"{target} already exists; choose another path or allow overwriting.")
        if not (target / "manifest.json").is_file():
            raise ValueError(f"{target} exists and is not a bundle folder; refusing to replace it.")

    from epoxy_core.model.balance import _check_balance

    lm_arrays: dict[str, np.ndarray] = {}
    lm_params = _split_arrays(label_model.to_params(), lm_arrays, "")
    document: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "class_names": [str(c) for c in class_names],
        "text_column": str(text_column),
        "metric": metric,
        "lfs": lf_document,
        "thresholds": [_threshold_json(t) for t in limits],
        "class_balance": _check_balance(label_model.class_balance_, len(class_names)).tolist(),
        "embedder": {
            "source": source.to_dict(),
            "dim": int(probe.shape[1]),
            "fingerprint": embedder_fingerprint(source.model),
            "probe_texts": list(PROBE_TEXTS),
        },
        "support": {
            "n_rows": int(support.embeddings.shape[0]),
            "max_voters_per_lf": support.max_voters_per_lf,
            "random_state": support.random_state,
            "voters_per_lf": support.voters.tolist(),
            "kept_per_lf": support.kept.tolist(),
            "exact": support.exact,
            "rule": (
                "per LF with extension on: every row it voted on itself; above max_voters_per_lf a random "
                "sample of that many, stratified by the class voted (largest remainder), "
                "numpy.random.default_rng([random_state, lf_index])"
            ),
        },
        "label_model": lm_params,
        "end_model": None,
        "info": _split_arrays(dict(info or {}), {}, "info"),
    }
    files: dict[str, Mapping[str, np.ndarray]] = {
        "label_model.npz": lm_arrays,
        "support.npz": {"embeddings": support.embeddings, "votes": support.votes, "rows": support.rows},
        "probe.npz": {"embeddings": probe},
    }
    examples = {
        f"lf_{j}": np.ascontiguousarray(prepare_embeddings(embeddings, metric)[list(lf.rows)])
        for j, lf in enumerate(lf_list)
        if isinstance(lf, SimilarityLF) and lf.rows
    }
    if examples:
        # A similarity LF's example rows are project rows: new data cannot point at them, so their vectors travel.
        files["similarity.npz"] = examples
    if end_model is not None:
        em_arrays: dict[str, np.ndarray] = {}
        document["end_model"] = _split_arrays(end_model.to_params(), em_arrays, "")
        files["end_model.npz"] = em_arrays

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _write_json(staging / "bundle.json", document)
        for name, arrays in files.items():
            _write_npz(staging / name, arrays)
        manifest = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "files": {
                name: {"sha256": _sha256(staging / name), "bytes": (staging / name).stat().st_size}
                for name in sorted(["bundle.json", *files])
            },
        }
        _write_json(staging / "manifest.json", manifest)
        if target.exists():
            retired = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(retired)
            staging.rename(target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


# ---------------------------------------------------------------------------------------------- loading


def _read_json(path: Path, what: str) -> Any:
    size = path.stat().st_size
    if size > _MAX_JSON_BYTES:
        raise BundleIntegrityError(f"{what} is {size:,} bytes, larger than any bundle writes; it is not a bundle.")
    try:
        return loads_strict(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BundleIntegrityError(f"{what} is not valid JSON ({error}); the bundle is damaged.") from None


def _read_npz(path: Path, name: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, KeyError) as error:  # object arrays, truncated or non-zip files
        raise BundleIntegrityError(f"{name} in the bundle cannot be read as numeric arrays ({error}).") from None
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise BundleIntegrityError(f"{name} holds array {key!r} of dtype {array.dtype}; bundles hold numbers.")
    return arrays


def _check_manifest(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise BundleError(f"No bundle at {folder}: the folder does not exist.")
    if not folder.is_dir():
        raise BundleError(f"{folder} is a file, not a bundle folder (a bundle is a folder with a manifest.json).")
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise BundleError(f"{folder} is not a bundle: it has no manifest.json.")
    manifest = _read_json(manifest_path, "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{folder} is not an Epoxy bundle (manifest.json names another format).")
    version = manifest.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BundleVersionError(f"The bundle at {folder} has an invalid format version {version!r:.40}.")
    if version > BUNDLE_VERSION:
        raise BundleVersionError(
            f"The bundle at {folder} has format version {version}, newer than this Epoxy Studio reads "
            f"({BUNDLE_VERSION}): upgrade epoxy-studio, or export the bundle again with this version."
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or "bundle.json" not in files:
        raise BundleIntegrityError("manifest.json does not list the bundle's files; the bundle is damaged.")
    for name in files:  # names first: nothing outside the folder is ever opened
        if not isinstance(name, str) or not _FILE_NAME.match(name) or name not in _FILES:
            raise BundleIntegrityError(f"manifest.json lists an unexpected file {name!r:.60}.")
    for name, entry in files.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not isinstance(entry.get("bytes"), int)
        ):
            raise BundleIntegrityError(f"manifest.json has no checksum for {name}.")
        file = folder / name
        if not file.is_file():
            raise BundleIntegrityError(f"The bundle is missing {name}; copy the whole folder.")
        if file.stat().st_size != entry["bytes"] or _sha256(file) != entry["sha256"]:
            raise BundleIntegrityError(
                f"{name} in the bundle at {folder} changed since the bundle was saved (checksum mismatch): "
                "it is damaged or was edited. Export the bundle again."
            )
    return files


def _field(document: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    if key not in document:
        raise BundleIntegrityError(f"bundle.json has no {what} ({key!r}).")
    value = document[key]
    if not isinstance(value, kind):
        raise BundleIntegrityError(f"bundle.json: {what} ({key!r}) has the wrong type ({type(value).__name__}).")
    return value


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read and check a bundle folder written by :func:`save_bundle`.

    Parameters
    ----------
    path : path
        The bundle folder.

    Returns
    -------
    Bundle

    Raises
    ------
    BundleVersionError
        The format version is newer than (or unknown to) this Epoxy Studio.
    BundleIntegrityError
        A file is missing, changed since saving (checksum), or holds invalid content.
    BundleError
        Anything else that makes the folder unusable (not a bundle, an LF or model that cannot be rebuilt).

    Examples
    --------
    >>> bundle = load_bundle("spam.bundle")  # doctest: +SKIP
    >>> print(bundle.describe())  # doctest: +SKIP
    """
    folder = Path(path)
    files = _check_manifest(folder)
    document = _read_json(folder / "bundle.json", "bundle.json")
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise BundleIntegrityError("bundle.json is not an Epoxy bundle document.")
    if document.get("version") != BUNDLE_VERSION:
        raise BundleVersionError(
            f"bundle.json has version {document.get('version')!r:.40} but the manifest says {BUNDLE_VERSION}."
        )
    arrays = {name: _read_npz(folder / name, name) for name in files if name.endswith(".npz")}
    for needed in ("label_model.npz", "support.npz", "probe.npz"):
        if needed not in arrays:
            raise BundleIntegrityError(f"The bundle has no {needed}.")
    try:
        return _build(document, arrays, folder)
    except BundleError:
        raise
    except (ValueError, TypeError, KeyError) as error:
        raise BundleIntegrityError(f"The bundle at {folder} holds invalid content: {error}") from None


def _build(document: dict[str, Any], arrays: dict[str, dict[str, np.ndarray]], folder: Path) -> Bundle:
    class_names = _field(document, "class_names", list, "the class names")
    if len(class_names) < 2 or not all(isinstance(c, str) and c for c in class_names):
        raise BundleIntegrityError("bundle.json: the class names must be at least two non-empty strings.")
    if len(set(class_names)) != len(class_names):
        raise BundleIntegrityError("bundle.json: the class names repeat.")
    cardinality = len(class_names)
    text_column = _field(document, "text_column", str, "the text column")
    metric = _field(document, "metric", str, "the metric")
    if metric not in ("cosine", "euclidean"):
        raise BundleIntegrityError(f"bundle.json: unknown metric {metric!r:.40}.")
    try:
        lfs = lfs_from_json(json.dumps(_field(document, "lfs", dict, "the LF set")))
    except ValueError as error:
        raise BundleError(f"The bundle's LF set cannot be loaded here: {error}") from None
    n_lfs = len(lfs)
    raw_thresholds = _field(document, "thresholds", list, "the thresholds")
    if len(raw_thresholds) != n_lfs or not all(
        t is None or (isinstance(t, int | float) and not isinstance(t, bool) and math.isfinite(t))
        for t in raw_thresholds
    ):
        raise BundleIntegrityError(f"bundle.json: thresholds must be {n_lfs} numbers or nulls (extension off).")
    thresholds = np.array([math.inf if t is None else float(t) for t in raw_thresholds], dtype=np.float64)

    embedder_doc = _field(document, "embedder", dict, "the embedder")
    try:
        source = portable_embedder(EmbeddingSource.from_dict(embedder_doc.get("source", {})))
    except ValueError as error:
        raise BundleError(f"The bundle's embedder cannot be used: {error}") from None
    probe = arrays["probe.npz"].get("embeddings")
    if probe is None or probe.ndim != 2 or probe.shape[0] != len(PROBE_TEXTS) or probe.dtype != np.float32:
        raise BundleIntegrityError("probe.npz does not hold the embedder's probe vectors.")
    if embedder_doc.get("dim") != probe.shape[1]:
        raise BundleIntegrityError("bundle.json: the embedder dimension disagrees with the probe vectors.")

    support_arrays = arrays["support.npz"]
    support_doc = _field(document, "support", dict, "the support set")
    embeddings = support_arrays.get("embeddings")
    votes = support_arrays.get("votes")
    rows = support_arrays.get("rows")
    if embeddings is None or votes is None or rows is None:
        raise BundleIntegrityError("support.npz must hold embeddings, votes and rows.")
    if embeddings.dtype != np.float32 or embeddings.ndim != 2 or embeddings.shape[1] != probe.shape[1]:
        raise BundleIntegrityError(f"support.npz: embeddings must be float32 of shape (n, {probe.shape[1]}).")
    if not np.all(np.isfinite(embeddings)):
        raise BundleIntegrityError("support.npz: the embeddings hold NaN or infinite values.")
    votes = check_label_matrix(votes, cardinality)
    if votes.shape != (embeddings.shape[0], n_lfs) or rows.shape != (embeddings.shape[0],):
        raise BundleIntegrityError(
            f"support.npz: votes must have shape ({embeddings.shape[0]}, {n_lfs}) and rows ({embeddings.shape[0]},)."
        )
    cap = support_doc.get("max_voters_per_lf")
    voters = support_doc.get("voters_per_lf")
    if (cap is not None and (not isinstance(cap, int) or cap < 1)) or not (
        isinstance(voters, list) and len(voters) == n_lfs and all(isinstance(v, int) and v >= 0 for v in voters)
    ):
        raise BundleIntegrityError("bundle.json: the support set description is invalid.")
    support = SupportSet(
        embeddings=np.ascontiguousarray(embeddings),
        votes=votes,
        rows=rows.astype(np.int64),
        voters=np.asarray(voters, dtype=np.int64),
        max_voters_per_lf=cap,
        random_state=int(support_doc.get("random_state", 0)),
    )

    try:
        label_model = LabelModel.from_params(
            _join_arrays(
                _field(document, "label_model", dict, "the label model"), arrays["label_model.npz"], "label_model"
            )
        )
    except ValueError as error:
        raise BundleError(f"The bundle's label model cannot be rebuilt here: {error}") from None
    if int(label_model.n_lfs_) != n_lfs or int(label_model.cardinality) != cardinality:
        raise BundleIntegrityError("The label model does not match the bundle's LFs or classes.")
    end_model = None
    if document.get("end_model") is not None:
        if "end_model.npz" not in arrays:
            raise BundleIntegrityError("The bundle has an end model but no end_model.npz.")
        try:
            end_model = EndModel.from_params(_join_arrays(document["end_model"], arrays["end_model.npz"], "end_model"))
        except ValueError as error:
            raise BundleError(f"The bundle's end model cannot be rebuilt here: {error}") from None
        if end_model.n_classes_ != cardinality or end_model.n_features_in_ != probe.shape[1]:
            raise BundleIntegrityError("The end model does not match the bundle's classes or embedding dimension.")
    examples: dict[int, np.ndarray] = {}
    for key, vectors in arrays.get("similarity.npz", {}).items():
        j = int(key[3:]) if re.fullmatch(r"lf_\d{1,4}", key) else -1
        lf = lfs[j] if 0 <= j < n_lfs else None
        if not isinstance(lf, SimilarityLF) or vectors.shape != (len(lf.rows), probe.shape[1]):
            raise BundleIntegrityError(f"similarity.npz: {key!r} does not match a similarity LF's example rows.")
        examples[j] = np.ascontiguousarray(vectors, dtype=np.float32)
    missing = [lf.name for lf in lfs if isinstance(lf, SimilarityLF) and lf.rows and lfs.index(lf) not in examples]
    if missing:
        raise BundleIntegrityError(f"The bundle misses the example rows of similarity LF {missing[0]!r}.")
    info = document.get("info") or {}
    if not isinstance(info, dict):
        raise BundleIntegrityError("bundle.json: info must be an object.")
    return Bundle(
        lfs=lfs,
        thresholds=thresholds,
        class_names=list(class_names),
        text_column=text_column,
        label_model=label_model,
        end_model=end_model,
        embedder=source,
        support=support,
        probe=probe,
        metric=metric,
        examples=examples,
        info={**info, "created": document.get("created")},
        path=folder,
    )
