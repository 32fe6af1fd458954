"""Unit-length rows, and the fallback direction that replaces a zero row."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

# Fallback vectors are drawn from a fixed stream so that results are reproducible.
_FALLBACK_SALT = b"epoxy-studio/zero-row-fallback/v1"


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
