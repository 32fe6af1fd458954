"""Persistent workspace: projects, their dataset, labeling functions and settings survive refresh and restart.

Layout inside the data directory (``data_dir()``, env ``EPOXY_DATA_DIR``, default ``<project>/data``)::

    workspace/
      workspace.sqlite3          projects, dataset metadata, LF sets and settings (JSON text)
      projects/project-<id>/     files of one project, e.g. dataset-<hash>.parquet

Guarantees and how they are kept:

- **Atomic writes.**  Every change is one SQLite transaction (WAL journal, ``synchronous=FULL``), so a
  process killed mid-save leaves the previous state.  A dataset's Parquet file is written to a temporary
  name, flushed to disk and renamed into place *before* the transaction that points to it commits; its
  name is content-addressed, so a crash can at worst leave an unreferenced file behind, never a
  half-written one that is referenced.
- **Concurrent editors.**  LF sets and settings carry a revision counter.  A caller that passes the
  revision it loaded as ``expected_revision`` gets a :class:`ConflictError` when someone else saved in
  between (two browser tabs on one project); ``None`` means last write wins.  Each method opens its own
  short-lived connection, so one :class:`Workspace` can be shared by Streamlit's session threads.
- **Safe paths.**  Project names are validated (1–64 letters, digits, spaces, ``-`` ``_`` ``.``; no
  leading dot, no ``..``) and never used as file names: a project's folder is named after its numeric id,
  and every path is resolved and checked to lie inside the workspace folder.
- **Schema versioning.**  ``meta.schema_version`` records the layout; a workspace written by a newer,
  unknown version is refused rather than misread.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from epoxy_core.data import DatasetSpec, prepare_dataset

__all__ = [
    "SCHEMA_VERSION",
    "ConflictError",
    "Workspace",
    "validate_project_name",
]

SCHEMA_VERSION: int = 1
"""Version of the on-disk layout this code reads and writes."""

_NAME_PATTERN = re.compile(r"[A-Za-z0-9 _.\-]{1,64}")
_BUSY_TIMEOUT_MS = 30_000
_KINDS = ("lfs", "settings")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids (and folder names) are never reused
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS datasets (
    project_id   INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    file         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    spec_json    TEXT NOT NULL,
    source_name  TEXT NOT NULL,
    n_rows       INTEGER NOT NULL,
    saved_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,                      -- 'lfs' or 'settings'
    body_json  TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    saved_at   TEXT NOT NULL,
    PRIMARY KEY (project_id, kind)
);
"""


class ConflictError(ValueError):
    """Someone else saved the same document since the caller loaded it."""


def _default_data_dir() -> Path:
    """The app's data directory (``epoxy_core.cache.data_dir()``: env ``EPOXY_DATA_DIR`` or ``<project>/data``)."""
    # Imported here, not at module level: the cache module pulls in the embedding and neighbour code,
    # which a notebook that only reads its workspace does not need.
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
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, default=_json_default, allow_nan=False, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"The {what} cannot be saved as JSON ({error}). Use plain numbers, strings, lists and dicts; "
            "NaN and infinity are not allowed."
        ) from None


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


