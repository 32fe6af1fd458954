"""Tests for epoxy_core.tuning: thresholds and the pipeline chosen on dev labels, small exact fixtures.

Every fixture is built by hand so that the right choice and its dev accuracy can be counted: the nearest
voters are written directly (no graph), and majority vote with a uniform prior is the label model where ties
must be predictable (ties and uncovered rows go to class 0, the lowest index).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from epoxy_core.extension import NearestVoters, extend
from epoxy_core.labels import ABSTAIN
from epoxy_core.metrics import HEADLINE_CONVENTION, headline_accuracy
from epoxy_core.model import MajorityVote, TripletLabelModel, resolve_class_balance
from epoxy_core.tuning import (
    END_MODEL,
    EXTENSION,
    FEW_DEV_LABELS,
    LABEL_MODEL,
    tune_pipeline,
    tune_thresholds,
)

_ = ABSTAIN
N_ROWS = 60
majority = lambda: MajorityVote(2)  # noqa: E731


def one_sided_lfs(y: np.ndarray, similarity_for: dict[tuple[int, int], float]) -> tuple[np.ndarray, NearestVoters]:
    """LF 0 votes class 1 and LF 1 votes class 0, each on every third row of its own class.

    ``similarity_for[(lf, true class)]`` is the similarity of that LF's nearest voter on the rows it does not
    vote on, by the row's true class (the nearest voter's vote is always the LF's class).
    """
    n = y.size
    L = np.full((n, 2), ABSTAIN, dtype=np.int8)
    own = np.arange(n) % 3 == 0
    L[own & (y == 1), 0] = 1
    L[own & (y == 0), 1] = 0
    similarity = np.full((n, 2), np.inf, dtype=np.float32)
    vote = L.copy()
    for lf, label in ((0, 1), (1, 0)):
        abstains = L[:, lf] == ABSTAIN
        for true_class in (0, 1):
            rows = abstains & (y == true_class)
            similarity[rows, lf] = similarity_for[(lf, true_class)]
            vote[rows, lf] = label
    return L, NearestVoters(np.zeros((n, 2), dtype=np.int64), similarity, vote)


Y = np.arange(N_ROWS) % 2  # every row is a dev row, 30 per class


def test_shared_threshold_wins_when_it_is_right_for_every_lf():
    # Both LFs' nearest voters sit at 0.9 on rows of their class and 0.4 on the others: 0.9 extends every row
    # correctly (60/60), 0.4 gives every uncovered row one vote of each class (tie -> class 0: 40/60), and no
    # extension leaves 40 rows to the prior, class 0 (20 covered + 20 uncovered class-0 rows: 40/60).
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    result = tune_thresholds(L, Y, nearest, cardinality=2, model_factory=majority, class_balance="uniform")
    assert result.shared_threshold == pytest.approx(0.9)
    assert not result.per_lf
    np.testing.assert_allclose(result.thresholds, [0.9, 0.9])
    assert result.fitted_score == 1.0
    assert result.no_extension_score == 40 / 60
    assert result.cv_score == 1.0 and result.cv_score_shared == 1.0
    assert "shared threshold" in result.message


def test_per_lf_thresholds_win_when_one_lf_must_stay_off():
    # LF 0 (class 1) is right to extend at 0.9; LF 1 (class 0) is most similar to the *wrong* rows (0.9 on
    # class-1 rows, 0.5 on its own), so any shared threshold ties the two on the uncovered class-1 rows
    # (40/60) while LF 0 at 0.9 and LF 1 off labels every row right (60/60).
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.5, (1, 0): 0.5, (1, 1): 0.9})
    result = tune_thresholds(L, Y, nearest, cardinality=2, model_factory=majority, class_balance="uniform")
    assert result.per_lf
    assert result.thresholds[0] == pytest.approx(0.9) and math.isinf(result.thresholds[1])
    assert result.fitted_score == 1.0
    assert result.cv_score_shared == 40 / 60
    assert result.cv_score == result.cv_score_per_lf == 1.0


def test_tuner_objective_is_the_headline_figure():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.5, (1, 0): 0.5, (1, 1): 0.9})
    result = tune_thresholds(L, Y, nearest, cardinality=2, per_lf=False)
    L_ext = extend(L, thresholds=result.thresholds, nearest=nearest)
    fitted = TripletLabelModel().fit(L_ext)
    covered = (L_ext != ABSTAIN).any(axis=1)
    headline = headline_accuracy(Y, fitted.predict(L_ext), covered, prior=fitted.class_balance_)
    assert result.fitted_score == headline.accuracy


def test_cardinality_is_keyword_only():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    with pytest.raises(TypeError):
        tune_thresholds(L, Y, nearest, 2)  # type: ignore[misc]
    with pytest.raises(TypeError):
        tune_pipeline(L, Y, nearest, np.zeros((N_ROWS, 2)))  # type: ignore[misc]


def test_two_dev_rows_give_a_message_not_nan():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    y = np.full(N_ROWS, ABSTAIN)
    y[[0, 1]] = [0, 1]
    result = tune_thresholds(L, y, nearest, cardinality=2, model_factory=majority, class_balance="uniform")
    assert result.cv_score is None and result.cv_score_shared is None and result.cv_score_per_lf is None
    assert not result.per_lf
    assert "Only 2 dev labels" in result.message and "nan" not in result.message.lower()
    choice = tune_pipeline(L, y, nearest, embeddings=np.eye(N_ROWS, 3), model_factory=majority)
    assert choice.setting == LABEL_MODEL and choice.few_labels
    assert all(score is None for score in choice.cv_scores.values())
    assert "cannot be cross-validated" in choice.message and "nan" not in choice.message.lower()
    assert not choice.use_end_model and not choice.use_extension


def test_no_dev_labels_is_a_clear_error():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    with pytest.raises(ValueError, match="found 0"):
        tune_thresholds(L, np.full(N_ROWS, ABSTAIN), nearest, cardinality=2)
    with pytest.raises(ValueError, match="found none"):
        tune_pipeline(L, np.full(N_ROWS, ABSTAIN), nearest, embeddings=None)


# ------------------------------------------------------------------------------------------ pipelines


def separable_embeddings(y: np.ndarray) -> np.ndarray:
    """2-d embeddings a linear model separates exactly: class along the first axis, a little spread on both."""
    spread = (np.arange(y.size) % 5) / 10.0
    return np.stack([np.where(y == 1, 1.0, -1.0) + spread - 0.2, spread], axis=1)


def test_end_model_wins_where_it_generalises_and_says_by_how_much():
    # No LF has a voter near the rows it abstains on (no finite similarity: extension adds nothing), so the
    # label model leaves the 40 uncovered rows to the prior (40/60) while the end model, trained on the 20
    # covered rows, separates every row (60/60).
    L, _ = one_sided_lfs(Y, {(0, 1): 0.0, (0, 0): 0.0, (1, 0): 0.0, (1, 1): 0.0})
    nearest = NearestVoters(
        np.zeros(L.shape, np.int64),
        np.where(L != ABSTAIN, np.inf, -np.inf).astype(np.float32),
        L.copy(),
    )
    choice = tune_pipeline(
        L, Y, nearest, embeddings=separable_embeddings(Y), model_factory=majority, class_balance="uniform"
    )
    assert choice.cv_scores == {LABEL_MODEL: 40 / 60, EXTENSION: 40 / 60, END_MODEL: 1.0}
    assert choice.setting == END_MODEL and choice.use_end_model and not choice.use_extension
    assert choice.end_model_C == 1.0  # every C separates the rows: ties go to the C nearest 1
    assert choice.margin == pytest.approx(1.0 - 40 / 60)
    assert "beats label model (0.667) by 0.333 (20 of 60 dev rows)" in choice.message
    assert choice.settings[EXTENSION].coverage == pytest.approx(20 / 60)
    assert choice.convention == HEADLINE_CONVENTION
    assert not choice.few_labels and choice.n_dev == N_ROWS


def test_ties_go_to_the_simpler_setting():
    # Extension at 0.9 is already perfect; the end model cannot do better, so extension wins the tie.
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    choice = tune_pipeline(
        L, Y, nearest, embeddings=separable_embeddings(Y), model_factory=majority, class_balance="uniform"
    )
    assert choice.cv_scores[EXTENSION] == 1.0 and choice.cv_scores[END_MODEL] == 1.0
    assert choice.setting == EXTENSION and not choice.use_end_model and choice.end_model_C is None
    np.testing.assert_allclose(choice.thresholds, [0.9, 0.9])
    assert choice.margin == 0.0 and "ties with label model + end model and is simpler" in choice.message


def test_few_dev_labels_keep_the_simplest_setting_and_say_so():
    L, _ = one_sided_lfs(Y, {(0, 1): 0.0, (0, 0): 0.0, (1, 0): 0.0, (1, 1): 0.0})
    nearest = NearestVoters(
        np.zeros(L.shape, np.int64), np.where(L != ABSTAIN, np.inf, -np.inf).astype(np.float32), L.copy()
    )
    y = np.full(N_ROWS, ABSTAIN)
    y[:20] = Y[:20]  # 20 dev labels, 10 per class: cross-validation runs but decides nothing
    choice = tune_pipeline(
        L, y, nearest, embeddings=separable_embeddings(Y), model_factory=majority, class_balance="uniform"
    )
    assert choice.n_dev == 20 < FEW_DEV_LABELS and choice.few_labels
    assert choice.setting == LABEL_MODEL and not choice.use_end_model
    assert choice.cv_scores[END_MODEL] == 1.0  # computed and shown, not used to choose
    assert choice.margin is None
    assert choice.message.startswith("Only 20 dev labels (fewer than 30)")


def test_without_embeddings_the_end_model_is_left_out():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    choice = tune_pipeline(L, Y, nearest, embeddings=None, model_factory=majority, class_balance="uniform")
    assert END_MODEL not in choice.settings and choice.cv_scores[END_MODEL] is None
    assert "the end model was not tried" in choice.message


def test_dev_label_balance_is_resolved_from_the_dev_labels():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    y = Y.copy()
    y[1:20:2] = ABSTAIN  # 30 class-0 and 20 class-1 labels left
    choice = tune_pipeline(L, y, nearest, embeddings=None, class_balance="dev labels")
    np.testing.assert_allclose(choice.class_balance, resolve_class_balance("dev labels", y, 2))


def test_none_class_balance_means_the_library_default():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    default = tune_thresholds(L, Y, nearest, cardinality=2)
    unset = tune_thresholds(L, Y, nearest, cardinality=2, class_balance=None)
    np.testing.assert_array_equal(unset.thresholds, default.thresholds)
    assert (unset.cv_score, unset.fitted_score, unset.message) == (
        default.cv_score,
        default.fitted_score,
        default.message,
    )


def test_deterministic():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.5, (1, 0): 0.5, (1, 1): 0.9})
    rng = np.random.default_rng(0)
    embeddings = separable_embeddings(Y) + rng.normal(scale=0.8, size=(N_ROWS, 2))
    runs = [tune_pipeline(L, Y, nearest, embeddings=embeddings, random_state=4) for _ in range(2)]
    assert runs[0].cv_scores == runs[1].cv_scores
    assert runs[0].setting == runs[1].setting and runs[0].end_model_C == runs[1].end_model_C
    np.testing.assert_array_equal(runs[0].thresholds, runs[1].thresholds)
    assert runs[0].message == runs[1].message


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"embeddings": np.zeros((3, 2))}, "one row per row of L"),
        ({"embeddings": np.full((N_ROWS, 2), np.nan)}, "finite"),
        ({"embeddings": None, "C_grid": [0.0]}, "C_grid"),
        ({"embeddings": None, "grid": []}, "at least one threshold"),
    ],
)
def test_bad_input_raises_value_error(kwargs, match):
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    with pytest.raises(ValueError, match=match):
        tune_pipeline(L, Y, nearest, **kwargs)


def test_nearest_voters_of_other_votes_are_refused():
    L, nearest = one_sided_lfs(Y, {(0, 1): 0.9, (0, 0): 0.4, (1, 0): 0.9, (1, 1): 0.4})
    with pytest.raises(ValueError, match="recompute them"):
        tune_thresholds(L[:10], Y[:10], nearest, cardinality=2)
