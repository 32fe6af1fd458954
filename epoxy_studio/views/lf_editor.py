"""The LF editor: the form, the draft's live preview, and *Add LF* / *Save LF*, as one fragment.

With the graph built, the preview includes what extension would add at a threshold picked beside it
(:mod:`epoxy_studio.views.lf_extension`).  Typing in the form reruns only this fragment, not the page (the LF
list, the summary table and the sidebar stay as they are).  Saving changes the LF set, which the rest of the
page shows, so it asks for one full rerun.  The preview runs through :mod:`epoxy_studio.timebox`: a draft that
takes seconds to preview says so and leaves the page usable.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import BaseLF
from epoxy_core.session import DraftPreview, lf_digest
from epoxy_studio import lfset, project, render, state, timebox
from epoxy_studio.views import lf_extension, lf_preview
from epoxy_studio.widgets import lf_form

__all__ = ["editor", "start_editing", "start_new"]


def start_new() -> None:
    """Button callback: an empty form for a new LF."""
    st.session_state[state.EDITING] = None
    lf_form.reset()


def start_editing(position: int, lf_name: str) -> None:
    """Button callback: put the LF at ``position`` into the form."""
    items = project.lfs()
    if not 0 <= position < len(items) or items[position].name != lf_name or items[position].lf is None:
        state.flash("warning", f"LF {lf_name!r} cannot be edited here; delete it or import a corrected version.")
        return
    try:
        lf_form.fill(items[position].lf)
    except ValueError as error:
        state.flash("warning", str(error))
        return
    st.session_state[state.EDITING] = lf_name


def _editing_lf() -> BaseLF | None:
    editing = st.session_state[state.EDITING]
    return next((item.lf for item in project.lfs() if item.name == editing and item.lf is not None), None)


def _save(kind: str) -> None:
    """Button callback: save the draft (a callback, so the form can be emptied before it is drawn again)."""
    dataset = project.dataset()
    editing = st.session_state[state.EDITING]
    old = _editing_lf()
    try:
        draft = lf_form.read(
            dataset,
            lf_form.FORMS[kind],
            enabled=True if old is None else old.enabled,
            embeddings=lf_form.embeddings_status(project.settings()),
        )
        items = lfset.with_lf(project.lfs(), draft, replacing=editing)
    except ValueError as error:
        state.flash("error", str(error))
        return
    if project.save_lfs(items):
        state.flash("success", f"Saved LF {draft.name!r}.")
        start_new()
    # On a conflict the form keeps the draft; the reloaded list is drawn by the full rerun.
    state.request_full_rerun()


def _draft(dataset, form, embeddings: lf_form.EmbeddingsStatus) -> BaseLF | None:
    """The LF the form describes, or None (with the reason shown once the user has typed a name)."""
    editing = st.session_state[state.EDITING]
    try:
        draft = lf_form.read(dataset, form, embeddings=embeddings)
    except lf_form.FormUnavailable:  # the form says why (e.g. build the embeddings first)
        return None
    except ValueError as error:
        if lf_form.typed_name():  # no nagging before the user has typed anything
            render.message("error", error)
        return None
    if draft.name != editing and any(item.name == draft.name for item in project.lfs()):
        render.message("error", f"An LF named {draft.name!r} already exists; choose another name.")
        return None
    return draft


def _preview_key(draft: BaseLF, others: list[BaseLF], threshold: float | None = None) -> str:
    parts = [
        project.dataset().content_hash,
        lf_digest(draft),
        draft.name,
        repr(threshold),
        *(f"{o.name}:{lf_digest(o)}" for o in others),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _show_pending(pending: timebox.Pending, what: str) -> None:
    render.message("info", pending.describe(what))
    st.button("Look again", key="lfs.preview_again", icon=":material/refresh:")


@st.fragment
def editor() -> None:
    """The editor fragment (call it once per run of the LF page)."""
    state.rerun_page_if_requested()
    dataset, engine = project.dataset(), project.engine()
    editing = st.session_state[state.EDITING]
    if editing:
        st.subheader("Edit LF " + render.md(repr(editing)), anchor=False)
    else:
        st.subheader("New labeling function", anchor=False)
    embeddings = lf_form.embeddings_status(project.settings())
    form = lf_form.draw(dataset, embeddings)
    draft = _draft(dataset, form, embeddings)
    if draft is not None:
        others = [lf for lf in engine.active(project.lfs()) if lf.name != editing]
        settings = project.settings()
        threshold = None
        if settings.graph_built:
            threshold = lf_extension.threshold_picker(settings.threshold_for(editing or draft.name))

        def work() -> DraftPreview | str:
            problem = engine.problem(draft)  # applying the draft is the slow part: off the script thread too
            return problem if problem is not None else engine.draft(draft, others, threshold)

        key = _preview_key(draft, others, threshold)
        preview = timebox.run(st.session_state[state.TIMEBOX], "lfs.draft", key, work)
        if isinstance(preview, str):  # the draft cannot vote here, e.g. a rule that does not fit the column type
            render.message("error", preview)
        else:
            if isinstance(preview, timebox.Pending):
                _show_pending(preview, "The preview of this LF")
            else:
                _show_preview(dataset, draft, preview, others)
            st.button(
                "Save LF" if editing else "Add LF", type="primary", key="lfs.save", on_click=_save, args=(form.kind,)
            )
    if editing:
        st.button("Cancel editing", key="lfs.cancel", on_click=start_new)


def _show_preview(dataset, draft: BaseLF, preview: DraftPreview, others: list[BaseLF]) -> None:
    lf_preview.metrics(preview)
    votes = preview.votes
    voted = lf_preview.sample(votes != ABSTAIN)
    wrong = lf_preview.sample((votes != ABSTAIN) & dataset.dev_mask & (votes != dataset.y))
    key = _preview_key(draft, others)
    tables = timebox.run(
        st.session_state[state.TIMEBOX],
        "lfs.rows",
        key,
        lambda: (
            lf_preview.rows_html(dataset, draft, voted, votes),
            lf_preview.rows_html(dataset, draft, wrong, votes) if len(wrong) else None,
        ),
    )
    voted_tab, wrong_tab, extension_tab = st.tabs(
        ["Rows it votes on", "Rows it gets wrong on dev", "What extension adds"]
    )
    with extension_tab:
        lf_extension.show(preview.extension, dataset.class_names)
    if isinstance(tables, timebox.Pending):
        with voted_tab:
            render.message("info", tables.describe("Highlighting the sample rows"))
        return
    with voted_tab:
        if len(voted):
            st.html(tables[0])
        else:
            st.caption("It votes on no row.")
    with wrong_tab:
        if tables[1] is not None:
            st.html(tables[1])
        else:
            st.caption("No mistakes on dev rows.")
