"""Loading the tables users upload, describing which columns mean what, and the built-in demos.

Three steps, each with its own public function:

1. :func:`read_table` turns uploaded bytes (CSV / TSV / TXT, Parquet, JSON Lines, JSON arrays) into a
   :class:`pandas.DataFrame`.  Every way a file can be bad raises a :class:`ValueError` whose message is
   meant to be shown to the user as is: it names the problem and says what to do about it.
2. :class:`DatasetSpec` says which column holds the text, the gold labels and the split;
   :func:`prepare_dataset` validates a frame against a spec and returns a :class:`Dataset`, the object the
   rest of the app passes around (texts, ``y`` with ``ABSTAIN`` for unlabeled rows, split, content hash).
3. :func:`list_demos` / :func:`load_demo` offer datasets that need no download: scikit-learn's digits and
   breast-cancer tables, and a small self-made text dataset of customer-support messages in ``data/demo/``.

Decisions worth knowing:

- Text must be UTF-8 (a byte-order mark is fine).  Other encodings are refused with the byte offset and
  line of the first bad byte rather than decoded as latin-1: a silent latin-1 decode turns every non-ASCII
  character of a UTF-16 or cp1252 file into plausible-looking garbage that then feeds the embeddings.
- In delimited files only an empty cell is missing: ``"NA"``, ``"null"`` or ``"None"`` stay text, because
  they are real comments in user data.
- Nothing is ever unpickled (pandas' ``read_pickle`` is never used; Parquet is read by pyarrow).
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

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_EXTENSIONS",
    "Dataset",
    "DatasetSpec",
    "Demo",
    "frame_hash",
    "list_demos",
    "load_demo",
    "prepare_dataset",
    "read_table",
]

DEFAULT_MAX_BYTES: int = 200 * 2**20
"""Largest upload :func:`read_table` accepts by default (200 MB, Streamlit's own default upload limit)."""

_DELIMITED = (".csv", ".tsv", ".txt")
_JSON_LINES = (".jsonl", ".ndjson")
SUPPORTED_EXTENSIONS: tuple[str, ...] = (*_DELIMITED, ".parquet", *_JSON_LINES, ".json")
"""File name endings :func:`read_table` understands."""

# Order matters: on a tie (same column count) the earlier delimiter wins.
_DELIMITER_CANDIDATES = (",", "\t", ";", "|")
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
# The delimiter is chosen from the start of the file; 1 MB holds thousands of rows of short texts.
_SNIFF_CHARS = 2**20

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"


# --------------------------------------------------------------------------------------------- reading


def read_table(
    data: bytes | str | Path | BinaryIO,
    filename: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> pd.DataFrame:
    """Read an uploaded table, refusing bad files with a message the user can act on.

    Parameters
    ----------
    data : bytes, str, pathlib.Path or binary file object
        The file's content (``bytes`` or a binary file object such as Streamlit's ``UploadedFile``) or
        the path of a file on disk (``str`` or ``Path``).
    filename : str
        The user's name for the file.  Its ending picks the format: ``.csv`` / ``.tsv`` / ``.txt``
        (delimiter sniffed among comma, tab, semicolon and pipe), ``.parquet``, ``.jsonl`` / ``.ndjson``
        (one JSON object per line) or ``.json`` (an array of objects, or one object per line).
    max_bytes : int, default 200 MB
        Larger files are refused before they are parsed.

    Returns
    -------
    pandas.DataFrame
        One row per record, columns in file order.  In delimited files only empty cells become NaN.

    Raises
    ------
    ValueError
        For an unsupported file type, an empty file, a header without rows, a file over ``max_bytes``,
        bytes that are not UTF-8, rows whose field counts disagree under every delimiter, duplicate column
        names, and truncated or malformed Parquet / JSON (naming the bad line).

    Examples
    --------
    >>> read_table(b"text;label\\nhello;spam\\n", "export.csv").columns.tolist()
    ['text', 'label']
    """
    name = Path(str(filename)).name or str(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        hint = " Export spreadsheets as CSV (UTF-8) first." if suffix in (".xlsx", ".xls", ".ods") else ""
        raise ValueError(
            f"Cannot read '{name}': unsupported file type '{suffix or '(none)'}'. "
            f"Supported: {', '.join(SUPPORTED_EXTENSIONS)}.{hint}"
        )
    raw = _read_bytes(data, name, max_bytes)
    if not raw.strip():
        raise ValueError(f"'{name}' is empty: it holds no data.")
    if suffix == ".parquet":
        return _read_parquet(raw, name)
    text = _decode_utf8(raw, name)
    if not text.strip():
        raise ValueError(f"'{name}' is empty: it holds no data.")
    if suffix in _DELIMITED:
        return _read_delimited(text, name, preferred="\t" if suffix == ".tsv" else ",")
    if suffix in _JSON_LINES:
        return _records_to_frame(_parse_json_lines(text, name), name)
    return _records_to_frame(_parse_json_document(text, name), name)


def _format_mb(n_bytes: int) -> str:
    """Human-readable size in MB (2**20 bytes), e.g. ``'210 MB'`` or ``'0.5 MB'``."""
    mb = n_bytes / 2**20
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"


def _too_large(name: str, size: int, max_bytes: int) -> ValueError:
    return ValueError(
        f"'{name}' is too large: the file is {_format_mb(size)}; the limit is {_format_mb(max_bytes)}. "
        "Upload a sample of the rows, or drop columns you do not need."
    )


def _read_bytes(data: bytes | str | Path | BinaryIO, name: str, max_bytes: int) -> bytes:
    """Return the file's bytes, refusing anything over ``max_bytes`` before reading it all when possible."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise _too_large(name, len(raw), max_bytes)
        return raw
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise ValueError(f"Cannot read '{name}': no file at {path}.")
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(name, size, max_bytes)
        return path.read_bytes()
    if not hasattr(data, "read"):
        raise ValueError(f"Cannot read '{name}': expected bytes, a path or a binary file, got {type(data).__name__}.")
    # Streamlit's UploadedFile knows its size; reading one byte past the limit covers any other stream.
    size = getattr(data, "size", None)
    if isinstance(size, int) and size > max_bytes:
        raise _too_large(name, size, max_bytes)
    if getattr(data, "seekable", lambda: False)():
        data.seek(0)  # a widget may have been read already on an earlier rerun
    raw = data.read(max_bytes + 1)
    if isinstance(raw, str):
        raise ValueError(f"Cannot read '{name}': the file object is in text mode; open it in binary mode ('rb').")
    if len(raw) > max_bytes:
        raise _too_large(name, size if isinstance(size, int) else len(raw), max_bytes)
    return bytes(raw)


def _decode_utf8(raw: bytes, name: str) -> str:
    """Decode UTF-8 (with or without a byte-order mark), or say where the first bad byte is."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError(
            f"'{name}' is encoded as UTF-16 (Excel's 'Unicode Text'). Re-save it as UTF-8 "
            "(in Excel: Save As > 'CSV UTF-8')."
        )
    if raw.startswith(b"PK\x03\x04"):
        raise ValueError(f"'{name}' is a zip archive (an Excel .xlsx file?). Export it as CSV (UTF-8) first.")
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        raise ValueError(
            f"'{name}' contains a NUL byte at offset {offset}: it looks like a binary file, not text. "
            "Upload a CSV, JSON Lines or Parquet file."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # utf-8-sig reports offsets after a stripped BOM; add it back so the offset is into the file.
        offset = error.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw.count(b"\n", 0, offset) + 1
        raise ValueError(
            f"'{name}' is not valid UTF-8: byte 0x{raw[offset]:02x} at offset {offset} (line {line}) cannot be "
            "decoded. Re-save the file as UTF-8 (in Excel: Save As > 'CSV UTF-8'; in a text editor: "
            "choose the UTF-8 encoding)."
        ) from None


def _read_delimited(text: str, name: str, preferred: str) -> pd.DataFrame:
    delimiter, header = _sniff_delimiter(text, name, preferred)
    _refuse_duplicates(header, name)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=None,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise ValueError(f"'{name}' is empty: it holds no data.") from None
    except pd.errors.ParserError as error:
        # Rows after the sniffed sample can still disagree; pandas' message names the line.
        raise ValueError(
            f"'{name}' could not be parsed with the {_DELIMITER_NAMES[delimiter]} delimiter: {error}. "
            "Check that fields containing the delimiter or line breaks are quoted."
        ) from None
    if len(frame.index) == 0:
        raise ValueError(f"'{name}' has a header row ({', '.join(map(str, header))}) but no data rows.")
    return frame


def _sniff_delimiter(text: str, name: str, preferred: str) -> tuple[str, list[str]]:
    """Pick the delimiter that splits every sampled row into as many fields as the header.

    :class:`csv.Sniffer` guesses from character frequencies and is easily fooled by commas inside
    texts; counting fields per row with a real CSV parser (quotes respected) is slower but decisive.
    """
    sample = text[:_SNIFF_CHARS]
    cut = len(text) > _SNIFF_CHARS
    candidates = (preferred, *(d for d in _DELIMITER_CANDIDATES if d != preferred))
    scored: list[tuple[str, list[list[str]]]] = []
    for delimiter in candidates:
        try:
            rows = [row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
        except csv.Error:
            continue
        if cut and len(rows) > 1:
            rows = rows[:-1]  # the sample may end inside a record
        if rows:
            scored.append((delimiter, rows))
    if not scored:
        raise ValueError(f"'{name}' could not be parsed as a delimited text file.")

    # Short rows are padded by pandas (trailing empty cells are common), so a delimiter fits when no row is
    # *longer* than its header.  The fitting delimiter that gives the most columns wins.
    best: tuple[str, list[str]] | None = None
    for delimiter, rows in scored:
        width = len(rows[0])
        if all(len(row) <= width for row in rows) and (best is None or width > len(best[1])):
            best = (delimiter, rows[0])
    if best is not None and len(best[1]) > 1:
        return best
    # Only one column fits.  If some delimiter splits most rows like the header, the file is really
    # delimited with a few unquoted fields; reading it as one text column would hide that, so refuse.
    for delimiter, rows in scored:
        width = len(rows[0])
        data_rows = rows[1:]
        if width > 1 and data_rows and sum(len(row) == width for row in data_rows) >= len(data_rows) / 2:
            record = next(i for i, row in enumerate(rows, start=1) if len(row) > width)
            raise ValueError(
                f"'{name}': rows have different numbers of fields than the header (tried comma, tab, semicolon, "
                f"pipe). With the {_DELIMITER_NAMES[delimiter]} delimiter the header has {width} fields but "
                f"record {record} has {len(rows[record - 1])}. Quote fields that contain the delimiter, or "
                "re-export the file as CSV."
            )
    if best is not None:
        return best
    raise ValueError(
        f"'{name}': could not find a delimiter (tried comma, tab, semicolon, pipe) under which the rows fit the "
        "header. Re-export the file as CSV with a header row."
    )


def _refuse_duplicates(columns: list[Any], name: str) -> None:
    """Refuse repeated column names, which pandas would silently rename to ``x.1``."""
    seen: set[str] = set()
    for column in columns:
        key = str(column)
        if key in seen:
            raise ValueError(
                f"'{name}' has the column name '{key}' more than once. Rename the duplicate columns so each "
                "name is unique."
            )
        seen.add(key)


def _read_parquet(raw: bytes, name: str) -> pd.DataFrame:
    # A Parquet file starts and ends with the magic bytes PAR1; the footer (schema, row groups) is at
    # the end, so a cut-off upload loses it first.
    if len(raw) < 12 or raw[:4] != b"PAR1":
        raise ValueError(f"'{name}' is not a Parquet file (it does not start with the Parquet magic bytes).")
    if raw[-4:] != b"PAR1":
        raise ValueError(
            f"'{name}' is a truncated Parquet file: its footer is missing (the upload or export was cut off). "
            "Export it again."
        )
    # pyarrow's errors (ArrowInvalid, OSError, ...) all mean a damaged file here; ArrowInvalid is a ValueError.
    try:
        parquet = pq.ParquetFile(pa.BufferReader(raw))
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ValueError(f"'{name}' is a damaged or truncated Parquet file ({error}). Export it again.") from None
    _refuse_duplicates(parquet.schema_arrow.names, name)
    try:
        table = parquet.read()
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ValueError(f"'{name}' is a damaged or truncated Parquet file ({error}). Export it again.") from None
    frame = table.to_pandas()
    if len(frame.index) == 0:
        raise ValueError(f"'{name}' has columns ({', '.join(map(str, frame.columns))}) but no rows.")
    return frame


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json`` hook: refuse an object that repeats a key (``json.loads`` would keep the last silently)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _parse_json_lines(text: str, name: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    records: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        number = index + 1
        try:
            record = json.loads(line, object_pairs_hook=_object_without_duplicates)
        except _DuplicateKeyError as error:
            raise ValueError(
                f"'{name}' line {number}: the key '{error.key}' appears twice in one record. "
                "Each column name must be unique."
            ) from None
        except json.JSONDecodeError as error:
            truncated = " — the file looks truncated (cut off mid-record)" if index == last else ""
            raise ValueError(
                f"'{name}' line {number} is not valid JSON ({error.msg} at column {error.colno}){truncated}. "
                "Each line must hold one complete JSON object."
            ) from None
        if not isinstance(record, dict):
            raise ValueError(
                f"'{name}' line {number} is a JSON {type(record).__name__}, not an object. "
                'Each line must look like {"text": "...", "label": "..."}.'
            )
        records.append(record)
    return records


def _parse_json_document(text: str, name: str) -> list[dict[str, Any]]:
    stripped = text.lstrip()
    if not stripped.startswith("["):
        # Many ".json" exports are really JSON Lines; accept them, but say what is expected otherwise.
        if stripped.startswith("{") and len([line for line in text.splitlines() if line.strip()]) > 1:
            return _parse_json_lines(text, name)
        raise ValueError(
            f"'{name}' must hold an array of records ([{{\"text\": ...}}, ...]) or one JSON object per line."
        )
    try:
        document = json.loads(text, object_pairs_hook=_object_without_duplicates)
    except _DuplicateKeyError as error:
        raise ValueError(
            f"'{name}': the key '{error.key}' appears twice in one record. Each column name must be unique."
        ) from None
    except json.JSONDecodeError as error:
        at_end = error.pos >= len(text.rstrip())
        hint = " — the file looks truncated" if at_end else ""
        raise ValueError(
            f"'{name}' is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}){hint}."
        ) from None
    for position, record in enumerate(document):
        if not isinstance(record, dict):
            raise ValueError(
                f"'{name}': item {position} of the array is a JSON {type(record).__name__}, not an object. "
                'Each item must look like {"text": "...", "label": "..."}.'
            )
    return document


def _records_to_frame(records: list[dict[str, Any]], name: str) -> pd.DataFrame:
    if not records:
        raise ValueError(f"'{name}' holds no records (no data rows).")
    # pandas keeps keys in order of first appearance across records; a key missing from a record is NaN.
    return pd.DataFrame.from_records(records)


# --------------------------------------------------------------------------------------------- datasets


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


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def _cell_to_text(value: Any) -> str:
    if _is_missing(value):
        return ""
    return value if isinstance(value, str) else str(value)


def _label_key(value: Any) -> str | None:
    """A label cell as the string compared with class names; ``None`` when the row is unlabeled.

    Whole-number floats read as integers, because a label column of 0/1 with empty cells is loaded by
    pandas as floats (``1.0``) while the class is called ``"1"``.
    """
    if _is_missing(value):
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
            series = series.map(lambda value: None if _is_missing(value) else f"{type(value).__name__}:{value}")
        digest.update(pd.util.hash_pandas_object(series, index=False).to_numpy().tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- demos


class Demo(NamedTuple):
    """A built-in dataset, ready for :func:`prepare_dataset`.

    Attributes
    ----------
    df : pandas.DataFrame
    spec : DatasetSpec
    lfs : list of dict or None
        Suggested labeling functions in :func:`epoxy_core.lfs.lf_from_dict` format.
    embedding : str or list of str
        ``"text"`` to embed the text column with the configured embedder, or the names of numeric
        columns to use as the embedding (see :func:`epoxy_core.embeddings.embeddings_from_columns`).
    """

    df: pd.DataFrame
    spec: DatasetSpec
    lfs: list[dict[str, Any]] | None
    embedding: str | list[str]


_DEMOS: dict[str, str] = {
    "support_messages": "Customer-support messages (text, 3 classes: billing, shipping, technical; self-made).",
    "digits": "scikit-learn handwritten digits (1,797 8x8 images, 10 classes; pixel embeddings).",
    "breast_cancer": "scikit-learn breast cancer (569 tumours, 30 measurements, 2 classes; column rules).",
}
_DEV_FRACTION = 0.1
_DEMO_SEED = 0


def list_demos() -> dict[str, str]:
    """Names of the built-in demos, each with a one-line description.

    >>> sorted(list_demos())
    ['breast_cancer', 'digits', 'support_messages']
    """
    return dict(_DEMOS)


def load_demo(name: str) -> Demo:
    """Load a built-in demo: its table, spec, suggested LFs and embedding source.

    Parameters
    ----------
    name : str
        One of :func:`list_demos`.

    Returns
    -------
    Demo
        A named tuple ``(df, spec, lfs, embedding)``.  Gold labels are kept on a seeded ~10 % of rows
        (the dev set); the other label cells are empty.
    """
    if name == "support_messages":
        return _support_messages_demo()
    if name == "digits":
        return _digits_demo()
    if name == "breast_cancer":
        return _breast_cancer_demo()
    raise ValueError(f"No demo named {name!r}. Available: {', '.join(_DEMOS)}.")


def _dev_labels(target: np.ndarray, class_names: list[str]) -> list[str | None]:
    """Class names on a seeded ~10 % of rows, ``None`` elsewhere."""
    rng = np.random.default_rng(_DEMO_SEED)
    dev = rng.choice(len(target), size=round(_DEV_FRACTION * len(target)), replace=False)
    labels: list[str | None] = [None] * len(target)
    for row in dev:
        labels[row] = class_names[int(target[row])]
    return labels


def _digits_demo() -> Demo:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    class_names = [str(digit) for digit in range(10)]
    pixels = pd.DataFrame(bunch.data.astype(np.int64), columns=[f"px_{i}" for i in range(64)])
    # Single pixels are weak evidence (precision 0.5–0.9 on the full data): honest starting points
    # whose votes the embedding extension can spread.  Pixel values run 0..16.
    lfs = [
        _column_lf("centre empty -> 0", "0", "px_36", "<", 2, class_names),
        _column_lf("bottom-right stroke -> 2", "2", "px_62", ">", 12, class_names),
        _column_lf("lower-left ink -> 4", "4", "px_41", ">", 8, class_names),
        _column_lf("bottom row empty -> 7", "7", "px_60", "<", 2, class_names),
    ]
    return _numeric_demo("digit image", pixels, bunch.target, class_names, lfs)


def _breast_cancer_demo() -> Demo:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    class_names = [str(name) for name in bunch.target_names]  # ["malignant", "benign"]
    features = bunch.data.reset_index(drop=True)
    # Thresholds read off the feature distributions; each rule covers 30–50 % of rows at 0.92–0.99 precision.
    lfs = [
        _column_lf("large worst radius", "malignant", "worst radius", ">", 17, class_names),
        _column_lf("many worst concave points", "malignant", "worst concave points", ">", 0.15, class_names),
        _column_lf("large worst area", "malignant", "worst area", ">", 900, class_names),
        _column_lf("small worst perimeter", "benign", "worst perimeter", "<", 90, class_names),
        _column_lf("few worst concave points", "benign", "worst concave points", "<", 0.1, class_names),
        _column_lf("small worst radius", "benign", "worst radius", "<", 14, class_names),
    ]
    return _numeric_demo("tumour sample", features, bunch.target.to_numpy(), class_names, lfs)


def _numeric_demo(
    what: str, features: pd.DataFrame, target: np.ndarray, class_names: list[str], lfs: list[dict[str, Any]]
) -> Demo:
    """A demo over numeric columns: a "<what> #i" description column (so text pages work), the features,
    dev labels on a seeded ~10 % of rows, and the features as the embedding."""
    frame = pd.concat(
        [
            pd.DataFrame({"description": [f"{what} #{i}" for i in range(len(features))]}),
            features,
            pd.DataFrame({"label": _dev_labels(target, class_names)}),
        ],
        axis=1,
    )
    spec = DatasetSpec(text_column="description", label_column="label", class_names=class_names)
    return Demo(frame, spec, lfs, list(features.columns))


def _column_lf(name: str, label: str, column: str, op: str, value: float, class_names: list[str]) -> dict[str, Any]:
    return {
        "type": "column_rule",
        "name": name,
        "label": class_names.index(label),
        "column": column,
        "op": op,
        "value": value,
    }


SUPPORT_CLASSES = ["billing", "shipping", "technical"]
"""Class names of the ``support_messages`` demo, in class-index order."""


def _support_messages_demo() -> Demo:
    path = DEMO_DIR / "support_messages.csv"
    if not path.is_file():
        raise ValueError(f"The demo file {path} is missing; regenerate it with `python scripts/make_demo_text.py`.")
    frame = read_table(path, path.name)
    spec = DatasetSpec(
        text_column="text", label_column="label", split_column="split", class_names=list(SUPPORT_CLASSES)
    )

    def keyword(name: str, label: str, words: list[str]) -> dict[str, Any]:
        return {
            "type": "keyword",
            "name": name,
            "label": SUPPORT_CLASSES.index(label),
            "keywords": words,
            "whole_word": True,
            "case_sensitive": False,
        }

    # Deliberately incomplete keyword lists: many messages say the same thing in other words, which is
    # what the embedding extension is for; some keywords also appear in messages of another class.
    lfs = [
        keyword("refund / charge", "billing", ["refund", "charged", "invoice"]),
        keyword("payment words", "billing", ["payment", "card", "subscription"]),
        keyword("delivery words", "shipping", ["delivery", "package", "tracking"]),
        keyword("arrival words", "shipping", ["arrived", "courier", "shipped"]),
        keyword("crash / error", "technical", ["crash", "crashes", "error", "bug"]),
        keyword("login words", "technical", ["login", "password", "log in"]),
    ]
    return Demo(frame, spec, lfs, "text")
