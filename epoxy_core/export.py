"""The labels output: one table shape for the app's export, ``Bundle.label`` and ``epoxy label``.

:func:`labels_table` turns what a labeling run produced (votes, extended votes, label-model and end-model
probabilities) into a DataFrame with, in this order:

- the row identity: the user's own columns when ``data`` is given (the app exports the whole table), else
  the id column (``ids``, e.g. the input's ``row_id``) or, without ids, ``row`` = the row's position;
- ``label``: the class name of the final label (the end model's when there is one, else the label model's;
  empty where no LF voted and there is no end model: such a row's probabilities are only the prior);
- ``P(<class>)``: the final probability of each class;
- ``covered``: whether any LF voted on the row, after extension;
- ``voted_lfs`` / ``extended_lfs``: the names of the LFs that voted on the row themselves, and of those
  whose vote on it came from extension only (lists; JSON text in CSV, see :func:`labels_to_bytes`);
- when both models ran: ``label_model_label``, ``label_model_P(<class>)``, ``end_model_label``,
  ``end_model_P(<class>)``.

**User columns are never overwritten.**  If any generated name equals a column of ``data`` (or the id
column), *every* generated column gets the prefix ``epoxy_`` (``epoxy_label``, ``epoxy_P(spam)``, ...),
and ``epoxy2_``, ``epoxy3_``, ... if that collides too.  Prefixing the whole set, not only the colliding
name, keeps the columns findable by one rule; :func:`generated_columns` tells a caller the names used.
An explicit ``prefix=`` is used as given, and a collision then raises instead.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from epoxy_core.labels import ABSTAIN, check_label_matrix

__all__ = [
    "AUTO_PREFIX",
    "POSITION_COLUMN",
    "generated_columns",
    "labels_arrow",
    "labels_table",
    "labels_to_bytes",
    "write_labels",
]

AUTO_PREFIX = "epoxy_"
"""Prefix given to every generated column when one of them would collide with a user column."""

POSITION_COLUMN = "row"
"""Name of the position column written when the input has no id column."""

_LIST_COLUMNS = ("voted_lfs", "extended_lfs")


def _check_proba(proba: Any, n_classes: int, what: str, n_rows: int | None) -> npt.NDArray[np.float64]:
    array = np.asarray(proba, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != n_classes:
        raise ValueError(f"{what} must have shape (n_rows, {n_classes}) (one column per class); got {array.shape}.")
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(f"{what} has {array.shape[0]} rows but the other inputs have {n_rows}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contains NaN or infinite values.")
    return array


def _n_rows(*parts: Any) -> int | None:
    for part in parts:
        if part is not None:
            return len(part)
    return None


def _lf_lists(mask: npt.NDArray[np.bool_], names: Sequence[str]) -> pa.ListArray:
    """Per row, the names of the LFs whose column is True, built in Arrow (fast at a million rows)."""
    rows, cols = np.nonzero(mask)  # row-major: grouped by row, LFs in column order
    offsets = np.zeros(mask.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=mask.shape[0]), out=offsets[1:])
    values = pa.array(list(names), pa.string()).take(pa.array(cols, pa.int64()))
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values)


def _class_labels(class_names: Sequence[str], proba: np.ndarray, known: np.ndarray | None) -> pa.Array:
    """Class name of each row's most probable class (ties: lowest index), null where ``known`` is False."""
    index = proba.argmax(axis=1)
    return pa.array(list(class_names), pa.string()).take(pa.array(index, mask=None if known is None else ~known))


def generated_columns(
    class_names: Sequence[str],
    *,
    both_models: bool = False,
    with_lfs: bool = True,
    prefix: str = "",
) -> list[str]:
    """The names :func:`labels_table` generates, in order (without the id or position column).

    >>> generated_columns(["ham", "spam"], with_lfs=False)
    ['label', 'P(ham)', 'P(spam)', 'covered']
    """
    names = ["label", *(f"P({c})" for c in class_names), "covered"]
    if with_lfs:
        names += list(_LIST_COLUMNS)
    if both_models:
        for model in ("label_model", "end_model"):
            names += [f"{model}_label", *(f"{model}_P({c})" for c in class_names)]
    return [prefix + name for name in names]


def _choose_prefix(generated: list[str], taken: set[str], prefix: str | None) -> str:
    if prefix is not None:
        clash = sorted(taken & {prefix + name for name in generated})
        if clash:
            raise ValueError(
                f"The labels output would overwrite column(s) {clash} of the data; choose another prefix "
                "(or pass prefix=None to pick one automatically)."
            )
        return prefix
    if not taken & set(generated):
        return ""
    k = 1
    while True:
        candidate = AUTO_PREFIX if k == 1 else f"epoxy{k}_"
        if not taken & {candidate + name for name in generated}:
            return candidate
        k += 1


