"""Tests of the app's pure pieces, without a Streamlit session: rendering, the LF set, the engine, imports."""

from __future__ import annotations

import doctest
import io
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from epoxy_core.data import DatasetSpec, prepare_dataset
from epoxy_core.lf import ColumnRuleLF, KeywordLF, RegexLF, VoteColumnLF
from epoxy_studio import engine, lf_io, lfset, render, timebox
from epoxy_studio.views import lf_list, lf_preview, results
from epoxy_studio.widgets import dataset_spec, lf_form, thresholds
from tests.app.helpers import plain


@pytest.mark.parametrize(
    "module", [render, lfset, timebox, engine, lf_preview, lf_list, results, thresholds, dataset_spec, lf_form]
)
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


# ---------------------------------------------------------------------------------------------- render


@pytest.mark.parametrize(
    "text",
    [
        "![x](http://127.0.0.1:9/pixel.png)",
        "**bold** _it_ ~~s~~ `code`",
        ":material/home: :smile: :red[red] $x^2$",
        "<b>html</b> &amp; # head\n- item\n> quote\n1. one",
        "see www.example.com or me@example.com",
    ],
)
def test_md_escapes_everything_markdown_would_interpret(text):
    escaped = render.md(text)
    assert plain(escaped) == text  # the text shown is the text given
    # No markdown construct survives: every punctuation mark is escaped, URLs and addresses are broken up.
    for mark in "*_`[]()!<>#$:~&":
        assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch == mark)
    assert "://" not in escaped and "www." not in escaped
    assert "@" not in text or "\u2060\\@" in escaped


def test_user_message_drops_library_identifiers():
    error = ValueError(
        "The label column 'x' has only ['a']. Give the class names explicitly (DatasetSpec.class_names)."
    )
    assert render.user_message(error) == "The label column 'x' has only ['a']. Give the class names explicitly."


def test_highlight_escapes_user_text_inside_and_outside_marks():
    html = render.highlight_html('<script>alert("x")</script> buy <b>now</b>', [(28, 31), (32, 42)])
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html
    assert html.count("<mark") == 2 and ">buy</mark>" in html and ">&lt;b&gt;now&lt;/b&gt;</mark>" in html


def test_highlight_cuts_long_text_around_the_first_match():
    text = "x" * 1000 + "needle" + "y" * 1000
    html = render.highlight_html(text, [(1000, 1006)], max_chars=100)
    assert html.startswith("…") and html.endswith("…") and ">needle</mark>" in html


def test_cell_text_never_asks_an_array_for_its_truth_value():
    assert render.cell_text(np.array([1, 2])) == "[1 2]"
    assert render.cell_text(["a", None]) == "['a', None]"
    assert render.cell_text(pd.NA) == ""


# ---------------------------------------------------------------------------------------------- bounded previews


def test_text_window_holds_the_first_match_of_a_huge_cell():
    text = "lorem " * 200_000 + "needle" + " ipsum" * 1000
    lf = KeywordLF("k", 0, ["needle"])
    window, start = lf_preview.text_window(lf, text)
    assert len(window) <= lf_preview.HIGHLIGHT_WINDOW and "needle" in window
    assert text[start : start + len(window)] == window


def test_text_window_counts_characters_not_bytes():
    text = "é" * 3000 + " needle " + "ü" * 3000
    window, start = lf_preview.text_window(RegexLF("r", 0, "needle"), text, size=100)
    assert "needle" in window and text[start : start + len(window)] == window


def test_rows_html_of_a_keyword_on_a_list_column_shows_text():
    # A keyword LF on a column of lists: "the truth value of an array is ambiguous" in the old preview.
    df = pd.DataFrame({"text": ["a", "b"], "tags": [["spam", "x"], ["ham"]], "label": ["s", "h"]})
    dataset = prepare_dataset(df, DatasetSpec("text", "label"))
    lf = KeywordLF("tags", 1, ["spam"], column="tags")
    html = lf_preview.rows_html(dataset, lf, np.array([0, 1]), np.array([1, -1]))
    assert "<mark" in html and "spam" in html


