"""Compiled (numba) kernels of the label model: vote counting, fused extension + counting, the posterior.

Imported only from :mod:`epoxy_core.model.statistics` and :mod:`epoxy_core.model.triplet` on inputs of at
least ``COMPILED_FROM_ROWS`` rows, so processes that never see a large matrix never import numba.  numba compiles
them on first use (cached on disk under ``data_dir()/numba_cache``: the kernels are module-level functions,
because numba's cache missed every time for kernels defined in a function that call another jitted one).
They run on one thread and release the GIL: each pass takes milliseconds, and on the shared 2-core machine a
parallel version was ~3x slower whenever the other core was busy (100,000 rows x 20 LFs, threshold change
77-85 ms on two numba threads against 23-27 ms on one, load 2.5), and compiled several times slower.

Counting works on bitsets: each (LF, class) feature becomes one bit per row (64 rows per word), built
without branches from an LF-major matrix, so the co-vote count of two features is a popcount of their AND
and the summary's overlaps and conflicts are a few bitwise operations per word.  A per-row loop over the
voting LFs (the obvious kernel) spends most of its time on mispredicted branches: 270 ms against ~20 ms at
1M rows x 20 LFs here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from epoxy_core.neighbors import _import_numba

numba = _import_numba()  # this module is imported only when a kernel is about to run
njit, uint64 = numba.njit, numba.uint64

WORDS_PER_TASK = 64
"""64-row words per block (4,096 rows): a block's votes, similarities and bits stay in the L1/L2 cache."""


@njit(nogil=True, cache=True, inline="always")
def popcount(x):  # pragma: no cover - compiled; LLVM turns this bithack into one instruction
    x = x - ((x >> uint64(1)) & uint64(0x5555555555555555))
    x = (x & uint64(0x3333333333333333)) + ((x >> uint64(2)) & uint64(0x3333333333333333))
    x = (x + (x >> uint64(4))) & uint64(0x0F0F0F0F0F0F0F0F)
    return (x * uint64(0x0101010101010101)) >> uint64(56)


@njit(nogil=True, cache=True)
def feature_bits(votes, C):  # pragma: no cover - compiled
    # votes: (m, n) in any layout.  bits[j * C + c, w]: bit r set when row 64 w + r votes c.
    m, n = votes.shape
    W = (n + 63) // 64
    bits = np.zeros((m * C, W), dtype=np.uint64)
    n_tasks = (W + WORDS_PER_TASK - 1) // WORDS_PER_TASK
    for t in range(n_tasks):
        for w in range(t * WORDS_PER_TASK, min(W, (t + 1) * WORDS_PER_TASK)):
            start = w * 64
            stop = min(n, start + 64)
            for j in range(m):
                for c in range(C):
                    acc = uint64(0)
                    for r in range(stop - start):
                        acc |= uint64(votes[j, start + r] == c) << uint64(r)
                    bits[j * C + c, w] = acc
    return bits


@njit(nogil=True, cache=True)
def extend_bits(similarity, vote, vote_bits, limits, out, C):  # pragma: no cover - compiled
    # similarity, vote, out: (m, n); vote_bits = feature_bits(vote, C), which no threshold changes.
    # out = vote where similarity >= limit, else -1 (limits are float32 thresholds equivalent to the float64
    # ones, see statistics._float32_thresholds); an extended feature's bits are its vote bits masked by the
    # rows kept.  One LF, one 64-row word at a time: the compare-and-pack loop vectorises, 0.3 ms at
    # 100,000 rows x 20 LFs here, where packing each class again from `out` took 9.4 ms.
    m, n = vote.shape
    W = (n + 63) // 64
    bits = np.empty((m * C, W), dtype=np.uint64)
    for j in range(m):
        limit = limits[j]
        for w in range(W):
            start = w * 64
            stop = min(n, start + 64)
            kept = uint64(0)
            for r in range(stop - start):
                kept |= uint64(similarity[j, start + r] >= limit) << uint64(r)
            for c in range(C):
                bits[j * C + c, w] = vote_bits[j * C + c, w] & kept
        for i in range(n):
            out[j, i] = (vote[j, i] + 1) * (similarity[j, i] >= limit) - 1
    return bits


@njit(nogil=True, cache=True)
def co_votes(bits, first, second):  # pragma: no cover - compiled
    # co[f, g] = popcount(bits[f] & bits[g]) summed over the words, for the listed pairs (f, g).
    W = bits.shape[1]
    co = np.zeros((bits.shape[0], bits.shape[0]), dtype=np.int64)
    for p in range(first.size):
        f = first[p]
        g = second[p]
        total = 0
        for w in range(W):
            total += popcount(bits[f, w] & bits[g, w])
        co[f, g] = total
    return co


