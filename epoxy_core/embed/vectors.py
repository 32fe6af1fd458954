"""Bring your own vectors: an uploaded ``.npy`` file or numeric columns of the table.

:func:`read_npy` is the one safe ``.npy`` reader (size limit, no pickle, dtype and shape checks);
:func:`load_embeddings_npy` builds on it for embeddings, and vote files can use it too.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from epoxy_core.data.io import DEFAULT_MAX_BYTES, read_bytes
from epoxy_core.embed.normalize import l2_normalize

_KIND_NAMES = {"b": "boolean", "i": "integer", "u": "unsigned integer", "f": "float", "c": "complex"}


def read_npy(
    data: bytes | str | Path | BinaryIO,
    *,
    name: str = "the .npy file",
    max_bytes: int = DEFAULT_MAX_BYTES,
    kinds: str = "fiu",
    ndim: int | tuple[int, ...] = 2,
    n_rows: int | None = None,
) -> np.ndarray:
    """Read one array saved with :func:`numpy.save`, refusing anything unsafe or of the wrong shape.

    Parameters
    ----------
    data : bytes, path or binary file object
        The content of a ``.npy`` file (an upload, a path on disk, an open file).
    name : str
        What to call the file in error messages (e.g. the uploaded file name).
    max_bytes : int, default 200 MB
        Larger files are refused before they are read in full (see
        :func:`epoxy_core.data.io.read_bytes`).
    kinds : str, default "fiu"
        Accepted :attr:`numpy.dtype.kind` letters: ``"f"`` float, ``"i"`` / ``"u"`` integers,
        ``"b"`` boolean.  Vote files would pass ``"iu"``.
    ndim : int or tuple of int, default 2
        Accepted numbers of dimensions.
    n_rows : int, optional
        When given, the array must have exactly this many rows (first axis).

    Returns
    -------
    numpy.ndarray
        The array as stored (dtype unchanged).

    Raises
    ------
    ValueError
        For a file over the limit, a file that is not a plain ``.npy`` (a pickle, an ``.npz``),
        an object array, a dtype kind or a number of dimensions not accepted, or the wrong
        number of rows.  Files are read with ``allow_pickle=False``, so a file never runs code.

    Examples
    --------
    >>> buffer = io.BytesIO()
    >>> np.save(buffer, np.array([[1, -1], [0, 1]], dtype=np.int8))
    >>> read_npy(buffer.getvalue(), kinds="iu", n_rows=2).tolist()
    [[1, -1], [0, 1]]
    """
    raw = read_bytes(data, name, max_bytes)
    if not raw.startswith(b"\x93NUMPY"):
        if raw.startswith(b"PK"):
            raise ValueError(f"{name} is an .npz archive; upload a single array saved with numpy.save (.npy).")
        raise ValueError(f"{name} is not a .npy file (no NumPy header); save the array with numpy.save(path, array).")
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as error:
        if "pickle" in str(error).lower() or "object" in str(error).lower():
            raise ValueError(
                f"{name} holds Python objects (an object array); save a numeric array instead, "
                "e.g. numpy.save(path, np.asarray(values, dtype=np.float32))."
            ) from error
        raise ValueError(f"Could not read {name}: {error}") from error
    except (OSError, EOFError) as error:
        raise ValueError(f"{name} is truncated or corrupt: {error}") from error
    if array.dtype.kind not in kinds:
        wanted = " or ".join(_KIND_NAMES.get(kind, kind) for kind in kinds)
        raise ValueError(f"{name} must hold {wanted} numbers; it holds dtype {array.dtype}.")
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if array.ndim not in allowed:
        wanted = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name} must hold a {wanted} array; it holds shape {array.shape}.")
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {array.shape[0]} rows but the dataset has {n_rows}; "
            "it needs exactly one row per dataset row, in dataset order."
        )
    return array


def load_embeddings_npy(
    file_or_bytes: bytes | str | Path | BinaryIO,
    n_rows: int,
    normalize: bool = True,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> npt.NDArray[np.float32]:
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
    max_bytes : int, default 200 MB
        Larger files are refused before they are read in full.

    Returns
    -------
    numpy.ndarray of float32, shape (n_rows, d)

    Raises
    ------
    ValueError
        Everything :func:`read_npy` refuses (with float or integer dtypes, 2-D, ``n_rows`` rows),
        zero dimensions, or NaN / infinite values.
    """
    array = read_npy(file_or_bytes, name="The embeddings file", max_bytes=max_bytes, kinds="fiu", n_rows=n_rows)
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