def test_rows_html_survives_a_pattern_whose_spans_cannot_be_rewritten():
    dataset = prepare_dataset(
        pd.DataFrame({"text": ["song one", "two"], "label": ["a", "b"]}), DatasetSpec("text", "label")
    )
    html = lf_preview.rows_html(dataset, RegexLF("b", 0, r"\b"), np.array([0, 1]), np.array([0, 0]))
    assert "song one" in html  # shown, with or without marks


# ---------------------------------------------------------------------------------------------- timebox


def test_timebox_returns_results_errors_and_pending():
    jobs: dict = {}
    assert timebox.run(jobs, "a", "k1", lambda: 41 + 1) == 42
    with pytest.raises(ValueError, match="bad"):
        timebox.run(jobs, "b", "k", lambda: (_ for _ in ()).throw(ValueError("bad")))
    pending = timebox.run(jobs, "c", "slow", lambda: time.sleep(0.3) or "done", timeout=0.01)
    assert isinstance(pending, timebox.Pending) and "still being computed" in pending.describe("It")
    time.sleep(0.5)
    assert timebox.run(jobs, "c", "slow", lambda: "never run") == "done"
    # A new key in the same slot forgets the old job.
    assert timebox.run(jobs, "c", "other", lambda: "new") == "new"


# ---------------------------------------------------------------------------------------------- the LF set


def test_parse_keeps_invalid_entries_and_repeated_names_with_a_reason():
    stored = [
        {"type": "keyword", "name": "a", "label": 0, "keywords": ["x"]},
        {"type": "keyword", "name": "a", "label": 1, "keywords": ["y"]},
        {"type": "python", "name": "code"},
        "not even a dict",
    ]
    items = lfset.parse(stored)
    assert [item.lf is not None for item in items] == [True, False, False, False]
    assert "already named 'a'" in items[1].error and "never read from JSON" in items[2].error
    assert lfset.to_dicts(items)[1:3] == stored[1:3]  # written back unchanged: nothing is lost
    assert not items[2].enabled and items[3].name == "(unnamed)"


def test_lf_set_operations_check_the_position_they_were_given():
    items = lfset.from_lfs([KeywordLF("a", 0, ["x"]), KeywordLF("b", 1, ["y"])])
    assert [i.name for i in lfset.moved(items, 1, "b", -1)] == ["b", "a"]
    assert not lfset.toggled(items, 0, "a", False)[0].enabled
    assert [i.name for i in lfset.deleted(items, 0, "a")] == ["b"]
    with pytest.raises(ValueError, match="list changed"):
        lfset.deleted(items, 0, "b")
    with pytest.raises(ValueError, match="already exists"):
        lfset.with_lf(items, KeywordLF("b", 0, ["z"]))
    replaced = lfset.with_lf(items, KeywordLF("c", 0, ["z"]), replacing="a")
    assert [i.name for i in replaced] == ["c", "b"]


# ---------------------------------------------------------------------------------------------- the engine


def _dataset():
    df = pd.DataFrame(
        {
            "text": ["buy now", "nice song", "buy it", "song"],
            "label": ["spam", "ham", "", "ham"],
            "stars": [1.0, 5.0, 2.0, None],
        }
    )
    return prepare_dataset(df, DatasetSpec(text_column="text", label_column="label"))


