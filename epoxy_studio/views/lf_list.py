"""The LF list (on/off, reorder, edit, delete), the LF summary table, and importing / exporting LFs.

Every LF is listed, including those that cannot vote on this dataset (a class it does not have, a missing
column, a rule that does not suit the column, a saved entry that is not a valid LF): they are switched off with
their reason beside them, and can be edited (when the form knows their kind) or deleted.  So the page always
renders, whatever was saved or imported.  Every change is saved at once by a callback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from epoxy_core.data import Dataset
from epoxy_core.lf import ColumnRuleLF, KeywordLF, LookupLF, RegexLF, SimilarityLF, VoteColumnLF
from epoxy_studio import lf_io, lfset, project, render, state
from epoxy_studio.engine import Engine
from epoxy_studio.lfset import LFItem
from epoxy_studio.views import lf_editor
from epoxy_studio.widgets import lf_form

__all__ = ["describe", "import_export", "lf_list", "percent_columns", "summary_table"]


def describe(item: LFItem, class_names: Sequence[str]) -> str:
    """One line describing an LF for the list (plain text).

    >>> from epoxy_core.lf import ColumnRuleLF
    >>> describe(lfset.from_lfs([ColumnRuleLF("r", 0, "stars", "<", 2)])[0], ["ham", "spam"])
    'stars < 2 → ham'
    >>> describe(lfset.from_lfs([SimilarityLF("s", 1, 0.8, rows=[3, 7], texts=["win a prize"])])[0], ["ham", "spam"])
    'similar to rows 3, 7 and text "win a prize" (cosine ≥ 0.80) → spam'
    >>> describe(lfset.from_lfs([LookupLF("l", 1, ["acme", "globex"], source="brands.txt")])[0], ["ham", "spam"])
    'lookup list of 2 terms from brands.txt: "acme", "globex" → spam'
    """
    lf = item.lf
    if lf is None:
        return "not a valid LF"
    if lf.label is None:
        label = "votes from the column"
    elif lf.label < len(class_names):
        label = class_names[lf.label]
    else:
        label = f"class {lf.label}"
    if isinstance(lf, KeywordLF):
        rule = "keywords " + ", ".join(json.dumps(k, ensure_ascii=False) for k in lf.keywords[:6])
        rule += " …" if len(lf.keywords) > 6 else ""
    elif isinstance(lf, RegexLF):
        rule = f"regex /{lf.pattern}/"
    elif isinstance(lf, ColumnRuleLF):
        value = list(lf.value) if isinstance(lf.value, tuple) else lf.value
        rule = f"{lf.column} {lf.op}" + ("" if value is None else f" {value!r}")
    elif isinstance(lf, LookupLF):
        rule = f"lookup list of {len(lf.terms):,} term{'s' if len(lf.terms) != 1 else ''}"
        rule += f" from {lf.source}" if lf.source else ""
        rule += ": " + ", ".join(json.dumps(t, ensure_ascii=False) for t in lf.terms[:4])
        rule += " …" if len(lf.terms) > 4 else ""
    elif isinstance(lf, SimilarityLF):
        rule = f"similar to {_examples(lf)} (cosine ≥ {lf.threshold:.2f})"
    elif isinstance(lf, VoteColumnLF):
        rule = f"column {lf.column!r}"
    else:
        rule = lf.kind
    return f"{rule} → {label}"


def _examples(lf: SimilarityLF) -> str:
    """A similarity LF's examples in a few words: ``rows 3, 7 and 2 texts "win a prize", …``."""
    parts = []
    if lf.rows:
        shown = ", ".join(map(str, lf.rows[:6])) + (f" … ({len(lf.rows):,} rows)" if len(lf.rows) > 6 else "")
        parts.append(("row " if len(lf.rows) == 1 else "rows ") + shown)
    if lf.texts:
        first = lf.texts[0] if len(lf.texts[0]) <= 40 else lf.texts[0][:39] + "…"
        what = "text" if len(lf.texts) == 1 else f"{len(lf.texts)} texts"
        parts.append(f"{what} {json.dumps(first, ensure_ascii=False)}" + (", …" if len(lf.texts) > 1 else ""))
    return " and ".join(parts)


def _change(operation: Callable[..., list[LFItem]], *args: Any, done: str | None = None) -> bool:
    """Apply a pure :mod:`epoxy_studio.lfset` operation and save it; problems become a message."""
    try:
        items = operation(project.lfs(), *args)
    except ValueError as error:
        state.flash("warning", str(error))
        return False
    if not project.save_lfs(items):
        return False
    if done:
        state.flash("info", done)
    return True


def _toggle(position: int, lf_name: str) -> None:
    _change(lfset.toggled, position, lf_name, bool(st.session_state[f"lfs.enabled.{position}"]))


def _delete(position: int, lf_name: str) -> None:
    if _change(lfset.deleted, position, lf_name, done=f"Deleted LF {lf_name!r}."):
        project.update_settings(forget_thresholds=[lf_name])  # a new LF of that name starts from the default
        if st.session_state[state.EDITING] == lf_name:
            lf_editor.start_new()