class _Inputs:
    """The validated inputs shared by :func:`labels_table` and :func:`labels_arrow`."""

    def __init__(
        self,
        class_names: Sequence[str],
        label_model_proba: Any,
        end_model_proba: Any,
        L: Any,
        L_extended: Any,
        lf_names: Sequence[str] | None,
        n_rows: int | None,
    ):
        self.class_names = [str(c) for c in class_names]
        n_classes = len(self.class_names)
        if n_classes < 2 or len(set(self.class_names)) != n_classes:
            raise ValueError(f"class_names must hold at least two unique names; got {self.class_names!r}.")
        if label_model_proba is None and end_model_proba is None:
            raise ValueError("The labels output needs label_model_proba, end_model_proba or both.")
        n = _n_rows(label_model_proba, end_model_proba, L, L_extended) if n_rows is None else n_rows
        assert n is not None
        self.n = n
        self.lm = (
            None if label_model_proba is None else _check_proba(label_model_proba, n_classes, "label_model_proba", n)
        )
        self.em = None if end_model_proba is None else _check_proba(end_model_proba, n_classes, "end_model_proba", n)
        votes = None if L is None else check_label_matrix(L, n_classes, n_rows=n)
        extended = None if L_extended is None else check_label_matrix(L_extended, n_classes, n_rows=n)
        if votes is not None and extended is not None and votes.shape != extended.shape:
            raise ValueError(f"L has shape {votes.shape} but L_extended has {extended.shape}.")
        self.seen = extended if extended is not None else votes
        self.own = votes if votes is not None else self.seen
        self.lf_names: list[str] = []
        if self.seen is not None:
            m = self.seen.shape[1]
            self.lf_names = [f"lf_{j}" for j in range(m)] if lf_names is None else [str(x) for x in lf_names]
            if len(self.lf_names) != m:
                raise ValueError(f"lf_names has {len(self.lf_names)} names but there are {m} LF columns.")
            self.covered = (self.seen != ABSTAIN).any(axis=1)
        else:
            self.covered = np.ones(n, dtype=bool)

    def names(self) -> list[str]:
        return generated_columns(
            self.class_names, both_models=self.lm is not None and self.em is not None, with_lfs=self.seen is not None
        )

    def columns(self, prefix: str) -> dict[str, pa.Array]:
        """The generated columns as Arrow arrays, in :func:`generated_columns` order."""
        final = self.em if self.em is not None else self.lm
        assert final is not None
        # Without an end model, a row no LF voted on has only the prior: no label.
        out: dict[str, pa.Array] = {
            "label": _class_labels(self.class_names, final, None if self.em is not None else self.covered)
        }
        for c, name in enumerate(self.class_names):
            out[f"P({name})"] = pa.array(final[:, c])
        out["covered"] = pa.array(self.covered)
        if self.seen is not None:
            assert self.own is not None
            out["voted_lfs"] = _lf_lists(self.own != ABSTAIN, self.lf_names)
            out["extended_lfs"] = _lf_lists((self.seen != ABSTAIN) & (self.own == ABSTAIN), self.lf_names)
        if self.lm is not None and self.em is not None:
            for model, proba, known in (("label_model", self.lm, self.covered), ("end_model", self.em, None)):
                out[f"{model}_label"] = _class_labels(self.class_names, proba, known)
                for c, name in enumerate(self.class_names):
                    out[f"{model}_P({name})"] = pa.array(proba[:, c])
        return {prefix + name: values for name, values in out.items()}


def labels_arrow(
    class_names: Sequence[str],
    *,
    label_model_proba: Any | None = None,
    end_model_proba: Any | None = None,
    L: Any | None = None,
    L_extended: Any | None = None,
    lf_names: Sequence[str] | None = None,
    ids: Any | None = None,
    id_column: str = "row_id",
    row_offset: int = 0,
    prefix: str | None = None,
) -> pa.Table:
    """:func:`labels_table` without ``data``, as an Arrow table (what ``epoxy label`` writes to Parquet).

    The id column (``ids``) or the position column ``row`` comes first, then the generated columns.
    LF name lists are ``large_list<string>``.  Building it costs a fraction of a second at a million rows.
    """
    inputs = _Inputs(class_names, label_model_proba, end_model_proba, L, L_extended, lf_names, _n_rows(ids))
    if ids is not None:
        id_values = ids.to_numpy() if isinstance(ids, pd.Series) else np.asarray(ids)
        if id_values.shape != (inputs.n,):
            raise ValueError(f"ids must hold one value per row ({inputs.n}); got shape {id_values.shape}.")
        first = {str(id_column): pa.array(id_values)}
    else:
        first = {POSITION_COLUMN: pa.array(np.arange(row_offset, row_offset + inputs.n, dtype=np.int64))}
    chosen = _choose_prefix(inputs.names(), set(first), prefix)
    return pa.table({**first, **inputs.columns(chosen)})


