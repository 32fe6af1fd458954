"""Tests for epoxy_core.report: one self-contained HTML file, escaped, that renders its charts offline."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from epoxy_core import report
from epoxy_core.analysis import lf_summary
from epoxy_core.report import CITATION, build_report
from tests import chromium

CLASSES = ["ham", "spam"]
HOSTILE = "check </script><script>window.pwned=1</script>"
L = np.array([[0, -1, 1], [1, 1, -1], [-1, 0, 1], [0, 0, -1]])
L_EXT = np.array([[0, 1, 1], [1, 1, -1], [0, 0, 1], [0, 0, 1]])


def inputs(**overrides):
    summary = lf_summary(L, L_EXT, names=["my <b>", "song", HOSTILE], y=[0, 1, -1, 0], class_names=CLASSES)
    comparison = pd.DataFrame(
        {"accuracy": [0.912, 0.8, np.nan], "coverage": [0.95, 0.7, 1.0]},
        index=["label model + extension", "majority vote", "prior only"],
    )
    arguments = {
        "project": "Spam <demo> & co",
        "dataset": {"rows": 1836, "dev labels": 100, "text column": "text <col>", "embedding": "MiniLM"},
        "lf_summary": summary,
        "class_names": CLASSES,
        "comparison": comparison,
        "class_balance": [0.4, 0.6],
        "date": dt.date(2026, 12, 1),
        "headline": "Dev accuracy 91.2% <b>on 100 rows</b>",
        "metrics": {"dev accuracy": 0.912, "coverage": 0.87},
        "method": {"label model": "triplet", "thresholds": "per LF, tuned on dev"},
        "notes": ["Uncovered rows count as wrong <i>unless</i> the end model labels them."],
        "proba": np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.9, 0.1]]),
    }
    arguments.update(overrides)
    return arguments


@pytest.fixture
def fake_bundle(monkeypatch):
    """A stand-in for the 900 KB vega bundle (building the real one takes seconds)."""
    monkeypatch.setattr(report, "vega_bundle", lambda vl_version=None: "window.vegaEmbed = function () {};")


def specs(document: str) -> list[str]:
    return re.findall(r'<script type="application/json" class="vl-spec" data-target="[^"]+">(.*?)</script>', document)


def test_report_has_every_section_and_cites_the_paper(fake_bundle):
    document = build_report(**inputs())
    for heading in ("Key figures", "Data", "Method", "Results against the baselines", "Labeling functions (3)"):
        assert f"<h2>{heading}" in document
    assert "<h2>Class balance</h2>" in document and "<h2>Confidence</h2>" in document and "<h2>Notes</h2>" in document
    assert "Train and You’ll Miss It" in document and "arXiv:2006.15168" in document
    assert CITATION.split(".")[0] in document
    assert "2026-12-01" in document
    # Five charts: model comparison, coverage lift, LF accuracy, class balance, confidence.
    assert len(specs(document)) == 5
    assert document.count('class="chart"') == 5


def test_numbers_are_formatted_for_people(fake_bundle):
    document = build_report(**inputs())
    assert '<td class="num">0.912</td>' in document  # model comparison
    assert '<td class="num">—</td>' in document  # NaN accuracy of "prior only"
    assert '<td class="num">1,836</td>' in document  # rows
    assert '<td class="num">40.0%</td>' in document  # class balance
    assert '<td class="num">+25.0%</td>' in document  # a coverage lift (song: 2 -> 3 of 4 rows)


def test_user_text_is_escaped_everywhere(fake_bundle):
    document = build_report(**inputs())
    assert "<title>Spam &lt;demo&gt; &amp; co — labeling report</title>" in document
    assert "<h1>Spam &lt;demo&gt; &amp; co</h1>" in document
    assert "my &lt;b&gt;" in document and "text &lt;col&gt;" in document and "&lt;i&gt;unless&lt;/i&gt;" in document
    assert "<b>on 100 rows</b>" not in document
    # The hostile LF name appears only escaped: as HTML entities in tables, as JSON escapes in chart specs.
    assert "<script>window.pwned" not in document
    assert document.count("<script") == document.count("</script>") == len(specs(document)) + 2
    for spec in specs(document):
        assert "<" not in spec and ">" not in spec


def test_the_file_fetches_nothing(fake_bundle):
    document = build_report(**inputs())
    assert not re.search(r"<(script|img|iframe|link)[^>]*\s(src|href)=", document)
    assert "@import" not in document and "url(" not in document
    # The only addresses: the citation's link (a reader may follow it) and each spec's "$schema", which vega-embed
    # reads for the Vega-Lite version and never fetches.  The browser test below runs with the network off.
    schemas = re.findall(r'"\$schema": "(https://vega\.github\.io/schema/vega-lite/v[\d.]+\.json)"', document)
    assert len(schemas) == len(specs(document))
    others = sorted(set(re.findall(r"https?://[^\"'<> ]+", document)) - set(schemas))
    assert others == ["https://arxiv.org/abs/2006.15168"]


def test_minimal_report_without_optional_parts(fake_bundle):
    summary = lf_summary(L, names=["a", "b", "c"])
    document = build_report(project="p", dataset={}, lf_summary=summary, class_names=CLASSES)
    assert "<h2>Labeling functions (3)</h2>" in document
    assert "Results against the baselines" not in document and "Class balance" not in document
    assert specs(document) == []
    assert "vegaEmbed" not in document  # no chart, no 900 KB of scripts
    assert re.search(r"\d{4}-\d{2}-\d{2}", document)  # today's date by default


def test_extra_charts_and_nan_values_become_valid_json(fake_bundle):
    import altair as alt

    chart = alt.Chart(pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "NaN is a word"]})).mark_point().encode(x="a", y="b")
    document = build_report(**inputs(charts={"A map <x>": chart, "Raw": {"mark": "point", "data": {"values": []}}}))
    assert "<h2>A map &lt;x&gt;</h2>" in document
    import json

    parsed = [json.loads(s) for s in specs(document)]
    assert len(parsed) == 7
    values = parsed[5]["datasets"][parsed[5]["data"]["name"]]
    assert values == [{"a": 1.0, "b": "x"}, {"a": None, "b": "NaN is a word"}]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"project": " "}, "project must be a non-empty name"),
        ({"lf_summary": [1, 2]}, "lf_summary must be a DataFrame"),
        ({"comparison": {"a": 1}}, "comparison must be a DataFrame"),
        ({"class_balance": [0.5, 0.3, 0.2]}, r"one value per class \(2\)"),
        ({"dataset": [("rows", 3)]}, "expected a mapping"),
        ({"charts": {"bad": 42}}, "chart 'bad' is not a Vega-Lite spec"),
    ],
)
def test_bad_input_is_a_clear_value_error(fake_bundle, overrides, message):
    with pytest.raises(ValueError, match=message):
        build_report(**inputs(**overrides))


def test_bundle_is_cached_on_disk_and_inlinable(monkeypatch, tmp_path):
    import vl_convert

    calls = []

    def fake(vl_version=None):
        calls.append(vl_version)
        return "var s = '</script>'; window.vegaEmbed = 1; // <!-- x"

    monkeypatch.setenv("EPOXY_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(vl_convert, "javascript_bundle", fake)
    report.vega_bundle.cache_clear()
    try:
        first = report.vega_bundle()
        report.vega_bundle.cache_clear()
        second = report.vega_bundle()  # from disk this time
    finally:
        report.vega_bundle.cache_clear()
    assert len(calls) == 1 and first == second
    assert "</script" not in first and "<!--" not in first
    assert first == "var s = '<\\/script>'; window.vegaEmbed = 1; // <\\!-- x"
    assert list((tmp_path / "cache").glob("vega-bundle-*.js"))


# ------------------------------------------------------------------------------ a real browser, offline


@pytest.mark.slow
@pytest.mark.browser
def test_report_renders_offline_in_headless_chromium(tmp_path):
    if not chromium.installed():
        pytest.skip("Debian chromium and chromium-driver are not installed")
    pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.support.ui import WebDriverWait

    path = tmp_path / "report.html"
    path.write_text(build_report(**inputs()), encoding="utf-8")
    expected_charts = len(specs(path.read_text(encoding="utf-8")))

    # No name resolves: nothing could be fetched anyway.
    driver = chromium.start_chrome(["--host-resolver-rules=MAP * ~NOTFOUND"], log_browser=True)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
        )
        driver.get(path.as_uri())

        def drawn(d):
            return (
                d.execute_script(
                    "return document.querySelectorAll('.chart svg').length + (window.__epoxyReportErrors || []).length"
                )
                >= expected_charts
            )

        WebDriverWait(driver, 60, poll_frequency=0.25).until(drawn)
        assert driver.execute_script("return window.__epoxyReportErrors") == []
        assert driver.execute_script("return document.querySelectorAll('.chart svg').length") == expected_charts
        # Each chart drew marks, not an empty frame.
        marks = driver.execute_script(
            "return Array.from(document.querySelectorAll('.chart svg')).map(s => s.querySelectorAll('path').length)"
        )
        assert all(count > 0 for count in marks)
        assert driver.execute_script("return typeof window.pwned") == "undefined"
        assert driver.title == "Spam <demo> & co — labeling report"
        severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert severe == []
    finally:
        driver.quit()
