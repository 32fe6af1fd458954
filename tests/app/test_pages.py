"""Every page renders: on an empty workspace, with each demo, and as the very first request of a session."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, TIMEOUT
from tests.app.helpers import PAGES, build_graph, messages, no_errors, open_demo, upload_comments


@pytest.mark.slow
def test_every_page_renders_on_an_empty_workspace(new_app):
    at = new_app()
    for page in PAGES:
        at.switch_page(page).run()
        no_errors(at)
    assert messages(at, "info"), "the results page should explain what is missing"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_a_page_opened_first_after_a_restart_renders(data_dir, page):
    # What a reconnecting tab does after a server restart: its first request names a page.  With the pages in a
    # folder called pages/, Streamlit ran that page alone (KeyError 'dataset', an auto-generated navigation).
    upload_comments(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())  # a project with data
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.switch_page(page)
    at.run()
    no_errors(at)
    assert not (APP.parent / "pages").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("demo", "embedder"), [("support_messages", "tfidf"), ("breast_cancer", None), ("digits", None)]
)
def test_every_page_renders_with_a_demo_loaded(new_app, demo, embedder):
    at = new_app()
    open_demo(at, demo)
    for page in PAGES:  # before the graph exists
        at.switch_page(page).run()
        no_errors(at)
    build_graph(at, embedder)
    for page in PAGES:
        at.switch_page(page).run()
        no_errors(at)
        # Nothing but what the page draws on purpose: no object's repr (Streamlit "magic" draws bare expressions).
        assert not any("Session(" in str(m.value) for m in [*at.markdown, *at.code]), page
    # The results page draws the coverage-lift chart among others, the headline and coverage, and one metric per
    # compared model (the end model's once it is fitted).
    assert len(at.get("vega_lite_chart")) >= 4
    labels = [m.label for m in at.metric]
    assert labels[1] == "Coverage" and labels[0].startswith("Dev accuracy") and len(labels) in (5, 6)
