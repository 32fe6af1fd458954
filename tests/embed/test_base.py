"""The one batching loop every model backend uses, and the zero-row guard."""

from __future__ import annotations

import numpy as np
import pytest

from epoxy_core.embed.base import embed_batched
from epoxy_core.embed.normalize import l2_normalize


def _letter_counts(batch: list[str]) -> np.ndarray:
    """A toy model: counts of 'a' and 'b', so a text's vector is known exactly."""
    return np.array([[t.count("a"), t.count("b")] for t in batch], dtype=np.float32)


def test_batches_come_back_in_input_order_with_unit_rows():
    texts = ["aaab", "b", "", "ab", "aaaaaaaab", "a"]
    seen: list[list[str]] = []

    def run(batch):
        seen.append(batch)
        return _letter_counts(batch)

    out = embed_batched(texts, run, 2, batch_size=2)
    np.testing.assert_allclose(out, l2_normalize(_letter_counts(texts), seeds=texts), atol=1e-6)
    # Batches hold texts of similar length: shortest first.
    assert seen[0] == ["", "b"] and seen[-1] == ["aaab", "aaaaaaaab"]


def test_encoded_items_are_batched_by_their_length_within_each_chunk():
    texts = ["xx", "x", "xxxx", "xxx"]
    # Token counts deliberately disagree with character counts.
    tokens = {"xx": [1, 1, 1, 1], "x": [1, 1, 1], "xxxx": [1], "xxx": [1, 1]}
    batches: list[list[int]] = []

    def run(batch):
        batches.append([len(item) for item in batch])
        return np.array([[len(item), 1.0] for item in batch])

    progress: list[tuple[int, int]] = []
    out = embed_batched(
        texts,
        run,
        2,
        encode=lambda chunk: [tokens[t] for t in chunk],
        batch_size=2,
        progress=lambda *a: progress.append(a),
    )
    assert batches == [[1, 2], [3, 4]]
    assert progress == [(2, 4), (4, 4)]
    expected = l2_normalize(np.array([[len(tokens[t]), 1.0] for t in texts]))
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_chunks_bound_what_is_encoded_at_once():
    sizes: list[int] = []

    def encode(chunk):
        sizes.append(len(chunk))
        return [[0] * len(t) for t in chunk]

    embed_batched(["a" * i for i in range(10)], lambda b: np.ones((len(b), 3)), 3, encode=encode, chunk_size=4)
    assert sizes == [4, 4, 2]


def test_a_model_returning_the_wrong_shape_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        embed_batched(["a", "b"], lambda batch: np.ones((len(batch), 3)), 2)


def test_empty_input_gives_an_empty_matrix_without_calling_the_model():
    out = embed_batched([], lambda batch: pytest.fail("called"), 7)
    assert out.shape == (0, 7) and out.dtype == np.float32


def test_a_token_budget_puts_long_texts_in_small_batches():
    texts = ["a"] * 6 + ["b" * 50] * 3
    sizes: list[int] = []

    def run(batch):
        sizes.append(len(batch))
        return np.ones((len(batch), 2))

    embed_batched(texts, run, 2, encode=lambda chunk: [[0] * len(t) for t in chunk], batch_size=4, max_batch_tokens=100)
    # Six 1-token texts: batches of at most 4; 50-token texts: two fit in 100 padded tokens.
    assert sizes == [4, 2, 2, 1]
    sizes.clear()
    embed_batched(["x" * 500], run, 2, encode=lambda chunk: [[0] * len(t) for t in chunk], max_batch_tokens=100)
    assert sizes == [1]  # a text longer than the budget still runs, alone
