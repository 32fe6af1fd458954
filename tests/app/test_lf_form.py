"""The LF form: one description per kind, so every kind can be added and edited (column rules, lookup lists and
similarity LFs included)."""

from __future__ import annotations

import pytest

from epoxy_core.data import DatasetSpec, load_demo
from epoxy_core.embed import EmbeddingSource
from epoxy_core.lf import ColumnRuleLF, KeywordLF, LookupLF, RegexLF, SimilarityLF, lf_from_dict, lf_to_dict
from epoxy_core.settings import ProjectSettings
from epoxy_core.workspace import Workspace
from epoxy_studio.widgets import lf_form
from tests.app.helpers import comments_frame, lf_lines, messages, metric, no_errors, open_demo, plain


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


# ---------------------------------------------------------------------------------------------- similarity, lookup


def test_similarity_and_lookup_lfs_round_trip_through_their_form_descriptions():
    import pandas as pd

    df = pd.DataFrame({"text": [f"row {i}" for i in range(10)], "subject": ["a"] * 10})
    for lf in (
        SimilarityLF("s", 1, 0.75, rows=[3, 7], texts=["free gift card", "win a prize"]),
        SimilarityLF("rows only", 0, 0.9, rows=[0]),
        LookupLF(
            "l", 1, ["acme", "globex corp"], whole_word=False, case_sensitive=True, column="subject", source="b.csv"
        ),
    ):
        form = lf_form.FORMS[lf.kind]
        values = form.from_lf(lf)
        assert set(values) == {field.name for field in form.fields}
        assert form.cls(name=lf.name, label=lf.label, **form.to_lf(values, df)) == lf


def test_the_similarity_form_checks_row_numbers_and_the_lookup_form_asks_for_a_file():
    import pandas as pd

    df = pd.DataFrame({"text": ["a", "b", "c"]})
    similarity = lf_form.FORMS["similarity"]
    with pytest.raises(ValueError, match="Row 3 does not exist"):
        similarity.to_lf({"rows": "0, 3", "texts": "", "threshold": 0.8}, df)
    with pytest.raises(ValueError, match="'x' is not one"):
        similarity.to_lf({"rows": "x", "texts": "", "threshold": 0.8}, df)
    with pytest.raises(ValueError, match="at least one example"):
        similarity.to_lf({"rows": " ", "texts": "\n", "threshold": 0.8}, df)
    lookup = lf_form.FORMS["lookup"]
    values = {"terms": (), "source": None, "whole_word": True, "case_sensitive": False, "column": lf_form.TEXT_COLUMN}
    with pytest.raises(ValueError, match="Upload a file of terms"):
        lookup.to_lf(values, df)


def test_only_a_text_model_embeds_pasted_example_texts():
    tfidf = lf_form.embeddings_status(ProjectSettings(embedding=EmbeddingSource.model_source("tfidf")))
    assert not tfidf.built and not tfidf.embeds_texts and "TF-IDF" in tfidf.texts_message()
    built = ProjectSettings(embedding=EmbeddingSource.model_source("wordllama"), graph_built=True)
    assert lf_form.embeddings_status(built) == lf_form.EmbeddingsStatus(True, True, lf_form.model_label("wordllama"))
    columns = lf_form.embeddings_status(ProjectSettings(embedding=EmbeddingSource.columns_source(["a"])))
    assert not columns.embeds_texts and "numeric columns" in columns.texts_message()


def test_finding_example_rows_searches_the_texts_literally_ignoring_case():
    from epoxy_core.data import DatasetSpec, prepare_dataset

    dataset = prepare_dataset(comments_frame(), DatasetSpec("text", "label"))
    assert lf_form.find_rows(dataset, "Gift CARD") == [i for i, t in enumerate(dataset.texts) if "gift card" in t]
    assert lf_form.find_rows(dataset, "gift card", limit=2) == [4, 12]
    assert lf_form.find_rows(dataset, ".*") == [] and lf_form.find_rows(dataset, "  ") == []


PROJECT = "default"
LFS_PAGE = "app_pages/labeling_functions.py"
GIFT_ROWS = [i for i, text in enumerate(comments_frame()["text"]) if "gift card" in text]  # 4, 12, 20, 28, 36


