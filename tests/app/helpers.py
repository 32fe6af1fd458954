"""Shared steps of the app tests: a small labelled CSV, and what a user does on each page (AppTest)."""

from __future__ import annotations

import io
import re

import pandas as pd
from streamlit.testing.v1 import AppTest

PAGES = ["app_pages/home.py", "app_pages/data.py", "app_pages/labeling_functions.py", "app_pages/results.py"]

SPAM = ["check out my channel", "subscribe to my channel please", "free gift card at my site", "visit my page now"]
HAM = ["this song is amazing", "love this song so much", "great video and song", "the singer has a great voice"]
EXTRA = ["today", "guys", "wow", "lol", "again"]


def comments_frame() -> pd.DataFrame:
    """40 comments alternating spam (even rows) and ham (odd rows); rows 0, 1, 4, 5, 8, 9, ... carry a dev label."""
    rows = []
    for i in range(20):
        rows.append({"text": f"{SPAM[i % 4]} {EXTRA[i % 5]}", "gold": "spam"})
        rows.append({"text": f"{HAM[i % 4]} {EXTRA[i % 5]}", "gold": "ham"})
    frame = pd.DataFrame(rows)
    frame["label"] = [g if (i // 2) % 2 == 0 else "" for i, g in enumerate(frame["gold"])]
    return frame.drop(columns="gold")


def comments_csv() -> bytes:
    """:func:`comments_frame` as CSV bytes."""
    return comments_frame().to_csv(index=False).encode()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def plain(markdown: str) -> str:
    """What a markdown string escaped by ``epoxy_studio.render.md`` shows: escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", markdown.replace("\u2060", "")).replace("  \n", "\n")


def messages(at: AppTest, kind: str | None = None) -> list[str]:
    """The text of every message box (or those of one kind: "error", "warning", "info", "success")."""
    kinds = [kind] if kind else ["error", "warning", "info", "success"]
    return [plain(box.value) for k in kinds for box in getattr(at, k)]


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [plain(e.value) for e in at.error]


def open_demo(at: AppTest, name: str) -> None:
    at.switch_page("app_pages/data.py").run()
    at.selectbox(key="data.demo").set_value(name).run()
    at.button(key="data.open_demo").click().run()
    no_errors(at)


def build_graph(at: AppTest, embedder: str | None = "tfidf") -> None:
    at.switch_page("app_pages/data.py").run()
    if embedder is not None:
        at.radio(key="data.embedder").set_value(embedder).run()
    at.button(key="data.build").click().run()
    no_errors(at)
    assert any("Graph built" in s for s in messages(at, "success"))


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> None:
    """Choose a file on the data page (the spec form appears; nothing is saved yet)."""
    at.switch_page("app_pages/data.py").run()
    at.file_uploader(key="data.upload").upload(name, data, mime).run()


def upload_comments(at: AppTest) -> None:
    upload(at, "comments.csv", comments_csv())
    assert at.selectbox(key="data.label").value == "label"  # guessed from the column name
    at.button(key="data.use_table").click().run()
    no_errors(at)


def add_keyword_lf(at: AppTest, name: str, keywords: str, label: int) -> None:
    at.switch_page("app_pages/labeling_functions.py").run()
    at.text_input(key="lfs.form.name").input(name).run()
    at.text_input(key="lfs.form.keyword.keywords").input(keywords).run()
    at.selectbox(key="lfs.form.label").set_value(label).run()
    at.button(key="lfs.save").click().run()
    no_errors(at)


def lf_lines(at: AppTest) -> list[str]:
    """The LF list's lines ("name: description"), as shown."""
    return [t.value for t in at.text]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)
