"""Tests for epoxy_core.model.baselines (majority vote) and epoxy_core.model.balance (the class balance)."""

from __future__ import annotations

import numpy as np
import pytest

from epoxy_core.model.balance import class_balance_from_labels
from epoxy_core.model.baselines import MajorityVote

# -- majority vote ---------------------------------------------------------------------------------
MV_L = np.array([[0, 0, 1], [1, 1, -1], [0, 1, -1], [-1, -1, -1], [2, 2, 0]])


def test_majority_vote_returns_exact_vote_shares():
    proba = MajorityVote(cardinality=3).fit(MV_L, class_balance="uniform").predict_proba(MV_L)
    expected = [[2 / 3, 1 / 3, 0], [0, 1, 0], [1 / 2, 1 / 2, 0], [1 / 3, 1 / 3, 1 / 3], [1 / 3, 0, 2 / 3]]
    np.testing.assert_allclose(proba, expected)


def test_majority_vote_tie_break():
    model = MajorityVote(cardinality=3).fit(MV_L, class_balance="uniform")
    assert model.predict(MV_L).tolist() == [0, 1, 0, 0, 2]
    assert model.predict(MV_L, tie_break="lowest").tolist() == [0, 1, 0, 0, 2]
    assert model.predict(MV_L, tie_break="abstain").tolist() == [0, 1, -1, -1, 2]
    with pytest.raises(ValueError, match="tie_break"):
        model.predict(MV_L, tie_break="random")


def test_majority_vote_rows_without_votes_follow_the_given_class_balance():
    model = MajorityVote(cardinality=3).fit(MV_L, class_balance=[2, 5, 3])
    np.testing.assert_allclose(model.predict_proba(MV_L)[3], [0.2, 0.5, 0.3])
    assert model.predict(MV_L).tolist() == [0, 1, 0, 1, 2]


# -- class balance from labels -----------------------------------------------------------------------
def test_class_balance_from_labels_counts_labeled_rows_with_smoothing():
    np.testing.assert_allclose(class_balance_from_labels([0, 0, 1, -1], 2, smoothing=0), [2 / 3, 1 / 3])
    np.testing.assert_allclose(class_balance_from_labels([0, 0, 1, -1], 2), [3 / 5, 2 / 5])
    np.testing.assert_allclose(class_balance_from_labels([2, 2], 3), [1 / 5, 1 / 5, 3 / 5])
    with pytest.raises(ValueError, match="No labeled rows"):
        class_balance_from_labels([-1, -1], 2, smoothing=0)
    with pytest.raises(ValueError):
        class_balance_from_labels([0, 2], 2)


def test_majority_vote_refuses_invalid_input():
    with pytest.raises(ValueError):
        MajorityVote().fit(MV_L[:, :2] % 2, class_balance=[0.5, 0.25, 0.25])
    with pytest.raises(ValueError):
        MajorityVote().fit([[0, 1]]).predict([[0, 3]])
