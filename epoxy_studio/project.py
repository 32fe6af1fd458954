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

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from epoxy_core.config import data_dir
from epoxy_core.data import Dataset, DatasetSpec, prepare_dataset
from epoxy_core.settings import ProjectSettings
from epoxy_core.workspace import REMOVE, ConflictError, Workspace
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
    """The engine of the current dataset (made when the dataset changed), or None without a dataset.

    Its :attr:`~epoxy_studio.engine.Engine.session` is the project's shared ``LabelingSession`` once the graph
    is built; :attr:`~epoxy_studio.engine.Engine.latest` the last results this browser session computed.
    """
    current = dataset()
    if current is None:
        return None
    held = st.session_state.get(state.ENGINE)
    if not isinstance(held, Engine) or held.dataset is not current or held.project != name():
        held = Engine(current, name(), settings())
        st.session_state[state.ENGINE] = held
    held.settings = settings()  # the graph, thresholds and class balance it answers with
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
    if st.session_state[state.LOADED_PROJECT] != project:
        _load_dataset(project)
        _load_lfs(project)
        _load_settings(project)
        st.session_state[state.EDITING] = None
        st.session_state[state.TUNING] = None
        for key in [k for k in st.session_state if str(k).startswith(_FORM_PREFIX)]:
            del st.session_state[key]  # the LF form belongs to the project it was typed in
        st.session_state[state.LOADED_PROJECT] = project
        return
    saved = workspace().revisions(project)  # one small query per full run
    if saved["dataset"] != st.session_state[state.DATASET_TOKEN]:
        _load_dataset(project)
        state.flash("warning", f"The dataset was {RELOADED}.")
    if saved["lfs"] != st.session_state[state.LF_REVISION]:
        _load_lfs(project)
        state.flash("warning", f"The labeling functions were {RELOADED}.")
    if saved["settings"] != st.session_state[state.SETTINGS_REVISION]:
        _load_settings(project)
        state.flash("info", f"The project settings were {RELOADED}.")


def _load_dataset(project: str) -> None:
    ws = workspace()
    st.session_state[state.DATASET_TOKEN] = ws.dataset_revision(project)
    try:
        loaded = ws.load_dataset(project)
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


def update_settings(*, forget_thresholds: Iterable[str] | None = None, **changes: Any) -> None:
    """Change some settings and save them at once, merged into what other tabs saved.

    Parameters
    ----------
    forget_thresholds : iterable of str, optional
        LF names whose own threshold is removed (they go back to the default); ``["*"]`` removes all.
    **changes
        ``ProjectSettings`` fields.  ``thresholds`` is merged LF by LF: pass only the thresholds that change.

    Raises
    ------
    ValueError
        For a value ``ProjectSettings`` refuses (nothing is saved then).
    """
    current = settings()
    forget = set(forget_thresholds or ())
    if "*" in forget and changes.get("thresholds"):
        raise ValueError("Forget all thresholds or set some, not both in one change.")
    kept = {} if "*" in forget else {k: v for k, v in current.thresholds.items() if k not in forget}
    delta = changes.pop("thresholds", None) or {}
    if delta or forget:
        changes["thresholds"] = {**kept, **delta}
    wanted = current.replace(**changes)  # validates before anything is written
    as_dict = wanted.to_dict()
    stored: dict[str, Any] = {key: as_dict[key] for key in changes if key != "thresholds"}
    if "*" in forget:
        stored["thresholds"] = REMOVE
    elif delta or forget:
        stored["thresholds"] = {**dict.fromkeys(forget, REMOVE), **{lf: wanted.thresholds[lf] for lf in delta}}
    project = name()
    ws = workspace()
    seen = st.session_state[state.SETTINGS_REVISION]
    before = ws.settings_revision(project)
    revision = ws.update_settings(project, stored)
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
    """Validate and save a new table for the current project; returns False if another tab changed it first.

    Parameters
    ----------
    df, spec, source_name
        The table, which columns mean what, and the file (or demo) name shown back to the user.
    lfs : list of LFItem, optional
        Replace the project's LFs too, in the same transaction (a demo's suggested LFs, imported vote LFs):
        a kill or a conflict never leaves one without the other.  None keeps them.
    keep_graph : bool, default False
        The rows and texts are the same (columns were added): the graph and the thresholds stay valid.
        Otherwise ``graph_built`` is reset and the thresholds are forgotten: they belong to the old rows.
    **settings_changes
        Settings to change with it.

    Raises
    ------
    ValueError
        If the table does not fit the spec; nothing is saved then.
    """
    new = prepare_dataset(df, spec)  # validates before anything is written
    project = name()
    ws = workspace()
    try:
        revision = ws.save_dataset(
            project,
            df,
            spec,
            source_name,
            expected_revision=st.session_state[state.DATASET_TOKEN],
            lfs=None if lfs is None else lfset.to_dicts(lfs),
            expected_lf_revision=None if lfs is None else st.session_state[state.LF_REVISION],
        )
    except ConflictError as error:
        _load_dataset(project)
        _load_lfs(project)
        what = "labeling functions were" if error.kind == "lfs" else "dataset was"
        state.flash("warning", f"The {what} {RELOADED}; nothing of yours was saved. Look, then try again.")
        return False
    st.session_state[state.DATASET] = new
    st.session_state[state.DATASET_TOKEN] = revision
    if lfs is not None:  # saved in the same transaction, which checked the revision this tab had
        st.session_state[state.LFS] = list(lfs)
        st.session_state[state.LF_REVISION] += 1
    if keep_graph:
        if settings_changes:
            update_settings(**settings_changes)
    else:
        update_settings(graph_built=False, forget_thresholds=["*"], **settings_changes)
    return True
