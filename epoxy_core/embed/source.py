"""Where a dataset's embeddings come from, as one typed value: a text model, numeric columns, or an uploaded ``.npy``.

An :class:`EmbeddingSource` replaces the settings strings the app used to build and parse
(``"minilm"``, ``"columns:[...]"``, ``"npy:<sha>"``); :func:`embed_source` computes the
embeddings of any source, and :func:`source_key` says what they depend on (for cache keys).

>>> source = EmbeddingSource.parse_legacy('columns:["x", "y"]')
>>> source.kind, source.columns, source.label
('columns', ('x', 'y'), 'numeric columns x, y')
>>> EmbeddingSource.from_dict(source.to_dict()) == source
True
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from epoxy_core.cache import content_key
from epoxy_core.data.io import DEFAULT_MAX_BYTES, read_bytes
from epoxy_core.embed.base import ProgressCallback, _call_progress
from epoxy_core.embed.registry import DEFAULT_MODEL, cached_embed_texts, check_model, default_model, model_label
from epoxy_core.embed.vectors import embeddings_from_columns, load_embeddings_npy

__all__ = ["SOURCE_KINDS", "EmbeddingSource", "SourceKind", "embed_source", "save_npy_upload", "source_key"]

SourceKind = Literal["model", "npy", "columns"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("model", "npy", "columns")

_DIGEST = re.compile(r"^[0-9a-f]{8,64}$")
_FIELDS = ("kind", "model", "columns", "npy_digest")


@dataclass(frozen=True)
class EmbeddingSource:
    """Where the embeddings of a dataset come from.

    Build one with :meth:`model_source`, :meth:`columns_source` or :meth:`npy_source`; the
    constructor validates every combination and raises ValueError for an impossible one.

    Attributes
    ----------
    kind : {"model", "npy", "columns"}
        A text embedder applied to the text column, an uploaded ``.npy`` (stored in the data
        dir under its digest), or numeric columns of the table.
    model : str or None
        For ``kind="model"``: ``"minilm"``, ``"wordllama"``, ``"tfidf"``, ``"st:<name>"`` or
        ``"onnx:<folder>"`` (see :func:`epoxy_core.embed.embed_texts`).
    columns : tuple of str
        For ``kind="columns"``: the numeric columns, in order.
    npy_digest : str or None
        For ``kind="npy"``: the lower-case hex digest naming the stored file.
    """

    kind: SourceKind
    model: str | None = None
    columns: tuple[str, ...] = ()
    npy_digest: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"Embedding source kind must be one of {list(SOURCE_KINDS)}, got {self.kind!r}.")
        if isinstance(self.columns, str) or not isinstance(self.columns, Sequence):
            raise ValueError(f"columns must be a list of column names, got {self.columns!r}.")
        object.__setattr__(self, "columns", tuple(self.columns))  # a list given by a caller becomes hashable
        given = {
            "model": self.model is not None,
            "columns": bool(self.columns),
            "npy_digest": self.npy_digest is not None,
        }
        needed = {"model": "model", "columns": "columns", "npy": "npy_digest"}[self.kind]
        extra = [name for name, present in given.items() if present and name != needed]
        if extra:
            raise ValueError(f"An embedding source of kind {self.kind!r} takes no {' or '.join(extra)}.")
        if self.kind == "model":
            if not isinstance(self.model, str):
                raise ValueError("An embedding source of kind 'model' needs a model name, e.g. 'minilm'.")
            check_model(self.model)
        elif self.kind == "columns":
            if not self.columns:
                raise ValueError("An embedding source of kind 'columns' needs at least one column name.")
            bad = [c for c in self.columns if not isinstance(c, str) or not c]
            if bad:
                raise ValueError(f"Column names must be non-empty strings; got {bad}.")
            if len(set(self.columns)) != len(self.columns):
                raise ValueError(
                    f"Columns are listed twice: {sorted({c for c in self.columns if self.columns.count(c) > 1})}."
                )
        elif not isinstance(self.npy_digest, str) or not _DIGEST.match(self.npy_digest):
            # The digest becomes a file name: only hex digits, so it can never point elsewhere.
            raise ValueError(f"npy_digest must be 8-64 lower-case hex digits, got {self.npy_digest!r}.")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def model_source(cls, name: str = DEFAULT_MODEL) -> EmbeddingSource:
        """A text embedder applied to the dataset's text column."""
        return cls(kind="model", model=name)

    @classmethod
    def default(cls, n_rows: int | None = None) -> EmbeddingSource:
        """The measured default text embedder for a table of ``n_rows`` rows (see :func:`default_model`)."""
        return cls.model_source(default_model(n_rows))

    @classmethod
    def columns_source(cls, columns: Sequence[str]) -> EmbeddingSource:
        """Numeric columns of the table (standardised, then L2-normalised)."""
        return cls(kind="columns", columns=tuple(columns) if not isinstance(columns, str) else columns)

    @classmethod
    def npy_source(cls, digest: str) -> EmbeddingSource:
        """An uploaded ``.npy`` stored under ``digest`` (see :func:`save_npy_upload`)."""
        return cls(kind="npy", npy_digest=digest)

    @classmethod
    def parse_legacy(cls, text: str) -> EmbeddingSource:
        """Read an old settings string: ``"minilm"`` (any model string), ``"columns:[...json...]"``, ``"npy:<sha>"``.

        Examples
        --------
        >>> EmbeddingSource.parse_legacy("npy:0123abcd")
        EmbeddingSource(kind='npy', model=None, columns=(), npy_digest='0123abcd')
        """
        if not isinstance(text, str):
            raise ValueError(f"An embedding source string must be a str, got {type(text).__name__}.")
        if text.startswith("columns:"):
            try:
                columns = json.loads(text[len("columns:") :])
            except json.JSONDecodeError as error:
                raise ValueError(f"{text!r}: the columns after 'columns:' are not a JSON list ({error}).") from None
            if not isinstance(columns, list):
                raise ValueError(f"{text!r}: the columns after 'columns:' must be a JSON list of names.")
            return cls.columns_source(columns)
        if text.startswith("npy:"):
            return cls.npy_source(text[len("npy:") :])
        return cls.model_source(text)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmbeddingSource:
        """Rebuild a source from :meth:`to_dict` output, validating every field (ValueError)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"An embedding source must be a mapping (from to_dict), got {type(data).__name__}.")
        unknown = sorted(str(key) for key in data if key not in _FIELDS)
        if unknown:
            raise ValueError(f"Unknown embedding source fields {unknown}; expected some of {list(_FIELDS)}.")
        if "kind" not in data:
            raise ValueError("An embedding source needs a 'kind': 'model', 'npy' or 'columns'.")
        columns = data.get("columns", ())
        if isinstance(columns, str) or not isinstance(columns, (list, tuple)):
            raise ValueError(f"'columns' must be a list of column names, got {columns!r}.")
        return cls(
            kind=data["kind"], model=data.get("model"), columns=tuple(columns), npy_digest=data.get("npy_digest")
        )

    @classmethod
    def from_value(cls, value: EmbeddingSource | Mapping[str, Any] | str) -> EmbeddingSource:
        """Accept a source, its :meth:`to_dict` form or a legacy string (stored settings of any age)."""
        if isinstance(value, EmbeddingSource):
            return value
        if isinstance(value, str):
            return cls.parse_legacy(value)
        return cls.from_dict(value)

    # ------------------------------------------------------------------ views

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields: ``kind`` plus the one field that kind uses."""
        if self.kind == "model":
            return {"kind": "model", "model": self.model}
        if self.kind == "columns":
            return {"kind": "columns", "columns": list(self.columns)}
        return {"kind": "npy", "npy_digest": self.npy_digest}

    @property
    def embeds_new_texts(self) -> bool:
        """Whether a text outside the table lands in the rows' space: a text model, not TF-IDF, columns or a file.

        TF-IDF is fitted on the table (vocabulary and SVD), so a new text embedded alone would not; uploaded
        vectors and numeric columns come with the table and have no model for a new text.

        >>> [EmbeddingSource.model_source(m).embeds_new_texts for m in ("wordllama", "tfidf")]
        [True, False]
        """
        return self.kind == "model" and self.model is not None and self.model != "tfidf"

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``"MiniLM-L6 (int8 ONNX)"`` or ``"numeric columns a, b"``."""
        if self.kind == "model":
            assert self.model is not None
            return model_label(self.model)
        if self.kind == "columns":
            return "numeric columns " + ", ".join(self.columns)
        assert self.npy_digest is not None
        return f"uploaded .npy ({self.npy_digest[:8]})"

    def npy_path(self, npy_dir: str | Path) -> Path:
        """Where the uploaded file of an ``npy`` source is stored in ``npy_dir``."""
        if self.kind != "npy":
            raise ValueError(f"Only an 'npy' embedding source has a file; this one is {self.kind!r}.")
        return Path(npy_dir) / f"{self.npy_digest}.npy"


# ---------------------------------------------------------------------------------------------- computing


def _row_count(df: pd.DataFrame | None, texts: Sequence[str] | None) -> int:
    if df is not None and texts is not None and len(df) != len(texts):
        raise ValueError(f"The table has {len(df)} rows but {len(texts)} texts were given; pass one text per row.")
    if df is not None:
        return len(df)
    if texts is not None:
        return len(texts)
    raise ValueError("Pass the table (df) or its texts: the number of rows is needed.")


def embed_source(
    source: EmbeddingSource,
    df: pd.DataFrame | None,
    texts: Sequence[str] | None,
    *,
    npy_dir: str | Path,
    progress: ProgressCallback | None = None,
) -> npt.NDArray[np.float32]:
    """The embeddings of a dataset from any source: float32 ``(n, d)``, unit rows, in row order.

    Parameters
    ----------
    source : EmbeddingSource
    df : pandas.DataFrame or None
        The table (needed for ``kind="columns"``).
    texts : sequence of str or None
        One text per row (needed for ``kind="model"``).
    npy_dir : path
        The folder :func:`save_npy_upload` stored uploads in (used for ``kind="npy"``).
    progress : callable, optional
        ``progress(done_rows, total_rows)``; called per batch while a model embeds, once
        otherwise (also on a cache hit).

    Returns
    -------
    numpy.ndarray of float32, shape (n, d)

    Raises
    ------
    ValueError
        For a missing input, an uploaded file that is gone or no longer matches the table,
        bad columns, or a model that cannot run here.

    Notes
    -----
    Text embeddings are cached on disk (:func:`~epoxy_core.embed.cached_embed_texts`):
    the second call with the same texts and model reads a file.  Columns and uploads are
    cheap to recompute and are not cached again.
    """
    if not isinstance(source, EmbeddingSource):
        raise ValueError(
            f"source must be an EmbeddingSource, got {type(source).__name__}; see EmbeddingSource.from_value."
        )
    n_rows = _row_count(df, texts)
    if source.kind == "model":
        if texts is None:
            raise ValueError(f"Embedding with {source.label} needs the texts.")
        assert source.model is not None
        return cached_embed_texts(texts, model=source.model, progress=progress)
    if source.kind == "columns":
        if df is None:
            raise ValueError(f"Embedding {source.label} needs the table.")
        vectors = embeddings_from_columns(df, source.columns)
    else:
        path = source.npy_path(npy_dir)
        if not path.is_file():
            raise ValueError("The uploaded embeddings file is gone from the data dir; upload the .npy again.")
        vectors = load_embeddings_npy(path, n_rows)
    _call_progress(progress, n_rows, n_rows)
    return vectors


def source_key(source: EmbeddingSource, df: pd.DataFrame | None, texts: Sequence[str] | None) -> str:
    """A digest of what the embeddings of ``source`` depend on: the texts or the chosen columns, not the whole table.

    Editing an unrelated column (importing votes, say) keeps the key, so caches keyed by it
    (embeddings, the graph) stay valid.  32 hex digits.
    """
    n_rows = _row_count(df, texts)
    parts: list[Any] = ["embed_source/v1", source.to_dict(), n_rows]
    if source.kind == "model":
        if texts is None:
            raise ValueError(f"Embedding with {source.label} needs the texts.")
        parts.append(list(texts))
    elif source.kind == "columns":
        if df is None:
            raise ValueError(f"Embedding {source.label} needs the table.")
        missing = [c for c in source.columns if c not in df.columns]
        if missing:
            raise ValueError(f"Columns not in the table: {missing}.")
        parts.append(pd.util.hash_pandas_object(df[list(source.columns)], index=False).to_numpy())
    return content_key(*parts)[:32]


def save_npy_upload(
    data: bytes | str | Path | BinaryIO,
    n_rows: int,
    *,
    npy_dir: str | Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> EmbeddingSource:
    """Validate an uploaded ``.npy`` of embeddings and store it in ``npy_dir``; return its source.

    The file is checked before anything is written (see
    :func:`~epoxy_core.embed.load_embeddings_npy`) and stored L2-normalised as float32 under
    the first 32 hex digits of the upload's SHA-256, written atomically (a crash never leaves
    a half-written file under the real name).  Uploading the same file again writes nothing.

    Raises
    ------
    ValueError
        If the file is over ``max_bytes`` or is not a usable ``(n_rows, d)`` numeric array.
    """
    raw = read_bytes(data, "The embeddings file", max_bytes)
    vectors = load_embeddings_npy(raw, n_rows, max_bytes=max_bytes)
    source = EmbeddingSource.npy_source(hashlib.sha256(raw).hexdigest()[:32])
    target = source.npy_path(npy_dir)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:  # a handle, so numpy does not append ".npy" to the name
                np.save(file, vectors, allow_pickle=False)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return source
