"""The current project: the sidebar picker, loading it into session state, and saving every change at once.

Every change goes to the workspace on disk when it is made, so a refresh or a restart loses nothing; session
state mirrors the current project (keys in :mod:`epoxy_studio.state`).  Several tabs may edit one project:

- every write carries the revision this tab loaded; a write that would overwrite another tab's newer work is
  refused (``ConflictError``), the newer version is loaded and the page says so ("changed in another tab —
  reloaded").  The LF editor's draft lives in its widgets and is never cleared by a reload;
- settings are merged key by key (thresholds LF by LF), so two tabs moving different sliders both persist;
- :func:`sync`, at the start of every full run, reloads whatever another tab changed since.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from epoxy_core.config import data_dir
from epoxy_core.data import Dataset, DatasetSpec, prepare_dataset
from epoxy_core.settings import ProjectSettings
from epoxy_core.workspace import ConflictError, Workspace
from epoxy_studio import lfset, state
from epoxy_studio.engine import Engine
from epoxy_studio.lfset import LFItem

__all__ = [
    "DEFAULT_PROJECT",
    "dataset",
    "dataset_source",
    "engine",
    "lfs",
    "name",
    "replace_dataset",
    "save_lfs",
    "settings",
    "sidebar",
    "sync",
    "update_settings",
    "workspace",
]

DEFAULT_PROJECT = "default"
_FORM_PREFIX = "lfs.form."
RELOADED = "changed in another tab or session — reloaded"


@st.cache_resource(show_spinner=False)
def _workspace(root: str) -> Workspace:
    # One Workspace per data dir and process; keyed by the path so tests with their own EPOXY_DATA_DIR never
    # share one.
    return Workspace(Path(root))


def workspace() -> Workspace:
    """The workspace of the configured data dir (``EPOXY_DATA_DIR``, default ``data/``)."""
    return _workspace(str(data_dir()))


# ---------------------------------------------------------------------------------------------- revisioned store


class _Store:
    """The workspace writes this module needs, each with a revision check.

    ``Workspace.update_settings`` and ``save_dataset(expected_revision=...)`` are being added to the workspace;
    until a workspace has them, the same guarantees are kept here with what it offers: settings merged by a
    revision-checked read-modify-write retried on conflict, and the dataset compared by content hash right
    before it is replaced.
    """

    def __init__(self, ws: Workspace):
        self.ws = ws

    def dataset_token(self, project: str) -> Any:
        if hasattr(self.ws, "dataset_revision"):
            return self.ws.dataset_revision(project)
        info = self.ws.dataset_info(project)
        return None if info is None else info["content_hash"]

    def save_dataset(self, project: str, df: pd.DataFrame, spec: DatasetSpec, source: str, expected: Any) -> Any:
        """Store the dataset unless another tab replaced the one this tab loaded; returns the new token."""
        if "expected_revision" in inspect.signature(self.ws.save_dataset).parameters:
            return self.ws.save_dataset(project, df, spec, source, expected_revision=expected)
        if self.dataset_token(project) != expected:
            raise ConflictError(f"The dataset of project {project!r} was replaced in another tab or session.")
        self.ws.save_dataset(project, df, spec, source)
        return self.dataset_token(project)

    def update_settings(self, project: str, changes: dict[str, Any]) -> int:
        """Merge ``changes`` into the stored settings (``thresholds`` LF by LF); returns the new revision."""
        if hasattr(self.ws, "update_settings"):
            return self.ws.update_settings(project, changes)
        for _ in range(20):
            revision = self.ws.settings_revision(project)  # read before the body: a newer body makes the save fail
            stored = self.ws.load_settings(project)
            merged = {**stored, **changes}
            if "thresholds" in changes and isinstance(stored.get("thresholds"), dict):
                merged["thresholds"] = {**stored["thresholds"], **changes["thresholds"]}
            try:
                return self.ws.save_settings(project, merged, expected_revision=revision)
            except ConflictError:
                continue  # another tab saved in between: merge into theirs
        raise ConflictError(f"The settings of project {project!r} keep changing in another tab; try again.")


def _store() -> _Store:
    return _Store(workspace())


# ---------------------------------------------------------------------------------------------- reading


def name() -> str:
    """The current project's name."""
    return st.session_state[state.PROJECT]