def test_engine_reports_lfs_that_do_not_fit_the_dataset():
    eng = engine.Engine(_dataset())
    items = lfset.from_lfs(
        [
            KeywordLF("buy", 1, ["buy"]),
            KeywordLF("class 9", 9, ["x"]),
            ColumnRuleLF("no column", 0, "price", ">", 3),
            ColumnRuleLF("text > 5", 0, "text", ">", 5),
            VoteColumnLF("votes", "stars"),  # 5.0 is not a class of two
        ]
    )
    problems = eng.problems(items)
    assert problems[0] is None
    assert "class 9" in problems[1] and "only 2 classes" in problems[1]
    assert "'price'" in problems[2] and "not in the data" in problems[2]
    assert "holds text" in problems[3]
    assert "voted 5" in problems[4]
    assert [lf.name for lf in eng.active(items)] == ["buy"]
    assert list(eng.lf_table(items).index) == ["buy"]


def test_engine_draft_statistics_and_digest_ignore_names():
    eng = engine.Engine(_dataset())
    preview = eng.draft(KeywordLF("song", 0, ["song"]), [KeywordLF("buy", 1, ["buy"])])
    assert preview.coverage == 0.5 and preview.correct == 2 and preview.incorrect == 0 and preview.accuracy == 1.0
    assert engine.lf_digest(KeywordLF("a", 0, ["x"])) != engine.lf_digest(KeywordLF("a", 1, ["x"]))


def test_engine_lf_table_normalises_by_coverage_and_gives_vote_rates_on_dev():
    eng = engine.Engine(_dataset())
    # "buy" votes rows 0 and 2, "music" rows 1 and 3 and row 0 ("now"): they overlap (and conflict) on row 0.
    items = lfset.from_lfs([KeywordLF("buy", 1, ["buy"]), KeywordLF("music", 0, ["song", "now"])])
    table = eng.lf_table(items)
    assert table.loc["buy", "overlaps_normalized"] == pytest.approx(0.5)  # 1 of its 2 rows
    assert table.loc["music", "conflicts_normalized"] == pytest.approx(1 / 3)  # 1 of its 3 rows
    rates = eng.vote_rates(items)
    # Dev rows: 0 spam, 1 and 3 ham.  "music" votes ham on both ham rows and on the spam row.
    assert rates.loc[("music", "ham"), "P(ham)"] == 1.0 and rates.loc[("music", "spam"), "P(ham)"] == 1.0
    assert rates.loc[("buy", "ham"), "P(abstain)"] == 1.0 and rates.loc[("buy", "spam"), "dev rows"] == 1


# ---------------------------------------------------------------------------------------------- imports and exports


def test_vote_import_checks_rows_classes_and_names():
    dataset = _dataset()
    votes = lf_io.votes_table(_npy(np.array([[1], [0], [-1], [-1]])), "tutorial.npy")
    df, new = lf_io.with_vote_columns(dataset, votes, "tutorial.npy", [], signed=False, positive_class=1)
    assert [lf.name for lf in new] == ["tutorial_0"] and df["votes: tutorial_0"].tolist() == [1, 0, -1, -1]
    with pytest.raises(ValueError, match="the dataset has 4"):
        lf_io.with_vote_columns(dataset, votes.head(3), "short.npy", [], signed=False, positive_class=1)
    with pytest.raises(ValueError, match="already exists"):
        lf_io.with_vote_columns(dataset, votes, "t.npy", ["tutorial_0"], signed=False, positive_class=1)
    with pytest.raises(ValueError, match="voted 7"):
        lf_io.with_vote_columns(dataset, votes * 7, "t.npy", [], signed=False, positive_class=1)
    with pytest.raises(ValueError):
        lf_io.votes_table(_npy(np.array([[0.5]])), "fractions.npy")


def test_lf_json_import_keeps_lfs_that_do_not_fit_and_refuses_clashes():
    items = lfset.from_lfs([KeywordLF("a", 0, ["x"])])
    nine = '{"type": "keyword", "name": "nine", "label": 9, "keywords": ["z"]}'
    document = '{"format": "epoxy-lfs", "version": 1, "lfs": [' + nine + "]}"
    merged = lf_io.merge_imported(items, document.encode(), replace=False)
    assert [i.name for i in merged] == ["a", "nine"]
    assert [i.name for i in lf_io.merge_imported(items, document.encode(), replace=True)] == ["nine"]
    with pytest.raises(ValueError, match="already exist"):
        lf_io.merge_imported(merged, document.encode(), replace=False)
    assert '"nine"' in lf_io.export_json(merged)


