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
    LFAnalysis,
    extension_curve,
    extension_preview,
    label_conflict,
    label_coverage,
    label_overlap,
    lf_conflicts,
    lf_correct,
    lf_coverages,
    lf_empirical_accuracies,
    lf_empirical_probs,
    lf_incorrect,
    lf_overlaps,
    lf_polarities,
    lf_summary,
)
from epoxy_core.extension import NearestVoters
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import KeywordLF

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
    assert list(summary.columns) == [
        "polarity",
        "coverage",
        "overlaps",
        "conflicts",
        "overlaps_normalized",
        "conflicts_normalized",
    ]
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
        "overlaps_normalized",
        "conflicts_normalized",
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


# ------------------------------------------------------------------------- LFAnalysis


def test_totals_of_the_hand_made_matrix():
    analysis = LFAnalysis(L6)
    assert analysis.label_coverage() == 5 / 6
    assert analysis.label_overlap() == 3 / 6  # rows 0, 1, 4 have two votes
    assert analysis.label_conflict() == 1 / 6  # row 1 only
    assert (label_overlap(L6), label_conflict(L6)) == (3 / 6, 1 / 6)
    assert (analysis.n_rows, analysis.n_lfs, analysis.names) == (6, 3, ["lf_0", "lf_1", "lf_2"])


def test_overlaps_and_conflicts_normalised_by_coverage():
    analysis = LFAnalysis(L6)
    # lf0 votes on 4 rows, 3 of them with another vote and 1 with a different class; lf1 on 2 (2, 1); lf2 on 2 (1, 0).
    assert analysis.lf_overlaps(normalize_by_coverage=True).tolist() == [3 / 4, 2 / 2, 1 / 2]
    assert analysis.lf_conflicts(normalize_by_coverage=True).tolist() == [1 / 4, 1 / 2, 0.0]
    never = LFAnalysis(np.array([[0, _], [1, _]]))
    assert never.lf_overlaps(normalize_by_coverage=True)[0] == 0.0
    assert math.isnan(never.lf_conflicts(normalize_by_coverage=True)[1])  # an LF that never votes: unknown


def test_methods_match_the_module_functions():
    analysis = LFAnalysis(L6, ["a", "b", "c"])
    assert analysis.lf_coverages().tolist() == lf_coverages(L6).tolist()
    assert analysis.lf_overlaps().tolist() == lf_overlaps(L6).tolist()
    assert analysis.lf_conflicts().tolist() == lf_conflicts(L6).tolist()
    assert analysis.lf_polarities() == lf_polarities(L6)
    assert analysis.lf_correct(Y6).tolist() == [2, 2, 1]
    assert analysis.lf_incorrect(Y6).tolist() == [2, 0, 0]
    assert analysis.lf_empirical_accuracies(Y6).tolist() == [0.5, 1.0, 1.0]
    assert analysis.lf_summary(Y6).equals(lf_summary(L6, names=["a", "b", "c"], y=Y6))


def test_empirical_probs_in_snorkels_layout():
    # Dev rows: class 0 = rows 0, 4; class 1 = rows 1, 2, 5 (row 3 is unlabeled).
    probs = lf_empirical_probs(L6, Y6)
    assert probs.shape == (3, 3, 2)  # (LFs, abstain + 2 votes, 2 gold classes)
    # lf0 votes 0 on both class-0 rows; on class-1 rows it votes 0, 0 and abstains once.
    assert probs[0].tolist() == [[0.0, 1 / 3], [1.0, 2 / 3], [0.0, 0.0]]
    # lf1: class 0 -> votes 0 (row 0), abstains (row 4); class 1 -> votes 1 (row 1), abstains (rows 2, 5).
    assert probs[1].tolist() == [[0.5, 2 / 3], [0.5, 0.0], [0.0, 1 / 3]]
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_empirical_probs_of_a_class_without_dev_rows_is_nan():
    probs = LFAnalysis([[0], [1], [_]]).lf_empirical_probs([0, 0, _], cardinality=3)
    assert probs.shape == (1, 4, 3)
    assert probs[0, :, 0].tolist() == [0.0, 0.5, 0.5, 0.0]
    assert np.isnan(probs[0, :, 1:]).all()
    with pytest.raises(ValueError, match="holds class 1 but cardinality is 1"):
        LFAnalysis([[0], [1]]).lf_empirical_probs([0, 0], cardinality=1)


