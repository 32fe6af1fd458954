"""AppTest tests of the Streamlit app: the main workflow works, and work survives a new session or project."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from epoxy_core.workspace import Workspace
from epoxy_studio.widgets import thresholds
from tests.app.conftest import APP, TIMEOUT
from tests.app.helpers import (
    add_keyword_lf,
    build_graph,
    lf_lines,
    messages,
    metric,
    no_errors,
    open_demo,
    plain,
    upload_comments,
)


@pytest.mark.slow
def _coverage_lift_chart(at) -> tuple[dict, pd.DataFrame]:
    """The results page's coverage-lift chart: its spec and the rows it was sent (as Arrow, beside the spec)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("title") == "Coverage before and after extension":
            return spec, convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
    raise AssertionError("no coverage-lift chart on the page")


def test_upload_add_lfs_change_threshold_and_export(new_app):
    at = new_app()
    upload_comments(at)
    assert metric(at, "Rows") == "40"
    assert metric(at, "Dev rows (labeled)") == "20"
    build_graph(at)

    # While typing, the draft's statistics are shown: "song" is in 15 of 40 rows (3 of the 4 ham texts).
    at.switch_page("app_pages/labeling_functions.py").run()
    at.text_input(key="lfs.form.name").input("song").run()
    at.text_input(key="lfs.form.keyword.keywords").input("song").run()
    assert metric(at, "Coverage") == "37.5%"
    assert "<mark" in at.get("html")[0].proto.body  # the match is highlighted
    at.selectbox(key="lfs.form.label").set_value(0).run()  # ham (classes are sorted: ham, spam)
    at.button(key="lfs.save").click().run()
    at.switch_page("app_pages/results.py").run()  # one LF: majority vote stands in for the label model
    no_errors(at)
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Dev accuracy", "Coverage"]  # the headline, coverage beside it
    assert labels[2:4] == ["majority vote, extended", "majority vote, no extension"]
    add_keyword_lf(at, "channel", "channel", 1)
    add_keyword_lf(at, "my", "my", 1)
    assert any(line.startswith("song:") and line.endswith("→ ham") for line in lf_lines(at))
    summary = at.dataframe[0].value
    assert list(summary.index) == ["song", "channel", "my"]
    assert summary.loc["my", "coverage"] == pytest.approx(20 / 40)

    at.switch_page("app_pages/results.py").run()
    no_errors(at)
    before = at.dataframe[0].value
    assert before.loc["channel", "coverage"] == pytest.approx(10 / 40)
    lift_spec, lift_rows = _coverage_lift_chart(at)
    at.select_slider(key="results.threshold.channel").set_value(0.0).run()
    no_errors(at)
    after = at.dataframe[0].value
    assert after.loc["channel", "extended_coverage"] > before.loc["channel", "extended_coverage"]
    assert after.loc["channel", "extended_coverage"] == pytest.approx(1.0)
    # The coverage-lift chart draws the new rows into the same spec (built once, not per slider step).
    spec, rows = _coverage_lift_chart(at)
    assert spec == lift_spec
    assert rows.set_index(["LF", "stage"]).loc[("channel", "after extension"), "coverage"] == pytest.approx(1.0)
    assert lift_rows.set_index(["LF", "stage"]).loc[("channel", "after extension"), "coverage"] < 1.0
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Labels (CSV)", "Labels (Parquet)", "L (.npy)", "L extended (.npy)", "Download report"]
    # A TF-IDF project cannot be bundled (its vectoriser is fitted on this table): the page says why.
    assert at.button(key="results.bundle").disabled
    assert any("No bundle for this project" in m and "TF-IDF" in m for m in messages(at, "info"))
    # The table has its own "label" column, so the generated ones are prefixed rather than overwriting it.
    assert any("prefixed" in c and "epoxy_label" in c for c in (plain(m.value) for m in at.caption))


@pytest.mark.slow
def test_lfs_and_thresholds_survive_a_new_session(new_app):
    first = new_app()
    open_demo(first, "breast_cancer")
    build_graph(first, None)
    first.switch_page("app_pages/results.py").run()
    name = first.select_slider[1].key
    first.select_slider(key=name).set_value(0.55).run()
    add_keyword_lf(first, "benign words", "benign", 0)

    second = new_app()  # a new browser session: only the workspace on disk connects the two
    second.switch_page("app_pages/labeling_functions.py").run()
    assert any(line.startswith("benign words:") for line in lf_lines(second))
    second.switch_page("app_pages/results.py").run()
    no_errors(second)
    assert second.select_slider(key=name).value == 0.55