class Workspace:
    """Projects with their dataset, labeling functions and settings, stored under the data directory.

    Parameters
    ----------
    root : pathlib.Path, optional
        The data directory.  The workspace lives in ``root / "workspace"``.  Defaults to the app's data
        directory (env ``EPOXY_DATA_DIR``, else ``<project>/data``).

    Raises
    ------
    ValueError
        If the workspace file is not a SQLite database, or was written by a newer Epoxy Studio.

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
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root if root is not None else _default_data_dir()).resolve()
        self.folder = self.root / "workspace"
        self.path = self.folder / "workspace.sqlite3"
        self.projects_folder = self.folder / "projects"
        self.projects_folder.mkdir(parents=True, exist_ok=True)
        self._initialise()

    # ------------------------------------------------------------------ connection plumbing

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection per operation: cheap, and safe across Streamlit's session threads."""
        try:
            connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as error:
            raise ValueError(f"Cannot open the workspace database {self.path}: {error}.") from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA synchronous = FULL")
            yield connection
        except sqlite3.DatabaseError as error:
            if "not a database" in str(error) or "malformed" in str(error):
                raise ValueError(
                    f"The workspace database {self.path} is damaged or not a SQLite file ({error}). "
                    "Move it aside to start a fresh workspace."
                ) from None
            raise
        finally:
            connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction.  IMMEDIATE takes the write lock up front, so read-check-write is atomic."""
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _initialise(self) -> None:
        with self._connect() as connection:
            # WAL lets readers proceed during a write and is persistent in the file once set.
            connection.execute("PRAGMA journal_mode = WAL")
        with self._transaction() as connection:
            has_meta = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            if has_meta:
                row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                found = int(row[0]) if row else None
                if found is not None and found > SCHEMA_VERSION:
                    raise ValueError(
                        f"The workspace {self.path} was written by a newer Epoxy Studio (schema version {found}; "
                        f"this version understands up to {SCHEMA_VERSION}). Upgrade Epoxy Studio, or point "
                        "EPOXY_DATA_DIR at another folder."
                    )
            # executescript() would COMMIT first; run the statements one by one inside this transaction.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def schema_version(self) -> int:
        """The schema version recorded in the workspace file."""
        with self._connect() as connection:
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

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
        """The folder for ``project``'s files (created if needed), for modules that store per-project files."""
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
        try:
            with self._transaction() as connection:
                connection.execute(
                    "INSERT INTO projects (name, created_at, updated_at) VALUES (?, ?, ?)", (name, now, now)
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"A project named '{name}' already exists; choose another name.") from None

    def rename_project(self, old: str, new: str) -> None:
        """Rename a project; its files stay where they are (folders are named by id, not by name)."""
        validate_project_name(new)
        try:
            with self._transaction() as connection:
                project_id = self._project_id(connection, old)
                connection.execute(
                    "UPDATE projects SET name = ?, updated_at = ? WHERE id = ?", (new, _now(), project_id)
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"A project named '{new}' already exists; choose another name.") from None

    def delete_project(self, name: str) -> None:
        """Delete a project, its dataset file, LFs and settings."""
        with self._transaction() as connection:
            project_id = self._project_id(connection, name)
            connection.execute("DELETE FROM projects WHERE id = ?", (project_id,))
        # Files go after the commit: a crash in between leaves an orphan folder, never a project without files.
        folder = self._project_folder(project_id)
        if folder.exists():
            shutil.rmtree(folder)

    # ------------------------------------------------------------------ dataset

    def save_dataset(self, project: str, df: pd.DataFrame, spec: DatasetSpec, source_name: str) -> str:
        """Store ``df`` as the project's dataset (replacing any previous one) and return its content hash.

        Parameters
        ----------
        project : str
        df : pandas.DataFrame
            The table; its index is not stored.
        spec : DatasetSpec
            Validated against ``df`` first (see :func:`epoxy_core.data.prepare_dataset`).
        source_name : str
            The uploaded file's name, shown back to the user.

        Returns
        -------
        str
            The :attr:`Dataset.content_hash` of ``df`` with ``spec``.

        Raises
        ------
        ValueError
            If the spec does not fit the table, the project does not exist, or a column cannot be stored
            in Parquet (e.g. mixed types).
        """
        content_hash = prepare_dataset(df, spec).content_hash
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
        folder = self._project_folder(project_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = self._inside(folder / f"dataset-{content_hash}.parquet")
        if not target.exists():  # content-addressed: an existing file already holds exactly these bytes' data
            self._write_parquet_atomically(df, target)

        with self._transaction() as connection:
            if self._project_id(connection, project) != project_id:
                raise ValueError(f"The project '{project}' was replaced while saving; save again.")
            previous = connection.execute("SELECT file FROM datasets WHERE project_id = ?", (project_id,)).fetchone()
            connection.execute(
                "INSERT OR REPLACE INTO datasets (project_id, file, content_hash, spec_json, source_name, n_rows,"
                " saved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    project_id,
                    target.name,
                    content_hash,
                    _dumps(spec.to_dict(), "dataset spec"),
                    str(source_name),
                    len(df.index),
                    _now(),
                ),
            )
            connection.execute("UPDATE projects SET updated_at = ? WHERE id = ?", (_now(), project_id))
        if previous and previous[0] != target.name:
            old = self._inside(folder / previous[0])
            old.unlink(missing_ok=True)
        return content_hash

    @staticmethod
    def _write_parquet_atomically(df: pd.DataFrame, target: Path) -> None:
        temporary = target.with_name(f".tmp-{uuid.uuid4().hex}.parquet")
        try:
            try:
                df.to_parquet(temporary, engine="pyarrow", index=False)
            except (ValueError, TypeError, ImportError, OSError) as error:
                raise ValueError(
                    f"The table cannot be stored as Parquet ({error}). Columns must hold one type each "
                    "(e.g. all text or all numbers)."
                ) from None
            except Exception as error:  # pyarrow's ArrowException types do not all derive from ValueError
                raise ValueError(f"The table cannot be stored as Parquet ({error}).") from None
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, target)
            _fsync_dir(target.parent)
        finally:
            temporary.unlink(missing_ok=True)

    def load_dataset(self, project: str) -> tuple[pd.DataFrame, DatasetSpec] | None:
        """The project's dataset and spec, or ``None`` if none was saved.

        Raises
        ------
        ValueError
            If the project does not exist or its dataset file has gone missing.
        """
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
            row = connection.execute(
                "SELECT file, spec_json FROM datasets WHERE project_id = ?", (project_id,)
            ).fetchone()
        if row is None:
            return None
        path = self._inside(self._project_folder(project_id) / row[0])
        if not path.is_file():
            raise ValueError(f"The dataset file of project '{project}' is missing ({path.name}); upload it again.")
        frame = pd.read_parquet(path, engine="pyarrow")
        return frame, DatasetSpec.from_dict(json.loads(row[1]))

    def dataset_info(self, project: str) -> dict[str, Any] | None:
        """Metadata of the project's dataset (``source_name``, ``content_hash``, ``n_rows``, ``saved_at``)."""
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
            row = connection.execute(
                "SELECT source_name, content_hash, n_rows, saved_at FROM datasets WHERE project_id = ?",
                (project_id,),
            ).fetchone()
        if row is None:
            return None
        return {"source_name": row[0], "content_hash": row[1], "n_rows": row[2], "saved_at": row[3]}

    # ------------------------------------------------------------------ revisioned documents (LFs, settings)

    def _save_document(self, project: str, kind: str, body: Any, expected_revision: int | None) -> int:
        text = _dumps(body, "labeling functions" if kind == "lfs" else "settings")
        with self._transaction() as connection:
            project_id = self._project_id(connection, project)
            row = connection.execute(
                "SELECT revision FROM documents WHERE project_id = ? AND kind = ?", (project_id, kind)
            ).fetchone()
            current = int(row[0]) if row else 0
            if expected_revision is not None and expected_revision != current:
                what = "labeling functions" if kind == "lfs" else "settings"
                raise ConflictError(
                    f"The {what} of project '{project}' were changed elsewhere (another tab or user saved "
                    f"revision {current}; you started from revision {expected_revision}). Reload to see their "
                    "changes, then apply yours again."
                )
            connection.execute(
                "INSERT OR REPLACE INTO documents (project_id, kind, body_json, revision, saved_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (project_id, kind, text, current + 1, _now()),
            )
            connection.execute("UPDATE projects SET updated_at = ? WHERE id = ?", (_now(), project_id))
        return current + 1

    def _load_document(self, project: str, kind: str) -> tuple[Any, int]:
        with self._connect() as connection:
            project_id = self._project_id(connection, project)
            row = connection.execute(
                "SELECT body_json, revision FROM documents WHERE project_id = ? AND kind = ?", (project_id, kind)
            ).fetchone()
        if row is None:
            return None, 0
        return json.loads(row[0]), int(row[1])

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
        if not isinstance(lf_dicts, list) or not all(isinstance(item, Mapping) for item in lf_dicts):
            raise ValueError("Labeling functions must be saved as a list of dicts (one per LF).")
        return self._save_document(project, "lfs", [dict(item) for item in lf_dicts], expected_revision)

    def load_lfs(self, project: str) -> tuple[list[dict[str, Any]], int]:
        """The project's labeling functions and their revision (``([], 0)`` when none were saved)."""
        body, revision = self._load_document(project, "lfs")
        return (body if body is not None else []), revision

    def save_settings(
        self,
        project: str,
        settings: Mapping[str, Any],
        *,
        expected_revision: int | None = None,
        merge: bool = False,
    ) -> int:
        """Store the project's settings (thresholds, embedder, class balance, ...) and return the new revision.

        Parameters
        ----------
        project : str
        settings : mapping
            JSON-serialisable values; numpy scalars and arrays are converted.
        expected_revision : int, optional
            As in :meth:`save_lfs`.
        merge : bool, default False
            Update only the given keys, keeping the others (read and written in one transaction), so two
            pages saving different settings do not overwrite each other.

        Returns
        -------
        int
            The new revision.
        """
        if not isinstance(settings, Mapping):
            raise ValueError(f"Settings must be a dict, got {type(settings).__name__}.")
        if not merge:
            return self._save_document(project, "settings", dict(settings), expected_revision)
        # Merge inside one write transaction so a concurrent save cannot slip between read and write.
        with self._transaction() as connection:
            project_id = self._project_id(connection, project)
            row = connection.execute(
                "SELECT body_json, revision FROM documents WHERE project_id = ? AND kind = 'settings'", (project_id,)
            ).fetchone()
            current = dict(json.loads(row[0])) if row else {}
            revision = int(row[1]) if row else 0
            if expected_revision is not None and expected_revision != revision:
                raise ConflictError(
                    f"The settings of project '{project}' were changed elsewhere (revision {revision}; you started "
                    f"from revision {expected_revision}). Reload, then apply your changes again."
                )
            current.update(settings)
            connection.execute(
                "INSERT OR REPLACE INTO documents (project_id, kind, body_json, revision, saved_at)"
                " VALUES (?, 'settings', ?, ?, ?)",
                (project_id, _dumps(current, "settings"), revision + 1, _now()),
            )
        return revision + 1

    def load_settings(self, project: str) -> dict[str, Any]:
        """The project's settings (``{}`` when none were saved)."""
        body, _ = self._load_document(project, "settings")
        return body if body is not None else {}

    def settings_revision(self, project: str) -> int:
        """The revision of the project's settings (0 when none were saved), for ``expected_revision``."""
        return self._load_document(project, "settings")[1]
