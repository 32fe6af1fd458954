"""The LF form: one description per LF kind (:data:`FORMS`), drawn, read back and filled by the same code.

A :class:`KindForm` lists the widgets of one kind (keywords, regex, lookup list, column rule, similarity) and how
their values become
the LF's constructor fields and back.  Drawing, reading and filling all walk that one list, so the form
can never read a widget it did not draw (the column-rule form once read the keyword form's "column" and failed
with ``KeyError 'lfs.form.column'`` on *Add* and *Save*).  Widget keys are ``lfs.form.<kind>.<field>``: the
kinds never share a widget.  A new LF kind is one more :class:`KindForm`.

No Python is ever typed or run: the form builds ``epoxy_core.lf`` objects, which validate themselves.  A lookup
LF's uploaded terms and a similarity LF's example rows and texts are data, stored in the LF set; an uploaded
file is read as text by :func:`epoxy_core.lf.terms_from_file`, never executed or unpickled.

Similarity LFs need the project's embeddings: :func:`embeddings_status` says what the project has (a built
graph; an embedder that can embed a pasted text), and the form tells the user what to do when it is missing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core.data import Dataset
from epoxy_core.embed import model_label
from epoxy_core.lf import COLUMN_OPS, BaseLF, ColumnRuleLF, KeywordLF, LookupLF, RegexLF, SimilarityLF, terms_from_file
from epoxy_core.settings import ProjectSettings
from epoxy_studio import render

__all__ = [
    "FORMS",
    "KIND_KEY",
    "NAME_KEY",
    "NEEDS_GRAPH",
    "EmbeddingsStatus",
    "Field",
    "FormUnavailable",
    "KindForm",
    "draw",
    "embeddings_status",
    "fill",
    "find_rows",
    "read",
    "reset",
    "typed_name",
]

PREFIX = "lfs.form."
KIND_KEY = PREFIX + "kind"
NAME_KEY = PREFIX + "name"
LABEL_KEY = PREFIX + "label"
TEXT_COLUMN = "(text column)"
"""Choice of the column selector meaning "the dataset's text column" (the LF's ``column=None``)."""

SEARCH_KEY = PREFIX + "similarity.search"
"""The similarity form's "find example rows" search box."""
UPLOAD_NONCE = PREFIX + "lookup.upload_nonce"
"""Part of the terms uploader's key: a new number gives an empty uploader (its value cannot be set)."""
_UPLOAD_SEEN = PREFIX + "lookup.upload_seen"  # file_id of the upload read last (read once, not on every rerun)
_UPLOAD_PROBLEM = PREFIX + "lookup.upload_problem"  # why the current upload could not be read, or None
SEARCH_LIMIT = 20
"""Rows a search of the texts offers as examples."""
NEEDS_GRAPH = (
    "A similarity LF compares rows by their embeddings: build the embeddings on the data page first "
    "(Data & embeddings → Build)."
)

Widget = Literal["text", "checkbox", "text_column", "column", "op", "number", "rows", "lines", "terms", "hidden"]


class FormUnavailable(ValueError):
    """The kind picked cannot be used yet (e.g. similarity before the graph); the form already says why."""


@dataclass(frozen=True)
class EmbeddingsStatus:
    """What the project's embeddings allow a similarity LF.

    Attributes
    ----------
    built : bool
        The graph (and so the rows' embeddings) exists.
    embeds_texts : bool
        The project's embedder can embed a pasted text into the rows' space.
    name : str
        The embeddings, as shown ("MiniLM …", "TF-IDF + SVD", "uploaded vectors").
    why_not : str
        When ``embeds_texts`` is False: why, for the user.
    """

    built: bool = False
    embeds_texts: bool = False
    name: str = ""
    why_not: str = ""

    def texts_message(self) -> str:
        """What the form says instead of embedding pasted texts."""
        return (
            f"Pasted example texts cannot be used with this project's embeddings ({self.name}): {self.why_not} "
            "Pick example rows instead (search the texts below), or build the embeddings with a text model "
            "(MiniLM or WordLlama) on the data page."
        )


def embeddings_status(settings: ProjectSettings) -> EmbeddingsStatus:
    """What a similarity LF can use in a project with ``settings``.

    TF-IDF is fitted on the table itself (vocabulary and SVD), so a new text embedded on its own would not land
    in the rows' space; uploaded vectors and numeric columns come with the table, with no model for new text.
    """
    source = settings.embedding
    if source.embeds_new_texts:
        return EmbeddingsStatus(bool(settings.graph_built), True, source.label)
    if source.kind == "model" and source.model is not None:
        name = model_label(source.model)
        why = "TF-IDF is fitted on this table, so a new text would not land among its rows."
    else:
        name = "uploaded vectors" if source.kind == "npy" else "numeric columns"
        why = "they come with the table; there is no model to embed a new text."
    return EmbeddingsStatus(bool(settings.graph_built), False, name, why)


@dataclass(frozen=True)
class Field:
    """One widget of a kind's form.

    Attributes
    ----------
    name : str
        The LF constructor field it sets (also the end of its widget key).
    label : str
        Shown above the widget.
    widget : {"text", "checkbox", "text_column", "column", "op", "number", "rows", "lines", "terms", "hidden"}
        Text box, checkbox, a column or "(text column)", a column, a column-rule operator, a cosine threshold,
        row numbers (with a search of the texts), a text area (one entry per line), a terms-file uploader,
        nothing drawn (a value kept with the LF, e.g. where its terms came from).
    default : Any
        The widget value of a new LF.
    """

    name: str
    label: str
    widget: Widget
    default: Any = ""

    def key(self, kind: str) -> str:
        """The widget's session-state key."""
        return f"{PREFIX}{kind}.{self.name}"


@dataclass(frozen=True)
class KindForm:
    """The form of one LF kind.

    Attributes
    ----------
    kind : str
        The LF class's ``kind`` tag.
    title : str
        Shown in the kind picker.
    cls : type
        The LF class built.
    rows : tuple of tuple of Field
        The widgets, row by row (each row is drawn as columns).
    to_lf : callable
        ``to_lf(values, df)``: the widget values (by field name) as constructor fields; raises ValueError.
    from_lf : callable
        ``from_lf(lf)``: an LF's constructor fields as widget values (by field name).
    """

    kind: str
    title: str
    cls: type[BaseLF]
    rows: tuple[tuple[Field, ...], ...]
    to_lf: Callable[[dict[str, Any], pd.DataFrame], dict[str, Any]]
    from_lf: Callable[[Any], dict[str, Any]]

    @property
    def fields(self) -> list[Field]:
        return [field for row in self.rows for field in row]

    @property
    def needs_embeddings(self) -> bool:
        """Whether the LF compares rows by their embeddings (similarity)."""
        return bool(getattr(self.cls, "needs_embeddings", False))


def _split_list(text: str) -> list[str]:
    return [piece.strip() for piece in str(text).split(",") if piece.strip()]


def _text_column(choice: str) -> str | None:
    return None if choice == TEXT_COLUMN else choice


def _rule_value(df: pd.DataFrame, column: str, op: str, text: str) -> Any:
    """The typed value as ``ColumnRuleLF`` expects it: numbers for numeric columns, a list for 'in'.

    >>> frame = pd.DataFrame({"stars": [1.5, 3.0], "name": ["a", "b"]})
    >>> _rule_value(frame, "stars", "in", "1.5, 3"), _rule_value(frame, "name", "==", "a")
    ([1.5, 3], 'a')
    """
    if op in ("is missing", "is not missing"):
        return None
    numeric = column in df.columns and pd.api.types.is_numeric_dtype(df[column]) and df[column].dtype != bool

    def convert(piece: str) -> Any:
        piece = piece.strip()
        if not numeric:
            return piece
        try:
            number = float(piece)
        except ValueError:
            raise ValueError(f"Column {column!r} is numeric: {piece!r} is not a number.") from None
        return int(number) if number.is_integer() else number

    if op in ("in", "not in"):
        return [convert(piece) for piece in _split_list(text)]
    if not str(text).strip():
        raise ValueError("Type a value for the rule.")
    return text if op == "contains" else convert(text)


def _shown_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def _example_rows(text: str, df: pd.DataFrame) -> list[int]:
    """Row numbers typed as ``"3, 17 25"``, checked against the table.

    >>> _example_rows("3, 17 3", pd.DataFrame({"t": range(20)}))
    [3, 17]
    """
    rows: list[int] = []
    for piece in str(text).replace(",", " ").split():
        try:
            row = int(piece)
        except ValueError:
            raise ValueError(f"Example rows are row numbers (0, 1, 2, ...): {piece!r} is not one.") from None
        if not 0 <= row < len(df):
            raise ValueError(f"Row {row} does not exist: the table has rows 0 to {len(df) - 1:,}.")
        if row not in rows:
            rows.append(row)
    return rows


def _lines(text: str) -> list[str]:
    """Non-empty lines, stripped.

    >>> _lines("free money\\n\\n  win big ")
    ['free money', 'win big']
    """
    return [line.strip() for line in str(text).splitlines() if line.strip()]


def _lookup_fields(v: dict[str, Any]) -> dict[str, Any]:
    if not v["terms"]:
        raise ValueError("Upload a file of terms: a .txt file with one term per line, or a .csv file.")
    return {
        "terms": list(v["terms"]),
        "source": v["source"] or None,
        "whole_word": bool(v["whole_word"]),
        "case_sensitive": bool(v["case_sensitive"]),
        "column": _text_column(v["column"]),
    }


def _similarity_fields(v: dict[str, Any], df: pd.DataFrame) -> dict[str, Any]:
    rows, texts = _example_rows(v["rows"], df), _lines(v["texts"])
    if not rows and not texts:
        raise ValueError("Give at least one example: row numbers (search the texts to find them) or a text.")
    return {"threshold": float(v["threshold"]), "rows": rows, "texts": texts}


_COLUMN = Field("column", "Column", "text_column", TEXT_COLUMN)
_CASE = Field("case_sensitive", "Case-sensitive", "checkbox", False)

FORMS: dict[str, KindForm] = {
    form.kind: form
    for form in (
        KindForm(
            kind=KeywordLF.kind,
            title="Keywords",
            cls=KeywordLF,
            rows=(
                (Field("keywords", "Keywords, comma-separated (literal text, not regex)", "text"),),
                (Field("whole_word", "Whole words only", "checkbox", True), _CASE, _COLUMN),
            ),
            to_lf=lambda v, df: {
                "keywords": _split_list(v["keywords"]),
                "whole_word": bool(v["whole_word"]),
                "case_sensitive": bool(v["case_sensitive"]),
                "column": _text_column(v["column"]),
            },
            from_lf=lambda lf: {
                "keywords": ", ".join(lf.keywords),
                "whole_word": lf.whole_word,
                "case_sensitive": lf.case_sensitive,
                "column": lf.column or TEXT_COLUMN,
            },
        ),
        KindForm(
            kind=RegexLF.kind,
            title="Regular expression",
            cls=RegexLF,
            rows=(
                (Field("pattern", "Pattern (RE2 syntax: no lookarounds or backreferences)", "text"),),
                (_CASE, _COLUMN),
            ),
            to_lf=lambda v, df: {
                "pattern": v["pattern"],
                "case_sensitive": bool(v["case_sensitive"]),
                "column": _text_column(v["column"]),
            },
            from_lf=lambda lf: {
                "pattern": lf.pattern,
                "case_sensitive": lf.case_sensitive,
                "column": lf.column or TEXT_COLUMN,
            },
        ),
        KindForm(
            kind=LookupLF.kind,
            title="Lookup list",
            cls=LookupLF,
            rows=(
                (Field("terms", "Terms file: .txt (one term per line) or .csv (a column of terms)", "terms", ()),),
                (Field("whole_word", "Whole words only", "checkbox", True), _CASE, _COLUMN),
                (Field("source", "Source", "hidden", None),),
            ),
            to_lf=lambda v, df: _lookup_fields(v),
            from_lf=lambda lf: {
                "terms": tuple(lf.terms),
                "source": lf.source,
                "whole_word": lf.whole_word,
                "case_sensitive": lf.case_sensitive,
                "column": lf.column or TEXT_COLUMN,
            },
        ),
        KindForm(
            kind=ColumnRuleLF.kind,
            title="Column rule",
            cls=ColumnRuleLF,
            rows=(
                (
                    Field("column", "Column", "column", None),
                    Field("op", "Operator", "op", ">"),
                    Field("value", "Value (a list for 'in': comma-separated; empty for 'is missing')", "text"),
                ),
            ),
            to_lf=lambda v, df: {
                "column": v["column"],
                "op": v["op"],
                "value": _rule_value(df, v["column"], v["op"], v["value"]),
            },
            from_lf=lambda lf: {"column": lf.column, "op": lf.op, "value": _shown_value(lf.value)},
        ),
        KindForm(
            kind=SimilarityLF.kind,
            title="Similar rows",
            cls=SimilarityLF,
            rows=(
                (Field("rows", "Example rows: row numbers, comma-separated", "rows"),),
                (Field("texts", "Example texts, one per line (embedded with the project's model)", "lines"),),
                (Field("threshold", "Cosine similarity to the nearest example at least", "number", 0.8),),
            ),
            to_lf=_similarity_fields,
            from_lf=lambda lf: {
                "rows": ", ".join(map(str, lf.rows)),
                "texts": "\n".join(lf.texts),
                "threshold": float(lf.threshold),
            },
        ),
    )
}
"""The form of every LF kind that can be written in the browser, by kind tag."""


def _defaults() -> dict[str, Any]:
    values: dict[str, Any] = {KIND_KEY: KeywordLF.kind, NAME_KEY: "", LABEL_KEY: 0, SEARCH_KEY: ""}
    for form in FORMS.values():
        values.update({field.key(form.kind): field.default for field in form.fields})
    return values


def reset() -> None:
    """Empty the form for a new LF (call from a callback or before the form is drawn)."""
    for key, value in _defaults().items():
        st.session_state[key] = value
    # A file uploader's value cannot be set: a new key gives an empty one.
    st.session_state[UPLOAD_NONCE] = int(st.session_state.get(UPLOAD_NONCE, 0)) + 1
    st.session_state[_UPLOAD_SEEN] = None
    st.session_state[_UPLOAD_PROBLEM] = None


def fill(lf: BaseLF) -> None:
    """Put ``lf`` into the form (call from a callback or before the form is drawn).

    A lookup LF's terms are kept in the form, so saving it again without uploading a file keeps them.

    Raises
    ------
    ValueError
        For an LF kind the form cannot edit (imported vote columns).
    """
    form = FORMS.get(lf.kind)
    if form is None:
        raise ValueError(f"LFs of kind {lf.kind!r} cannot be edited in the form.")
    reset()
    st.session_state[KIND_KEY] = form.kind
    st.session_state[NAME_KEY] = lf.name
    st.session_state[LABEL_KEY] = int(lf.label or 0)
    for field_name, value in form.from_lf(lf).items():
        st.session_state[f"{PREFIX}{form.kind}.{field_name}"] = value


def typed_name() -> str:
    """The name typed so far (empty before the user has typed anything)."""
    return str(st.session_state.get(NAME_KEY, "")).strip()


# ---------------------------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class _Context:
    dataset: Dataset
    columns: list[str]
    embeddings: EmbeddingsStatus


_SEARCH_CACHE: dict[str, Any] = {}  # content hash -> the texts as one Arrow array (one dataset at a time)


def _texts_array(dataset: Dataset) -> Any:
    import pyarrow as pa

    cached = _SEARCH_CACHE.get(dataset.content_hash)
    if cached is None:
        try:
            cached = pa.array(dataset.texts, type=pa.large_string())
        except (pa.ArrowException, UnicodeEncodeError):  # lone surrogates: "?" one for one
            cached = pa.array([t.encode("utf-8", "replace").decode("utf-8") for t in dataset.texts], pa.large_string())
        _SEARCH_CACHE.clear()
        _SEARCH_CACHE[dataset.content_hash] = cached
    return cached


def find_rows(dataset: Dataset, query: str, limit: int = SEARCH_LIMIT) -> list[int]:
    """The first ``limit`` rows whose text contains ``query`` (literally, ignoring case), in row order.

    A vectorised Arrow scan (no regex: what is typed is searched as written), so it stays fast at a million rows.
    """
    import pyarrow.compute as pc

    query = str(query).strip()
    if not query:
        return []
    query = query.encode("utf-8", "replace").decode("utf-8")
    found = pc.match_substring(_texts_array(dataset), pattern=query, ignore_case=True)
    return [int(i) for i in np.flatnonzero(found.to_numpy(zero_copy_only=False))[:limit]]


def _snippet(text: str, size: int = 90) -> str:
    text = " ".join(text[: size * 4].split())  # a million-character cell costs what a short one does
    return text if len(text) <= size else text[: size - 1] + "…"


def _add_picked(rows_key: str, pick_key: str) -> None:
    """Button callback: append the rows picked from a search to the example rows."""
    picked = [int(r) for r in st.session_state.get(pick_key, [])]
    current = str(st.session_state.get(rows_key, "")).replace(",", " ").split()
    merged = current + [str(r) for r in picked if str(r) not in current]
    st.session_state[rows_key] = ", ".join(merged)
    st.session_state[pick_key] = []


def _draw_rows(container: Any, key: str, label: str, context: _Context) -> None:
    dataset = context.dataset
    container.text_input(label, key=key, placeholder="e.g. 12, 40, 311")
    try:
        chosen = _example_rows(st.session_state.get(key, ""), dataset.df)
    except ValueError:
        chosen = []  # the message comes with the draft
    if chosen:
        shown = "  \n".join(f"row {r}: {render.md(_snippet(dataset.texts[r]))}" for r in chosen[:5])
        more = f"  \n… and {len(chosen) - 5:,} more" if len(chosen) > 5 else ""
        container.caption(shown + more)
    query = container.text_input(
        "Find example rows: search the texts", key=SEARCH_KEY, placeholder="a word or phrase, e.g. gift card"
    )
    if not str(query).strip():
        return
    found = find_rows(dataset, query)
    if not found:
        container.caption("No row contains " + render.md(repr(str(query).strip())) + ".")
        return
    # One widget per query: the options change with the query, the picks of another query do not carry over.
    digest = hashlib.sha256(str(query).encode("utf-8", "replace")).hexdigest()[:16]
    pick_key = f"{PREFIX}similarity.pick.{digest}"
    left, right = container.columns([5, 1], vertical_alignment="bottom")
    left.multiselect(
        f"Rows containing it (first {SEARCH_LIMIT})" if len(found) == SEARCH_LIMIT else "Rows containing it",
        found,
        format_func=lambda r: f"{r}: {_snippet(dataset.texts[r])}",  # options are shown as plain text
        key=pick_key,
    )
    right.button(
        "Add as examples",
        key=PREFIX + "similarity.add_rows",
        on_click=_add_picked,
        args=(key, pick_key),
        disabled=not st.session_state.get(pick_key),
    )


def _read_upload(upload: Any, key: str, source_key: str) -> None:
    """Read a newly uploaded terms file into the form; a bad file leaves the terms as they were."""
    if upload is None:
        st.session_state[_UPLOAD_PROBLEM] = None  # the bad file was removed
        return
    if st.session_state.get(_UPLOAD_SEEN) == upload.file_id:
        return
    st.session_state[_UPLOAD_SEEN] = upload.file_id
    try:
        terms = terms_from_file(upload.getvalue(), upload.name)
    except ValueError as error:
        st.session_state[_UPLOAD_PROBLEM] = str(error)
        return
    st.session_state[key], st.session_state[source_key] = tuple(terms), upload.name
    st.session_state[_UPLOAD_PROBLEM] = None


def _draw_terms(container: Any, key: str, label: str) -> None:
    source_key = PREFIX + "lookup.source"
    upload = container.file_uploader(
        label,
        type=["txt", "csv", "tsv", "text", "lst"],
        key=f"{PREFIX}lookup.file.{st.session_state.get(UPLOAD_NONCE, 0)}",
    )
    _read_upload(upload, key, source_key)
    terms, source = st.session_state.get(key) or (), st.session_state.get(source_key)
    kept = f"{len(terms):,} terms" + (f" from {source}" if source else "")
    problem = st.session_state.get(_UPLOAD_PROBLEM)
    if problem:
        render.message("warning", problem + (f" The LF keeps its {kept}." if terms else ""))
    if terms:
        sample = ", ".join(repr(t) for t in terms[:8]) + (", …" if len(terms) > 8 else "")
        container.caption(render.md(f"{kept}: {sample}"))


def _draw_field(container: Any, form: KindForm, field: Field, context: _Context) -> None:
    key = field.key(form.kind)
    if field.widget == "text":
        container.text_input(field.label, key=key)
    elif field.widget == "checkbox":
        container.checkbox(field.label, key=key)
    elif field.widget == "op":
        container.selectbox(field.label, list(COLUMN_OPS), key=key)
    elif field.widget == "number":
        container.number_input(field.label, min_value=-1.0, max_value=1.0, step=0.01, format="%.2f", key=key)
    elif field.widget == "rows":
        _draw_rows(container, key, field.label, context)
    elif field.widget == "lines":
        if not context.embeddings.embeds_texts and context.embeddings.built:
            render.message("info", context.embeddings.texts_message())
        container.text_area(
            field.label,
            key=key,
            height=90,
            disabled=not context.embeddings.embeds_texts and not st.session_state.get(key),
        )
    elif field.widget == "terms":
        _draw_terms(container, key, field.label)
    elif field.widget in ("text_column", "column"):
        options = [TEXT_COLUMN, *context.columns] if field.widget == "text_column" else list(context.columns)
        if st.session_state.get(key) not in options:  # another dataset's column, or a new form
            st.session_state[key] = options[0]
        container.selectbox(field.label, options, key=key)
    # "hidden": kept in the session state only


def draw(dataset: Dataset, embeddings: EmbeddingsStatus | None = None) -> KindForm:
    """Draw the form for the kind picked; returns that kind's form (read it back with :func:`read`).

    ``embeddings`` (from :func:`embeddings_status`) says what a similarity LF can use; by default nothing.
    """
    embeddings = EmbeddingsStatus() if embeddings is None else embeddings
    for key, value in _defaults().items():
        st.session_state.setdefault(key, value)
    st.radio("Type", list(FORMS), format_func=lambda kind: FORMS[kind].title, horizontal=True, key=KIND_KEY)
    form = FORMS[st.session_state[KIND_KEY]]
    if form.needs_embeddings and not embeddings.built:
        render.message("info", NEEDS_GRAPH)
    left, right = st.columns(2)
    left.text_input("Name", key=NAME_KEY, placeholder="e.g. mentions refund")
    classes = list(range(dataset.cardinality))
    if st.session_state.get(LABEL_KEY) not in classes:  # an LF of another dataset being repaired
        st.session_state[LABEL_KEY] = 0
    # Selectbox options are shown as plain text, so class names need no escaping here.
    right.selectbox("Votes for class", classes, format_func=lambda i: dataset.class_names[i], key=LABEL_KEY)
    context = _Context(dataset, [str(c) for c in dataset.df.columns], embeddings)
    for row in form.rows:
        shown = [field for field in row if field.widget != "hidden"]
        if not shown:
            continue
        containers = st.columns(len(shown)) if len(shown) > 1 else [st]
        for container, field in zip(containers, shown, strict=True):
            _draw_field(container, form, field, context)
    return form


def read(
    dataset: Dataset, form: KindForm, *, enabled: bool = True, embeddings: EmbeddingsStatus | None = None
) -> BaseLF:
    """The LF the drawn form describes.

    Raises
    ------
    FormUnavailable
        For a similarity LF before the embeddings are built (:func:`draw` already says so).
    ValueError
        With the form's own message (no name, a value that is not a number, no terms file, pasted texts the
        project cannot embed) or the LF's (no keywords, a bad regex, ...).
    """
    embeddings = EmbeddingsStatus() if embeddings is None else embeddings
    if form.needs_embeddings and not embeddings.built:
        raise FormUnavailable(NEEDS_GRAPH)
    lf_name = typed_name()
    if not lf_name:
        raise ValueError("Give the LF a name.")
    values = {field.name: st.session_state[field.key(form.kind)] for field in form.fields}
    fields = form.to_lf(values, dataset.df)
    if fields.get("texts") and not embeddings.embeds_texts:
        raise ValueError(embeddings.texts_message())
    return form.cls(name=lf_name, label=int(st.session_state[LABEL_KEY]), enabled=enabled, **fields)