def dataset() -> Dataset | None:
    """The loaded dataset of the current project, or None."""
    return st.session_state[state.DATASET]


def lfs() -> list[LFItem]:
    """The current project's LFs, in the user's order (change them with :func:`save_lfs`)."""
    return st.session_state[state.LFS]


def settings() -> ProjectSettings:
    """The current project's settings (change them with :func:`update_settings`)."""
    return st.session_state[state.SETTINGS]


def engine() -> Engine | None:
    """The engine of the current dataset (made when the dataset changed), or None without a dataset."""
    current = dataset()
    if current is None:
        return None
    held = st.session_state.get(state.ENGINE)
    if not isinstance(held, Engine) or held.dataset is not current:
        held = Engine(current)
        st.session_state[state.ENGINE] = held
    return held


def dataset_source() -> str | None:
    """The file or demo name the current dataset came from."""
    info = workspace().dataset_info(name())
    return None if info is None else info["source_name"]


# ---------------------------------------------------------------------------------------------- sidebar


def _create_project() -> None:
    """Button callback: create the typed project and select it (callbacks may set widget keys)."""
    typed = st.session_state.get("sidebar.new_project_name", "").strip()
    try:
        workspace().create_project(typed)
    except ValueError as error:  # invalid or taken name: the workspace says which
        state.flash("error", str(error))
        return
    st.session_state["sidebar.project"] = typed
    st.session_state["sidebar.new_project_name"] = ""


def sidebar() -> None:
    """Draw the project picker (and the "new project" box) in the sidebar, then :func:`sync` the chosen project."""
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


# ---------------------------------------------------------------------------------------------- loading


def sync() -> None:
    """Load the chosen project if another one is loaded; else reload the parts another tab changed."""
    project = name()
    store = _store()
    if st.session_state[state.LOADED_PROJECT] != project:
        _load_dataset(store, project)
        _load_lfs(project)
        _load_settings(project)
        st.session_state[state.EDITING] = None
        st.session_state[state.TUNING] = None
        for key in [k for k in st.session_state if str(k).startswith(_FORM_PREFIX)]:
            del st.session_state[key]  # the LF form belongs to the project it was typed in
        st.session_state[state.LOADED_PROJECT] = project
        return
    if store.dataset_token(project) != st.session_state[state.DATASET_TOKEN]:
        _load_dataset(store, project)
        state.flash("warning", f"The dataset was {RELOADED}.")
    if workspace().load_lfs(project)[1] != st.session_state[state.LF_REVISION]:
        _load_lfs(project)
        state.flash("warning", f"The labeling functions were {RELOADED}.")
    if workspace().settings_revision(project) != st.session_state[state.SETTINGS_REVISION]:
        _load_settings(project)
        state.flash("info", f"The project settings were {RELOADED}.")


def _load_dataset(store: _Store, project: str) -> None:
    st.session_state[state.DATASET_TOKEN] = store.dataset_token(project)
    try:
        loaded = store.ws.load_dataset(project)
        st.session_state[state.DATASET] = None if loaded is None else prepare_dataset(*loaded)
    except ValueError as error:  # a damaged dataset must not lock the user out of the project
        st.session_state[state.DATASET] = None
        state.flash("error", f"The saved dataset of project {project!r} could not be read: {error}")


def _load_lfs(project: str) -> None:
    stored, revision = workspace().load_lfs(project)
    items = lfset.parse(stored if isinstance(stored, list) else [])
    st.session_state[state.LFS] = items
    st.session_state[state.LF_REVISION] = revision
    broken = [item.name for item in items if item.lf is None]
    if broken:
        state.flash("warning", f"{len(broken)} saved LF(s) are not valid and are switched off: {', '.join(broken)}.")


