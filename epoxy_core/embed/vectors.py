"""Bring your own vectors: an uploaded ``.npy`` file or numeric columns of the table."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.embed.normalize import l2_normalize


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
