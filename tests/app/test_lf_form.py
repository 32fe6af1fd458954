"""The LF form: one description per kind, so every kind can be added and edited (column rules included)."""

from __future__ import annotations

import pytest

from epoxy_core.data import load_demo
from epoxy_core.lf import ColumnRuleLF, KeywordLF, RegexLF
from epoxy_studio.widgets import lf_form
from tests.app.helpers import lf_lines, messages, metric, no_errors, open_demo


@pytest.mark.parametrize(
    "lf",
    [
        KeywordLF("k", 1, ["refund", "money back"], whole_word=False, case_sensitive=True, column="subject"),
        KeywordLF("plain", 0, ["x"]),
        RegexLF("r", 2, r"check.*out", case_sensitive=True),
        ColumnRuleLF("c", 0, "stars", "in", [1, 2]),
        ColumnRuleLF("m", 1, "stars", "is missing"),
        ColumnRuleLF("t", 1, "city", "==", "Paris"),
    ],
)
def test_every_kind_round_trips_through_its_form_description(lf):
    import pandas as pd

    form = lf_form.FORMS[lf.kind]
    df = pd.DataFrame({"stars": [1.0, 2.0], "city": ["Paris", "Rome"], "subject": ["a", "b"]})
    values = form.from_lf(lf)
    assert set(values) == {field.name for field in form.fields}  # the form fills exactly what it draws
    rebuilt = form.cls(name=lf.name, label=lf.label, **form.to_lf(values, df))
    assert rebuilt == lf


def test_the_kinds_never_share_a_widget_key():
    keys = [field.key(form.kind) for form in lf_form.FORMS.values() for field in form.fields]
    assert len(keys) == len(set(keys))


@pytest.mark.slow
def test_a_column_rule_is_added_from_the_form(new_app):
    at = new_app()
    open_demo(at, "breast_cancer")
    at.switch_page("app_pages/labeling_functions.py").run()
    at.radio(key="lfs.form.kind").set_value("column_rule").run()
    at.text_input(key="lfs.form.name").input("huge radius").run()
    at.selectbox(key="lfs.form.column_rule.column").set_value("mean radius").run()
    at.selectbox(key="lfs.form.column_rule.op").set_value(">").run()
    at.text_input(key="lfs.form.column_rule.value").input("twenty").run()
    assert any("not a number" in e for e in messages(at, "error"))
    at.text_input(key="lfs.form.column_rule.value").input("20").run()
    no_errors(at)
    df = load_demo("breast_cancer").df
    assert metric(at, "Coverage") == f"{(df['mean radius'] > 20).mean():.1%}"
    at.button(key="lfs.save").click().run()  # was: KeyError 'st.session_state has no key "lfs.form.column"'
    no_errors(at)
    assert "huge radius: mean radius > 20 → malignant" in lf_lines(at)
    assert any("Saved LF 'huge radius'" in s for s in messages(at, "success"))
    assert at.text_input(key="lfs.form.name").value == ""  # the form is empty for the next LF


@pytest.mark.slow
def test_a_demo_column_rule_is_edited_and_saved_in_place(new_app):
    at = new_app()
    open_demo(at, "breast_cancer")
    at.switch_page("app_pages/labeling_functions.py").run()
    first = lf_lines(at)[0]
    assert first == "large worst radius: worst radius > 17 → malignant"
    at.button(key="lfs.edit.0").click().run()
    assert at.radio(key="lfs.form.kind").value == "column_rule"
    assert at.selectbox(key="lfs.form.column_rule.column").value == "worst radius"
    assert at.text_input(key="lfs.form.column_rule.value").value == "17"
    at.text_input(key="lfs.form.column_rule.value").input("18.5").run()
    at.button(key="lfs.save").click().run()  # was: the same KeyError on Save
    no_errors(at)
    lines = lf_lines(at)
    assert lines[0] == "large worst radius: worst radius > 18.5 → malignant"
    assert len(lines) == len(load_demo("breast_cancer").lfs)  # replaced in place, not added