def _load_settings(project: str) -> None:
    ws = workspace()
    revision = ws.settings_revision(project)
    loaded, problems = ProjectSettings.salvage(ws.load_settings(project))
    st.session_state[state.SETTINGS] = loaded
    st.session_state[state.SETTINGS_REVISION] = revision
    for problem in problems:
        state.flash("warning", f"A saved setting of project {project!r} could not be used: {problem}")


# ---------------------------------------------------------------------------------------------- writing


def save_lfs(items: list[LFItem]) -> bool:
    """Save the LF set unless another tab saved first (then theirs is loaded and the page says so).

    Returns True when saved.  The LF editor's draft is never touched here.
    """
    project = name()
    try:
        revision = workspace().save_lfs(
            project, lfset.to_dicts(items), expected_revision=st.session_state[state.LF_REVISION]
        )
    except ConflictError:
        _load_lfs(project)
        state.flash(
            "warning",
            f"The labeling functions were {RELOADED}; your change was not saved. Look at the list and apply it "
            "again (a draft in the editor is kept).",
        )
        return False
    st.session_state[state.LFS] = list(items)
    st.session_state[state.LF_REVISION] = revision
    return True


def update_settings(**changes: Any) -> None:
    """Change some settings and save them at once, merged into what other tabs saved.

    ``thresholds`` is merged LF by LF: pass only the thresholds that change.

    Raises
    ------
    ValueError
        For a value ``ProjectSettings`` refuses (nothing is saved then).
    """
    current = settings()
    delta = changes.pop("thresholds", None)
    if delta is not None:
        changes["thresholds"] = {**current.thresholds, **delta}
    wanted = current.replace(**changes)  # validates before anything is written
    as_dict = wanted.to_dict()
    stored = {key: as_dict[key] for key in changes}
    if delta is not None:
        stored["thresholds"] = {lf_name: wanted.thresholds[lf_name] for lf_name in delta}
    project = name()
    ws = workspace()
    seen = st.session_state[state.SETTINGS_REVISION]
    before = ws.settings_revision(project)
    revision = _store().update_settings(project, stored)
    merged, _ = ProjectSettings.salvage(ws.load_settings(project))
    st.session_state[state.SETTINGS] = merged
    st.session_state[state.SETTINGS_REVISION] = revision
    if before != seen:
        state.flash("info", f"The project settings were {RELOADED}, and your change was added to them.")


def replace_dataset(
    df: pd.DataFrame,
    spec: DatasetSpec,
    source_name: str,
    *,
    lfs: list[LFItem] | None = None,
    keep_graph: bool = False,
    **settings_changes: Any,
) -> bool:
    """Validate and save a new table for the current project; returns False if another tab replaced it first.

    Parameters
    ----------
    df, spec, source_name
        The table, which columns mean what, and the file (or demo) name shown back to the user.
    lfs : list of LFItem, optional
        Replace the project's LFs too (a demo's suggested LFs); None keeps them.
    keep_graph : bool, default False
        The rows and texts are the same (columns were added): the graph stays valid.  Otherwise
        ``graph_built`` is reset, since the old graph belongs to the old rows.
    **settings_changes
        Settings to change with it.

    Raises
    ------
    ValueError
        If the table does not fit the spec; nothing is saved then.
    """
    new = prepare_dataset(df, spec)  # validates before anything is written
    project = name()
    store = _store()
    try:
        token = store.save_dataset(project, df, spec, source_name, st.session_state[state.DATASET_TOKEN])
    except ConflictError:
        _load_dataset(store, project)
        state.flash("warning", f"The dataset was {RELOADED}; yours was not saved. Look at it and try again.")
        return False
    st.session_state[state.DATASET] = new
    st.session_state[state.DATASET_TOKEN] = token
    if lfs is not None:
        save_lfs(lfs)
    if not keep_graph:
        settings_changes["graph_built"] = False
    if settings_changes:
        update_settings(**settings_changes)
    return True
