"""Reading the tables users upload: CSV / TSV / TXT, Parquet, JSON Lines and JSON arrays.

Every way a file can be bad raises a :class:`ValueError` whose message is meant to be shown to the user as
is: it names the problem and says what to do about it.

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


__all__ = ["DEFAULT_MAX_BYTES", "SUPPORTED_EXTENSIONS", "read_bytes", "read_table"]

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
    raw = read_bytes(data, name, max_bytes)
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


def read_bytes(data: bytes | str | Path | BinaryIO, name: str, max_bytes: int) -> bytes:
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
