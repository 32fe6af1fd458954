"""The table uploaded on the data page, read once per file (never re-read or re-hashed on a rerun)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from epoxy_core.data import read_table
from epoxy_studio import state
from epoxy_studio.widgets.dataset_spec import KEYS as SPEC_KEYS

__all__ = ["table"]


def table(upload: Any) -> pd.DataFrame:
    """The parsed table of ``upload`` (a Streamlit ``UploadedFile``), kept for as long as that file is chosen.

    Streamlit gives every upload its own ``file_id``: the bytes are read and parsed once per id, so widget
    reruns of a 200 MB upload cost nothing.  Only the latest upload is kept.

    Raises
    ------
    ValueError
        If the file cannot be read as a table (the reader's message).
    """
    held = st.session_state.get(state.UPLOAD)
    if held is None or held[0] != upload.file_id:
        try:
            parsed: pd.DataFrame | ValueError = read_table(upload.getvalue(), upload.name)
        except ValueError as error:
            parsed = error
        st.session_state[state.UPLOAD] = (upload.file_id, parsed)
        for key in SPEC_KEYS:  # the spec form guesses again for the new table
            st.session_state.pop(key, None)
        held = st.session_state[state.UPLOAD]
    if isinstance(held[1], ValueError):
        raise held[1]
    return held[1]
