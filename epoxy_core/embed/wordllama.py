"""WordLlama: 256-d averaged token embeddings distilled from an LLM, shipped inside its 19 MB wheel.

No neural network runs: a text's vector is the mean of its tokens' rows in a (32000, 256)
matrix, so it embeds thousands of texts per second on one core.  ``pip install wordllama``
brings the weights (``l2_supercat_256``) and the Llama-2 tokenizer; nothing is downloaded.
"""

from __future__ import annotations

import functools
import itertools
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.base import Backend, EmbedderInfo, ProgressCallback, _has_module, _package_dir, embed_batched

WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIM = 256
WORDLLAMA_BATCH_SIZE = 2048  # one batch is a sparse-dense product; small batches only add Python overhead
WORDLLAMA_NOTE = (
    "Offline; ~150x less CPU than MiniLM (100,000 rows in 6-35 s on 2 cores); "
    "as good on short comments, weaker where meaning matters."
)


def _wordllama_dir() -> Path | None:
    return _package_dir("wordllama")


@functools.lru_cache(maxsize=1)
def _load_wordllama() -> tuple[Any, npt.NDArray[np.float32]]:
    """The tokenizer and the token matrix, read from the installed wheel (never from the network)."""
    package = _wordllama_dir()
    if package is None:
        raise ValueError("model='wordllama' needs the wordllama package: pip install wordllama (or use 'tfidf').")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        from wordllama import WordLlama

        # WordLlama.load() looks for the tokenizer in a folder the wheel does not have, then
        # downloads it; the package folder as cache_dir finds both files, and
        # disable_download makes a missing file an error instead of a network call.
        model = WordLlama.load(WORDLLAMA_CONFIG, cache_dir=package, dim=WORDLLAMA_DIM, disable_download=True)
    except (FileNotFoundError, OSError) as error:
        raise ValueError(
            f"The wordllama package is incomplete ({error}); reinstall it: pip install wordllama."
        ) from error
    finally:
        # Importing wordllama calls logging.basicConfig(level=INFO): undo that, it is not ours to set.
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    tokenizer = model.tokenizer
    tokenizer.no_padding()  # batches are summed sparsely below: padding would only be removed again
    tokenizer.no_truncation()
    return tokenizer, np.ascontiguousarray(model.embedding, dtype=np.float32)


def _wordllama_embed(
    _: str, texts: list[str], progress: ProgressCallback | None, batch_size: int
) -> npt.NDArray[np.float32]:
    from scipy import sparse

    tokenizer, matrix = _load_wordllama()
    vocab = matrix.shape[0]

    def encode(chunk: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in tokenizer.encode_batch(chunk, add_special_tokens=False)]

    def run(batch: list[list[int]]) -> npt.NDArray[np.float32]:
        # The mean of a text's token rows, as (token counts) @ matrix: memory grows with the
        # number of tokens, not tokens x 256 as a padded gather would (long texts stay cheap).
        # The sum suffices: rows are L2-normalised afterwards, which removes the 1/length.
        lengths = np.fromiter((len(ids) for ids in batch), dtype=np.int64, count=len(batch))
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        indices = np.fromiter(itertools.chain.from_iterable(batch), dtype=np.int64, count=int(indptr[-1]))
        np.clip(indices, 0, vocab - 1, out=indices)  # as WordLlama does for out-of-range ids
        counts = sparse.csr_matrix(
            (np.ones(indices.size, dtype=np.float32), indices, indptr), shape=(len(batch), vocab)
        )
        return np.asarray(counts @ matrix, dtype=np.float32)

    return embed_batched(texts, run, matrix.shape[1], encode=encode, progress=progress, batch_size=max(batch_size, 1))


def _fingerprint(_: str) -> str:
    package = _wordllama_dir()
    if package is None:
        raise ValueError("model='wordllama' needs the wordllama package: pip install wordllama.")
    weights = package / "weights" / f"{WORDLLAMA_CONFIG}_{WORDLLAMA_DIM}.safetensors"
    stat = f"{weights.stat().st_size}:{weights.stat().st_mtime_ns}" if weights.is_file() else "missing"
    return f"wordllama/v1/{WORDLLAMA_CONFIG}_{WORDLLAMA_DIM}/{weights}:{stat}"


def _describe() -> EmbedderInfo:
    package = _wordllama_dir()
    installed = package is not None and _has_module("safetensors")
    return EmbedderInfo(
        name="wordllama",
        label="WordLlama (256-d, offline)",
        installed=installed,
        dim=WORDLLAMA_DIM,
        note=WORDLLAMA_NOTE if installed else "Not installed: pip install wordllama",
    )


WORDLLAMA_BACKEND = Backend(
    name="wordllama",
    label=lambda _: "WordLlama",
    fingerprint=_fingerprint,
    embed=_wordllama_embed,
    describe=_describe,
    default_batch_size=WORDLLAMA_BATCH_SIZE,
)
