"""Which columns of a table mean what (:class:`DatasetSpec`), and the validated :class:`Dataset` built from them.

:func:`prepare_dataset` validates a frame against a spec and returns the object the rest of the app passes
around: texts, ``y`` with ``ABSTAIN`` for unlabeled rows, split, content hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from epoxy_core._cells import cell_to_text, is_missing
from epoxy_core.labels import ABSTAIN, Labels

__all__ = ["DEFAULT_MISSING_LABELS", "Dataset", "DatasetSpec", "frame_hash", "prepare_dataset"]

DEFAULT_MISSING_LABELS: tuple[str, ...] = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none")
"""Label cells that mean "no label": what spreadsheets, pandas and databases write for a missing value.

Only the *label* column reads them as missing; text cells saying "NA" stay text.
"""


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
    missing_labels : sequence of str, default :data:`DEFAULT_MISSING_LABELS`
        Label cells (after stripping spaces) that mean "unlabeled", such as ``"NaN"`` or ``"N/A"``.  Empty
        cells are always unlabeled.  A value that is also one of ``class_names`` is a class, not missing.
    """

    text_column: str
    label_column: str | None = None
    split_column: str | None = None
    class_names: list[str] | None = None
    missing_labels: tuple[str, ...] = DEFAULT_MISSING_LABELS

    def __post_init__(self) -> None:
        values = self.missing_labels
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise ValueError(f"The missing-label values must be a list of strings, got {values!r:.80}.")
        if not all(isinstance(value, str) for value in values):
            raise ValueError(f"The missing-label values must be strings, got {list(values)!r:.80}.")
        self.missing_labels = tuple(value.strip() for value in values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form (see :meth:`from_dict`); ``missing_labels`` only when not the default."""
        data = dataclasses.asdict(self)
        if self.missing_labels == DEFAULT_MISSING_LABELS:
            # Left out so specs (and the content hashes built from them) stay what they were before the field.
            del data["missing_labels"]
        else:
            data["missing_labels"] = list(self.missing_labels)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSpec:
        """Rebuild a spec written by :meth:`to_dict`, refusing unknown keys."""
        known = {"text_column", "label_column", "split_column", "class_names", "missing_labels"}
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
            missing_labels=tuple(data.get("missing_labels", DEFAULT_MISSING_LABELS)),
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
        Gold class index per row, ``ABSTAIN`` (-1) where unlabeled (hand labels included, see
        :meth:`with_hand_labels`).
    split : numpy.ndarray of str
        Split name per row (``"train"`` when there is no split column or the cell is empty).
    content_hash : str
        Hex digest of the table's content, the spec and the class names: equal for equal data, so it
        can key on-disk caches.  Hand labels do not change it (see :attr:`labels_key`).
    hand_labeled : numpy.ndarray of bool
        Rows whose label in ``y`` is a hand label rather than one from the label column.
    """

    df: pd.DataFrame
    spec: DatasetSpec
    class_names: list[str]
    texts: list[str]
    y: Labels
    split: np.ndarray
    content_hash: str = field(repr=False)
    hand_labeled: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.hand_labeled is None:
            object.__setattr__(self, "hand_labeled", np.zeros(len(self.texts), dtype=bool))

    @property
    def dev_mask(self) -> np.ndarray:
        """Boolean mask of rows with a gold label (the dev set, hand labels included)."""
        return self.y != ABSTAIN

    @property
    def cardinality(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @cached_property
    def rows_key(self) -> str:
        """Digest of the row count and the text of every row: the identity hand labels are attached to.

        Adding columns (imported votes) or changing the label column keeps it; reordering, adding or
        removing rows, or editing a text changes it.
        """
        digest = hashlib.sha256(f"{len(self.texts)} rows\n".encode())
        for text in self.texts:
            encoded = text.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "little"))
            digest.update(encoded)
        return digest.hexdigest()[:32]

    @cached_property
    def labels_key(self) -> str:
        """Digest of :attr:`content_hash` and ``y``: changes when hand labels do, for label-dependent caches."""
        digest = hashlib.sha256(self.content_hash.encode())
        digest.update(np.ascontiguousarray(self.y, dtype=np.int64).tobytes())
        return digest.hexdigest()[:32]

    def with_hand_labels(self, labels: Mapping[int, int]) -> Dataset:
        """A copy whose ``y`` also holds ``labels`` (row position -> class index), marked in ``hand_labeled``.

        A hand label replaces the label column's value on the same row: it is the user's latest word.

        Raises
        ------
        ValueError
            For a row outside the table or a class index outside the classes.

        Examples
        --------
        >>> frame = pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", None, "y"]})
        >>> data = prepare_dataset(frame, DatasetSpec("text", "label")).with_hand_labels({1: 0})
        >>> data.y.tolist(), data.hand_labeled.tolist()
        ([0, 0, 1], [False, True, False])
        """
        y = self.y.copy()
        marked = np.zeros(len(y), dtype=bool)
        for row, label in labels.items():
            row, label = _check_position(row, len(y), "row"), _check_position(label, self.cardinality, "class")
            y[row] = label
            marked[row] = True
        return dataclasses.replace(self, y=y, hand_labeled=marked)

    def __len__(self) -> int:
        return len(self.texts)