def lf_list(dataset: Dataset, engine: Engine, items: Sequence[LFItem]) -> None:
    """One line per LF: on/off, description (and why it cannot vote, if so), reorder, edit, delete."""
    if not items:
        st.info("No LFs yet: write one above, import some below, or open a demo.")
    problems = engine.problems(items)
    last = len(items) - 1
    for i, (item, problem) in enumerate(zip(items, problems, strict=True)):
        on, text, up, down, edit, delete = st.columns([1, 12, 1, 1, 1, 1], vertical_alignment="center")
        # Keys are positions (names may repeat in a damaged file); the saved state wins over the widget's memory.
        st.session_state[f"lfs.enabled.{i}"] = item.enabled and problem is None
        on.checkbox(
            "on",
            key=f"lfs.enabled.{i}",
            on_change=_toggle,
            args=(i, item.name),
            disabled=problem is not None,
            label_visibility="collapsed",
        )
        text.text(f"{item.name}: {describe(item, dataset.class_names)}")
        if problem is not None:
            text.caption(
                ":material/warning: Cannot vote on this dataset, so it is off: "
                + render.md(render.user_message(problem))
            )
        up.button(
            ":material/arrow_upward:",
            key=f"lfs.up.{i}",
            on_click=_change,
            args=(lfset.moved, i, item.name, -1),
            disabled=i == 0,
            help="Move up",
        )
        down.button(
            ":material/arrow_downward:",
            key=f"lfs.down.{i}",
            on_click=_change,
            args=(lfset.moved, i, item.name, 1),
            disabled=i == last,
            help="Move down",
        )
        editable = item.lf is not None and item.lf.kind in lf_form.FORMS
        edit.button(
            ":material/edit:",
            key=f"lfs.edit.{i}",
            on_click=lf_editor.start_editing,
            args=(i, item.name),
            disabled=not editable,
            help="Edit" if editable else "This kind of LF cannot be edited in the form",
        )
        delete.button(":material/delete:", key=f"lfs.delete.{i}", on_click=_delete, args=(i, item.name), help="Delete")


def percent_columns(frame: Any) -> dict[str, Any]:
    """``st.dataframe`` column config showing the fraction columns of an LF summary as percentages."""
    import pandas as pd

    fractions = ("coverage", "overlaps", "conflicts", "accuracy", "lift")
    return {
        column: st.column_config.NumberColumn(format="percent")
        for column in frame.columns
        if any(part in str(column) for part in fractions) and pd.api.types.is_float_dtype(frame[column])
    }


def summary_table(engine: Engine, items: Sequence[LFItem]) -> None:
    """The LF summary (coverage, overlaps, conflicts, dev accuracy) of every LF that can vote, and P(vote | class)."""
    summary = engine.lf_table(items)
    if summary.empty:
        return
    st.dataframe(summary, width="stretch", column_config=percent_columns(summary))
    rates = engine.vote_rates(items)
    if not rates.empty:
        with st.expander("P(vote | class) on dev: how each LF votes on the dev rows of each class"):
            probabilities = {c: st.column_config.NumberColumn(format="percent") for c in rates.columns if "P(" in c}
            st.dataframe(rates.reset_index(), hide_index=True, width="stretch", column_config=probabilities)


# ---------------------------------------------------------------------------------------------- import / export


def _import_json() -> None:
    upload = st.session_state.get("lfs.json_file")
    if upload is None:
        return
    try:
        items = lf_io.merge_imported(project.lfs(), upload.getvalue(), bool(st.session_state.get("lfs.json_replace")))
    except ValueError as error:
        state.flash("error", str(error))
        return
    if project.save_lfs(items):
        engine = project.engine()
        unfit = [i.name for i, p in zip(items, engine.problems(items), strict=True) if p is not None] if engine else []
        note = f" {len(unfit)} of them cannot vote on this dataset and are off (see the list)." if unfit else ""
        state.flash("success", f"Imported the LFs of {upload.name}.{note}")


def _import_votes() -> None:
    upload = st.session_state.get("lfs.votes_file")
    dataset = project.dataset()
    if upload is None or dataset is None:
        return
    try:
        votes = lf_io.votes_table(upload.getvalue(), upload.name)
        df, new_lfs = lf_io.with_vote_columns(
            dataset,
            votes,
            upload.name,
            [item.name for item in project.lfs()],
            signed=bool(st.session_state.get("lfs.votes_signed")),
            positive_class=int(st.session_state.get("lfs.votes_positive", 1)),
        )
        items = [*project.lfs(), *lfset.from_lfs(new_lfs)]
        # The vote columns and their LFs are saved together: never one without the other.
        saved = project.replace_dataset(
            df, dataset.spec, project.dataset_source() or "dataset", lfs=items, keep_graph=True
        )
    except ValueError as error:
        state.flash("error", str(error))
        return
    if saved:
        state.flash("success", f"Imported {len(new_lfs)} vote LFs: {', '.join(lf.name for lf in new_lfs)}.")


def import_export(dataset: Dataset, items: Sequence[LFItem]) -> None:
    """Import LF votes or an LF set, export the LF set; errors are shown and change nothing."""
    votes_tab, json_tab = st.tabs(["Import LF votes", "LF set as JSON"])
    with votes_tab:
        st.caption("A .npy (rows, LFs) array or a CSV of vote columns, rows in dataset order: class index or -1.")
        upload = st.file_uploader("Votes file", type=["npy", "csv", "parquet", "jsonl"], key="lfs.votes_file")
        signed = st.checkbox("Signed votes (+1 / -1 / 0 = abstain)", key="lfs.votes_signed")
        if signed and dataset.cardinality == 2:
            st.selectbox(
                "+1 means", [0, 1], index=1, format_func=lambda i: dataset.class_names[i], key="lfs.votes_positive"
            )
        st.button("Import votes", key="lfs.import_votes", disabled=upload is None, on_click=_import_votes)
    with json_tab:
        st.download_button(
            "Export the LF set (JSON)",
            lf_io.export_json(items),
            file_name="labeling_functions.json",
            mime="application/json",
            key="lfs.export_json",
            disabled=not any(item.lf is not None for item in items),
        )
        upload = st.file_uploader("Import an LF set (JSON)", type=["json"], key="lfs.json_file")
        st.checkbox("Replace the current LF set (otherwise add to it)", key="lfs.json_replace")
        st.button("Import LFs", key="lfs.import_json", disabled=upload is None, on_click=_import_json)
