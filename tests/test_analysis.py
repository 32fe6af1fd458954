"""Tests for epoxy_core.analysis: per-LF statistics and the summary table."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from epoxy_core.analysis import (
    label_coverage,
    lf_conflicts,
    lf_correct,
    lf_coverages,
    lf_empirical_accuracies,
    lf_incorrect,
    lf_overlaps,
    lf_polarities,
    lf_summary,
)
from epoxy_core.labels import ABSTAIN

_ = ABSTAIN
# Six rows, three LFs; every expected fraction below is counted by hand in the comments.
L6 = np.array(
    [
        [0, 0, _],  # lf0, lf1 agree          -> overlap for lf0, lf1
        [0, 1, _],  # lf0, lf1 disagree       -> overlap and conflict for lf0, lf1
        [0, _, _],  # lf0 alone
        [_, _, 1],  # lf2 alone
        [0, _, 0],  # lf0, lf2 agree          -> overlap for lf0, lf2
        [_, _, _],  # nobody votes
    ],
    dtype=np.int8,
)
# Gold labels; row 3 is unlabeled.
Y6 = np.array([0, 1, 1, _, 0, 1])


def _naive_stats(L: np.ndarray) -> dict[str, list]:
    """Row-by-row reference implementation of the definitions (slow, obviously right)."""
    n, m = L.shape
    cover, overlap, conflict = [0] * m, [0] * m, [0] * m
    for row in L.tolist():
        for j, vote in enumerate(row):
            if vote == ABSTAIN:
                continue
            others = [v for k, v in enumerate(row) if k != j and v != ABSTAIN]
            cover[j] += 1
            overlap[j] += bool(others)
            conflict[j] += any(v != vote for v in others)
    return {
        "coverage": [c / n for c in cover],
        "overlaps": [c / n for c in overlap],
        "conflicts": [c / n for c in conflict],
        "polarities": [sorted({v for v in L[:, j].tolist() if v != ABSTAIN}) for j in range(m)],
        "label_coverage": sum(any(v != ABSTAIN for v in row) for row in L.tolist()) / n,
    }


# ------------------------------------------------------------------------- small statistics


def test_hand_made_matrix_fractions():
    assert lf_coverages(L6).tolist() == [4 / 6, 2 / 6, 2 / 6]
    assert lf_overlaps(L6).tolist() == [3 / 6, 2 / 6, 1 / 6]
    assert lf_conflicts(L6).tolist() == [1 / 6, 1 / 6, 0.0]
    assert label_coverage(L6) == 5 / 6
    assert lf_polarities(L6) == [[0], [0, 1], [0, 1]]


def test_hand_made_matrix_dev_counts():
    # lf0: rows 0 and 4 right, rows 1 and 2 wrong; lf1: rows 0, 1 right; lf2: row 3 is unlabeled, row 4 right.
    assert lf_correct(L6, Y6).tolist() == [2, 2, 1]
    assert lf_incorrect(L6, Y6).tolist() == [2, 0, 0]
    assert lf_empirical_accuracies(L6, Y6).tolist() == [0.5, 1.0, 1.0]


def test_lf_voting_only_on_unlabeled_rows_has_unknown_accuracy():
    y = np.array([0, 1, 1, _, _, _])  # lf2 votes only on rows 3 and 4, both unlabeled now
    acc = lf_empirical_accuracies(L6, y)
    assert acc[:2].tolist() == [1 / 3, 1.0]
    assert math.isnan(acc[2])
    assert lf_correct(L6, y)[2] == 0 and lf_incorrect(L6, y)[2] == 0


def test_conflict_needs_a_different_class_in_multiclass_rows():
    L = np.array(
        [
            [0, 2, 0],  # every voter conflicts, including both LFs voting 0
            [2, 2, _],  # agreement: no conflict
            [1, _, 2],  # lf0 and lf2 conflict
            [_, 1, 1],  # agreement
        ]
    )
    assert lf_conflicts(L).tolist() == [2 / 4, 1 / 4, 2 / 4]
    assert lf_overlaps(L).tolist() == [3 / 4, 3 / 4, 3 / 4]
    assert lf_polarities(L) == [[0, 1, 2], [1, 2], [0, 1, 2]]


def test_polarities_find_middle_classes_only_where_present():
    L = np.array([[0, 0], [4, 2], [2, 4], [_, _]])
    assert lf_polarities(L) == [[0, 2, 4], [0, 2, 4]]
    assert lf_polarities(np.array([[0, 3], [4, 0]])) == [[0, 4], [0, 3]]


def test_lf_that_never_votes():
    L = np.array([[0, _], [1, _], [_, _]])
    assert lf_coverages(L).tolist() == [2 / 3, 0.0]
    assert lf_overlaps(L).tolist() == [0.0, 0.0]
    assert lf_conflicts(L).tolist() == [0.0, 0.0]
    assert lf_polarities(L) == [[0, 1], []]
    assert math.isnan(lf_empirical_accuracies(L, [0, 0, 1])[1])


def test_single_lf_never_overlaps_or_conflicts():
    L = np.array([[0], [1], [_]])
    assert lf_overlaps(L).tolist() == [0.0]
    assert lf_conflicts(L).tolist() == [0.0]
    assert label_coverage(L) == 2 / 3


def test_int16_matrix_with_many_classes():
    # int16 matrices (over 127 classes) use a uint16 view in the abstain-skipping minimum.
    L = np.array([[150, 3], [150, 150], [_, 200], [_, _]], dtype=np.int16)
    assert lf_conflicts(L).tolist() == [1 / 4, 1 / 4]
    assert lf_polarities(L) == [[150], [3, 150, 200]]
    assert label_coverage(L) == 3 / 4


def test_fortran_ordered_input_gives_the_same_answers():
    fortran = np.asfortranarray(L6)
    assert lf_conflicts(fortran).tolist() == lf_conflicts(L6).tolist()
    assert lf_overlaps(fortran).tolist() == lf_overlaps(L6).tolist()


def test_matrix_without_lfs():
    L = np.empty((3, 0), dtype=np.int8)
    assert lf_coverages(L).shape == (0,)
    assert label_coverage(L) == 0.0
    assert lf_polarities(L) == []
    assert lf_summary(L).empty


def test_bad_matrices_are_rejected():
    with pytest.raises(ValueError, match="no rows"):
        lf_coverages(np.empty((0, 3), dtype=np.int8))
    with pytest.raises(ValueError, match="2-D"):
        lf_coverages([0, 1, -1])
    with pytest.raises(ValueError, match="from_signed"):
        lf_conflicts([[0, -2]])
    with pytest.raises(ValueError, match="labels but 6 rows"):
        lf_correct(L6, [0, 1])


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        np.int8,
        st.tuples(st.integers(1, 12), st.integers(1, 5)),
        elements=st.integers(-1, 3),
    )
)
def test_fast_statistics_match_the_naive_definitions(L):
    expected = _naive_stats(L)
    assert lf_coverages(L).tolist() == expected["coverage"]
    assert lf_overlaps(L).tolist() == expected["overlaps"]
    assert lf_conflicts(L).tolist() == expected["conflicts"]
    assert lf_polarities(L) == expected["polarities"]
    assert label_coverage(L) == expected["label_coverage"]


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.int8,
        st.tuples(st.integers(1, 10), st.integers(1, 4)),
        elements=st.integers(-1, 40),
    )
)
def test_polarities_with_many_classes_match_the_naive_definition(L):
    # Spans above 8 classes take the per-LF histogram path instead of per-class passes.
    assert lf_polarities(L) == _naive_stats(L)["polarities"]
    assert lf_conflicts(L).tolist() == _naive_stats(L)["conflicts"]


# ------------------------------------------------------------------------- summary table


def test_summary_without_extras_has_the_base_columns():
    summary = lf_summary(L6)
    assert list(summary.columns) == ["polarity", "coverage", "overlaps", "conflicts"]
    assert summary.index.tolist() == ["lf_0", "lf_1", "lf_2"]
    assert summary["polarity"].tolist() == [[0], [0, 1], [0, 1]]
    assert summary["overlaps"].tolist() == [3 / 6, 2 / 6, 1 / 6]


def test_summary_with_extension_labels_and_model():
    L_ext = L6.copy()
    L_ext[2, 1] = 1  # lf1 extends to row 2 (gold 1): right, and now overlaps lf0 there and conflicts with it
    L_ext[5, 2] = 0  # lf2 extends to row 5 (gold 1): wrong, alone on the row
    model = SimpleNamespace(accuracies_=np.array([0.9, 0.8, 0.7]))
    summary = lf_summary(L6, L_ext, names=["my", "subscribe", "song"], y=Y6, model=model, class_names=["ham", "spam"])

    assert list(summary.columns) == [
        "polarity",
        "coverage",
        "extended_coverage",
        "coverage_lift",
        "overlaps",
        "conflicts",
        "estimated_accuracy",
        "correct",
        "incorrect",
        "empirical_accuracy",
        "extended_correct",
        "extended_incorrect",
        "extended_empirical_accuracy",
    ]
    assert summary.index.tolist() == ["my", "subscribe", "song"]
    assert summary["polarity"].tolist() == [["ham"], ["ham", "spam"], ["ham", "spam"]]
    assert summary["coverage"].tolist() == [4 / 6, 2 / 6, 2 / 6]
    assert summary["extended_coverage"].tolist() == [4 / 6, 3 / 6, 3 / 6]
    assert summary["coverage_lift"].tolist() == pytest.approx([0.0, 1 / 6, 1 / 6])
    # Overlaps and conflicts come from the extended matrix: row 2 now overlaps and conflicts.
    assert summary["overlaps"].tolist() == [4 / 6, 3 / 6, 1 / 6]
    assert summary["conflicts"].tolist() == [2 / 6, 2 / 6, 0.0]
    assert summary["estimated_accuracy"].tolist() == [0.9, 0.8, 0.7]
    assert summary["correct"].tolist() == [2, 2, 1]
    assert summary["incorrect"].tolist() == [2, 0, 0]
    assert summary["empirical_accuracy"].tolist() == [0.5, 1.0, 1.0]
    assert summary["extended_correct"].tolist() == [2, 3, 1]
    assert summary["extended_incorrect"].tolist() == [2, 0, 1]
    assert summary["extended_empirical_accuracy"].tolist() == [0.5, 1.0, 0.5]


def test_summary_with_labels_but_no_extension_has_no_extended_columns():
    summary = lf_summary(L6, y=Y6)
    assert "extended_correct" not in summary.columns
    assert "extended_coverage" not in summary.columns
    assert summary["correct"].tolist() == [2, 2, 1]


def test_summary_without_dev_labels_reports_unknown_accuracy():
    summary = lf_summary(L6, y=np.full(6, ABSTAIN))
    assert summary["correct"].tolist() == [0, 0, 0]
    assert summary["empirical_accuracy"].isna().all()


def test_summary_validates_shapes():
    with pytest.raises(ValueError, match="names has 2 entries but the label matrix has 3"):
        lf_summary(L6, names=["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        lf_summary(L6, names=["a", "b", "a"])
    with pytest.raises(ValueError, match="y has shape"):
        lf_summary(L6, y=[0, 1, 0])
    with pytest.raises(ValueError, match=r"L_extended has shape \(6, 2\)"):
        lf_summary(L6, L_extended=L6[:, :2])
    with pytest.raises(ValueError, match="accuracies_ has 2 entries but there are 3 LFs"):
        lf_summary(L6, model=SimpleNamespace(accuracies_=np.array([0.9, 0.8])))
    with pytest.raises(ValueError, match="fit the label model"):
        lf_summary(L6, model=object())
    with pytest.raises(ValueError, match=r"0\.\.0"):
        lf_summary(L6, class_names=["only one"])
    with pytest.raises(ValueError, match=r"^L_extended: "):
        lf_summary(L6, L_extended=np.full((6, 3), 0.5))


# ------------------------------------------------------------------------- real votes (../shared)


def test_summary_of_the_spam_tutorial_votes(spam_votes):
    L, y = spam_votes
    summary = lf_summary(L, y=y, class_names=["ham", "spam"])
    # Columns 0-3 and 5 are spam keywords; 4 and 6-9 vote ham (see ../shared/README.md).
    assert summary["polarity"].tolist() == [["spam"]] * 4 + [["ham"]] + [["spam"]] + [["ham"]] * 4
    expected = _naive_stats(L)
    assert summary["coverage"].tolist() == expected["coverage"]
    assert summary["conflicts"].tolist() == expected["conflicts"]
    dev = y != ABSTAIN
    assert int(dev.sum()) == 100
    votes_on_dev = L[dev] != ABSTAIN
    assert (summary["correct"] + summary["incorrect"]).tolist() == votes_on_dev.sum(axis=0).tolist()
    assert summary["correct"].tolist() == (L[dev] == y[dev, None]).sum(axis=0).tolist()