def test_labels_export_never_overwrites_a_user_column():
    dataset = _dataset()
    r = SimpleNamespace(
        names=["buy"],
        L=np.array([[1], [-1], [1], [-1]], dtype=np.int8),
        L_extended=np.array([[1], [-1], [1], [1]], dtype=np.int8),
        proba=np.array([[0.2, 0.8], [0.5, 0.5], [0.3, 0.7], [0.4, 0.6]]),
    )
    table = results.labels_export(dataset, r)
    assert table["label"].tolist() == dataset.df["label"].tolist()  # the user's column is untouched
    assert results.added_columns(dataset, r)[:3] == ["epoxy_label", "epoxy_P(ham)", "epoxy_P(spam)"]
    assert table["epoxy_label"].iloc[0] == "spam" and pd.isna(table["epoxy_label"].iloc[1])


def test_matrix_npy_round_trips():
    L = np.array([[0, -1], [1, 1]], dtype=np.int8)
    back = np.load(io.BytesIO(results.matrix_npy(L)))
    assert back.dtype == np.int8 and back.tolist() == L.tolist()


def test_least_certain_skips_rows_without_votes_and_sorts_by_confidence():
    dataset = _dataset()
    proba = np.array([[0.6, 0.4], [0.5, 0.5], [0.9, 0.1], [0.7, 0.3]])
    table = results.least_certain(dataset, proba, covered=np.array([True, False, True, False]), n=5)
    assert table.index.tolist() == [0, 2] and table["confidence"].tolist() == [0.6, 0.9]


def test_least_certain_keeps_the_full_sorts_order_with_ties_at_the_cut():
    # Confidences on a coarse grid, so many rows tie with the n-th smallest; the answer must be the stable sort's.
    rng = np.random.default_rng(3)
    n_rows = 400
    dataset = prepare_dataset(
        pd.DataFrame({"text": [f"row {i}" for i in range(n_rows)]}), DatasetSpec("text", class_names=["a", "b"])
    )
    top = rng.choice([0.5, 0.6, 0.7, 0.8], size=n_rows)
    proba = np.column_stack([top, 1 - top])
    covered = rng.random(n_rows) < 0.7
    for n in (1, 7, 20, int(covered.sum()) + 5):
        table = results.least_certain(dataset, proba, covered, n=n)
        candidates = np.flatnonzero(covered)
        expected = candidates[np.argsort(top[candidates], kind="stable")[:n]]
        assert table.index.tolist() == expected.tolist()


def test_tuning_message_says_which_setting_won_or_that_labels_are_few():
    won = SimpleNamespace(
        message="label model + end model wins: nested-CV dev accuracy 0.930, beats label model (0.880) by 0.050.",
        few_labels=False,
        n_dev=100,
        cv_scores={"label model": 0.88, "label model + end model": 0.93},
    )
    kind, text = results.tuning_message(won)
    assert kind == "success" and "100 dev labels" in text and "by 0.050" in text
    few = SimpleNamespace(message="kept the label model", few_labels=True, n_dev=12, cv_scores={"label model": 0.9})
    kind, text = results.tuning_message(few)
    assert kind == "warning" and "only 12 dev labels" in text and "nan" not in text.lower()


def test_lf_description_uses_class_names():
    item = lfset.from_lfs([ColumnRuleLF("r", 0, "stars", "<", 2)])[0]
    assert lf_list.describe(item, ["ham", "spam"]) == "stars < 2 → ham"
    assert lf_list.describe(lfset.from_lfs([KeywordLF("k", 5, ["x"])])[0], ["ham", "spam"]).endswith("→ class 5")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
