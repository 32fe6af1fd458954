"""Hand-label rows: a queue (least certain, LF disagreement, random), one row at a time, keys for the classes."""

import streamlit as st

from epoxy_studio import project, state
from epoxy_studio.views import hand_label

st.title("Hand-label rows")
state.show_flashes()
if project.dataset() is None:
    st.info("Load a dataset first (page 1).")
    st.page_link("app_pages/data.py", label="Go to Data & embeddings", icon=":material/table:")
    st.stop()
st.caption(
    "Each label is saved at once and joins the dev set: the results page scores the label model (and tunes "
    "thresholds) with it. Labels you give here never change the LFs' votes."
)
hand_label.labeler()
