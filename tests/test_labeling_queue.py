"""Tests for epoxy_core.labeling_queue: the orders of the hand-labeling queue."""

from __future__ import annotations

import numpy as np
import pytest

from epoxy_core.labeling_queue import STRATEGIES, least_certain, lf_disagreement, queue_order, random_order


def test_least_certain_puts_the_smallest_margin_first():
    proba = np.array([[0.9, 0.1], [0.52, 0.48], [0.3, 0.7], [0.6, 0.4]])
    assert least_certain(proba).tolist() == [1, 3, 2, 0]


def test_least_certain_ranks_by_the_gap_between_the_two_most_probable_classes():
    # Row 0 is torn between two classes (margin 0.05); row 1 is spread over three but leans (margin 0.2).
    proba = np.array([[0.45, 0.5, 0.05], [0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
    assert least_certain(proba).tolist() == [0, 1, 2]


def test_exclude_takes_row_ids_or_a_mask_and_leaves_those_rows_out():
    proba = np.array([[0.5, 0.5], [0.6, 0.4], [0.7, 0.3], [0.8, 0.2]])
    assert least_certain(proba, exclude=[0, 2]).tolist() == [1, 3]
    assert least_certain(proba, exclude={0, 2}).tolist() == [1, 3]
    assert least_certain(proba, exclude=np.array([True, False, True, False])).tolist() == [1, 3]
    assert least_certain(proba, exclude=[]).tolist() == [0, 1, 2, 3]
    assert least_certain(proba, exclude=np.ones(4, dtype=bool)).tolist() == []


def test_ties_come_in_a_seeded_order_not_table_order():
    proba = np.full((200, 2), 0.5)  # e.g. rows no LF votes on: every margin is 0
    first = least_certain(proba, seed=3)
    assert first.tolist() == least_certain(proba, seed=3).tolist()
    assert first.tolist() != list(range(200))
    assert sorted(first.tolist()) == list(range(200))
    assert first.tolist() != least_certain(proba, seed=4).tolist()


def test_lf_disagreement_lists_only_contested_rows_most_contested_first():
    L = np.array(
        [
            [0, 1, -1, -1],  # 1 against, 2 votes
            [0, 0, 0, -1],  # agreement
            [0, 0, 1, 1],  # 2 against, 4 votes
            [-1, -1, -1, -1],  # no votes
            [1, -1, -1, -1],  # a single vote
            [0, 0, 1, -1],  # 1 against, 3 votes
        ],
        dtype=np.int8,
    )
    assert lf_disagreement(L).tolist() == [2, 5, 0]
    assert lf_disagreement(L, exclude=[2]).tolist() == [5, 0]


def test_lf_disagreement_with_more_classes_counts_votes_against_the_plurality():
    L = np.array([[0, 1, 2], [2, 2, 1], [1, 1, 1]])
    assert lf_disagreement(L).tolist() == [0, 1]


def test_lf_disagreement_without_lfs_or_conflicts_is_an_empty_queue():
    assert lf_disagreement(np.empty((5, 0), dtype=np.int8)).tolist() == []
    assert lf_disagreement(np.full((5, 3), -1)).tolist() == []


def test_random_order_is_a_seeded_permutation_of_the_rows_left():
    order = random_order(50, exclude=[0, 1], seed=7)
    assert sorted(order.tolist()) == list(range(2, 50))
    assert order.tolist() == random_order(50, exclude=[0, 1], seed=7).tolist()
    assert order.tolist() != sorted(order.tolist())
    assert random_order(0).tolist() == []


def test_queue_order_dispatches_and_says_what_is_missing():
    proba = np.array([[0.5, 0.5], [0.9, 0.1]])
    L = np.array([[0, 1], [0, 0]])
    assert queue_order("least certain", proba=proba).tolist() == [0, 1]
    assert queue_order("LF disagreement", L=L).tolist() == [0]
    assert sorted(queue_order("random", L=L).tolist()) == [0, 1]
    assert sorted(queue_order("random", n_rows=3, exclude=[1]).tolist()) == [0, 2]
    assert set(STRATEGIES) == {"least certain", "LF disagreement", "random"}
    with pytest.raises(ValueError, match="add labeling functions"):
        queue_order("least certain")
    with pytest.raises(ValueError, match="add labeling functions"):
        queue_order("LF disagreement", proba=proba)
    with pytest.raises(ValueError, match="n_rows"):
        queue_order("random")
    with pytest.raises(ValueError, match="strategy must be one of"):
        queue_order("uncertainty", proba=proba)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: least_certain(np.array([0.5, 0.5])), "shape"),
        (lambda: least_certain(np.array([[1.0]])), "classes >= 2"),
        (lambda: least_certain(np.array([[np.nan, 0.5]])), "NaN"),
        (lambda: least_certain(np.full((3, 2), 0.5), exclude=[3]), "outside"),
        (lambda: least_certain(np.full((3, 2), 0.5), exclude=np.ones(2, dtype=bool)), "one entry per row"),
        (lambda: least_certain(np.full((3, 2), 0.5), exclude=[0.5]), "row ids"),
        (lambda: lf_disagreement(np.array([0, 1])), "2-D"),
        (lambda: lf_disagreement(np.array([[0.5, 1.0]])), "integer"),
        (lambda: lf_disagreement(np.array([[-2, 1]])), "abstain"),
        (lambda: random_order(-1), "non-negative"),
    ],
)
def test_bad_input_gets_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_queue_keeps_its_order_when_rows_are_labelled():
    # Labelling (excluding) a row must not reshuffle the rows after it, ties included.
    proba = np.repeat([[0.5, 0.5], [0.6, 0.4], [0.8, 0.2]], 40, axis=0)
    full = least_certain(proba, seed=1).tolist()
    labelled = full[:3] + full[50:52]
    assert least_certain(proba, exclude=labelled, seed=1).tolist() == [r for r in full if r not in labelled]


@pytest.mark.parametrize("limit", [0, 1, 7, 40, 41, 119, 120, 500])
def test_limit_gives_the_first_rows_of_the_full_queue(limit):
    rng = np.random.default_rng(2)
    proba = np.repeat([[0.5, 0.5], [0.6, 0.4], [0.8, 0.2]], 40, axis=0)[rng.permutation(120)]
    L = rng.integers(-1, 2, size=(120, 4))
    exclude = [3, 4, 5]
    for order in (least_certain, lambda *a, **k: lf_disagreement(L, **k), lambda *a, **k: random_order(120, **k)):
        full = order(proba, exclude=exclude, seed=5)
        assert order(proba, exclude=exclude, seed=5, limit=limit).tolist() == full[:limit].tolist()
    with pytest.raises(ValueError, match="limit"):
        least_certain(proba, limit=-1)


def test_a_million_rows_by_twenty_lfs():
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 2, size=(1_000_000, 20), dtype=np.int8)
    counts = np.stack([np.count_nonzero(L == c, axis=1) for c in (0, 1)], axis=1)
    against = counts.sum(axis=1) - counts.max(axis=1)
    score = against * 100 + counts.sum(axis=1)  # most votes against, then most votes
    head = lf_disagreement(L, limit=100)
    assert score[head].tolist() == np.sort(score)[::-1][:100].tolist()  # the most contested rows of the million
