"""The LF editor shows what extension would add to a draft, at a threshold picked beside it."""

from __future__ import annotations

import pytest

from epoxy_core.data import DatasetSpec
from epoxy_core.embed import EmbeddingSource
from epoxy_core.lf import KeywordLF, lf_to_dict
from epoxy_core.settings import ProjectSettings
from epoxy_core.workspace import Workspace
from tests.app.helpers import comments_frame, messages, metric, no_errors, plain

PROJECT = "default"
LFS_PAGE = "app_pages/labeling_functions.py"
PICKER = "lfs.extension_threshold"


def seed(data_dir, graph_built: bool) -> None:
    ws = Workspace(data_dir)
    ws.create_project(PROJECT)
    ws.save_dataset(PROJECT, comments_frame(), DatasetSpec("text", "label"), "comments.csv")
    ws.save_lfs(PROJECT, [lf_to_dict(KeywordLF("song", 0, ["song"]))])
    tfidf = EmbeddingSource.model_source("tfidf")
    ws.update_settings(PROJECT, ProjectSettings(embedding=tfidf, graph_built=graph_built).to_dict())


def type_draft(at) -> None:
    at.text_input(key="lfs.form.name").input("gift").run()
    at.text_input(key="lfs.form.keyword.keywords").input("gift").run()
    at.selectbox(key="lfs.form.label").set_value(1).run()


def added_rows(at) -> int:
    return int(metric(at, "Rows added").replace(",", ""))


@pytest.mark.slow
def test_the_draft_preview_says_what_extension_adds_at_the_picked_threshold(new_app, data_dir):
    seed(data_dir, graph_built=True)
    at = new_app(LFS_PAGE)
    type_draft(at)
    no_errors(at)
    assert at.select_slider(key=PICKER).value == 0.8  # the LF's threshold: the project default
    strict = added_rows(at)
    text = " ".join(plain(c.value) for c in at.caption)
    assert f"At threshold 0.80 it extends to {strict:,} more rows" in text
    at.select_slider(key=PICKER).set_value(0.2).run()
    no_errors(at)
    loose = added_rows(at)
    assert loose >= strict and loose > 0  # a lower threshold never extends to fewer rows
    assert "At threshold 0.20" in " ".join(plain(c.value) for c in at.caption)
    # Sample extended rows beside their nearest voter and the similarity.
    table = next(df.value for df in at.dataframe if "similarity" in df.value.columns)
    assert {"extended row", "its nearest voted row", "copied vote"} <= set(table.columns)
    assert (table["similarity"] >= 0.2).all() and set(table["copied vote"]) == {"spam"}


def test_before_the_graph_the_preview_says_to_build_it(new_app, data_dir):
    seed(data_dir, graph_built=False)
    at = new_app(LFS_PAGE)
    type_draft(at)
    no_errors(at)
    assert not at.select_slider  # no threshold to pick without neighbours
    assert any("to see what extension would add" in plain(c.value) for c in at.caption)
    assert not messages(at, "error")