def test_vote_rates_table_per_lf_and_gold_class():
    table = LFAnalysis(L6, ["my", "subscribe", "song"]).lf_vote_rates(Y6, ["ham", "spam"])
    assert list(table.columns) == ["dev rows", "P(abstain)", "P(ham)", "P(spam)"]
    assert table.index.names == ["lf", "gold"]
    assert table.loc[("my", "spam")].tolist() == [3, 1 / 3, 2 / 3, 0.0]
    assert table.loc[("subscribe", "ham")].tolist() == [2, 0.5, 0.5, 0.0]
    assert table.loc[("song", "ham"), "P(ham)"] == 0.5
    assert np.allclose(table[["P(abstain)", "P(ham)", "P(spam)"]].sum(axis=1), 1.0)


def test_names_may_be_lf_objects_and_other_objects_are_refused():
    lfs = [KeywordLF("my", 1, ["my"]), KeywordLF("subscribe", 1, ["subscribe"]), KeywordLF("song", 0, ["song"])]
    assert lf_summary(L6, names=lfs).index.tolist() == ["my", "subscribe", "song"]
    assert LFAnalysis(L6, lfs).names == ["my", "subscribe", "song"]
    assert lf_summary(L6, names=[0, 1, 2]).index.tolist() == ["0", "1", "2"]
    with pytest.raises(ValueError, match=r"names\[1\] is a dict; give LF names \(str\) or LF objects"):
        lf_summary(L6, names=["a", {"name": 1}, "c"])
    with pytest.raises(ValueError, match="not one string"):
        lf_summary(L6, names="abc")
    with pytest.raises(ValueError, match=r"lfs\[0\] is a float"):
        LFAnalysis(L6, [1.5, "b", "c"])


def test_cardinality_is_checked_once_in_the_constructor():
    with pytest.raises(ValueError, match=r"0\.\.1"):
        LFAnalysis([[0], [2]], cardinality=2)
    with pytest.raises(ValueError, match="Labels must be"):
        LFAnalysis([[0], [1]], cardinality=2).lf_correct([0, 2])


# ------------------------------------------------------------------------- extension preview

# One LF on 8 rows: it votes 1 on rows 0-1; rows 2-6 have a nearest voter at decreasing similarity; row 7 has none.
OWN = np.array([1, 1, _, _, _, _, _, _])
NEAREST = NearestVoters(
    index=np.array([[0], [1], [0], [1], [0], [1], [0], [-1]]),
    similarity=np.array([[np.inf], [np.inf], [0.95], [0.9], [0.85], [0.7], [0.5], [-np.inf]], dtype=np.float32),
    vote=np.array([[1], [1], [1], [1], [1], [1], [1], [_]], dtype=np.int8),
)
# Dev labels: row 0 right; among the candidates rows 2, 4 are class 1 (right), row 3 class 0 (wrong); 5, 6 unlabeled.
Y8 = np.array([1, _, 1, 0, 1, _, _, 0])
TEXTS8 = [f"text {i}" for i in range(8)]


def test_extension_preview_counts_added_rows_and_their_dev_accuracy():
    preview = extension_preview(OWN, NEAREST, 0.85, y=Y8, texts=TEXTS8, class_names=["ham", "spam"])
    assert (preview.own_rows, preview.added_rows, preview.n_rows) == (2, 3, 8)
    assert (preview.coverage, preview.extended_coverage) == (2 / 8, 5 / 8)
    assert preview.coverage_lift == pytest.approx(3 / 8)
    assert (preview.correct, preview.incorrect, preview.accuracy) == (1, 0, 1.0)
    assert (preview.added_correct, preview.added_incorrect, preview.added_accuracy) == (2, 1, 2 / 3)
    assert (preview.extended_correct, preview.extended_incorrect, preview.extended_accuracy) == (3, 1, 3 / 4)
    assert preview.exact is True
    samples = preview.samples
    assert list(samples.columns) == ["row", "text", "vote", "nearest_voter", "voter_text", "similarity", "dev_label"]
    assert samples["row"].tolist() == [2, 3, 4]  # most similar first
    assert samples["voter_text"].tolist() == ["text 0", "text 1", "text 0"]
    assert samples["vote"].tolist() == ["spam"] * 3
    assert samples["dev_label"].tolist() == ["spam", "ham", "spam"]
    assert samples["similarity"].tolist() == pytest.approx([0.95, 0.9, 0.85])


