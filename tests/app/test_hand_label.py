"""AppTest of the hand-labeling page: the queue, labels saved at once and joining the dev set, skip, undo."""

from __future__ import annotations

import numpy as np
import pytest

from epoxy_core.workspace import Workspace
from epoxy_studio import hand_labels, state
from tests.app.helpers import add_keyword_lf, build_graph, metric, no_errors, plain, upload_comments

PAGE = "app_pages/hand_label.py"


def _current_row(at) -> int:
    caption = next(c.value for c in at.caption if c.value.startswith("Row "))
    return int(caption.split()[1].replace(",", ""))


def _saved(data_dir) -> dict[int, int]:
    return Workspace(data_dir).load_hand_labels("default")


@pytest.fixture
def labelled_project(new_app):
    """The 40 comments with a graph and two LFs that disagree on some rows."""
    at = new_app()
    upload_comments(at)
    build_graph(at)
    add_keyword_lf(at, "spammy", "my, check, free, visit, song", 1)  # "song" makes it vote spam on ham rows
    add_keyword_lf(at, "song", "song", 0)
    return at


@pytest.mark.slow
def test_three_hand_labels_are_saved_at_once_and_join_the_dev_set(labelled_project, data_dir, new_app):
    at = labelled_project
    at.switch_page(PAGE).run()
    no_errors(at)
    assert metric(at, "Dev rows (labeled)") == "20"
    labelled = []
    for _ in range(3):
        row = _current_row(at)
        assert at.session_state[state.DATASET].y[row] == -1  # the queue offers unlabelled rows only
        labelled.append(row)
        at.button(key="hand_label.class.1").click().run()  # "spam"
        no_errors(at)
        assert _current_row(at) != row  # the next row of the queue
    assert metric(at, "Dev rows (labeled)") == "23" and metric(at, "Hand-labelled") == "3"
    assert _saved(data_dir) == dict.fromkeys(labelled, 1)  # in the workspace, at once

    # The data page shows them as hand-labelled, the results re-score with them.
    at.switch_page("app_pages/data.py").run()
    no_errors(at)
    dev = next(m for m in at.metric if m.label == "Dev rows (labeled)")
    assert dev.value == "23" and "3 hand-labelled" in dev.delta
    preview = at.dataframe[0].value
    assert preview.columns[0] == "hand label" and set(preview["hand label"]) <= {"", "spam"}
    at.switch_page("app_pages/results.py").run()
    no_errors(at)
    assert at.session_state[state.ENGINE].latest.n_dev == 23

    # A new browser session (or a restart) reads them back from the workspace.
    again = new_app(PAGE)
    no_errors(again)
    assert metric(again, "Hand-labelled") == "3"


@pytest.mark.slow
def test_skip_undo_keys_and_the_disagreement_queue(labelled_project, data_dir):
    at = labelled_project
    at.switch_page(PAGE).run()
    # Streamlit's own keyboard shortcuts: 1, 2, ... for the classes, S to skip, U to undo.
    assert at.button(key="hand_label.class.0").proto.shortcut == "1"
    assert at.button(key="hand_label.class.1").proto.shortcut == "2"
    assert at.button(key="hand_label.skip").proto.shortcut.lower() == "s"
    assert at.button(key="hand_label.undo").proto.shortcut.lower() == "u"
    assert any("1 = ham, 2 = spam" in plain(c.value) for c in at.caption)

    first = _current_row(at)
    assert at.button(key="hand_label.undo").disabled  # nothing to undo yet
    at.button(key="hand_label.skip").click().run()
    second = _current_row(at)
    assert second != first
    at.button(key="hand_label.class.0").click().run()
    assert _saved(data_dir) == {second: 0}
    at.button(key="hand_label.undo").click().run()  # takes the label back
    no_errors(at)
    assert _saved(data_dir) == {} and _current_row(at) == second
    assert metric(at, "Hand-labelled") == "0"
    at.button(key="hand_label.undo").click().run()  # takes the skip back
    assert _current_row(at) == first

    at.radio(key="hand_label.strategy").set_value("LF disagreement").run()
    no_errors(at)
    row = _current_row(at)
    votes = at.dataframe[0].value  # the LF votes of the row
    own = [v for v in votes["own vote"] if v != "—"]
    extended = [v for v in votes["extended vote"] if v not in ("", "—")]
    assert len(set(own + extended)) == 2, (row, votes)
    # The nearest neighbours come from the graph, most similar first.
    neighbours = at.dataframe[1].value
    assert len(neighbours) == 5 and row not in neighbours.index
    assert np.all(np.diff(neighbours["similarity"].to_numpy()) <= 1e-9)
    # The choice survives leaving the page.
    at.switch_page("app_pages/home.py").run()
    at.switch_page(PAGE).run()
    assert at.radio(key="hand_label.strategy").value == "LF disagreement"


def test_without_lfs_or_graph_the_page_offers_random_rows(new_app):
    at = new_app()
    upload_comments(at)
    at.switch_page(PAGE).run()
    no_errors(at)
    assert any("showing random rows" in c.value for c in at.caption)
    assert any("Build the embeddings" in c.value for c in at.caption)
    at.button(key="hand_label.class.0").click().run()
    no_errors(at)
    assert metric(at, "Hand-labelled") == "1"


def test_without_a_dataset_the_page_says_what_to_do(new_app):
    at = new_app(PAGE)
    no_errors(at)
    assert any("Load a dataset first" in i.value for i in at.info)


def test_relabel_takes_back_hand_labels_to_the_label_column():
    import pandas as pd

    from epoxy_core.data import DatasetSpec, prepare_dataset

    frame = pd.DataFrame({"text": ["a", "b", "", "d"], "label": ["x", None, "y", None]})
    data = prepare_dataset(frame, DatasetSpec("text", "label")).with_hand_labels({0: 1, 1: 1, 2: 0})
    back = hand_labels.relabel(data, {3: 0})
    assert back.y.tolist() == [0, -1, 1, 0] and back.hand_labeled.tolist() == [False, False, False, True]
    assert back.content_hash == data.content_hash and back.labels_key != data.labels_key