@pytest.mark.slow
def test_bad_upload_shows_the_error_and_keeps_the_dataset(new_app):
    at = new_app()
    upload_comments(at)
    at.file_uploader(key="data.upload").upload("broken.parquet", b"not a parquet file", "application/octet-stream")
    at.run()
    assert any("parquet" in e.lower() for e in messages(at, "error"))
    assert metric(at, "Rows") == "40"


@pytest.mark.slow
def test_bad_regex_shows_the_error_and_saves_nothing(new_app):
    at = new_app()
    upload_comments(at)
    at.switch_page("app_pages/labeling_functions.py").run()
    at.radio(key="lfs.form.kind").set_value("regex").run()
    at.text_input(key="lfs.form.name").input("broken").run()
    at.text_input(key="lfs.form.regex.pattern").input("(unclosed").run()
    assert any("pattern" in e for e in messages(at, "error"))
    # The save button is not drawn for an invalid draft.
    assert all(b.key != "lfs.save" for b in at.button)


@pytest.mark.slow
def test_edit_disable_reorder_and_delete_lfs(new_app):
    at = new_app()
    upload_comments(at)
    add_keyword_lf(at, "song", "song", 0)
    add_keyword_lf(at, "channel", "channel", 1)
    at.button(key="lfs.up.1").click().run()
    assert list(at.dataframe[0].value.index) == ["channel", "song"]
    at.checkbox(key="lfs.enabled.1").uncheck().run()
    assert not at.dataframe[0].value.loc["song", "enabled"]
    at.button(key="lfs.edit.0").click().run()
    assert at.text_input(key="lfs.form.keyword.keywords").value == "channel"
    at.text_input(key="lfs.form.keyword.keywords").input("channel, gift").run()
    at.button(key="lfs.save").click().run()
    no_errors(at)
    assert at.dataframe[0].value.loc["channel", "coverage"] == pytest.approx(15 / 40)
    at.button(key="lfs.delete.1").click().run()
    assert list(at.dataframe[0].value.index) == ["channel"]


@pytest.mark.slow
def test_import_votes_and_lf_json(new_app):
    at = new_app()
    upload_comments(at)
    signed = np.zeros((40, 2), dtype=np.int8)
    signed[::2, 0] = 1  # spam rows voted spam
    signed[1::4, 1] = -1  # some ham rows voted ham
    buffer = io.BytesIO()
    np.save(buffer, signed)
    at.switch_page("app_pages/labeling_functions.py").run()
    at.file_uploader(key="lfs.votes_file").upload("tutorial.npy", buffer.getvalue(), "application/octet-stream").run()
    at.checkbox(key="lfs.votes_signed").check().run()
    at.selectbox(key="lfs.votes_positive").set_value(1).run()  # +1 = spam
    at.button(key="lfs.import_votes").click().run()
    no_errors(at)
    summary = at.dataframe[0].value
    assert list(summary.index) == ["tutorial_0", "tutorial_1"]
    assert summary.loc["tutorial_0", "empirical_accuracy"] == pytest.approx(1.0)
    assert summary.loc["tutorial_1", "coverage"] == pytest.approx(10 / 40)

    song = {"type": "keyword", "name": "song", "label": 0, "keywords": ["song"]}
    exported = json.dumps({"format": "epoxy-lfs", "version": 1, "lfs": [song]})
    at.file_uploader(key="lfs.json_file").upload("lfs.json", exported.encode(), "application/json").run()
    at.button(key="lfs.import_json").click().run()
    no_errors(at)
    assert list(at.dataframe[0].value.index) == ["tutorial_0", "tutorial_1", "song"]


@pytest.mark.slow
def test_default_minilm_embedder_builds_a_graph(new_app):
    at = new_app()
    upload_comments(at)
    at.switch_page("app_pages/data.py").run()
    assert at.radio(key="data.embedder").value == "minilm"  # the default
    build_graph(at, embedder=None)
    assert len(at.get("vega_lite_chart")) == 1  # the embedding map


