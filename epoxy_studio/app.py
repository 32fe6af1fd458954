"""Epoxy Studio: interactive weak supervision with pre-trained embeddings.

Run with ``streamlit run app.py``.  This script only sets the page up, loads the project chosen in the
sidebar and hands over to the page the user picked; the pages live in ``pages/``.
"""

import streamlit as st

from epoxy_studio import compute, project, state

st.set_page_config(page_title="Epoxy Studio", page_icon=":material/science:", layout="wide")
state.init()
# Compiling PyNNDescent's JIT takes ~25 s; start it now, in the background, once per process.
compute.start_jit_warm_up()

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/data.py", title="Data & embeddings", icon=":material/table:"),
        st.Page("pages/labeling_functions.py", title="Labeling functions", icon=":material/label:"),
        st.Page("pages/results.py", title="Extension & results", icon=":material/insights:"),
    ]
)
project.project_sidebar()
navigation.run()