def seed(data_dir, model: str | None = "tfidf") -> Workspace:
    """A project with the 40 comments and two keyword LFs; its graph built with ``model`` (None: not built)."""
    ws = Workspace(data_dir)
    ws.create_project(PROJECT)
    ws.save_dataset(PROJECT, comments_frame(), DatasetSpec("text", "label"), "comments.csv")
    ws.save_lfs(PROJECT, [lf_to_dict(KeywordLF("song", 0, ["song"])), lf_to_dict(KeywordLF("channel", 1, ["channel"]))])
    settings = ProjectSettings(embedding=EmbeddingSource.model_source(model or "tfidf"), graph_built=model is not None)
    ws.update_settings(PROJECT, settings.to_dict())
    return ws


def stored_lfs(ws: Workspace) -> list:
    return [lf_from_dict(entry) for entry in ws.load_lfs(PROJECT)[0]]


def start_similarity(at, name: str) -> None:
    at.radio(key="lfs.form.kind").set_value("similarity").run()
    at.text_input(key="lfs.form.name").input(name).run()
    at.selectbox(key="lfs.form.label").set_value(1).run()  # spam


@pytest.mark.slow
def test_a_similarity_lf_is_added_from_rows_found_by_a_search_and_edited_back(new_app, data_dir):
    ws = seed(data_dir)
    at = new_app(LFS_PAGE)
    start_similarity(at, "like gift cards")
    # TF-IDF cannot embed a pasted text: the form says so and offers rows only.
    assert any("TF-IDF" in m and "Pick example rows" in m for m in messages(at, "info"))
    assert at.text_area(key="lfs.form.similarity.texts").disabled
    assert any("at least one example" in e for e in messages(at, "error"))
    at.text_input(key="lfs.form.similarity.search").input("GIFT card").run()
    pick = next(m for m in at.multiselect if m.key.startswith("lfs.form.similarity.pick."))
    assert pick.options[0].startswith(f"{GIFT_ROWS[0]}: free gift card")
    pick.select(GIFT_ROWS[0]).select(GIFT_ROWS[1]).run()
    at.button(key="lfs.form.similarity.add_rows").click().run()
    assert at.text_input(key="lfs.form.similarity.rows").value == f"{GIFT_ROWS[0]}, {GIFT_ROWS[1]}"
    at.number_input(key="lfs.form.similarity.threshold").set_value(0.7).run()
    no_errors(at)
    assert metric(at, "Coverage") == f"{len(GIFT_ROWS) / 40:.1%}"  # the five gift-card rows, no other
    assert "spam (example)" in at.get("html")[0].proto.body  # the examples are marked in the sample rows
    at.button(key="lfs.save").click().run()
    no_errors(at)
    assert lf_lines(at)[-1] == f"like gift cards: similar to rows {GIFT_ROWS[0]}, {GIFT_ROWS[1]} (cosine ≥ 0.70) → spam"
    assert stored_lfs(ws)[-1] == SimilarityLF("like gift cards", 1, 0.7, rows=GIFT_ROWS[:2])
    at.button(key="lfs.edit.2").click().run()
    assert at.radio(key="lfs.form.kind").value == "similarity"
    assert at.text_input(key="lfs.form.similarity.rows").value == f"{GIFT_ROWS[0]}, {GIFT_ROWS[1]}"
    assert at.number_input(key="lfs.form.similarity.threshold").value == pytest.approx(0.7)
    at.text_input(key="lfs.form.similarity.rows").input("99").run()
    assert any("Row 99 does not exist" in e for e in messages(at, "error"))


@pytest.mark.slow
def test_a_similarity_lf_from_a_pasted_text_is_embedded_with_the_project_model(new_app, data_dir):
    ws = seed(data_dir, "wordllama")
    at = new_app(LFS_PAGE)
    start_similarity(at, "gift text")
    assert not at.text_area(key="lfs.form.similarity.texts").disabled
    at.text_area(key="lfs.form.similarity.texts").input("free gift card at my site\n").run()
    at.number_input(key="lfs.form.similarity.threshold").set_value(0.7).run()
    no_errors(at)
    assert metric(at, "Coverage") == f"{len(GIFT_ROWS) / 40:.1%}"
    at.button(key="lfs.save").click().run()
    no_errors(at)
    assert lf_lines(at)[-1] == 'gift text: similar to text "free gift card at my site" (cosine ≥ 0.70) → spam'
    assert stored_lfs(ws)[-1].texts == ("free gift card at my site",)


