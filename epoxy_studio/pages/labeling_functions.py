"""Labeling functions: write and edit LFs with a form, see what they do as you type, manage the set."""

import streamlit as st

from epoxy_core.labels import ABSTAIN
from epoxy_studio import lf_editor, lf_preview, project, results_view, state

st.title("Labeling functions")
state.show_flashes()
dataset = project.current_dataset()
if dataset is None:
    st.info("Load a dataset first (page 1).")
    st.page_link("pages/data.py", label="Go to Data & embeddings", icon=":material/table:")
    st.stop()

editing = st.session_state[state.EDITING]
st.subheader(f"Edit LF {editing!r}" if editing else "New labeling function")
lf_editor.render_form(dataset)
try:
    draft = lf_editor.draft_from_form(dataset)
except ValueError as error:
    draft = None
    if st.session_state.get("lfs.form.name", "").strip():  # no nagging before the user has typed anything
        st.error(str(error))
if draft is not None:
    try:
        stats, votes = lf_preview.draft_summary(dataset, draft, project.current_lfs())
    except ValueError as error:  # e.g. a rule that does not fit the column's type
        st.error(str(error))
        draft = None
if draft is not None:
    a, b, c, d = st.columns(4)
    a.metric("Coverage", f"{stats['coverage']:.1%}")
    b.metric("Overlaps", f"{stats['overlaps']:.1%}")
    c.metric("Conflicts", f"{stats['conflicts']:.1%}")
    accuracy = stats.get("empirical_accuracy")
    shown = "—" if accuracy != accuracy else f"{accuracy:.1%}"  # NaN: the LF votes on no dev row
    d.metric(
        "Dev accuracy",
        shown,
        f"{int(stats['correct'])} ✓ / {int(stats['incorrect'])} ✗",
        delta_color="off",
        delta_arrow="off",
    )
    save, cancel = st.columns([1, 5])
    save.button(
        "Save LF" if editing else "Add LF",
        type="primary",
        key="lfs.save",
        on_click=lf_editor.save_form,
        args=(dataset,),
    )
    voted, wrong = st.tabs(["Rows it votes on", "Rows it gets wrong on dev"])
    with voted:
        st.html(lf_preview.rows_html(dataset, draft, lf_preview.sample(votes != ABSTAIN), votes))
    with wrong:
        mistakes = (votes != ABSTAIN) & dataset.dev_mask & (votes != dataset.y)
        if mistakes.any():
            st.html(lf_preview.rows_html(dataset, draft, lf_preview.sample(mistakes), votes))
        else:
            st.caption("No mistakes on dev rows.")
if editing:
    st.button("Cancel editing", key="lfs.cancel", on_click=lf_editor.start_new)

st.divider()
st.subheader("All labeling functions")
lf_editor.render_lf_list(dataset)
if project.current_lfs():
    summary = lf_preview.set_summary(dataset, project.current_lfs())
    st.dataframe(summary, width="stretch", column_config=results_view.percent_columns(summary))

st.subheader("Import and export")
lf_editor.render_import_export(dataset)
