"""The current project: sidebar picker, loading it into session state, saving every change to the workspace.

Every change a user makes goes to the workspace on disk at once, so a refresh or a restart loses nothing.
Session state only mirrors the current project (see :mod:`epoxy_studio.state`).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from epoxy_core.config import data_dir
from epoxy_core.data import Dataset, DatasetSpec, prepare_dataset
from epoxy_core.workspace import ConflictError, Workspace
from epoxy_studio import state

__all__ = [
    "current_dataset",
    "current_lfs",
    "dataset_source",
    "enabled_lfs",
    "project_sidebar",
    "replace_dataset",
    "save_lfs",
    "settings",
    "sync",
    "update_settings",
    "workspace",
]

DEFAULT_PROJECT = "default"


@st.cache_resource(show_spinner=False)
def _workspace(root: str) -> Workspace:
    # One Workspace per data dir and process; keyed by the path so tests with their own
    # EPOXY_DATA_DIR never share one.
    return Workspace(Path(root))


def workspace() -> Workspace:
    """The workspace of the configured data dir (``EPOXY_DATA_DIR``, default ``data/``)."""
    return _workspace(str(data_dir()))


def _create_project() -> None:
    """Button callback: create the typed project and select it (callbacks may set widget keys)."""
    name = st.session_state.get("sidebar.new_project_name", "").strip()
    try:
        workspace().create_project(name)
    except ValueError as error:  # invalid or taken name: the workspace says which
        state.flash("error", str(error))
        return
    st.session_state["sidebar.project"] = name
    st.session_state["sidebar.new_project_name"] = ""


def project_sidebar() -> None:
    """Draw the project picker (and the "new project" box) in the sidebar and load the chosen project."""
    ws = workspace()
    projects = list(ws.list_projects())
    if not projects:
        ws.create_project(DEFAULT_PROJECT)
        projects = [DEFAULT_PROJECT]
    # The picker's own key holds the choice; it is reset only when it names no existing project.
    if st.session_state.get("sidebar.project") not in projects:
        remembered = st.session_state[state.PROJECT]
        st.session_state["sidebar.project"] = remembered if remembered in projects else projects[0]
    with st.sidebar:
        st.selectbox("Project", projects, key="sidebar.project")
        with st.expander("New project"):
            st.text_input("Name", key="sidebar.new_project_name", placeholder="e.g. spam-v2")
            st.button("Create project", key="sidebar.create_project", on_click=_create_project)
    st.session_state[state.PROJECT] = st.session_state["sidebar.project"]
    sync()


def sync() -> None:
    """Load the chosen project's dataset, LFs and settings into session state if another one is loaded."""
    project = st.session_state[state.PROJECT]
    if st.session_state[state.LOADED_PROJECT] == project:
        return
    ws = workspace()
    st.session_state[state.DATASET] = _load_dataset(ws, project)
    lf_dicts, revision = ws.load_lfs(project)
    st.session_state[state.LFS] = list(lf_dicts)
    st.session_state[state.LF_REVISION] = revision
    loaded = ws.load_settings(project) or {}
    st.session_state[state.SETTINGS] = {**state.DEFAULT_SETTINGS, **loaded}
    st.session_state[state.EDITING] = None
    st.session_state[state.TUNING] = None
    st.session_state[state.LOADED_PROJECT] = project


def _load_dataset(ws: Workspace, project: str) -> Dataset | None:
    try:
        loaded = ws.load_dataset(project)
        return None if loaded is None else prepare_dataset(*loaded)
    except ValueError as error:  # a damaged dataset must not lock the user out of the project
        state.flash("error", f"The saved dataset of {project!r} could not be read: {error}")
        return None


def current_dataset() -> Dataset | None:
    """The loaded dataset of the current project, or None."""
    return st.session_state[state.DATASET]


def replace_dataset(df: Any, spec: DatasetSpec, source_name: str, lf_dicts: list[dict] | None = None) -> Dataset:
    """Validate and save a new table for the current project; on ValueError nothing changes.

    Parameters
    ----------
    df : pandas.DataFrame
    spec : DatasetSpec
    source_name : str
        The file (or demo) name, shown back to the user.
    lf_dicts : list of dict, optional
        Replace the project's LFs too (a demo's suggested LFs); None keeps them.
    """
    dataset = prepare_dataset(df, spec)
    project = st.session_state[state.PROJECT]
    workspace().save_dataset(project, df, spec, source_name)
    st.session_state[state.DATASET] = dataset
    if lf_dicts is not None:
        save_lfs(lf_dicts)
    return dataset


def current_lfs() -> list[dict]:
    """All LF dicts of the current project, in the user's order (do not mutate; use :func:`save_lfs`)."""
    return st.session_state[state.LFS]


def enabled_lfs() -> list[dict]:
    """The LF dicts that are switched on."""
    return [d for d in current_lfs() if d.get("enabled", True)]


def save_lfs(lf_dicts: list[dict]) -> bool:
    """Save the LF set; if another tab saved first, reload theirs and say so. Returns True when saved."""
    project = st.session_state[state.PROJECT]
    ws = workspace()
    try:
        revision = ws.save_lfs(project, lf_dicts, expected_revision=st.session_state[state.LF_REVISION])
    except ConflictError:
        lf_dicts, revision = ws.load_lfs(project)
        st.session_state[state.LFS] = list(lf_dicts)
        st.session_state[state.LF_REVISION] = revision
        state.flash("warning", "The LF set was changed in another tab or session; its version is loaded now.")
        return False
    st.session_state[state.LFS] = copy.deepcopy(list(lf_dicts))
    st.session_state[state.LF_REVISION] = revision
    return True


def settings() -> dict:
    """The current project's settings (read-only view; change them with :func:`update_settings`)."""
    return st.session_state[state.SETTINGS]


def update_settings(**changes: Any) -> None:
    """Change some settings and save them to the workspace at once."""
    new = {**settings(), **changes}
    st.session_state[state.SETTINGS] = new
    workspace().save_settings(st.session_state[state.PROJECT], _jsonable(new))


def _jsonable(value: Any) -> Any:
    """Settings go to JSON: turn numpy scalars and tuples into plain Python."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def dataset_source() -> str | None:
    """The file or demo name the current dataset came from."""
    info = workspace().dataset_info(st.session_state[state.PROJECT])
    return None if info is None else info["source_name"]
