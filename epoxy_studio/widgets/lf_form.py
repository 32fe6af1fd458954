"""The LF form: one description per LF kind (:data:`FORMS`), drawn, read back and filled by the same code.

A :class:`KindForm` lists the widgets of one kind (keyword, regex, column rule) and how their values become
the LF's constructor fields and back.  Drawing, reading and filling all walk that one list, so the form can
never read a widget it did not draw (the column-rule form once read the keyword form's "column" and failed
with ``KeyError 'lfs.form.column'`` on *Add* and *Save*).  Widget keys are ``lfs.form.<kind>.<field>``: the
kinds never share a widget.  A new LF kind is one more :class:`KindForm`.

No Python is ever typed or run: the form builds ``epoxy_core.lf`` objects, which validate themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import streamlit as st

from epoxy_core.data import Dataset
from epoxy_core.lf import COLUMN_OPS, BaseLF, ColumnRuleLF, KeywordLF, RegexLF

__all__ = ["FORMS", "KIND_KEY", "NAME_KEY", "Field", "KindForm", "draw", "fill", "read", "reset", "typed_name"]

PREFIX = "lfs.form."
KIND_KEY = PREFIX + "kind"
NAME_KEY = PREFIX + "name"
LABEL_KEY = PREFIX + "label"
TEXT_COLUMN = "(text column)"
"""Choice of the column selector meaning "the dataset's text column" (the LF's ``column=None``)."""

Widget = Literal["text", "checkbox", "text_column", "column", "op"]


@dataclass(frozen=True)
class Field:
    """One widget of a kind's form.

    Attributes
    ----------
    name : str
        The LF constructor field it sets (also the end of its widget key).
    label : str
        Shown above the widget.
    widget : {"text", "checkbox", "text_column", "column", "op"}
        Text box, checkbox, a column or "(text column)", a column, a column-rule operator.
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
    )
}
"""The form of every LF kind that can be written in the browser, by kind tag."""


def _defaults() -> dict[str, Any]:
    values: dict[str, Any] = {KIND_KEY: KeywordLF.kind, NAME_KEY: "", LABEL_KEY: 0}
    for form in FORMS.values():
        values.update({field.key(form.kind): field.default for field in form.fields})
    return values


def reset() -> None:
    """Empty the form for a new LF (call from a callback or before the form is drawn)."""
    for key, value in _defaults().items():
        st.session_state[key] = value


def fill(lf: BaseLF) -> None:
    """Put ``lf`` into the form (call from a callback or before the form is drawn).

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


def _draw_field(container: Any, form: KindForm, field: Field, columns: Sequence[str]) -> None:
    key = field.key(form.kind)
    if field.widget == "text":
        container.text_input(field.label, key=key)
    elif field.widget == "checkbox":
        container.checkbox(field.label, key=key)
    elif field.widget == "op":
        container.selectbox(field.label, list(COLUMN_OPS), key=key)
    else:
        options = [TEXT_COLUMN, *columns] if field.widget == "text_column" else list(columns)
        if st.session_state.get(key) not in options:  # another dataset's column, or a new form
            st.session_state[key] = options[0]
        container.selectbox(field.label, options, key=key)


def draw(dataset: Dataset) -> KindForm:
    """Draw the form for the kind picked; returns that kind's form (read it back with :func:`read`)."""
    for key, value in _defaults().items():
        st.session_state.setdefault(key, value)
    st.radio("Type", list(FORMS), format_func=lambda kind: FORMS[kind].title, horizontal=True, key=KIND_KEY)
    form = FORMS[st.session_state[KIND_KEY]]
    left, right = st.columns(2)
    left.text_input("Name", key=NAME_KEY, placeholder="e.g. mentions refund")
    classes = list(range(dataset.cardinality))
    if st.session_state.get(LABEL_KEY) not in classes:  # an LF of another dataset being repaired
        st.session_state[LABEL_KEY] = 0
    # Selectbox options are shown as plain text, so class names need no escaping here.
    right.selectbox("Votes for class", classes, format_func=lambda i: dataset.class_names[i], key=LABEL_KEY)
    columns = [str(c) for c in dataset.df.columns]
    for row in form.rows:
        containers = st.columns(len(row)) if len(row) > 1 else [st]
        for container, field in zip(containers, row, strict=True):
            _draw_field(container, form, field, columns)
    return form


def read(dataset: Dataset, form: KindForm, *, enabled: bool = True) -> BaseLF:
    """The LF the drawn form describes.

    Raises
    ------
    ValueError
        With the form's own message (no name, a value that is not a number) or the LF's (no keywords, a bad
        regex, ...).
    """
    lf_name = typed_name()
    if not lf_name:
        raise ValueError("Give the LF a name.")
    values = {field.name: st.session_state[field.key(form.kind)] for field in form.fields}
    return form.cls(
        name=lf_name, label=int(st.session_state[LABEL_KEY]), enabled=enabled, **form.to_lf(values, dataset.df)
    )