@pytest.mark.slow
def test_before_the_graph_a_similarity_lf_asks_for_the_embeddings_instead_of_failing(new_app, data_dir):
    seed(data_dir, None)
    at = new_app(LFS_PAGE)
    start_similarity(at, "like gift cards")
    at.text_input(key="lfs.form.similarity.rows").input("4").run()
    no_errors(at)
    assert any("build the embeddings on the data page first" in m for m in messages(at, "info"))
    assert not [b for b in at.button if b.key == "lfs.save"]  # nothing to add until the graph exists


def terms_uploader(at):
    return next(u for u in at.file_uploader if u.key.startswith("lfs.form.lookup.file."))


@pytest.mark.slow
def test_a_lookup_lf_is_added_from_a_terms_file_and_keeps_its_terms_when_edited(new_app, data_dir):
    ws = seed(data_dir, None)
    at = new_app(LFS_PAGE)
    at.radio(key="lfs.form.kind").set_value("lookup").run()
    at.text_input(key="lfs.form.name").input("promo words").run()
    at.selectbox(key="lfs.form.label").set_value(1).run()
    terms = "term\nsubscribe\ngift card\n" + "".join(f"filler{i}\n" for i in range(3000))
    terms_uploader(at).upload("promo.csv", terms.encode(), "text/csv").run()
    no_errors(at)
    assert any("3,002 terms from promo.csv" in plain(c.value) for c in at.caption)
    covered = sum("subscribe" in t or "gift card" in t for t in comments_frame()["text"])
    assert metric(at, "Coverage") == f"{covered / 40:.1%}"
    at.button(key="lfs.save").click().run()
    no_errors(at)
    shown = '"subscribe", "gift card", "filler0", "filler1" …'
    assert lf_lines(at)[-1] == f"promo words: lookup list of 3,002 terms from promo.csv: {shown} → spam"
    saved = stored_lfs(ws)[-1]
    assert isinstance(saved, LookupLF) and len(saved.terms) == 3002 and saved.source == "promo.csv"
    # Edit without a new file: the terms stay; only the option changes.
    at.button(key="lfs.edit.2").click().run()
    assert at.radio(key="lfs.form.kind").value == "lookup"
    assert terms_uploader(at).value is None  # an empty uploader, the terms are in the form
    at.checkbox(key="lfs.form.lookup.case_sensitive").check().run()
    at.button(key="lfs.save").click().run()
    no_errors(at)
    edited = stored_lfs(ws)[-1]
    assert edited.terms == saved.terms and edited.case_sensitive and len(stored_lfs(ws)) == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("empty.txt", b"\n \n", "holds no terms"),
        ("binary.txt", b"\x00\x01\x02PNG", "binary file"),
        ("latin1.txt", "caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
        ("long.txt", b"x" * 300 + b"\n", "at most 200"),
    ],
)
def test_a_bad_terms_file_gives_a_warning_and_loses_nothing(new_app, data_dir, name, data, expected):
    ws = seed(data_dir, None)
    at = new_app(LFS_PAGE)
    at.radio(key="lfs.form.kind").set_value("lookup").run()
    at.text_input(key="lfs.form.name").input("words").run()
    terms_uploader(at).upload("good.txt", b"song\nvideo\n", "text/plain").run()
    at.button(key="lfs.save").click().run()
    before = ws.load_lfs(PROJECT)[0]
    at.button(key="lfs.edit.2").click().run()
    terms_uploader(at).upload(name, data, "text/plain").run()
    assert not at.exception
    assert any(expected in w and "keeps its 2 terms from good.txt" in w for w in messages(at, "warning"))
    at.button(key="lfs.save").click().run()  # saving keeps the earlier terms
    assert not at.exception
    assert ws.load_lfs(PROJECT)[0] == before
    assert [line.split(":")[0] for line in lf_lines(at)] == ["song", "channel", "words"]
    # A new lookup LF with only a bad file: the warning, a clear error, and nothing saved.
    at.radio(key="lfs.form.kind").set_value("lookup").run()
    at.text_input(key="lfs.form.name").input("other").run()
    terms_uploader(at).upload(name, data, "text/plain").run()
    assert any(expected in w for w in messages(at, "warning"))
    assert any("Upload a file of terms" in e for e in messages(at, "error"))
    assert ws.load_lfs(PROJECT)[0] == before
