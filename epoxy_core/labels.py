"""Label-matrix conventions shared by every part of Epoxy Studio.

A *label matrix* ``L`` has one row per data point and one column per labeling
function (LF).  Cell ``L[i, j]`` is the class index (``0 .. C-1``) that LF ``j``
votes for row ``i``, or :data:`ABSTAIN` (``-1``) when the LF has no opinion.
This is Snorkel's convention.  Epoxy and FlyingSquid files use a *signed*
convention instead (``+1`` / ``-1`` votes, ``0`` abstains); :func:`from_signed`
and :func:`to_signed` convert between the two.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

ABSTAIN: int = -1
"""The vote of a labeling function that has no opinion on a row."""

LabelMatrix = npt.NDArray[np.int8] | npt.NDArray[np.int16]
"""A (rows, LFs) integer matrix of class indices with ``ABSTAIN`` for no vote."""

Labels = npt.NDArray[np.int64]
"""A (rows,) vector of gold class indices; ``ABSTAIN`` marks unlabeled rows."""

__all__ = [
    "ABSTAIN",
    "LabelMatrix",
    "Labels",
    "check_label_matrix",
    "check_labels",
    "from_signed",
    "label_dtype",
    "to_signed",
]


def label_dtype(cardinality: int) -> type[np.signedinteger[Any]]:
    """Smallest signed integer dtype that holds ``ABSTAIN`` and classes ``0..cardinality-1``.

    >>> label_dtype(2).__name__, label_dtype(300).__name__
    ('int8', 'int16')
    """
    if cardinality < 1:
        raise ValueError(f"cardinality must be at least 1, got {cardinality}.")
    if cardinality <= np.iinfo(np.int8).max:
        return np.int8
    if cardinality <= np.iinfo(np.int16).max:
        return np.int16
    raise ValueError(f"cardinality {cardinality} is too large: at most {np.iinfo(np.int16).max} classes.")


def _as_integer_array(values: Any, what: str) -> np.ndarray:
    """Return ``values`` as an integer ndarray, refusing NaN, fractions and non-numbers."""
    array = np.asarray(values)
    if array.dtype == object:
        raise ValueError(f"{what} must be numeric; got an object array (mixed or text values).")
    if array.dtype.kind == "b":
        raise ValueError(f"{what} must hold integer class indices, not booleans.")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what} contains NaN or infinite values; use {ABSTAIN} for an abstain.")
        if not np.all(array == np.round(array)):
            raise ValueError(f"{what} contains fractional values; votes must be whole class indices.")
        return array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{what} must be an integer array, got dtype {array.dtype}.")
    return array


def check_label_matrix(L: Any, cardinality: int | None = None, n_rows: int | None = None) -> LabelMatrix:
    """Validate a label matrix and return it as a compact integer array.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Votes: class indices ``0..cardinality-1`` or ``ABSTAIN`` (-1).
    cardinality : int, optional
        Number of classes.  When omitted it is inferred as ``max(L) + 1`` (at least 2).
    n_rows : int, optional
        Expected number of rows (for example the dataset length).

    Returns
    -------
    numpy.ndarray
        ``L`` as int8 (or int16 for more than 127 classes).  The input is not modified;
        a copy is made only when the dtype changes.

    Raises
    ------
    ValueError
        If ``L`` is not 2-D, holds NaN, fractions or values outside ``-1..cardinality-1``,
        or has the wrong number of rows.
    """
    array = _as_integer_array(L, "The label matrix")
    if array.ndim != 2:
        raise ValueError(f"The label matrix must be 2-D (rows, LFs); got shape {array.shape}.")
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(f"The label matrix has {array.shape[0]} rows but the dataset has {n_rows}.")
    high = int(array.max()) if array.size else ABSTAIN
    low = int(array.min()) if array.size else ABSTAIN
    if cardinality is None:
        cardinality = max(2, high + 1)
    if low < ABSTAIN or high >= cardinality:
        raise ValueError(
            f"Label matrix values must be {ABSTAIN} (abstain) or a class index 0..{cardinality - 1}; "
            f"found values from {low} to {high}. Signed (+1/-1/0) votes need from_signed()."
        )
    return array.astype(label_dtype(cardinality), copy=False)


def check_labels(y: Any, cardinality: int | None = None, n_rows: int | None = None) -> Labels:
    """Validate gold labels (``ABSTAIN`` marks an unlabeled row) and return them as int64.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, has the wrong length, or holds values outside ``-1..cardinality-1``.
    """
    array = _as_integer_array(y, "The labels")
    if array.ndim != 1:
        raise ValueError(f"Labels must be a 1-D vector; got shape {array.shape}.")
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(f"There are {array.shape[0]} labels but {n_rows} rows.")
    if array.size:
        low, high = int(array.min()), int(array.max())
        limit = cardinality if cardinality is not None else max(2, high + 1)
        if low < ABSTAIN or high >= limit:
            raise ValueError(
                f"Labels must be {ABSTAIN} (unlabeled) or a class index 0..{limit - 1}; "
                f"found values from {low} to {high}."
            )
    return array.astype(np.int64, copy=False)


def from_signed(L_signed: Any, positive_class: int, negative_class: int | None = None) -> LabelMatrix:
    """Convert a signed vote matrix (+1 / -1 / 0 = abstain) to class indices.

    Parameters
    ----------
    L_signed : array-like of shape (n_rows, n_lfs)
        Signed votes as written by Epoxy and FlyingSquid.
    positive_class : int
        The class index that ``+1`` stands for (0 or 1).  There is no default on purpose:
        files disagree on which class is "positive", and guessing silently flips every vote.
    negative_class : int, optional
        The class index for ``-1``; defaults to the other of 0 and 1.

    Returns
    -------
    numpy.ndarray
        int8 label matrix with ``ABSTAIN`` where the input was 0.

    Examples
    --------
    >>> from_signed([[1, 0, -1]], positive_class=1).tolist()
    [[1, -1, 0]]
    """
    if positive_class not in (0, 1):
        raise ValueError(f"positive_class must be 0 or 1 for a binary signed matrix, got {positive_class!r}.")
    if negative_class is None:
        negative_class = 1 - positive_class
    if negative_class not in (0, 1) or negative_class == positive_class:
        raise ValueError("negative_class must be the other of 0 and 1.")
    signed = _as_integer_array(L_signed, "The signed vote matrix")
    if signed.ndim != 2:
        raise ValueError(f"The signed vote matrix must be 2-D; got shape {signed.shape}.")
    bad = ~np.isin(signed, (-1, 0, 1))
    if bad.any():
        raise ValueError(
            f"A signed vote matrix holds only +1, -1 and 0 (abstain); found {np.unique(signed[bad])[:5].tolist()}."
        )
    L = np.full(signed.shape, ABSTAIN, dtype=np.int8)
    L[signed == 1] = positive_class
    L[signed == -1] = negative_class
    return L


def to_signed(L: Any, positive_class: int) -> npt.NDArray[np.int8]:
    """Convert a binary label matrix to signed votes: ``positive_class`` -> +1, the other -> -1, abstain -> 0.

    >>> to_signed([[1, -1, 0]], positive_class=1).tolist()
    [[1, 0, -1]]
    """
    array = check_label_matrix(L, cardinality=2)
    signed = np.zeros(array.shape, dtype=np.int8)
    signed[array == positive_class] = 1
    signed[(array != positive_class) & (array != ABSTAIN)] = -1
    return signed
