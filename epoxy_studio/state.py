"""Every session-state key of the app, in one place.

Plain keys (no page prefix) hold what must survive page changes: Streamlit drops a widget's state
when the user leaves the page that drew it, so pages copy what matters here (and into the workspace
on disk, which survives restarts).  Widget keys are ``"<page>.<name>"`` and are named in the pages.
"""

from __future__ import annotations

import streamlit as st

PROJECT = "project"
"""Name of the project chosen in the sidebar."""
LOADED_PROJECT = "loaded_project"
"""Project whose dataset / LFs / settings are in the keys below (reloaded when it differs)."""
DATASET = "dataset"
"""The current :class:`epoxy_core.data.Dataset`, or None."""
LFS = "lfs"
"""Ordered list of LF dicts (``lf_to_dict`` form) of the current project."""
LF_REVISION = "lf_revision"
"""Workspace revision of the LF set we last loaded or saved (optimistic concurrency)."""
SETTINGS = "settings"
"""Project settings dict: embedder, n_neighbors, thresholds, class-balance mode."""
EDITING = "editing_lf"
"""Name of the LF open in the editor, or None for a new LF."""
TUNING = "tuning_result"
"""Last threshold-tuning result shown on the results page (dict), or None."""
FLASH = "flash"
"""Messages to show once after a rerun: list of (kind, text)."""

DEFAULT_SETTINGS: dict = {
    "embedder": "minilm",
    "graph_source": None,
    "n_neighbors": 30,
    "thresholds": {},
    "default_threshold": 0.8,
    "class_balance": "dev labels",
}


def init() -> None:
    """Create every plain key with its default (idempotent; called by app.py on each run)."""
    st.session_state.setdefault(PROJECT, None)
    st.session_state.setdefault(LOADED_PROJECT, None)
    st.session_state.setdefault(DATASET, None)
    st.session_state.setdefault(LFS, [])
    st.session_state.setdefault(LF_REVISION, 0)
    st.session_state.setdefault(SETTINGS, dict(DEFAULT_SETTINGS))
    st.session_state.setdefault(EDITING, None)
    st.session_state.setdefault(TUNING, None)
    st.session_state.setdefault(FLASH, [])


def flash(kind: str, text: str) -> None:
    """Queue a message ("success", "info", "warning", "error") to show after the next rerun."""
    st.session_state[FLASH].append((kind, text))


def show_flashes() -> None:
    """Show and clear the queued messages."""
    for kind, text in st.session_state.get(FLASH, []):
        getattr(st, kind)(text)
    st.session_state[FLASH] = []