def test_extension_preview_threshold_is_inclusive_and_inf_adds_nothing():
    assert extension_preview(OWN, NEAREST, float(np.float32(0.9))).added_rows == 2
    nothing = extension_preview(OWN, NEAREST, np.inf, y=Y8)
    assert nothing.added_rows == 0 and nothing.coverage_lift == 0.0
    assert math.isnan(nothing.added_accuracy)
    assert nothing.samples.empty
    everything = extension_preview(OWN, NEAREST, -np.inf)
    assert everything.added_rows == 5  # row 7 has no voter at all


def test_extension_preview_samples_spread_over_the_similarity_range():
    preview = extension_preview(OWN, NEAREST, 0.0, n_samples=3)
    assert preview.samples["row"].tolist() == [2, 4, 6]  # first, middle and weakest of rows 2..6
    assert list(preview.samples.columns) == ["row", "vote", "nearest_voter", "similarity"]
    assert preview.samples["vote"].tolist() == [1, 1, 1]
    assert extension_preview(OWN, NEAREST, 0.0, n_samples=0).samples.empty


def test_extension_preview_refuses_nearest_voters_of_other_votes():
    other = OWN.copy()
    other[2] = 1
    with pytest.raises(ValueError, match="computed for other votes"):
        extension_preview(other, NEAREST, 0.8)
    with pytest.raises(ValueError, match=r"one LF's values.*NearestVoters.column"):
        extension_preview(OWN, NearestVoters.hstack([NEAREST, NEAREST]), 0.8)
    with pytest.raises(ValueError, match=r"nearest\.index has 7 rows"):
        extension_preview(OWN, NearestVoters(NEAREST.index[:7], NEAREST.similarity[:7], NEAREST.vote[:7]), 0.8)
    with pytest.raises(ValueError, match="NaN"):
        extension_preview(OWN, NEAREST, float("nan"))
    with pytest.raises(ValueError, match="texts has 2 entries"):
        extension_preview(OWN, NEAREST, 0.8, texts=["a", "b"])
    with pytest.raises(ValueError, match=r"has no \.similarity"):
        extension_preview(OWN, SimpleNamespace(index=NEAREST.index, vote=NEAREST.vote), 0.8)


def test_extension_preview_of_approximate_voters_says_so():
    approximate = NearestVoters(NEAREST.index, NEAREST.similarity, NEAREST.vote, exact=False)
    assert extension_preview(OWN, approximate, 0.8).exact is False


def test_extension_curve_matches_previews_at_each_threshold():
    # Similarities are float32 and thresholds compare in float64 (as in extend): 0.95 is above float32(0.95).
    thresholds = [float(np.float32(t)) for t in (1.0, 0.95, 0.9, 0.86, 0.85, 0.6, 0.5, -1.0)]
    curve = extension_curve(OWN, NEAREST, thresholds, y=Y8)
    assert extension_curve(OWN, NEAREST, [0.95])["added_rows"].tolist() == [0]
    assert curve["added_rows"].tolist() == [0, 1, 2, 2, 3, 4, 5, 5]
    for t, row in zip(thresholds, curve.itertuples(), strict=True):
        preview = extension_preview(OWN, NEAREST, t, y=Y8)
        assert (row.added_rows, row.added_correct, row.added_incorrect) == (
            preview.added_rows,
            preview.added_correct,
            preview.added_incorrect,
        )
    assert curve["added_accuracy"].tolist()[1:5] == [1.0, 0.5, 0.5, 2 / 3]
    assert math.isnan(curve["added_accuracy"][0])
    assert curve["coverage_lift"].tolist()[-1] == 5 / 8
