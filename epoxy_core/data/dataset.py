"""Which columns of a table mean what (:class:`DatasetSpec`), and the validated :class:`Dataset` built from them.

:func:`prepare_dataset` validates a frame against a spec and returns the object the rest of the app passes
around: texts, ``y`` with ``ABSTAIN`` for unlabeled rows, split, content hash.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from epoxy_core.labels import ABSTAIN, Labels

from epoxy_core._cells import is_missing

__all__ = ["Dataset", "DatasetSpec", "frame_hash", "prepare_dataset"]


@dataclass
class DatasetSpec:
    """Which columns of a table hold the text, the gold labels and the split.

    Parameters
    ----------
    text_column : str
        Column with the text that labeling functions and the embedder read.
    label_column : str, optional
        Column with gold labels (class names).  Empty cells mean "unlabeled"; labeled rows form the dev set.
    split_column : str, optional
        Column naming each row's split (e.g. ``train`` / ``test``).  Without it every row is ``train``.
    class_names : list of str, optional
        The classes, in class-index order.  When omitted they are inferred from the label column (sorted;
        numerically when every label is a whole number).
    """

    text_column: str
    label_column: str | None = None
    split_column: str | None = None
    class_names: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form (see :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSpec:
        """Rebuild a spec written by :meth:`to_dict`, refusing unknown keys."""
        known = {"text_column", "label_column", "split_column", "class_names"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown dataset spec field(s) {unknown}; expected some of {sorted(known)}.")
        if "text_column" not in data:
            raise ValueError("A dataset spec needs a 'text_column'.")
        class_names = data.get("class_names")
        return cls(
            text_column=data["text_column"],
            label_column=data.get("label_column"),
            split_column=data.get("split_column"),
            class_names=list(class_names) if class_names is not None else None,
        )


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated table plus the arrays the engine works on.

    Attributes
    ----------
    df : pandas.DataFrame
        The table as uploaded (not modified).
    spec : DatasetSpec
        The spec it was prepared with.
    class_names : list of str
        Class names in class-index order (the spec's, or the inferred ones).
    texts : list of str
        The text column as strings; missing cells are ``""``.
    y : numpy.ndarray of int64
        Gold class index per row, ``ABSTAIN`` (-1) where unlabeled.
    split : numpy.ndarray of str
        Split name per row (``"train"`` when there is no split column or the cell is empty).
    content_hash : str
        Hex digest of the table's content, the spec and the class names: equal for equal data, so it
        can key on-disk caches.
    """

    df: pd.DataFrame
    spec: DatasetSpec
    class_names: list[str]
    texts: list[str]
    y: Labels
    split: np.ndarray
    content_hash: str = field(repr=False)

    @property
    def dev_mask(self) -> np.ndarray:
        """Boolean mask of rows with a gold label (the dev set)."""
        return self.y != ABSTAIN

    @property
    def cardinality(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.texts)


