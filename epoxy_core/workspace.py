"""Persistent workspace: projects, their dataset, labeling functions, settings and hand labels survive refresh
and restart.

Layout inside the data directory (``data_dir()``, env ``EPOXY_DATA_DIR``, default ``<project>/data``)::

    workspace/
      workspace.sqlite3          projects, dataset metadata, LF sets, settings (JSON text), hand labels
      projects/project-<id>/     files of one project, e.g. dataset-<hash>.parquet

Guarantees and how they are kept:

- **Atomic writes.**  Every change is one SQLite transaction (WAL journal, ``synchronous=FULL``), so a
  process killed mid-save leaves the previous state.  A dataset's Parquet file is written to a temporary
  name and flushed to disk first; inside the transaction that points to it, it is renamed to its
  content-addressed name.  A kill can therefore leave an unreferenced file (a temporary one, or a renamed
  one whose transaction never committed, or the previous dataset's file), never a referenced file that is
  incomplete.  Leftovers are removed the next time the workspace is opened or a dataset is saved, under
  the database's write lock so a concurrent save cannot lose its file.
- **Concurrent editors.**  Every kind of write carries a revision check: the dataset (including imported
  vote columns, which live in the dataset table), the LF set and the settings each have a revision counter.
  A caller that passes the revision it loaded as ``expected_revision`` gets a :class:`ConflictError` when
  someone else saved in between (two browser tabs on one project); nothing is written then, and the other
  tab's work stays.  ``None`` means last write wins.  :meth:`Workspace.update_settings` merges changes into
  the stored settings inside one transaction (thresholds per LF name), so two tabs changing different
  settings both persist.  Hand labels are one record per row: two tabs labeling different rows never
  conflict.  Each method opens its own short-lived connection, so one :class:`Workspace` can be shared by
  Streamlit's session threads, and any number of processes can open the same workspace.
- **Clear failures.**  A damaged, locked or unwritable database raises :class:`WorkspaceError` (a
  ValueError) that says what to do, never a raw ``sqlite3`` error.
- **Safe paths.**  Project names are validated (1–64 letters, digits, spaces, ``-`` ``_`` ``.``; no
  leading dot, no ``..``) and never used as file names: a project's folder is named after its numeric id,
  and every path is resolved and checked to lie inside the workspace folder.
- **Schema versioning.**  ``meta.schema_version`` records the layout.  Older workspaces are migrated in
  place when opened; one written by a newer, unknown version is refused rather than misread.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from epoxy_core.data import DatasetSpec, prepare_dataset
from epoxy_core.data.limits import MAX_COLUMNS

try:  # POSIX: a temporary dataset file is locked while it is written, so a sweep knows a live writer's file.
    import fcntl
except ImportError:  # pragma: no cover - Windows: temporary files are swept by age instead
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MERGED_SETTINGS",
    "REMOVE",
    "SCHEMA_VERSION",
    "ConflictError",
    "Workspace",
    "WorkspaceError",
    "validate_project_name",
]

SCHEMA_VERSION: int = 2
"""Version of the on-disk layout this code reads and writes (1: first release; 2: dataset revisions,
hand labels)."""

MERGED_SETTINGS: frozenset[str] = frozenset({"thresholds"})
"""Settings whose dict value :meth:`Workspace.update_settings` merges item by item (per LF name)."""

_NAME_PATTERN = re.compile(r"[A-Za-z0-9 _.\-]{1,64}")
_BUSY_TIMEOUT_MS = 30_000
_DATASET_FILE = re.compile(r"dataset-[0-9a-f]{32}\.parquet")
_TEMPORARY_FILE = re.compile(r"\.tmp-[0-9a-f]{32}\.parquet")
_UNLOCKED_TEMPORARY_MAX_AGE_S = 3600  # only where files cannot be locked (Windows)

_TABLES = (
    """CREATE TABLE IF NOT EXISTS meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS projects (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids (and folder names) are never reused
        name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS datasets (
        project_id   INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
        file         TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        spec_json    TEXT NOT NULL,
        source_name  TEXT NOT NULL,
        n_rows       INTEGER NOT NULL,
        saved_at     TEXT NOT NULL,
        revision     INTEGER NOT NULL DEFAULT 1,      -- v2
        rows_key     TEXT,                            -- v2: Dataset.rows_key; hand labels are attached to it
        classes_json TEXT                             -- v2: the resolved class names
    )""",
    """CREATE TABLE IF NOT EXISTS documents (
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,                      -- 'lfs' or 'settings'
        body_json  TEXT NOT NULL,
        revision   INTEGER NOT NULL,
        saved_at   TEXT NOT NULL,
        PRIMARY KEY (project_id, kind)
    )""",
    """CREATE TABLE IF NOT EXISTS deleted_projects (   -- v2: whose leftover folders a sweep may remove
        id         INTEGER PRIMARY KEY,
        deleted_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS hand_labels (
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        rows_key   TEXT NOT NULL,                      -- the dataset rows the label belongs to
        row        INTEGER NOT NULL,                   -- row position in that dataset
        label      TEXT NOT NULL,                      -- class *name*: survives a re-ordered class list
        saved_at   TEXT NOT NULL,
        PRIMARY KEY (project_id, rows_key, row)
    )""",
)
_V2_DATASET_COLUMNS = (
    ("revision", "INTEGER NOT NULL DEFAULT 1"),
    ("rows_key", "TEXT"),
    ("classes_json", "TEXT"),
)
_WHAT = {"lfs": "labeling functions", "settings": "settings", "dataset": "dataset"}


class WorkspaceError(ValueError):
    """The workspace database cannot be used (damaged, locked, unwritable); the message says what to do."""


class ConflictError(ValueError):
    """Someone else (another tab or session) saved the same thing since the caller loaded it.

    Nothing was written.  Attributes say what conflicted: ``kind`` (``"dataset"``, ``"lfs"`` or
    ``"settings"``), ``project``, ``expected_revision`` (what the caller had) and ``current_revision``
    (what is saved now).
    """

    def __init__(self, kind: str, project: str, expected_revision: int, current_revision: int):
        what = _WHAT[kind]
        super().__init__(
            f"The {what} of project '{project}' changed in another tab or session (saved revision "
            f"{current_revision}; this page had revision {expected_revision}). Your change was not saved and "
            f"theirs is kept; the page has reloaded their version: apply your change again if you still want it."
        )
        self.kind = kind
        self.project = project
        self.expected_revision = expected_revision
        self.current_revision = current_revision


class _Remove:
    """The type of :data:`REMOVE`."""

    _instance: _Remove | None = None

    def __new__(cls) -> _Remove:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REMOVE"

    def __reduce__(self) -> str:
        return "REMOVE"


REMOVE = _Remove()
"""A value for :meth:`Workspace.update_settings` that deletes a setting, or one LF's threshold."""


def _default_data_dir() -> Path:
    """The app's data directory (``epoxy_core.config.data_dir()``: env ``EPOXY_DATA_DIR`` or ``<project>/data``)."""
    from epoxy_core.config import data_dir

    return Path(data_dir())


def validate_project_name(name: Any) -> str:
    """Return ``name`` if it is a valid project name, else raise a ValueError that says why.

    Valid names are 1–64 characters of letters, digits, spaces, ``-``, ``_`` and ``.``, with no leading
    dot or space, no trailing space and no ``..``.

    >>> validate_project_name("Spam v2.1")
    'Spam v2.1'
    >>> validate_project_name("../etc")
    Traceback (most recent call last):
    ...
    ValueError: Invalid project name '../etc': use 1–64 letters, digits, spaces, '-', '_' or '.' (no slashes, no '..').
    """
    if not isinstance(name, str):
        raise ValueError(f"A project name must be a string, got {type(name).__name__}.")
    shown = name if len(name) <= 80 else name[:77] + "..."
    if not name:
        raise ValueError("A project name cannot be empty.")
    if len(name) > 64:
        raise ValueError(f"Project name '{shown}' is too long ({len(name)} characters; at most 64).")
    if not _NAME_PATTERN.fullmatch(name) or ".." in name:
        raise ValueError(
            f"Invalid project name {shown!r}: use 1–64 letters, digits, spaces, '-', '_' or '.' (no slashes, no '..')."
        )
    if name.startswith("."):
        raise ValueError(f"Invalid project name {shown!r}: it cannot start with a dot.")
    if name != name.strip():
        raise ValueError(f"Invalid project name {shown!r}: it cannot start or end with a space.")
    return name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json_default(value: Any) -> Any:
    """Let numpy scalars and arrays (thresholds, class balances) be stored as plain JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, default=_json_default, allow_nan=False, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(
            f"The {what} cannot be saved as JSON ({error}). Use plain numbers, strings, lists and dicts; "
            "NaN and infinity are not allowed."
        ) from None


def _merge_settings(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``stored`` updated with ``changes``: :data:`REMOVE` deletes, :data:`MERGED_SETTINGS` merge per item.

    >>> _merge_settings({"k": 30, "thresholds": {"my": 0.3}}, {"thresholds": {"song": 0.6}, "k": REMOVE})
    {'thresholds': {'my': 0.3, 'song': 0.6}}
    """
    merged = copy.deepcopy(dict(stored))
    for key, value in changes.items():
        if value is REMOVE:
            merged.pop(key, None)
        elif key in MERGED_SETTINGS and isinstance(value, Mapping):
            items = dict(merged[key]) if isinstance(merged.get(key), Mapping) else {}
            for item, item_value in value.items():
                if item_value is REMOVE:
                    items.pop(str(item), None)
                else:
                    items[str(item)] = copy.deepcopy(item_value)
            merged[key] = items
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _fsync_dir(path: Path) -> None:
    """Persist a rename on POSIX; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_abandoned(path: Path) -> bool:
    """True when no live process is writing the temporary file ``path`` (its writer holds a lock on it)."""
    if fcntl is None:  # pragma: no cover - Windows
        try:
            age = datetime.now(UTC).timestamp() - path.stat().st_mtime
        except OSError:
            return False
        return age > _UNLOCKED_TEMPORARY_MAX_AGE_S
    try:
        handle = open(path, "rb")
    except OSError:
        return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # locked: a writer is still at work
    finally:
        handle.close()
    return True


class Workspace:
    """Projects with their dataset, labeling functions, settings and hand labels, stored under the data directory.

    Parameters
    ----------
    root : pathlib.Path, optional
        The data directory.  The workspace lives in ``root / "workspace"``.  Defaults to the app's data
        directory (env ``EPOXY_DATA_DIR``, else ``<project>/data``).

    Raises
    ------
    WorkspaceError
        If the folder cannot be created, the workspace file is damaged or not a SQLite database, or it was
        written by a newer Epoxy Studio.

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace(Path(tempfile.mkdtemp()))
    >>> ws.create_project("spam")
    >>> ws.save_lfs("spam", [{"type": "keyword", "name": "my", "label": 1, "keywords": ["my"]}])
    1
    >>> lfs, revision = ws.load_lfs("spam")
    >>> lfs[0]["name"], revision
    ('my', 1)
    >>> ws.update_settings("spam", {"thresholds": {"my": 0.3}})
    1
    >>> ws.update_settings("spam", {"thresholds": {"song": 0.6}})  # another tab, another LF: both kept
    2
    >>> ws.load_settings("spam")
    {'thresholds': {'my': 0.3, 'song': 0.6}}
    """

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root if root is not None else _default_data_dir()).resolve()
        self.folder = self.root / "workspace"
        self.path = self.folder / "workspace.sqlite3"
        self.projects_folder = self.folder / "projects"
        try:
            self.projects_folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WorkspaceError(
                f"Cannot create the workspace folder {self.projects_folder} ({error.strerror or error}). "
                "The data directory (EPOXY_DATA_DIR) must be a folder you can write to, not a file."
            ) from None
        self._initialise()
        self._sweep()

    # ------------------------------------------------------------------ connection plumbing

    def _database_error(self, error: sqlite3.Error) -> WorkspaceError:
        """Turn an ``sqlite3`` error into a message a user can act on."""
        text = str(error)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            return WorkspaceError(
                f"The workspace database {self.path} is busy: another Epoxy Studio process kept it locked for "
                f"more than {_BUSY_TIMEOUT_MS // 1000} s. Try again in a moment."
            )
        if "full" in lowered:
            return WorkspaceError(f"The disk holding the workspace {self.path} is full ({text}). Free some space.")
        if any(word in lowered for word in ("readonly", "read-only", "unable to open", "permission", "i/o")):
            return WorkspaceError(
                f"The workspace database {self.path} cannot be opened or written ({text}). Check that the "
                f"folder {self.folder} exists and is writable (EPOXY_DATA_DIR) and that the disk is healthy."
            )
        return WorkspaceError(
            f"The workspace database {self.path} is damaged or not a SQLite file ({text}). Move it aside, with "
            "its -wal and -shm files if present (for example into a folder named 'damaged'), and open Epoxy Studio "
            f"again to start a fresh workspace. The dataset files under {self.projects_folder} are kept; the new "
            "workspace does not use them, so upload your tables again."
        )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection per operation: cheap, and safe across Streamlit's session threads."""
        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as error:
            raise self._database_error(error) from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA synchronous = FULL")
            yield connection
        except sqlite3.Error as error:
            raise self._database_error(error) from None
        finally:
            connection.close()

    @contextmanager
    def _transaction(self, purpose: str) -> Iterator[sqlite3.Connection]:
        """One write transaction.  IMMEDIATE takes the write lock up front, so read-check-write is atomic.

        ``purpose`` names it for :meth:`_reached` (``"dataset"``, ``"lfs"``, ``"settings"``, ...).
        """
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise
            self._reached(f"{purpose}: before commit")
            connection.execute("COMMIT")

    def _reached(self, point: str) -> None:
        """A named point inside a save (``"dataset file written"``, ``"lfs: before commit"``, ...).

        Does nothing; the fault-injection tests override it to kill the process exactly there.
        """

    def _initialise(self) -> None:
        with self._connect() as connection:
            # WAL lets readers proceed during a write and is persistent in the file once set.
            connection.execute("PRAGMA journal_mode = WAL")
        with self._transaction("init") as connection:
            found = self._stored_schema_version(connection)
            if found is not None and found > SCHEMA_VERSION:
                raise WorkspaceError(
                    f"The workspace {self.path} was written by a newer Epoxy Studio (schema version {found}; "
                    f"this version understands up to {SCHEMA_VERSION}). Upgrade Epoxy Studio, or point "
                    "EPOXY_DATA_DIR at another folder."
                )
            # executescript() would COMMIT first; run the statements one by one inside this transaction.
            for statement in _TABLES:
                connection.execute(statement)
            if found is not None and found < 2:
                self._migrate_to_2(connection)
            self._skip_existing_folders(connection)
            if found != SCHEMA_VERSION:  # written only when it changes: opening a workspace costs no disk flush
                connection.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )

    def _skip_existing_folders(self, connection: sqlite3.Connection) -> None:
        """Make new project ids start above every ``project-<id>`` folder already on disk.

        A database moved aside (damaged, or replaced by hand) leaves its projects' folders behind; a fresh
        database would otherwise hand their ids, and so their folders and files, to new projects.
        """
        ids = [int(folder.name[8:]) for folder in self.projects_folder.glob("project-*") if folder.name[8:].isdigit()]
        if not ids:
            return
        row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'projects'").fetchone()
        if row is None:
            connection.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('projects', ?)", (max(ids),))
        elif int(row[0]) < max(ids):
            connection.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'projects'", (max(ids),))

    @staticmethod
    def _stored_schema_version(connection: sqlite3.Connection) -> int | None:
        has_meta = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        if not has_meta:
            return None
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else None

    def _migrate_to_2(self, connection: sqlite3.Connection) -> None:
        """Version 1 -> 2, in place: dataset revision / rows key / class names; the hand-label table."""
        present = {row[1] for row in connection.execute("PRAGMA table_info(datasets)")}
        for column, declaration in _V2_DATASET_COLUMNS:
            if column not in present:
                connection.execute(f"ALTER TABLE datasets ADD COLUMN {column} {declaration}")
        rows = connection.execute("SELECT project_id, file, spec_json FROM datasets WHERE rows_key IS NULL").fetchall()
        for project_id, file, spec_json in rows:
            try:
                path = self._inside(self.projects_folder / f"project-{int(project_id)}" / file)
                dataset = prepare_dataset(pd.read_parquet(path), DatasetSpec.from_dict(json.loads(spec_json)))
            except Exception:
                continue
            connection.execute(
                "UPDATE datasets SET rows_key = ?, classes_json = ? WHERE project_id = ?",
                (dataset.rows_key, json.dumps(dataset.class_names), project_id),
            )

    def schema_version(self) -> int:
        """The schema version recorded in the workspace file."""
        with self._connect() as connection:
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    def integrity_problems(self) -> list[str]:
        """Problems found by SQLite's integrity check and in the dataset files; empty when all is well.

        Every dataset the database points to must exist, and no project of this database may hold an
        unreferenced dataset file or an abandoned temporary file, nor a deleted project a folder.
        """
        problems: list[str] = []
        with self._connect() as connection:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                problems.extend(f"database: {line}" for line in result)
            referenced = connection.execute("SELECT project_id, file FROM datasets").fetchall()
            project_ids = {int(row[0]) for row in connection.execute("SELECT id FROM projects")}
            deleted = {int(row[0]) for row in connection.execute("SELECT id FROM deleted_projects")}
        names = {(int(project_id), file) for project_id, file in referenced}
        for project_id, file in sorted(names):
            if not (self.projects_folder / f"project-{project_id}" / file).is_file():
                problems.append(f"project {project_id}: dataset file {file} is missing")
        for project_id in sorted(project_ids | deleted):
            folder = self.projects_folder / f"project-{project_id}"
            if not folder.is_dir():
                continue
            if project_id in deleted:
                problems.append(f"{folder.name}: folder of a deleted project")
                continue
            for path in sorted(folder.iterdir()):
                if _DATASET_FILE.fullmatch(path.name) and (project_id, path.name) not in names:
                    problems.append(f"{folder.name}: unreferenced file {path.name}")
                elif _TEMPORARY_FILE.fullmatch(path.name) and _is_abandoned(path):
                    problems.append(f"{folder.name}: abandoned temporary file {path.name}")
        return problems

    # ------------------------------------------------------------------ paths

    def _inside(self, path: Path) -> Path:
        """Resolve ``path`` and refuse it unless it lies inside the projects folder."""
        resolved = path.resolve()
        base = self.projects_folder.resolve()
        if resolved == base or not resolved.is_relative_to(base):
            raise ValueError(f"Refusing to use {path}: it is outside the workspace folder {base}.")
        return resolved

    def _project_folder(self, project_id: int) -> Path:
        return self._inside(self.projects_folder / f"project-{int(project_id)}")

    def _project_id(self, connection: sqlite3.Connection, name: str) -> int:
        validate_project_name(name)
        row = connection.execute("SELECT id FROM projects WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ValueError(f"There is no project named '{name}'. Create it first.")
        return int(row[0])

    def project_dir(self, project: str) -> Path:
        """The folder for ``project``'s files (created if needed), for modules that store per-project files.

        Files named ``dataset-*.parquet`` and ``.tmp-*.parquet`` there belong to the workspace.
        """
        with self._connect() as connection:
            folder = self._project_folder(self._project_id(connection, project))
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ------------------------------------------------------------------ projects

    def list_projects(self) -> list[str]:
        """Project names, sorted case-insensitively."""
        with self._connect() as connection:
            rows = connection.execute("SELECT name FROM projects ORDER BY name COLLATE NOCASE").fetchall()
        return [row[0] for row in rows]

    def create_project(self, name: str) -> None:
        """Create an empty project.

        Raises
        ------
        ValueError
            If the name is invalid (see :func:`validate_project_name`) or taken (case-insensitively).
        """
        validate_project_name(name)
        now = _now()
        with self._transaction("project") as connection:
            self._refuse_taken(connection, name)
            connection.execute("INSERT INTO projects (name, created_at, updated_at) VALUES (?, ?, ?)", (name, now, now))

    @staticmethod
    def _refuse_taken(connection: sqlite3.Connection, name: str, except_id: int | None = None) -> None:
        row = connection.execute("SELECT id FROM projects WHERE name = ?", (name,)).fetchone()
        if row is not None and row[0] != except_id:
            raise ValueError(f"A project named '{name}' already exists; choose another name.")

    def rename_project(self, old: str, new: str) -> None:
        """Rename a project; its files stay where they are (folders are named by id, not by name)."""
        validate_project_name(new)
        with self._transaction("project") as connection:
            project_id = self._project_id(connection, old)
            self._refuse_taken(connection, new, except_id=project_id)
            connection.execute("UPDATE projects SET name = ?, updated_at = ? WHERE id = ?", (new, _now(), project_id))

    def delete_project(self, name: str) -> None:
        """Delete a project, its dataset file, LFs, settings and hand labels."""
        with self._transaction("project") as connection:
            project_id = self._project_id(connection, name)
            connection.execute("DELETE FROM projects WHERE id = ?", (project_id,))
            connection.execute("INSERT INTO deleted_projects (id, deleted_at) VALUES (?, ?)", (project_id, _now()))
        # Files go after the commit: a crash in between leaves an orphan folder (swept later), never a
        # project without files.
        self._reached("project deleted")
        folder = self._project_folder(project_id)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)

    def revisions(self, project: str) -> dict[str, int]:
        """The current ``"dataset"``, ``"lfs"`` and ``"settings"`` revisions (0 for what was never saved).

        A page can compare them with the revisions it loaded to notice another tab's saves.
        """
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
            dataset = connection.execute("SELECT revision FROM datasets WHERE project_id = ?", (project_id,)).fetchone()
            documents = dict(
                connection.execute(
                    "SELECT kind, revision FROM documents WHERE project_id = ?", (project_id,)
                ).fetchall()
            )
        return {
            "dataset": int(dataset[0]) if dataset else 0,
            "lfs": int(documents.get("lfs", 0)),
            "settings": int(documents.get("settings", 0)),
        }

    # ------------------------------------------------------------------ dataset

    def save_dataset(
        self,
        project: str,
        df: pd.DataFrame,
        spec: DatasetSpec,
        source_name: str,
        *,
        expected_revision: int | None = None,
        lfs: list[dict[str, Any]] | None = None,
        expected_lf_revision: int | None = None,
    ) -> int:
        """Store ``df`` as the project's dataset (replacing any previous one) and return its new revision.

        Parameters
        ----------
        project : str
        df : pandas.DataFrame
            The table; its index is not stored.  At most :data:`~epoxy_core.data.limits.MAX_COLUMNS` columns.
        spec : DatasetSpec
            Validated against ``df`` first (see :func:`epoxy_core.data.prepare_dataset`).
        source_name : str
            The uploaded file's name, shown back to the user.
        expected_revision : int, optional
            The dataset revision the caller loaded (:meth:`dataset_revision`; 0 when there was none).
            ``None``: last write wins.
        lfs : list of dict, optional
            Also replace the LF set, in the same transaction (a demo's suggested LFs; imported vote
            columns and their LFs), so a kill or a conflict never leaves one without the other.
        expected_lf_revision : int, optional
            As ``expected_revision``, for the LF set (only with ``lfs``).

        Returns
        -------
        int
            The new dataset revision (previous + 1).

        Raises
        ------
        ConflictError
            If ``expected_revision`` (or ``expected_lf_revision``) is given and another save happened since;
            nothing is written then.
        ValueError
            If the spec does not fit the table, the table is too wide, the project does not exist, or a
            column cannot be stored in Parquet (e.g. mixed types).
        """
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
        if len(df.columns) > MAX_COLUMNS:
            raise ValueError(
                f"The table has {len(df.columns):,} columns; the workspace stores at most {MAX_COLUMNS:,}. "
                "Drop the columns you do not need."
            )
        dataset = prepare_dataset(df, spec)
        spec_text = _dumps(spec.to_dict(), "dataset spec")
        lf_text = None if lfs is None else _dumps(self._checked_lfs(lfs), "labeling functions")
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
        folder = self._project_folder(project_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = self._inside(folder / f"dataset-{dataset.content_hash}.parquet")
        # Written before the transaction, so the write lock is held only for a rename, not for the write.
        temporary = None if target.exists() else self._write_temporary(df, folder)
        placed = False
        try:
            with self._transaction("dataset") as connection:
                if self._project_id(connection, project) != project_id:
                    raise ValueError(f"The project '{project}' was replaced while saving; save again.")
                row = connection.execute("SELECT revision FROM datasets WHERE project_id = ?", (project_id,)).fetchone()
                current = int(row[0]) if row else 0
                if expected_revision is not None and expected_revision != current:
                    raise ConflictError("dataset", project, expected_revision, current)
                if lf_text is not None:
                    self._write_document(connection, project, project_id, "lfs", lf_text, expected_lf_revision)
                self._reached("dataset file written")
                if not target.exists():  # checked under the lock: a sweep cannot remove it from here on
                    placed = self._place(df, folder, target, temporary)
                    temporary = None
                self._reached("dataset file renamed")
                connection.execute(
                    "INSERT OR REPLACE INTO datasets (project_id, file, content_hash, spec_json, source_name, n_rows,"
                    " saved_at, revision, rows_key, classes_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        project_id,
                        target.name,
                        dataset.content_hash,
                        spec_text,
                        str(source_name),
                        len(df.index),
                        _now(),
                        current + 1,
                        dataset.rows_key,
                        json.dumps(dataset.class_names),
                    ),
                )
                connection.execute("UPDATE projects SET updated_at = ? WHERE id = ?", (_now(), project_id))
        except Exception:
            if placed:  # not unlinked here, outside the lock: an equal save in another tab may use it by now
                with suppress(Exception):
                    self._sweep()
            raise
        finally:
            if temporary is not None:
                temporary[1].close()
                temporary[0].unlink(missing_ok=True)
        self._reached("dataset committed")
        self._sweep()
        return current + 1

    @staticmethod
    def _write_temporary(df: pd.DataFrame, folder: Path) -> tuple[Path, BinaryIO]:
        """Write ``df`` as Parquet to a locked temporary file in ``folder``; return its path and open handle.

        The handle keeps the lock (see :func:`_is_abandoned`) until the caller renames or deletes the file.
        """
        path = folder / f".tmp-{uuid.uuid4().hex}.parquet"
        handle = open(path, "xb+")
        try:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                df.to_parquet(handle, engine="pyarrow", index=False)
            except (ValueError, TypeError, ImportError, OSError) as error:
                raise ValueError(
                    f"The table cannot be stored as Parquet ({error}). Columns must hold one type each "
                    "(e.g. all text or all numbers)."
                ) from None
            except Exception as error:  # pyarrow's ArrowException types do not all derive from ValueError
                raise ValueError(f"The table cannot be stored as Parquet ({error}).") from None
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
        return path, handle

    def _place(self, df: pd.DataFrame, folder: Path, target: Path, temporary: tuple[Path, BinaryIO] | None) -> bool:
        """Rename the temporary file to ``target`` (writing it first if it is gone); True when placed."""
        if temporary is None:
            temporary = self._write_temporary(df, folder)
        try:
            os.replace(temporary[0], target)
        except FileNotFoundError:
            # Swept in the instant between creating and locking it: write it again, now under the write lock.
            temporary[1].close()
            temporary = self._write_temporary(df, folder)
            os.replace(temporary[0], target)
        finally:
            temporary[1].close()
        _fsync_dir(folder)
        return True

    def _sweep(self) -> None:
        """Remove what a killed or interrupted save left behind, under the write lock.

        That is: dataset files no dataset row points to, temporary files whose writer is gone, and the
        folders of projects this database deleted.  Every file a transaction references is placed while that
        transaction holds the write lock, so nothing in use can be removed here.  Folders this database
        knows nothing about (left by a database moved aside) are never touched.
        """
        with self._transaction("sweep") as connection:
            referenced = {(int(p), f) for p, f in connection.execute("SELECT project_id, file FROM datasets")}
            project_ids = {int(row[0]) for row in connection.execute("SELECT id FROM projects")}
            deleted = {int(row[0]) for row in connection.execute("SELECT id FROM deleted_projects")}
            for folder in self.projects_folder.glob("project-*"):
                if not folder.name[8:].isdigit():
                    continue
                project_id = int(folder.name[8:])
                if project_id in deleted:
                    shutil.rmtree(folder, ignore_errors=True)
                if project_id not in project_ids:
                    continue
                for path in folder.iterdir():
                    if _DATASET_FILE.fullmatch(path.name) and (project_id, path.name) not in referenced:
                        path.unlink(missing_ok=True)
                    elif _TEMPORARY_FILE.fullmatch(path.name) and _is_abandoned(path):
                        path.unlink(missing_ok=True)

    def load_dataset(self, project: str) -> tuple[pd.DataFrame, DatasetSpec] | None:
        """The project's dataset and spec, or ``None`` if none was saved.

        Raises
        ------
        ValueError
            If the project does not exist or its dataset file has gone missing or is damaged.
        """
        for attempt in range(2):
            with self._connect() as connection:
                project_id = self._project_id(connection, project)
                row = connection.execute(
                    "SELECT file, spec_json FROM datasets WHERE project_id = ?", (project_id,)
                ).fetchone()
            if row is None:
                return None
            path = self._inside(self._project_folder(project_id) / row[0])
            try:
                frame = pd.read_parquet(path, engine="pyarrow")
            except FileNotFoundError:
                if attempt == 0:
                    continue  # replaced by another session between the query and the read: read the new one
                raise ValueError(
                    f"The dataset file of project '{project}' is missing ({path.name}); upload it again."
                ) from None
            except Exception as error:  # pyarrow's errors for a damaged file are not all ValueErrors
                raise ValueError(
                    f"The dataset file of project '{project}' is damaged ({path.name}: {error}); upload it again."
                ) from None
            return frame, DatasetSpec.from_dict(json.loads(row[1]))
        raise AssertionError("unreachable")

    def dataset_info(self, project: str) -> dict[str, Any] | None:
        """Metadata of the project's dataset (``source_name``, ``content_hash``, ``n_rows``, ``saved_at``,
        ``revision``), or ``None`` when none was saved."""
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
            row = connection.execute(
                "SELECT source_name, content_hash, n_rows, saved_at, revision FROM datasets WHERE project_id = ?",
                (project_id,),
            ).fetchone()
        if row is None:
            return None
        return {"source_name": row[0], "content_hash": row[1], "n_rows": row[2], "saved_at": row[3], "revision": row[4]}

    def dataset_revision(self, project: str) -> int:
        """The revision of the project's dataset (0 when none was saved), for ``expected_revision``."""
        return self.revisions(project)["dataset"]

    # ------------------------------------------------------------------ revisioned documents (LFs, settings)

    @staticmethod
    def _write_document(
        connection: sqlite3.Connection, project: str, project_id: int, kind: str, text: str, expected: int | None
    ) -> int:
        row = connection.execute(
            "SELECT revision FROM documents WHERE project_id = ? AND kind = ?", (project_id, kind)
        ).fetchone()
        current = int(row[0]) if row else 0
        if expected is not None and expected != current:
            raise ConflictError(kind, project, expected, current)
        connection.execute(
            "INSERT OR REPLACE INTO documents (project_id, kind, body_json, revision, saved_at) VALUES (?, ?, ?, ?, ?)",
            (project_id, kind, text, current + 1, _now()),
        )
        connection.execute("UPDATE projects SET updated_at = ? WHERE id = ?", (_now(), project_id))
        return current + 1

    def _save_document(self, project: str, kind: str, body: Any, expected_revision: int | None) -> int:
        text = _dumps(body, _WHAT[kind])
        with self._transaction(kind) as connection:
            project_id = self._project_id(connection, project)
            return self._write_document(connection, project, project_id, kind, text, expected_revision)

    def _load_document(self, project: str, kind: str) -> tuple[Any, int]:
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
            row = connection.execute(
                "SELECT body_json, revision FROM documents WHERE project_id = ? AND kind = ?", (project_id, kind)
            ).fetchone()
        if row is None:
            return None, 0
        return json.loads(row[0]), int(row[1])

    @staticmethod
    def _checked_lfs(lf_dicts: Any) -> list[dict[str, Any]]:
        if not isinstance(lf_dicts, list) or not all(isinstance(item, Mapping) for item in lf_dicts):
            raise ValueError("Labeling functions must be saved as a list of dicts (one per LF).")
        return [dict(item) for item in lf_dicts]

    def save_lfs(self, project: str, lf_dicts: list[dict[str, Any]], expected_revision: int | None = None) -> int:
        """Replace the project's labeling functions and return the new revision.

        Parameters
        ----------
        project : str
        lf_dicts : list of dict
            LFs in :func:`epoxy_core.lf.lf_from_dict` format (stored as JSON; not interpreted here).
        expected_revision : int, optional
            The revision the caller loaded (0 when there were none).  ``None``: last write wins.

        Returns
        -------
        int
            The new revision (previous + 1).

        Raises
        ------
        ConflictError
            If ``expected_revision`` is given and another save happened since.
        ValueError
            If the project does not exist or ``lf_dicts`` is not a list of JSON-serialisable dicts.
        """
        return self._save_document(project, "lfs", self._checked_lfs(lf_dicts), expected_revision)

    def load_lfs(self, project: str) -> tuple[list[dict[str, Any]], int]:
        """The project's labeling functions and their revision (``([], 0)`` when none were saved)."""
        body, revision = self._load_document(project, "lfs")
        return (body if body is not None else []), revision

    def update_settings(self, project: str, changes: Mapping[str, Any], *, expected_revision: int | None = None) -> int:
        """Merge ``changes`` into the stored settings in one transaction and return the new revision.

        Keys not in ``changes`` keep their stored values, and the dicts of :data:`MERGED_SETTINGS`
        (``"thresholds"``) are merged per item (LF name), so two tabs that change different settings or
        different LFs' thresholds both persist; for the same key the later save wins.  :data:`REMOVE` as a
        value deletes that setting (or that LF's threshold); ``{"thresholds": REMOVE}`` clears them all.

        Parameters
        ----------
        project : str
        changes : mapping
            JSON-serialisable values; numpy scalars and arrays are converted.
        expected_revision : int, optional
            Refuse with :class:`ConflictError` unless the settings are still at this revision.

        Returns
        -------
        int
            The new settings revision.
        """
        if not isinstance(changes, Mapping):
            raise ValueError(f"Settings changes must be a dict, got {type(changes).__name__}.")
        with self._transaction("settings") as connection:
            project_id = self._project_id(connection, project)
            row = connection.execute(
                "SELECT body_json FROM documents WHERE project_id = ? AND kind = 'settings'", (project_id,)
            ).fetchone()
            stored = json.loads(row[0]) if row else {}
            merged = _merge_settings(stored if isinstance(stored, Mapping) else {}, changes)
            text = _dumps(merged, "settings")
            return self._write_document(connection, project, project_id, "settings", text, expected_revision)

    def save_settings(
        self,
        project: str,
        settings: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        merge: bool = False,
    ) -> int:
        """Replace the project's settings as a whole and return the new revision.

        Two tabs saving whole dicts overwrite each other's changes; pages should use
        :meth:`update_settings`, which merges.  ``merge=True`` is the same as :meth:`update_settings`.
        """
        if not isinstance(settings, Mapping):
            raise ValueError(f"Settings must be a dict, got {type(settings).__name__}.")
        if merge:
            return self.update_settings(project, settings, expected_revision=expected_revision)
        return self._save_document(project, "settings", dict(settings), expected_revision)

    def load_settings(self, project: str) -> dict[str, Any]:
        """The project's settings (``{}`` when none were saved)."""
        body, _ = self._load_document(project, "settings")
        return body if isinstance(body, dict) else {}

    def settings_revision(self, project: str) -> int:
        """The revision of the project's settings (0 when none were saved), for ``expected_revision``."""
        return self._load_document(project, "settings")[1]

    # ------------------------------------------------------------------ hand labels

    def _dataset_rows(self, connection: sqlite3.Connection, project: str) -> tuple[int, str, list[str], int, int]:
        """``(project_id, rows_key, class_names, n_rows, revision)`` of the project's dataset."""
        project_id = self._project_id(connection, project)
        row = connection.execute(
            "SELECT rows_key, classes_json, n_rows, revision FROM datasets WHERE project_id = ?", (project_id,)
        ).fetchone()
        if row is None:
            raise ValueError(f"Project '{project}' has no dataset yet; load a table before labeling rows.")
        if row[0] is None or row[1] is None:
            raise ValueError(f"The dataset of project '{project}' could not be read when upgrading; upload it again.")
        return project_id, row[0], list(json.loads(row[1])), int(row[2]), int(row[3])

    def save_hand_label(
        self, project: str, row: int, label: int | None, *, expected_dataset_revision: int | None = None
    ) -> None:
        """Store the user's label for one row of the current dataset (``None`` removes it).

        One record per row: two tabs labeling different rows both persist; on the same row the later wins.
        Labels belong to the dataset's rows (:attr:`~epoxy_core.data.Dataset.rows_key`): they stay through a
        vote import, and are set aside (not deleted) while a table with other rows is loaded.

        Parameters
        ----------
        project : str
        row : int
            Row position in the dataset (0-based).
        label : int or None
            Class index, or None to remove the row's hand label.
        expected_dataset_revision : int, optional
            Refuse with :class:`ConflictError` if the dataset was replaced since the caller loaded it (the
            row number would point into another table).

        Raises
        ------
        ValueError
            If the project has no dataset, or ``row`` / ``label`` is out of range.
        """
        with self._transaction("hand label") as connection:
            project_id, rows_key, class_names, n_rows, revision = self._dataset_rows(connection, project)
            if expected_dataset_revision is not None and expected_dataset_revision != revision:
                raise ConflictError("dataset", project, expected_dataset_revision, revision)
            if isinstance(row, bool) or not isinstance(row, int | np.integer) or not 0 <= int(row) < n_rows:
                raise ValueError(f"Row {row!r} is not in the dataset: rows are numbered 0 to {n_rows - 1:,}.")
            if label is None:
                connection.execute(
                    "DELETE FROM hand_labels WHERE project_id = ? AND rows_key = ? AND row = ?",
                    (project_id, rows_key, int(row)),
                )
                return
            if (
                isinstance(label, bool)
                or not isinstance(label, int | np.integer)
                or not 0 <= int(label) < len(class_names)
            ):
                raise ValueError(
                    f"Label {label!r} is not a class: use a class index from 0 to {len(class_names) - 1} "
                    f"({', '.join(class_names)})."
                )
            connection.execute(
                "INSERT OR REPLACE INTO hand_labels (project_id, rows_key, row, label, saved_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (project_id, rows_key, int(row), class_names[int(label)], _now()),
            )

    def load_hand_labels(self, project: str) -> dict[int, int]:
        """Hand labels of the current dataset: row position -> class index (``{}`` without a dataset).

        Labels whose class is no longer one of the dataset's classes are left out (and kept on disk).
        """
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
            dataset = connection.execute(
                "SELECT rows_key, classes_json FROM datasets WHERE project_id = ?", (project_id,)
            ).fetchone()
            if dataset is None or dataset[0] is None or dataset[1] is None:
                return {}
            rows = connection.execute(
                "SELECT row, label FROM hand_labels WHERE project_id = ? AND rows_key = ? ORDER BY row",
                (project_id, dataset[0]),
            ).fetchall()
        index = {name: position for position, name in enumerate(json.loads(dataset[1]))}
        return {int(row): index[label] for row, label in rows if label in index}
