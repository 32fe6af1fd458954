"""Bring-your-own vectors: the safe .npy reader, uploaded embeddings, numeric columns."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pandas as pd
import pytest

from epoxy_core.embed.vectors import embeddings_from_columns, load_embeddings_npy, read_npy


def _npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


# ------------------------------------------------------------------ read_npy


def test_read_npy_keeps_the_dtype_and_checks_kind_shape_rows():
    votes = np.array([[1, -1, 0], [0, 1, 1]], dtype=np.int8)
    out = read_npy(_npy_bytes(votes), name="votes.npy", kinds="iu", ndim=(1, 2), n_rows=2)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, votes)
    assert read_npy(_npy_bytes(votes[0]), kinds="iu", ndim=(1, 2)).shape == (3,)
    with pytest.raises(
        ValueError, match=r"votes\.npy must hold integer or unsigned integer numbers; it holds dtype float64"
    ):
        read_npy(_npy_bytes(votes.astype(float)), name="votes.npy", kinds="iu")
    with pytest.raises(ValueError, match="must hold a 2-D array; it holds shape"):
        read_npy(_npy_bytes(votes[None]), ndim=2)
    with pytest.raises(ValueError, match="3 rows but the dataset has 2"):
        read_npy(_npy_bytes(np.zeros((3, 3))), n_rows=2)


def test_read_npy_enforces_the_size_limit_before_reading(tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.zeros((100, 10)))
    with pytest.raises(ValueError, match="too large"):
        read_npy(path, name="big.npy", max_bytes=1000)
    with pytest.raises(ValueError, match="too large"):
        read_npy(io.BytesIO(path.read_bytes()), name="big.npy", max_bytes=1000)
    assert read_npy(path, max_bytes=path.stat().st_size).shape == (100, 10)


# ------------------------------------------------------------------ load_embeddings_npy


def test_load_npy_accepts_bytes_paths_and_files(tmp_path):
    array = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    expected = np.array([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    path = tmp_path / "vectors.npy"
    np.save(path, array)
    for source in (_npy_bytes(array), path, str(path), io.BytesIO(_npy_bytes(array))):
        out = load_embeddings_npy(source, n_rows=3)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected, atol=1e-6)
    raw = load_embeddings_npy(_npy_bytes(array), n_rows=3, normalize=False)
    np.testing.assert_array_equal(raw, array.astype(np.float32))


@pytest.mark.parametrize(
    "payload, message",
    [
        (_npy_bytes(np.ones((4, 2))), "4 rows but the dataset has 3"),
        (_npy_bytes(np.array([[1.0, np.nan], [0, 1], [1, 1]])), "NaN or infinite.*row 0"),
        (_npy_bytes(np.array([[1.0, 0], [0, np.inf], [1, 1]])), "NaN or infinite.*row 1"),
        (_npy_bytes(np.array([[1e300, 0], [0, 1], [1, 1]])), "too large for float32"),
        (_npy_bytes(np.array([[1, "a"], [0, 1], [1, 1]], dtype=object), allow_pickle=True), "object array"),
        (pickle.dumps(np.ones((3, 2))), "not a .npy file"),
        (_npy_bytes(np.array([["a", "b"]] * 3)), "dtype <U1"),
        (_npy_bytes(np.ones((3, 2), dtype=bool)), "dtype bool"),
        (_npy_bytes(np.ones((3, 2), dtype=complex)), "dtype complex"),
        (_npy_bytes(np.ones(3)), "2-D"),
        (_npy_bytes(np.ones((3, 0))), "0 dimensions"),
        (_npy_bytes(np.ones((3, 2)))[:-8], "truncated or corrupt|Could not read"),
    ],
)
def test_load_npy_refuses_bad_files(payload, message):
    with pytest.raises(ValueError, match=message):
        load_embeddings_npy(payload, n_rows=3)


def test_load_npy_refuses_npz_archives_and_missing_files(tmp_path):
    buffer = io.BytesIO()
    np.savez(buffer, a=np.ones((3, 2)))
    with pytest.raises(ValueError, match="npz"):
        load_embeddings_npy(buffer.getvalue(), n_rows=3)
    with pytest.raises(ValueError, match="no file at"):
        load_embeddings_npy(tmp_path / "nothing.npy", n_rows=3)


# ------------------------------------------------------------------ numeric columns


def test_embeddings_from_columns_standardises_then_normalises():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10, 10, 40], "text": ["x", "y", "z"]})
    X = embeddings_from_columns(df, ["a", "b"])
    # a -> [-1.2247, 0, 1.2247], b -> [-0.7071, -0.7071, 1.4142], then unit rows.
    expected = [[-0.8660254, -0.5], [0.0, -1.0], [0.6546537, 0.7559289]]
    np.testing.assert_allclose(X, expected, atol=1e-6)
    assert X.dtype == np.float32


def test_embeddings_from_columns_fills_nan_with_the_column_mean():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [0.0, 1.0, 5.0]})
    X = embeddings_from_columns(df, ["a", "b"])
    # Row 1's missing a becomes the mean (0 after standardising): only b remains.
    np.testing.assert_allclose(X[1], [0.0, -1.0], atol=1e-6)


@pytest.mark.parametrize(
    "columns, message",
    [
        (["a"], "at least two"),
        (["a", "missing"], "not in the table"),
        (["a", "text"], "numeric"),
        (["a", "inf"], "infinite"),
        (["const", "const2"], "constant"),
        (["a", "empty"], "no values"),
    ],
)
def test_embeddings_from_columns_errors(columns, message):
    df = pd.DataFrame(
        {
            "a": [1.0, 2.0, 3.0],
            "text": ["x", "y", "z"],
            "inf": [1.0, np.inf, 0.0],
            "const": [1, 1, 1],
            "const2": [2, 2, 2],
            "empty": [np.nan, np.nan, np.nan],
        }
    )
    with pytest.raises(ValueError, match=message):
        embeddings_from_columns(df, columns)
