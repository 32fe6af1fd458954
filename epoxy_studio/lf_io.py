"""Bringing LFs in and out of a project: an exported LF set (JSON) and precomputed votes (.npy or a table).

Pure functions (no Streamlit, no workspace): they check everything and return what to save, so a bad file
changes nothing.  The LF page saves the result through :mod:`epoxy_studio.project`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from epoxy_core.data import Dataset, read_table
from epoxy_core.embed import read_npy
from epoxy_core.labels import from_signed
from epoxy_core.lf import VoteColumnLF, apply_lfs, lfs_from_json, lfs_to_json
from epoxy_studio import lfset
from epoxy_studio.lfset import LFItem

__all__ = ["export_json", "merge_imported", "votes_table", "with_vote_columns"]


def export_json(items: Sequence[LFItem]) -> str:
    """The valid LFs of the set in the core's JSON format (entries that are not valid LFs are left out)."""
    return lfs_to_json([item.lf for item in items if item.lf is not None])


def merge_imported(items: Sequence[LFItem], raw: bytes, replace: bool) -> list[LFItem]:
    """The LF set after importing an exported JSON file: added to ``items``, or replacing them.

    LFs that do not fit the dataset are imported too (the page shows each one's problem): the user can then
    repair or delete them.

    Raises
    ------
    ValueError
        For an invalid file (the core's message), or names that clash with existing LFs when adding.
    """
    imported = lfset.from_lfs(lfs_from_json(raw))
    current = [] if replace else list(items)
    clash = sorted({item.name for item in imported} & {item.name for item in current})
    if clash:
        shown = ", ".join(repr(name) for name in clash[:10])
        raise ValueError(f"LFs named {shown} already exist; rename them in the file or choose to replace the set.")
    return [*current, *imported]


def votes_table(raw: bytes, filename: str) -> pd.DataFrame:
    """Uploaded votes as a table, one column per LF: a ``(rows, LFs)`` ``.npy`` or a CSV/Parquet/JSONL table.

    Raises
    ------
    ValueError
        For a file that cannot be read, or an array that is not 1-D or 2-D integers.
    """
    if filename.lower().endswith(".npy"):
        # Never unpickles; refuses object arrays, fractions and oversized files.
        array = read_npy(raw, name=filename, kinds="iu", ndim=(1, 2))
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        stem = filename.rsplit(".", 1)[0]
        return pd.DataFrame(array, columns=[f"{stem}_{j}" for j in range(array.shape[1])])
    return read_table(raw, filename)


def with_vote_columns(
    dataset: Dataset,
    votes: pd.DataFrame,
    filename: str,
    existing: Sequence[str],
    *,
    signed: bool,
    positive_class: int,
) -> tuple[pd.DataFrame, list[VoteColumnLF]]:
    """The table with one ``votes: <name>`` column per vote column, and a :class:`VoteColumnLF` for each.

    Parameters
    ----------
    dataset : Dataset
        The current dataset; rows must align with ``votes``.
    votes : pandas.DataFrame
        From :func:`votes_table`.
    filename : str
        Named in messages.
    existing : sequence of str
        Names of the project's LFs (a new LF may not reuse one).
    signed : bool
        The votes are +1 / -1 / 0 (abstain), as Epoxy and FlyingSquid write them.
    positive_class : int
        The class +1 stands for (signed votes only).

    Raises
    ------
    ValueError
        Row-count mismatch, values that are not votes for these classes, name clashes.
    """
    if len(votes) != len(dataset):
        raise ValueError(f"{filename} has {len(votes):,} rows but the dataset has {len(dataset):,}; rows must align.")
    if signed:
        if dataset.cardinality != 2:
            raise ValueError("Signed (+1/-1/0) votes only make sense for two classes.")
        votes = pd.DataFrame(from_signed(votes.to_numpy(), positive_class=positive_class), columns=votes.columns)
    df = dataset.df.copy()
    new_lfs = []
    for column in votes.columns:
        lf_name = str(column)
        target = f"votes: {lf_name}"
        if lf_name in existing or target in df.columns:
            raise ValueError(f"An LF or column named {lf_name!r} already exists; rename the column in the file.")
        df[target] = np.asarray(votes[column].to_numpy())
        new_lfs.append(VoteColumnLF(lf_name, target))
    # Every new LF is checked against the data before anything is saved.
    apply_lfs(new_lfs, df, dataset.spec.text_column, dataset.cardinality)
    return df, new_lfs