@pytest.mark.slow
def test_tuning_on_dev_labels_says_what_won_and_moves_the_sliders(new_app):
    at = new_app()
    open_demo(at, "support_messages")
    build_graph(at)
    at.switch_page("app_pages/results.py").run()
    # Dev-label frequencies as the prior: tuning then fits a fixed prior (estimating it costs ~3x the time).
    at.sidebar.radio(key="results.balance").set_value("dev labels").run()
    before = {s.key: s.value for s in at.select_slider}
    at.button(key="results.tune").click().run()
    no_errors(at)
    # Tuning runs off the script thread: the page says so and stays usable meanwhile.
    job = at.session_state["results.tuning_job"]
    assert at.button(key="results.tune").disabled or job.future.done()
    choice = job.future.result(timeout=300)
    at.run()
    no_errors(at)
    shown = messages(at, "success") + messages(at, "warning")
    assert any("nested cross-validation" in s and choice.message in s for s in shown)
    after = {s.key: s.value for s in at.select_slider}
    assert after != before
    tuned = [thresholds.to_slider(None if math.isinf(t) else float(t)) for t in choice.thresholds]
    per_lf = {k: v for k, v in after.items() if k != thresholds.ALL_KEY}
    assert sorted(per_lf.values()) == sorted(tuned)
    # The set-all slider shows the tuned state: the shared threshold, or "per LF" when they differ.
    assert after[thresholds.ALL_KEY] == (tuned[0] if len(set(tuned)) == 1 else thresholds.MIXED)
    # The tuned thresholds are saved: a new session shows the same sliders.
    again = new_app()
    again.switch_page("app_pages/results.py").run()
    assert {s.key: s.value for s in again.select_slider} == after


@pytest.mark.slow
def test_set_all_thresholds_moves_every_slider_and_saves_off_and_zero(new_app):
    at = new_app()
    open_demo(at, "breast_cancer")
    build_graph(at, None)
    at.switch_page("app_pages/results.py").run()
    at.select_slider(key="results.threshold_all").set_value(0.9).run()
    no_errors(at)
    assert {s.value for s in at.select_slider} == {0.9}
    # 0.0 and "off" are what was chosen: they used to save 0.8 and snap back (issue 13, part 8).
    at.select_slider(key="results.threshold_all").set_value(0.0).run()
    assert {s.value for s in at.select_slider} == {0.0}
    again = new_app()
    again.switch_page("app_pages/results.py").run()
    assert {s.value for s in again.select_slider} == {0.0}
    at.select_slider(key="results.threshold_all").set_value(float("inf")).run()  # "off": no extension
    assert {s.value for s in at.select_slider} == {float("inf")}
    summary = at.dataframe[0].value
    assert (summary["coverage_lift"] == 0).all()
    again = new_app()
    again.switch_page("app_pages/results.py").run()
    assert {s.value for s in again.select_slider} == {float("inf")}


@pytest.mark.slow
def test_uploaded_npy_embeddings_build_the_graph(new_app):
    at = new_app()
    upload_comments(at)
    at.switch_page("app_pages/data.py").run()
    at.radio(key="data.embedder").set_value("npy").run()
    vectors = np.eye(40, 8, dtype=np.float32) + 0.01  # any (40, d) float array
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    at.file_uploader(key="data.npy").upload("vectors.npy", buffer.getvalue(), "application/octet-stream").run()
    at.button(key="data.build").click().run()
    no_errors(at)
    assert any("uploaded .npy" in s for s in messages(at, "success"))
    # A file with the wrong number of rows is refused with the loader's message.
    buffer = io.BytesIO()
    np.save(buffer, vectors[:10])
    at.file_uploader(key="data.npy").upload("short.npy", buffer.getvalue(), "application/octet-stream").run()
    at.button(key="data.build").click().run()
    assert any("40" in e for e in messages(at, "error"))


@pytest.mark.slow
def test_projects_are_separate(new_app, data_dir):
    upload_comments(new_app())
    Workspace(data_dir).create_project("second")
    # AppTest (1.67) drops the sidebar's elements from its tree on reruns of this multipage app, so the
    # choice is made through the picker's session key, which is what the widget writes in a browser.
    assert new_app().sidebar.selectbox(key="sidebar.project").options == ["default", "second"]
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state["sidebar.project"] = "second"
    at.run()
    assert at.sidebar.selectbox(key="sidebar.project").value == "second"
    at.switch_page("app_pages/data.py").run()
    no_errors(at)
    assert any("No data yet" in i for i in messages(at, "info"))
    other = new_app()
    other.switch_page("app_pages/data.py").run()
    assert metric(other, "Rows") == "40"
