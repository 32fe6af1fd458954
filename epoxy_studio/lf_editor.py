"""The labeling-function form and the LF-set operations of the LF page (no Python is ever typed or run).

The form's widgets hold the draft (keys ``lfs.form.*``); :func:`draft_from_form` turns them into an LF dict
validated by ``epoxy_core.lf.lf_from_dict``.  Editing an existing LF copies its fields into those keys
from a button callback, before the widgets are drawn (Streamlit forbids setting a widget's key after).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core.data import Dataset
from epoxy_core.labels import from_signed
from epoxy_core.lf import COLUMN_OPS, VoteColumnLF, apply_lfs, lf_from_dict, lf_to_dict, lfs_from_json, lfs_to_json
from epoxy_studio import project, state

__all__ = [
    "FORM_TYPES",
    "delete_lf",
    "draft_from_form",
    "import_lf_json",
    "import_votes",
    "move_lf",
    "normalise_lf_dicts",
    "render_form",
    "render_import_export",
    "render_lf_list",
    "save_draft",
    "save_form",
    "start_editing",
    "start_new",
    "toggle_lf",
]

FORM_TYPES = {"keyword": "Keywords", "regex": "Regular expression", "column_rule": "Column rule"}
_F = "lfs.form."
_TEXT = "(text column)"


def normalise_lf_dicts(dicts: list[dict]) -> tuple[list[dict], list[str]]:
    """Round-trip LF dicts through the core (fills defaults, validates); returns (valid dicts, error messages)."""
    good, errors = [], []
    for d in dicts:
        try:
            good.append(lf_to_dict(lf_from_dict(d)))
        except ValueError as error:
            errors.append(f"{d.get('name', '?') if isinstance(d, dict) else '?'}: {error}")
    return good, errors


def _defaults() -> dict[str, Any]:
    return {
        "type": "keyword",
        "name": "",
        "label": 0,
        "keywords": "",
        "whole_word": True,
        "case_sensitive": False,
        "column": _TEXT,
        "pattern": "",
        "rule_column": None,
        "op": ">",
        "value": "",
    }


def _fill_form(values: dict[str, Any]) -> None:
    for key, value in values.items():
        st.session_state[_F + key] = value


def start_new() -> None:
    """Button callback: clear the form for a new LF."""
    st.session_state[state.EDITING] = None
    _fill_form(_defaults())


def start_editing(name: str) -> None:
    """Button callback: load LF ``name`` into the form."""
    d = next(x for x in project.current_lfs() if x["name"] == name)
    values = _defaults()
    values.update(type=d["type"], name=d["name"], label=int(d.get("label") or 0))
    if d["type"] == "keyword":
        values.update(keywords=", ".join(d["keywords"]), whole_word=d["whole_word"], case_sensitive=d["case_sensitive"])
    elif d["type"] == "regex":
        values.update(pattern=d["pattern"], case_sensitive=d["case_sensitive"])
    if d["type"] in ("keyword", "regex"):
        values["column"] = d.get("column") or _TEXT
    if d["type"] == "column_rule":
        value = d.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value))
        values.update(rule_column=d["column"], op=d["op"], value=shown)
    st.session_state[state.EDITING] = name
    _fill_form(values)


def render_form(dataset: Dataset) -> None:
    """Draw the LF form (its values are read back by :func:`draft_from_form`)."""
    for key, value in _defaults().items():
        st.session_state.setdefault(_F + key, value)
    columns = [str(c) for c in dataset.df.columns]
    st.radio("Type", list(FORM_TYPES), format_func=FORM_TYPES.get, horizontal=True, key=_F + "type")
    left, right = st.columns(2)
    left.text_input("Name", key=_F + "name", placeholder="e.g. mentions refund")
    classes = list(range(dataset.cardinality))
    right.selectbox("Votes for class", classes, format_func=lambda i: dataset.class_names[i], key=_F + "label")
    kind = st.session_state[_F + "type"]
    if kind == "keyword":
        st.text_input("Keywords, comma-separated (literal text, not regex)", key=_F + "keywords")
        a, b, c = st.columns(3)
        a.checkbox("Whole words only", key=_F + "whole_word")
        b.checkbox("Case-sensitive", key=_F + "case_sensitive")
        c.selectbox("Column", [_TEXT, *columns], key=_F + "column")
    elif kind == "regex":
        st.text_input("Pattern (RE2 syntax: no lookarounds or backreferences)", key=_F + "pattern")
        a, b = st.columns(2)
        a.checkbox("Case-sensitive", key=_F + "case_sensitive")
        b.selectbox("Column", [_TEXT, *columns], key=_F + "column")
    else:
        if st.session_state[_F + "rule_column"] not in columns:
            st.session_state[_F + "rule_column"] = columns[0]
        a, b, c = st.columns([2, 1, 2])
        a.selectbox("Column", columns, key=_F + "rule_column")
        b.selectbox("Operator", list(COLUMN_OPS), key=_F + "op")
        c.text_input("Value (a list for 'in': comma-separated; empty for 'is missing')", key=_F + "value")


def _rule_value(df: pd.DataFrame, column: str, op: str, text: str) -> Any:
    """Turn the typed value into what ``ColumnRuleLF`` expects (numbers for numeric columns, lists for 'in')."""
    if op in ("is missing", "is not missing"):
        return None
    numeric = pd.api.types.is_numeric_dtype(df[column]) and df[column].dtype != bool

    def convert(piece: str) -> Any:
        piece = piece.strip()
        if numeric:
            try:
                number = float(piece)
            except ValueError:
                raise ValueError(f"Column {column!r} is numeric: {piece!r} is not a number.") from None
            return int(number) if number.is_integer() else number
        return piece

    if op in ("in", "not in"):
        return [convert(p) for p in text.split(",") if p.strip()]
    if not text.strip():
        raise ValueError("Type a value for the rule.")
    return text if op == "contains" else convert(text)


def draft_from_form(dataset: Dataset) -> dict[str, Any]:
    """The LF the form describes, as a validated dict.

    Raises
    ------
    ValueError
        With the core's message (empty keyword list, bad regex, ...) or the form's own.
    """
    get = lambda key: st.session_state[_F + key]  # noqa: E731 - a short local reader keeps this readable
    name = get("name").strip()
    if not name:
        raise ValueError("Give the LF a name.")
    kind = get("type")
    column = None if get("column") == _TEXT else get("column")
    if kind == "keyword":
        keywords = [k.strip() for k in get("keywords").split(",") if k.strip()]
        d = {
            "type": kind,
            "name": name,
            "label": int(get("label")),
            "keywords": keywords,
            "whole_word": bool(get("whole_word")),
            "case_sensitive": bool(get("case_sensitive")),
            "column": column,
        }
    elif kind == "regex":
        d = {
            "type": kind,
            "name": name,
            "label": int(get("label")),
            "pattern": get("pattern"),
            "case_sensitive": bool(get("case_sensitive")),
            "column": column,
        }
    else:
        rule_column = get("rule_column")
        d = {
            "type": kind,
            "name": name,
            "label": int(get("label")),
            "column": rule_column,
            "op": get("op"),
            "value": _rule_value(dataset.df, rule_column, get("op"), get("value")),
        }
    editing = st.session_state[state.EDITING]
    if name != editing and any(x["name"] == name for x in project.current_lfs()):
        raise ValueError(f"An LF named {name!r} already exists; choose another name.")
    if editing is not None:
        old = next((x for x in project.current_lfs() if x["name"] == editing), None)
        d["enabled"] = True if old is None else old.get("enabled", True)
    return lf_to_dict(lf_from_dict(d))


def save_draft(draft: dict[str, Any]) -> None:
    """Add the draft as a new LF, or replace the LF being edited (keeping its place in the list)."""
    editing = st.session_state[state.EDITING]
    current = list(project.current_lfs())
    names = [x["name"] for x in current]
    if editing in names:
        current[names.index(editing)] = draft
    else:
        current.append(draft)
    if project.save_lfs(current):
        state.flash("success", f"Saved LF {draft['name']!r}.")
    start_new()


def save_form(dataset: Dataset) -> None:
    """Button callback: validate the form and save it (a callback, because saving resets the form's widgets)."""
    try:
        save_draft(draft_from_form(dataset))
    except ValueError as error:
        state.flash("error", str(error))


def toggle_lf(name: str) -> None:
    """Checkbox callback: switch an LF on or off (from its checkbox key)."""
    enabled = bool(st.session_state[f"lfs.enabled.{name}"])
    project.save_lfs([{**x, "enabled": enabled} if x["name"] == name else x for x in project.current_lfs()])


def move_lf(name: str, step: int) -> None:
    """Button callback: move an LF up (-1) or down (+1) in the list."""
    current = list(project.current_lfs())
    i = [x["name"] for x in current].index(name)
    j = min(max(i + step, 0), len(current) - 1)
    current[i], current[j] = current[j], current[i]
    project.save_lfs(current)


def delete_lf(name: str) -> None:
    """Button callback: delete an LF (and its threshold)."""
    project.save_lfs([x for x in project.current_lfs() if x["name"] != name])
    thresholds = {k: v for k, v in project.settings()["thresholds"].items() if k != name}
    project.update_settings(thresholds=thresholds)
    if st.session_state[state.EDITING] == name:
        start_new()
    state.flash("info", f"Deleted LF {name!r}.")


def import_lf_json(raw: bytes, replace: bool) -> int:
    """Add (or replace the set with) the LFs of an exported JSON file; returns how many were imported.

    Raises
    ------
    ValueError
        For an invalid file, or names that clash with existing LFs when adding.
    """
    imported = [lf_to_dict(lf) for lf in lfs_from_json(raw)]
    current = [] if replace else list(project.current_lfs())
    clash = sorted({d["name"] for d in imported} & {d["name"] for d in current})
    if clash:
        raise ValueError(f"LFs named {clash} already exist; rename them or choose 'replace the LF set'.")
    project.save_lfs(current + imported)
    return len(imported)


def _votes_table(raw: bytes, filename: str, dataset: Dataset) -> pd.DataFrame:
    """Read uploaded votes: a .npy (rows, LFs) array or a CSV with one column per LF."""
    if filename.lower().endswith(".npy"):
        import io

        try:
            array = np.load(io.BytesIO(raw), allow_pickle=False)  # never unpickle an upload
        except (ValueError, OSError) as error:
            raise ValueError(f"{filename} is not a readable .npy array: {error}") from None
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2:
            raise ValueError(f"{filename} must hold a (rows, LFs) array; it has shape {array.shape}.")
        stem = filename.rsplit(".", 1)[0]
        return pd.DataFrame(array, columns=[f"{stem}_{j}" for j in range(array.shape[1])])
    from epoxy_core.data import read_table

    return read_table(raw, filename)


def import_votes(raw: bytes, filename: str, signed: bool, positive_class: int) -> list[str]:
    """Add LF votes from a file as new vote columns of the dataset and one VoteColumnLF each.

    Parameters
    ----------
    raw, filename
        The uploaded file: ``.npy`` (rows, LFs) or a CSV/Parquet/JSONL table of vote columns.
    signed : bool
        The votes are +1 / -1 / 0 (abstain), as Epoxy and FlyingSquid write them.
    positive_class : int
        The class that +1 stands for (signed votes only).

    Returns
    -------
    list of str
        Names of the LFs added.

    Raises
    ------
    ValueError
        Row-count mismatch, values outside the classes, name clashes; nothing is changed then.
    """
    dataset = project.current_dataset()
    votes = _votes_table(raw, filename, dataset)
    if len(votes) != len(dataset):
        raise ValueError(f"{filename} has {len(votes):,} rows but the dataset has {len(dataset):,}; rows must align.")
    if signed:
        if dataset.cardinality != 2:
            raise ValueError("Signed (+1/-1/0) votes only make sense for two classes.")
        converted = from_signed(votes.to_numpy(), positive_class=positive_class)
        votes = pd.DataFrame(converted, columns=votes.columns)
    existing = {d["name"] for d in project.current_lfs()}
    df = dataset.df.copy()
    new_lfs = []
    for column in votes.columns:
        name = str(column)
        target = f"votes: {name}"
        if name in existing or target in df.columns:
            raise ValueError(f"An LF or column named {name!r} already exists; rename the column in the file.")
        df[target] = votes[column].to_numpy()
        new_lfs.append(lf_to_dict(VoteColumnLF(name, target)))
    # Check every new LF against the data before saving anything.
    apply_lfs([lf_from_dict(d) for d in new_lfs], df, dataset.spec.text_column, dataset.cardinality)
    project.replace_dataset(df, dataset.spec, project.dataset_source() or "dataset")
    project.save_lfs([*project.current_lfs(), *new_lfs])
    return [d["name"] for d in new_lfs]


def export_json(lf_dicts: list[dict]) -> str:
    """The LF set as the core's JSON format (for the download button)."""
    return lfs_to_json([lf_from_dict(d) for d in lf_dicts])


def lf_description(d: dict[str, Any], class_names: list[str]) -> str:
    """One line describing an LF for the list."""
    label = class_names[d["label"]] if d.get("label") is not None else "votes from column"
    if d["type"] == "keyword":
        rule = "keywords " + ", ".join(json.dumps(k) for k in d["keywords"][:6])
    elif d["type"] == "regex":
        rule = f"regex /{d['pattern']}/"
    elif d["type"] == "column_rule":
        rule = f"{d['column']} {d['op']} {d.get('value')!r}"
    else:
        rule = f"column {d['column']!r}"
    return f"{rule} → {label}"


def render_lf_list(dataset: Dataset) -> None:
    """One line per LF: on/off, description, reorder, edit, delete (all saved at once by callbacks)."""
    lf_dicts = project.current_lfs()
    if not lf_dicts:
        st.info("No LFs yet: write one above, import some below, or open a demo.")
    last = len(lf_dicts) - 1
    for i, d in enumerate(lf_dicts):
        name = d["name"]
        on, text, up, down, edit, delete = st.columns([1, 12, 1, 1, 1, 1], vertical_alignment="center")
        # The checkbox key carries the LF's saved state: reset it so a reload from disk shows the truth.
        st.session_state[f"lfs.enabled.{name}"] = bool(d.get("enabled", True))
        on.checkbox("on", key=f"lfs.enabled.{name}", on_change=toggle_lf, args=(name,), label_visibility="collapsed")
        text.text(f"{name}: {lf_description(d, dataset.class_names)}")
        up.button(
            ":material/arrow_upward:",
            key=f"lfs.up.{name}",
            on_click=move_lf,
            args=(name, -1),
            disabled=i == 0,
            help="Move up",
        )
        down.button(
            ":material/arrow_downward:",
            key=f"lfs.down.{name}",
            on_click=move_lf,
            args=(name, 1),
            disabled=i == last,
            help="Move down",
        )
        edit.button(
            ":material/edit:",
            key=f"lfs.edit.{name}",
            on_click=start_editing,
            args=(name,),
            disabled=d["type"] == "vote_column",
            help="Edit (imported votes cannot be edited)",
        )
        delete.button(":material/delete:", key=f"lfs.delete.{name}", on_click=delete_lf, args=(name,), help="Delete")


def render_import_export(dataset: Dataset) -> None:
    """Import LF votes or an LF set, export the LF set; errors are shown and change nothing."""
    votes_tab, json_tab = st.tabs(["Import LF votes", "LF set as JSON"])
    with votes_tab:
        st.caption("A .npy (rows, LFs) array or a CSV of vote columns, rows in dataset order: class index or -1.")
        upload = st.file_uploader("Votes file", type=["npy", "csv", "parquet", "jsonl"], key="lfs.votes_file")
        signed = st.checkbox("Signed votes (+1 / -1 / 0 = abstain)", key="lfs.votes_signed")
        positive = 0
        if signed and dataset.cardinality == 2:
            positive = st.selectbox(
                "+1 means", [0, 1], index=1, format_func=lambda i: dataset.class_names[i], key="lfs.votes_positive"
            )
        if st.button("Import votes", key="lfs.import_votes", disabled=upload is None):
            try:
                added = import_votes(upload.getvalue(), upload.name, signed, positive)
            except ValueError as error:
                st.error(str(error))
            else:
                state.flash("success", f"Imported {len(added)} vote LFs: {', '.join(added)}.")
                st.rerun()
    with json_tab:
        st.download_button(
            "Export the LF set (JSON)",
            export_json(project.current_lfs()),
            file_name="labeling_functions.json",
            mime="application/json",
            key="lfs.export_json",
            disabled=not project.current_lfs(),
        )
        upload = st.file_uploader("Import an LF set (JSON)", type=["json"], key="lfs.json_file")
        replace = st.checkbox("Replace the current LF set (otherwise add to it)", key="lfs.json_replace")
        if st.button("Import LFs", key="lfs.import_json", disabled=upload is None):
            try:
                count = import_lf_json(upload.getvalue(), replace)
            except ValueError as error:
                st.error(str(error))
            else:
                state.flash("success", f"Imported {count} LFs.")
                st.rerun()