def _check_position(value: Any, size: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= int(value) < size:
        raise ValueError(f"Hand label {what} {value!r} is out of range: expected a whole number from 0 to {size - 1}.")
    return int(value)


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
    >>> frame = pd.DataFrame({"text": ["refund please", "app crashes", None], "label": ["billing", "N/A", None]})
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
            shown = ", ".join(map(str, df.columns[:20])) + (
                f" and {len(df.columns) - 20:,} more" if len(df.columns) > 20 else ""
            )
            raise ValueError(f"The {role} column '{column}' is not in the table. Columns: {shown}.")
        if column is not None and isinstance(df[column], pd.DataFrame):
            raise ValueError(f"The table has more than one column named '{column}'; rename them so each is unique.")
    if len(df.index) == 0:
        raise ValueError("The table has no rows.")

    texts = [cell_to_text(value) for value in df[spec.text_column].tolist()]
    if not any(text.strip() for text in texts):
        raise ValueError(f"The text column '{spec.text_column}' is empty in every row; choose the column with text.")

    labels = None
    if spec.label_column:
        declared = set(spec.class_names or ())
        missing = {value for value in spec.missing_labels if value not in declared}
        labels = [_label_key(value, missing) for value in df[spec.label_column].tolist()]
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
            [cell_to_text(value).strip() or "train" for value in df[spec.split_column].tolist()], dtype=object
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


def _label_key(value: Any, missing: set[str] | frozenset[str] = frozenset()) -> str | None:
    """A label cell as the string compared with class names; ``None`` when the row is unlabeled.

    Whole-number floats read as integers, because a label column of 0/1 with empty cells is loaded by
    pandas as floats (``1.0``) while the class is called ``"1"``.  Cells in ``missing`` (after stripping
    spaces) and blank cells are unlabeled.
    """
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    return None if not text or text in missing else text


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
            raise ValueError(f"At least two classes are needed; got {names!r}. Type the name of every class.")
        return names
    if labels is None:
        raise ValueError(
            "Without a label column the classes are not known: type the class names, in order (for example: ham, spam)."
        )
    present = {label for label in labels if label is not None}
    if len(present) < 2:
        found = f"only {sorted(present)!r}" if present else "no labels at all"
        raise ValueError(
            f"The label column '{spec.label_column}' has {found}; at least two classes are needed. "
            "Type the class names, in order (for example: ham, spam)."
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


# Column dtypes hashed as raw bytes, many columns at once: per-column hashing cost a 100,000-column table
# a minute.  Everything else (text, categories, nullable and extension dtypes) is hashed column by column.
_BLOCK_KINDS = frozenset("biufcmM")


def frame_hash(df: pd.DataFrame) -> str:
    """Stable hex digest of a DataFrame's column names, dtypes and values (row order matters, index does not).

    >>> frame_hash(pd.DataFrame({"a": [1, 2]})) == frame_hash(pd.DataFrame({"a": [1, 2]}, index=[5, 6]))
    True
    """
    digest = hashlib.sha256()
    digest.update(f"{len(df.index)} rows\n".encode())
    dtypes = list(df.dtypes)
    dtype_names = {dtype: str(dtype) for dtype in set(dtypes)}  # str(dtype) costs ~40 µs: once per dtype
    columns = df.columns.tolist()
    digest.update("\x1e".join(f"{c!s}\x1f{dtype_names[d]}" for c, d in zip(columns, dtypes, strict=True)).encode())
    blocks: dict[np.dtype, list[int]] = {}
    for position, dtype in enumerate(dtypes):
        if isinstance(dtype, np.dtype) and dtype.kind in _BLOCK_KINDS:
            blocks.setdefault(dtype, []).append(position)
            continue
        series = df.iloc[:, position]
        if isinstance(dtype, np.dtype) and dtype.kind == "O":
            # Object cells can be lists or dicts (from JSON), which pandas' hasher refuses; hash their text.
            series = series.map(lambda value: None if is_missing(value) else f"{type(value).__name__}:{value}")
        digest.update(pd.util.hash_pandas_object(series, index=False).to_numpy().tobytes())
    for dtype, positions in blocks.items():
        values = df.iloc[:, positions].to_numpy(dtype=dtype)
        digest.update(f"\x1d{dtype}:{positions[0]}+{len(positions)}".encode())
        digest.update(np.ascontiguousarray(values.T).tobytes())
    return digest.hexdigest()