@njit(nogil=True, cache=True)
def row_counts(bits, m, C):  # pragma: no cover - compiled
    # Per LF: rows where it votes with another LF (overlaps), rows holding two classes (conflicts); rows covered.
    W = bits.shape[1]
    n_tasks = (W + WORDS_PER_TASK - 1) // WORDS_PER_TASK
    overlaps = np.zeros((n_tasks, m), dtype=np.int64)
    conflicts = np.zeros((n_tasks, m), dtype=np.int64)
    covered = np.zeros(n_tasks, dtype=np.int64)
    for t in range(n_tasks):
        for w in range(t * WORDS_PER_TASK, min(W, (t + 1) * WORDS_PER_TASK)):
            once = uint64(0)
            twice = uint64(0)
            for j in range(m):
                voted = uint64(0)
                for c in range(C):
                    voted |= bits[j * C + c, w]
                twice |= once & voted
                once |= voted
            seen = uint64(0)
            several = uint64(0)
            for c in range(C):
                present = uint64(0)
                for j in range(m):
                    present |= bits[j * C + c, w]
                several |= seen & present
                seen |= present
            covered[t] += popcount(once)
            for j in range(m):
                voted = uint64(0)
                for c in range(C):
                    voted |= bits[j * C + c, w]
                overlaps[t, j] += popcount(voted & twice)
                conflicts[t, j] += popcount(voted & several)
    return overlaps.sum(axis=0), conflicts.sum(axis=0), covered.sum()


@njit(nogil=True, cache=True)
def evidence(L, tables, constants):  # pragma: no cover - compiled
    # out[i, r] = constants[r] + sum_j tables[r, j, L[i, j] + 1], summed in LF order; L in any layout.
    n, m = L.shape
    R = tables.shape[0]
    out = np.empty((n, R), dtype=np.float64)
    block = 2048
    n_blocks = (n + block - 1) // block
    for b in range(n_blocks):
        start = b * block
        stop = min(n, start + block)
        for r in range(R):
            for i in range(start, stop):
                out[i, r] = constants[r]
            for j in range(m):
                for i in range(start, stop):
                    out[i, r] += tables[r, j, L[i, j] + 1]
    return out


@njit(nogil=True, cache=True)
def binary_logit(L, table, base):  # pragma: no cover - compiled
    # logit[i] = base + sum_j table[j, L[i, j] + 1] (the same sum as `evidence`, in LF order); table[:, 0],
    # abstaining, is 0, so each term is a select instead of a gather: that loop vectorises (0.3 ms against
    # 0.9 ms at 100,000 rows x 20 LFs here).  The logistic is left to numpy, whose tanh is vectorised too.
    n, m = L.shape
    logit = np.full(n, base)
    block = 2048
    n_blocks = (n + block - 1) // block
    for b in range(n_blocks):
        start = b * block
        stop = min(n, start + block)
        for j in range(m):
            zero = table[j, 1]
            one = table[j, 2]
            for i in range(start, stop):
                vote = L[i, j]
                logit[i] += (vote == 0) * zero + (vote == 1) * one
    return logit


_KERNELS: dict[str, Any] = {
    "feature_bits": feature_bits,
    "extend_bits": extend_bits,
    "co_votes": co_votes,
    "row_counts": row_counts,
    "evidence": evidence,
    "binary_logit": binary_logit,
}


def kernel(name: str) -> Any:
    """The compiled kernel ``name`` (numba compiles it, or loads it from its disk cache, on first call)."""
    return _KERNELS[name]


def warm_up() -> None:
    """Compile (or load from numba's disk cache) every kernel on tiny inputs."""
    L = np.array([[0, 1, -1], [1, 1, 0]], dtype=np.int8)
    bits = kernel("feature_bits")(L.T, 2)
    kernel("extend_bits")(np.ones((3, 2), np.float32), L.T.copy(), bits, np.zeros(3, np.float32), L.T.copy(), 2)
    first, second = np.triu_indices(bits.shape[0])
    kernel("co_votes")(bits, first.astype(np.int64), second.astype(np.int64))
    kernel("row_counts")(bits, 3, 2)
    for layout in (L, np.asfortranarray(L)):  # row-major from apply_lfs, LF-major from the session
        kernel("evidence")(layout, np.zeros((2, 3, 3)), np.zeros(2))
        kernel("binary_logit")(layout, np.zeros((3, 3)), 0.0)
