"""Epoxy Studio: interactive weak supervision with pre-trained embeddings.

Run with ``epoxy-studio`` (or ``streamlit run epoxy_studio/app.py``).  This script only sets the page up, loads
the project chosen in the sidebar and hands over to the page the user picked; the pages live in ``app_pages/``.
That folder must not be called ``pages/``: Streamlit would then treat the app as an old-style multipage app
until this script has run once in the process, and a page URL opened first after a restart (what reconnecting
tabs do) would run that page alone, without this set-up.
"""

import streamlit as st

from epoxy_studio import engine, hand_labels, map_layout, memory, project, render, state

st.set_page_config(page_title="Epoxy Studio", page_icon=":material/science:", layout="wide")
state.init()
state.full_run_started()
# Compiling PyNNDescent's JIT takes ~25 s; start it now, in the background, once per process.
jit_warm_up = engine.start_jit_warm_up()
# umap-learn compiles its kernels in every process (~15-40 s): the data map shows PCA until then.
umap_warm_up = map_layout.warm_up()
# Full garbage collections now and when the compilers are done, so none lands on an interaction (memory.py).
memory.freeze_at_start([jit_warm_up, umap_warm_up])

navigation = st.navigation(
    [
        st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("app_pages/data.py", title="Data & embeddings", icon=":material/table:"),
        st.Page("app_pages/labeling_functions.py", title="Labeling functions", icon=":material/label:"),
        st.Page("app_pages/hand_label.py", title="Hand-label rows", icon=":material/touch_app:"),
        st.Page("app_pages/results.py", title="Extension & results", icon=":material/insights:"),
    ]
)
try:
    project.sidebar()
except ValueError as error:  # a workspace that cannot be used (damaged file, unwritable data dir): say what to do
    render.message("error", error)
    st.stop()
hand_labels.apply_saved()  # every page sees the hand labels saved in any tab (they join the dev set)
navigation.run()