def labels_table(
    class_names: Sequence[str],
    *,
    label_model_proba: Any | None = None,
    end_model_proba: Any | None = None,
    L: Any | None = None,
    L_extended: Any | None = None,
    lf_names: Sequence[str] | None = None,
    data: pd.DataFrame | None = None,
    ids: Any | None = None,
    id_column: str = "row_id",
    row_offset: int = 0,
    prefix: str | None = None,
) -> pd.DataFrame:
    """The labels of a run as one table that never overwrites a user column (see the module docstring).

    Parameters
    ----------
    class_names : sequence of str
        Names of classes ``0..C-1``.
    label_model_proba : array-like of shape (n_rows, C), optional
        The label model's posterior (on the extended votes).
    end_model_proba : array-like of shape (n_rows, C), optional
        The end model's probabilities.  At least one of the two models is required; the final ``label`` /
        ``P(<class>)`` come from the end model when it is given.
    L, L_extended : array-like of shape (n_rows, n_lfs), optional
        The LFs' own votes and the votes after extension (``ABSTAIN`` = -1); they fill ``voted_lfs``,
        ``extended_lfs`` and ``covered``.  Without them ``covered`` is True everywhere (nothing is known
        about the votes) and the LF columns are left out.
    lf_names : sequence of str, optional
        One name per LF column (default ``lf_0``, ``lf_1``, ...).
    data : pandas.DataFrame, optional
        The user's table, carried in front of the generated columns (index reset).
    ids : array-like of shape (n_rows,), optional
        Row identifiers, written as ``id_column`` (not allowed together with ``data``, which carries its own).
    id_column : str, default "row_id"
        Name of the ids column.
    row_offset : int, default 0
        Without ``data`` and ``ids``: the position of the first row (a partition's offset in the whole input).
    prefix : str, optional
        Prefix for every generated column.  ``None`` (default) adds none unless a name collides with a user
        column, then ``"epoxy_"`` (``"epoxy2_"``, ... if needed).  An explicit prefix that still collides
        raises.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in input order.  LF name lists are numpy arrays of str (as
        ``pandas.read_parquet`` returns them).

    Raises
    ------
    ValueError
        For no model probabilities, shapes that disagree, non-finite probabilities, or an explicit prefix
        that collides with a user column.

    Examples
    --------
    >>> table = labels_table(["ham", "spam"], label_model_proba=[[0.2, 0.8], [0.5, 0.5]],
    ...                      L=[[1, -1], [-1, -1]], L_extended=[[1, 1], [-1, -1]], lf_names=["my", "http"])
    >>> first = table.iloc[0]
    >>> first["row"], first["label"], first["covered"], list(first["voted_lfs"]), list(first["extended_lfs"])
    (np.int64(0), 'spam', np.True_, ['my'], ['http'])
    >>> labels_table(["a", "b"], end_model_proba=[[1, 0]], data=pd.DataFrame({"label": ["x"]})).columns.tolist()
    ['label', 'epoxy_label', 'epoxy_P(a)', 'epoxy_P(b)', 'epoxy_covered']
    """
    if data is None:
        table = labels_arrow(
            class_names,
            label_model_proba=label_model_proba,
            end_model_proba=end_model_proba,
            L=L,
            L_extended=L_extended,
            lf_names=lf_names,
            ids=ids,
            id_column=id_column,
            row_offset=row_offset,
            prefix=prefix,
        )
        return table.to_pandas()
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    if ids is not None:
        raise ValueError("Pass either data (which carries its own id column) or ids, not both.")
    inputs = _Inputs(class_names, label_model_proba, end_model_proba, L, L_extended, lf_names, len(data))
    chosen = _choose_prefix(inputs.names(), {str(c) for c in data.columns}, prefix)
    generated = pa.table(inputs.columns(chosen)).to_pandas()
    return pd.concat([data.reset_index(drop=True), generated], axis=1)


def _csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    """List cells (LF names) as JSON text, which CSV readers can parse back unambiguously."""
    out = table.copy()
    for column in out.columns:
        if str(column).endswith(_LIST_COLUMNS) and out[column].dtype == object:
            out[column] = [
                json.dumps(list(v), ensure_ascii=False) if isinstance(v, list | tuple | np.ndarray) else v
                for v in out[column]
            ]
    return out


def labels_to_bytes(table: pd.DataFrame, fmt: Literal["csv", "parquet"]) -> bytes:
    """A labels table as CSV (UTF-8, LF lists as JSON arrays) or Parquet (LF lists as list<string>) bytes."""
    buffer = io.BytesIO()
    write_labels(table, buffer, fmt)
    return buffer.getvalue()


def write_labels(table: pd.DataFrame, target: Any, fmt: Literal["csv", "parquet"] = "parquet") -> None:
    """Write a labels table to a path or binary file object; see :func:`labels_to_bytes`."""
    if fmt == "csv":
        text = _csv_ready(table).to_csv(index=False)
        if hasattr(target, "write"):
            target.write(text.encode("utf-8"))
        else:
            with open(target, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
    elif fmt == "parquet":
        table.to_parquet(target, index=False)
    else:
        raise ValueError(f"Unknown labels format {fmt!r}; use 'csv' or 'parquet'.")
