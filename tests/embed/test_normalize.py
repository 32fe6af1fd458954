"""Unit rows, and the deterministic fallback that replaces a zero row."""

from __future__ import annotations

import numpy as np
import pytest

from epoxy_core.embed.normalize import l2_normalize


def test_zero_rows_get_distinct_unit_vectors_without_seeds():
    X = l2_normalize(np.zeros((2, 64)))
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-6)
    assert abs(X[0] @ X[1]) < 0.5
    np.testing.assert_array_equal(X, l2_normalize(np.zeros((2, 64))))


def test_zero_rows_with_equal_seeds_share_their_fallback():
    X = l2_normalize(np.zeros((3, 64)), seeds=["", "x", ""])
    np.testing.assert_array_equal(X[0], X[2])
    assert abs(X[0] @ X[1]) < 0.5


def test_the_input_is_not_modified_and_must_be_2d():
    vectors = np.array([[3.0, 4.0]])
    l2_normalize(vectors)
    np.testing.assert_array_equal(vectors, [[3.0, 4.0]])
    with pytest.raises(ValueError, match="2-D"):
        l2_normalize(np.ones(3))
