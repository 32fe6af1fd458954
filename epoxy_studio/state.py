"""Every session-state key of the app, in one place.

Plain keys (no page prefix) hold what must survive page changes: Streamlit drops a widget's state when the
user leaves the page that drew it, so what matters is copied here (and into the workspace on disk, which
survives restarts).  Widget keys are ``"<page>.<name>"``; the LF form's are ``"lfs.form.<kind>.<field>"``.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from epoxy_core.settings import ProjectSettings

PROJECT = "project"
"""Name of the project chosen in the sidebar."""
LOADED_PROJECT = "loaded_project"
"""Project whose dataset / LFs / settings are in the keys below (reloaded when it differs)."""
DATASET = "dataset"
"""The current :class:`epoxy_core.data.Dataset`, or None."""
DATASET_TOKEN = "dataset_token"
"""What identifies the stored dataset we loaded (its revision, or its content hash): a changed token means
another tab replaced it."""
LFS = "lfs"
"""The current project's LFs: a list of :class:`epoxy_studio.lfset.LFItem`, in the user's order."""
LF_REVISION = "lf_revision"
"""Workspace revision of the LF set we last loaded or saved (optimistic concurrency)."""
SETTINGS = "settings"
"""The current project's :class:`epoxy_core.settings.ProjectSettings`."""
SETTINGS_REVISION = "settings_revision"
"""Workspace revision of the settings we last loaded or saved."""
ENGINE = "engine"
"""The :class:`epoxy_studio.engine.Engine` of the current dataset (votes, graph, results caches)."""
EDITING = "editing_lf"
"""Name of the LF open in the editor, or None for a new LF."""
TUNING = "tuning_result"
"""Last threshold-tuning outcome shown on the results page, or None."""
UPLOAD = "upload"
"""The parsed upload of the data page: ``(file_id, table or error message)``, so reruns never re-read it."""
TIMEBOX = "timebox"
"""Work running off the script thread for this session (see :mod:`epoxy_studio.timebox`)."""
FLASH = "flash"
"""Messages to show once after a rerun: list of (kind, text)."""
FULL_RERUN = "full_rerun"
"""Set by a callback of a fragment's widget when the whole page must redraw (see :func:`request_full_rerun`)."""

MessageKind = Literal["success", "info", "warning", "error"]


def init() -> None:
    """Create every plain key with its default (idempotent; called by app.py on each run)."""
    defaults = {
        PROJECT: None,
        LOADED_PROJECT: None,
        DATASET: None,
        DATASET_TOKEN: None,
        LFS: [],
        LF_REVISION: 0,
        SETTINGS: ProjectSettings(),
        SETTINGS_REVISION: 0,
        ENGINE: None,
        EDITING: None,
        TUNING: None,
        UPLOAD: None,
        TIMEBOX: {},
        FLASH: [],
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def request_full_rerun() -> None:
    """From a callback of a widget inside a fragment: the next run must redraw the whole page, not the fragment.

    (A fragment's widgets rerun only the fragment; a change the rest of the page shows, like a new LF in the
    list, needs the page.)  Fragments call :func:`rerun_page_if_requested` first thing.
    """
    st.session_state[FULL_RERUN] = True


def full_run_started() -> None:
    """Called by app.py: a full run is happening anyway, so a requested one is done."""
    st.session_state[FULL_RERUN] = False


def rerun_page_if_requested() -> None:
    """At the top of a fragment: rerun the whole page if a callback asked for it (see :func:`request_full_rerun`)."""
    if st.session_state.get(FULL_RERUN):
        st.session_state[FULL_RERUN] = False
        st.rerun()  # from a fragment, a plain rerun redraws the whole page


def flash(kind: MessageKind, text: str) -> None:
    """Queue a plain-text message (never read as markdown) to show at the top of the next run's page."""
    queue = st.session_state.setdefault(FLASH, [])
    if (kind, text) not in queue:  # the same news twice in one run says nothing new
        queue.append((kind, text))


def show_flashes() -> None:
    """Show and clear the queued messages."""
    from epoxy_studio import render

    for kind, text in st.session_state.get(FLASH, []):
        render.message(kind, text)
    st.session_state[FLASH] = []
