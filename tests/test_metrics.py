"""Tests for epoxy_core.metrics: dev-set accuracy, per-class precision/recall/F1, model comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from epoxy_core.labels import ABSTAIN
from epoxy_core.metrics import (
    HEADLINE_CONVENTION,
    compare_models,
    headline_accuracy,
    headline_predictions,
    label_model_metrics,
    metrics_table,
)

_ = ABSTAIN
# Six rows, three LFs; every expected fraction below is counted by hand in the comments.

# ------------------------------------------------------------------------- label-model metrics

Y_DEV = np.array([0, 0, 1, 1, _, 1])
PRED = np.array([0, 1, 1, _, 0, 1])  # row 3 abstains, row 4 is unlabeled


def test_metrics_match_hand_computation():
    metrics = label_model_metrics(Y_DEV, y_pred=PRED, class_names=["ham", "spam"])
    # Dev rows 0, 1, 2, 3, 5: right on 0, 2, 5; wrong on 1; abstains on 3.
    assert metrics["n_dev"] == 5
    assert metrics["n_covered"] == 4
    assert metrics["accuracy"] == 3 / 5
    assert metrics["accuracy_covered"] == 3 / 4
    assert metrics["coverage"] == 4 / 5
    ham, spam = metrics["per_class"]["ham"], metrics["per_class"]["spam"]
    assert (ham["precision"], ham["recall"], ham["support"]) == (1.0, 0.5, 2)
    assert ham["f1"] == pytest.approx(2 / 3)
    # spam: predicted on rows 1, 2, 5 (2 right); 3 spam rows, one of them abstained.
    assert (spam["precision"], spam["recall"], spam["support"]) == pytest.approx((2 / 3, 2 / 3, 3))
    assert metrics["macro_f1"] == pytest.approx(2 / 3)
    assert metrics["macro_precision"] == pytest.approx(5 / 6)
    assert metrics["macro_recall"] == pytest.approx(7 / 12)


def test_proba_uses_argmax_and_abstain_mask():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    # The 0.5/0.5 tie goes to class 0, which is right on row 1; the mask removes row 3's right answer.
    mask = np.array([False, False, False, True, False, False])
    metrics = label_model_metrics(Y_DEV, proba=proba, abstain_mask=mask)
    assert metrics["class_names"] == ["0", "1"]
    assert metrics["accuracy"] == 4 / 5
    assert metrics["coverage"] == 4 / 5
    assert metrics["per_class"]["1"]["recall"] == 2 / 3


def test_no_dev_labels_gives_none_metrics():
    metrics = label_model_metrics(np.full(4, ABSTAIN), y_pred=[0, 1, 1, 0])
    assert metrics["n_dev"] == 0
    for key in ("accuracy", "accuracy_covered", "coverage", "macro_f1", "per_class"):
        assert metrics[key] is None
    table = metrics_table(metrics)
    assert table.empty and list(table.columns) == ["precision", "recall", "f1", "support"]


def test_class_absent_from_dev_is_zero_and_left_out_of_macro_f1():
    # Class 2 never appears in the dev labels but is predicted once (a miss for class 1).
    metrics = label_model_metrics([0, 1, 1, 0], y_pred=[0, 1, 2, 0], class_names=["a", "b", "c"])
    absent = metrics["per_class"]["c"]
    assert absent == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # a: P=1, R=1, F1=1; b: P=1, R=1/2, F1=2/3; macro over the present classes a and b only.
    assert metrics["macro_f1"] == pytest.approx((1 + 2 / 3) / 2)
    assert metrics["accuracy"] == 3 / 4


def test_all_predictions_abstain():
    metrics = label_model_metrics([0, 1], y_pred=[_, _])
    assert metrics["coverage"] == 0.0
    assert metrics["accuracy"] == 0.0
    assert metrics["accuracy_covered"] is None
    assert metrics["macro_f1"] == 0.0


def test_metrics_validate_input():
    with pytest.raises(ValueError, match="exactly one"):
        label_model_metrics([0, 1])
    with pytest.raises(ValueError, match="exactly one"):
        label_model_metrics([0, 1], y_pred=[0, 1], proba=[[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="y_pred has 3 entries"):
        label_model_metrics([0, 1], y_pred=[0, 1, 0])
    with pytest.raises(ValueError, match="proba must have shape"):
        label_model_metrics([0, 1], proba=[0.2, 0.8])
    with pytest.raises(ValueError, match="NaN"):
        label_model_metrics([0, 1], proba=[[np.nan, 1.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="class_names has only 2"):
        label_model_metrics([0, 2], y_pred=[0, 1], class_names=["a", "b"])
    with pytest.raises(ValueError, match="proba has 2 columns but class_names has 3"):
        label_model_metrics([0, 1], proba=[[1, 0], [0, 1]], class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="boolean vector"):
        label_model_metrics([0, 1], y_pred=[0, 1], abstain_mask=[0, 1])


def test_metrics_table_rows_and_macro_row():
    table = metrics_table(label_model_metrics(Y_DEV, y_pred=PRED, class_names=["ham", "spam"]))
    assert table.index.tolist() == ["ham", "spam", "macro avg"]
    assert table.loc["ham", "support"] == 2
    assert table.loc["macro avg", "support"] == 5
    assert table.loc["macro avg", "f1"] == pytest.approx(2 / 3)
    assert table["support"].dtype == np.int64
    with pytest.raises(ValueError, match="label_model_metrics"):
        metrics_table({"accuracy": 0.5})


def test_compare_models_side_by_side():
    with_labels = label_model_metrics(Y_DEV, y_pred=PRED)
    majority = label_model_metrics(Y_DEV, y_pred=[0, 0, 1, 1, 0, 1])
    no_dev = label_model_metrics(np.full(6, ABSTAIN), y_pred=PRED)
    table = compare_models({"label model": with_labels, "majority vote": majority, "no labels": no_dev})
    assert table.index.tolist() == ["label model", "majority vote", "no labels"]
    assert list(table.columns) == ["accuracy", "macro_f1", "coverage", "n_dev"]
    assert table.loc["label model", "accuracy"] == 3 / 5
    assert table.loc["majority vote", "accuracy"] == 1.0
    assert table.loc["no labels"].iloc[:3].isna().all()
    assert table.loc["no labels", "n_dev"] == 0
    assert list(compare_models({"m": majority}, columns=["coverage"]).columns) == ["coverage"]
    with pytest.raises(ValueError, match="'partial' lack \\['macro_f1'"):
        compare_models({"partial": {"accuracy": 1.0, "coverage": 1.0, "n_dev": 3}})


def test_compare_models_empty_input():
    table = compare_models({})
    assert isinstance(table, pd.DataFrame) and table.empty


def test_majority_vote_metrics_on_the_spam_dev_set(spam_votes):
    L, y = spam_votes
    spam, ham = (L == 1).sum(axis=1), (L == 0).sum(axis=1)
    prediction = np.where(spam > ham, 1, np.where(ham > spam, 0, ABSTAIN))  # ties and empty rows abstain
    metrics = label_model_metrics(y, y_pred=prediction, class_names=["ham", "spam"])
    dev = y != ABSTAIN
    assert metrics["n_dev"] == 100
    assert metrics["accuracy"] == np.mean(prediction[dev] == y[dev])
    assert metrics["coverage"] == np.mean(prediction[dev] != ABSTAIN)
    assert metrics["per_class"]["spam"]["support"] == 54
    assert metrics["per_class"]["ham"]["support"] == 46


# ------------------------------------------------------------------------------------------------ headline

#            dev rows 0-4, row 5 unlabeled
Y_H = np.array([0, 1, 1, 0, 1, _])
COVERED = np.array([True, True, False, False, True, False])


def test_headline_counts_every_dev_row_with_the_prior_on_uncovered_rows():
    # Covered dev rows 0, 1, 4 predicted 0, 0, 1: two right.  Uncovered dev rows 2 (spam) and 3 (ham) get the
    # prior's class, ham, whatever the label model said there: one right.  3 of 5.
    headline = headline_accuracy(Y_H, [0, 0, 1, 1, 1, 1], COVERED, prior=[0.7, 0.3])
    assert headline.accuracy == 3 / 5
    assert (headline.n_dev, headline.n_correct, headline.n_uncovered_dev) == (5, 3, 2)
    assert headline.coverage == 3 / 6 and headline.dev_coverage == 3 / 5
    assert headline.uncovered_by == "prior" and headline.prior_class == 0
    assert headline.text(["ham", "spam"]) == ('accuracy 0.600 on 5 dev rows (2 uncovered: prior "ham"); coverage 50.0%')


def test_headline_with_the_end_model_uses_its_labels_everywhere():
    # The end model labels rows 2 and 3 itself: 1 and 0, both right -> 4 of 5.
    headline = headline_accuracy(Y_H, [0, 0, 1, 0, 1, 1], COVERED)
    assert headline.accuracy == 4 / 5
    assert headline.uncovered_by == "end model" and headline.prior_class is None
    assert "(2 uncovered: end model)" in headline.text()


def test_headline_abstain_is_a_miss_and_no_dev_labels_is_none():
    assert headline_accuracy(Y_H, [0, _, _, 0, 1, 1], COVERED).accuracy == 3 / 5
    empty = headline_accuracy(np.full(3, _), [0, 1, 0], np.ones(3, bool), prior=[0.5, 0.5])
    assert empty.accuracy is None and empty.dev_coverage is None
    assert empty.text() == "no dev labels to score; coverage 100.0%"


def test_headline_prior_ties_go_to_the_lowest_class():
    assert headline_predictions([1, 1], [False, False], prior=[0.5, 0.5]).tolist() == [0, 0]


def test_headline_validates_input():
    with pytest.raises(ValueError, match="covered must be a boolean vector of length 6"):
        headline_accuracy(Y_H, [0] * 6, [1, 0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="covered must be a boolean vector of length 6"):
        headline_accuracy(Y_H, [0] * 6, COVERED[:5])
    with pytest.raises(ValueError, match="predictions has 5 entries but y has 6"):
        headline_accuracy(Y_H, [0] * 5, COVERED)
    with pytest.raises(ValueError, match="prior must be a vector"):
        headline_accuracy(Y_H, [0] * 6, COVERED, prior=[np.nan, 1.0])


def test_headline_convention_is_one_line():
    assert "\n" not in HEADLINE_CONVENTION and "end model" in HEADLINE_CONVENTION and "prior" in HEADLINE_CONVENTION


@pytest.mark.parametrize("seed", range(20))
def test_per_class_scores_equal_scikit_learns(seed):
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 6))
    gold = rng.integers(-1, n_classes, size=int(rng.integers(1, 80)))  # -1: unlabeled
    predicted = rng.integers(-1, n_classes, size=gold.size)  # -1: abstain
    if rng.random() < 0.3:
        gold[gold == n_classes - 1] = 0  # a class absent from the dev set
    m = label_model_metrics(gold, y_pred=predicted, class_names=[f"c{c}" for c in range(n_classes)])
    dev = gold != -1
    if not dev.any():
        assert m["per_class"] is None
        return
    expected = precision_recall_fscore_support(
        gold[dev], predicted[dev], labels=np.arange(n_classes), average=None, zero_division=0
    )
    for c in range(n_classes):
        scores = m["per_class"][f"c{c}"]
        got = (scores["precision"], scores["recall"], scores["f1"], scores["support"])
        assert got == pytest.approx(tuple(float(e[c]) for e in expected), abs=1e-12)