def prepare_dataset(df: pd.DataFrame, spec: DatasetSpec) -> Dataset:
    """Validate ``df`` against ``spec`` and build the :class:`Dataset` the rest of the app uses.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, typically from :func:`read_table`.
    spec : DatasetSpec
        Which columns hold text, labels and split, and optionally the class names.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        If a named column is missing, the text column is empty in every row, labels hold values that are
        not class names (the message lists them and the known classes), the class names are not unique
        non-empty strings, or fewer than two classes are known.

    Examples
    --------
    >>> frame = pd.DataFrame({"text": ["refund please", "app crashes", None], "label": ["billing", "", None]})
    >>> data = prepare_dataset(frame, DatasetSpec("text", "label", class_names=["billing", "technical"]))
    >>> data.y.tolist(), data.texts[2], data.dev_mask.sum()
    ([0, -1, -1], '', np.int64(1))
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
    if not isinstance(spec, DatasetSpec):
        raise ValueError(f"Expected a DatasetSpec, got {type(spec).__name__}.")
    for role, column in (("text", spec.text_column), ("label", spec.label_column), ("split", spec.split_column)):
        if column is not None and column not in df.columns:
            raise ValueError(
                f"The {role} column '{column}' is not in the table. Columns: {', '.join(map(str, df.columns))}."
            )
    if len(df.index) == 0:
        raise ValueError("The table has no rows.")

    texts = [_cell_to_text(value) for value in df[spec.text_column].tolist()]
    if not any(text.strip() for text in texts):
        raise ValueError(f"The text column '{spec.text_column}' is empty in every row; choose the column with text.")

    labels = [_label_key(value) for value in df[spec.label_column].tolist()] if spec.label_column else None
    class_names = _resolve_class_names(spec, labels)
    y = np.full(len(texts), ABSTAIN, dtype=np.int64)
    if labels is not None:
        index = {name: position for position, name in enumerate(class_names)}
        unknown = sorted({label for label in labels if label is not None and label not in index})
        if unknown:
            shown = ", ".join(repr(value) for value in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise ValueError(
                f"The label column '{spec.label_column}' holds values that are not class names: {shown}{more}. "
                f"Known classes: {', '.join(map(repr, class_names))}. Add them to the class names or fix the labels."
            )
        y = np.array([ABSTAIN if label is None else index[label] for label in labels], dtype=np.int64)

    if spec.split_column is None:
        split = np.full(len(texts), "train", dtype=object)
    else:
        split = np.array(
            [_cell_to_text(value).strip() or "train" for value in df[spec.split_column].tolist()], dtype=object
        )
    digest = hashlib.sha256()
    digest.update(frame_hash(df).encode())
    digest.update(json.dumps({"spec": spec.to_dict(), "classes": class_names}, sort_keys=True).encode())
    return Dataset(
        df=df,
        spec=spec,
        class_names=class_names,
        texts=texts,
        y=y,
        split=split,
        content_hash=digest.hexdigest()[:32],
    )


def _cell_to_text(value: Any) -> str:
    if is_missing(value):
        return ""
    return value if isinstance(value, str) else str(value)


def _label_key(value: Any) -> str | None:
    """A label cell as the string compared with class names; ``None`` when the row is unlabeled.

    Whole-number floats read as integers, because a label column of 0/1 with empty cells is loaded by
    pandas as floats (``1.0``) while the class is called ``"1"``.
    """
    if is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value).strip()
    return text or None


def _resolve_class_names(spec: DatasetSpec, labels: list[str | None] | None) -> list[str]:
    if spec.class_names is not None:
        names = list(spec.class_names)
        bad = [name for name in names if not isinstance(name, str) or not name.strip()]
        if bad:
            raise ValueError(f"Class names must be non-empty strings; got {bad!r}.")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"Class names must be unique; repeated: {', '.join(map(repr, duplicates))}.")
        if len(names) < 2:
            raise ValueError(f"At least two classes are needed; got {names!r}.")
        return names
    if labels is None:
        raise ValueError("Without a label column, give the class names (DatasetSpec.class_names).")
    present = {label for label in labels if label is not None}
    if len(present) < 2:
        found = f"only {sorted(present)!r}" if present else "no labels at all"
        raise ValueError(
            f"The label column '{spec.label_column}' has {found}; at least two classes are needed. "
            "Give the class names explicitly (DatasetSpec.class_names)."
        )
    if all(_is_integer_text(label) for label in present):
        return sorted(present, key=int)
    return sorted(present)


def _is_integer_text(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def frame_hash(df: pd.DataFrame) -> str:
    """Stable hex digest of a DataFrame's column names, dtypes and values (row order matters, index does not).

    >>> frame_hash(pd.DataFrame({"a": [1, 2]})) == frame_hash(pd.DataFrame({"a": [1, 2]}, index=[5, 6]))
    True
    """
    digest = hashlib.sha256()
    digest.update(f"{len(df.index)} rows\n".encode())
    for column in df.columns:
        series = df[column]
        digest.update(f"{column!s}\x1f{series.dtype}\x1e".encode())
        if series.dtype == object:
            # Object cells can be lists or dicts (from JSON), which pandas' hasher refuses; hash their text.
            series = series.map(lambda value: None if is_missing(value) else f"{type(value).__name__}:{value}")
        digest.update(pd.util.hash_pandas_object(series, index=False).to_numpy().tobytes())
    return digest.hexdigest()
