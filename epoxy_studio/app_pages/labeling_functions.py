"""Labeling functions: write and edit LFs with a form, see what they do as you type, manage the set."""

import streamlit as st

from epoxy_studio import project, state
from epoxy_studio.views import lf_editor, lf_list

st.title("Labeling functions")
state.show_flashes()
dataset, engine, items = project.dataset(), project.engine(), project.lfs()
if dataset is None:
    st.info("Load a dataset first (page 1).")
    st.page_link("app_pages/data.py", label="Go to Data & embeddings", icon=":material/table:")
    st.stop()

if project.settings().graph_built:
    with st.spinner("Loading the embeddings and the neighbour graph…"):
        engine.ready_session()  # the project's session, loaded on the script thread (previews run off it)
lf_editor.editor()

st.divider()
st.subheader("All labeling functions")
lf_list.lf_list(dataset, engine, items)
lf_list.summary_table(engine, items)

st.subheader("Import and export")
lf_list.import_export(dataset, items)
