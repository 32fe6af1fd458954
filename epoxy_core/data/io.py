"""Reading the tables users upload: CSV / TSV / TXT, Parquet, JSON Lines and JSON arrays.

Every way a file can be bad raises a :class:`ValueError` whose message is meant to be shown to the user as
is: it names the problem and says what to do about it.

Decisions worth knowing:

- Text must be UTF-8 (a byte-order mark is fine).  Other encodings are refused with the byte offset and
  line of the first bad byte rather than decoded as latin-1: a silent latin-1 decode turns every non-ASCII
  character of a UTF-16 or cp1252 file into plausible-looking garbage that then feeds the embeddings.
- In delimited files only an empty cell is missing: ``"NA"``, ``"null"`` or ``"None"`` stay text, because
  they are real comments in user data.  (The *label* column reads them as missing: see
  :attr:`~epoxy_core.data.DatasetSpec.missing_labels`.)
- Sizes are bounded before the work they would cost (see :mod:`epoxy_core.data.limits`): the file's size
  before reading it, a Parquet file's decoded size before decoding it, the number of columns before
  parsing the rows.  A single cell may be as large as the upload limit.
- Nothing is ever unpickled (pandas' ``read_pickle`` is never used; Parquet is read by pyarrow).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from epoxy_core._json import DuplicateKeyError, reject_duplicate_keys
from epoxy_core.data.limits import DEFAULT_MAX_BYTES, MAX_COLUMNS, format_size

__all__ = ["DEFAULT_MAX_BYTES", "SUPPORTED_EXTENSIONS", "read_bytes", "read_table"]

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
    max_decompressed_bytes: int | None = None,
    max_columns: int = MAX_COLUMNS,
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
        Larger files are refused before they are parsed.  A single cell may be this large.
    max_decompressed_bytes : int, optional
        Largest decoded size of a Parquet file (Arrow bytes), checked from its metadata before any column
        is decoded.  Default: four times ``max_bytes`` (800 MB).
    max_columns : int, default 4,096
        Wider tables are refused from their header, before the rows are parsed.

    Returns
    -------
    pandas.DataFrame
        One row per record, columns in file order.  In delimited files only empty cells become NaN.

    Raises
    ------
    ValueError
        For an unsupported file type, an empty file, a header without rows, a file over ``max_bytes``, a
        Parquet file over ``max_decompressed_bytes`` once decompressed, more than ``max_columns`` columns,
        bytes that are not UTF-8, rows whose field counts disagree under every delimiter (unquoted
        delimiters in the texts), duplicate column names, and truncated or malformed Parquet / JSON
        (naming the bad line).

    Examples
    --------
    >>> read_table(b"text;label\\nhello;spam\\n", "export.csv").columns.tolist()
    ['text', 'label']
    """
    name = Path(str(filename)).name or str(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        hint = " Export spreadsheets as CSV (UTF-8) first." if suffix in (".xlsx", ".xls", ".ods") else ""
        if suffix in (".gz", ".zip", ".bz2", ".xz", ".zst", ".7z"):
            hint = " Decompress it first, or convert it to Parquet, which is compressed and loads faster."
        raise ValueError(
            f"Cannot read '{name}': unsupported file type '{suffix or '(none)'}'. "
            f"Supported: {', '.join(SUPPORTED_EXTENSIONS)}.{hint}"
        )
    raw = read_bytes(data, name, max_bytes)
    if not raw.strip():
        raise ValueError(f"'{name}' is empty: it holds no data.")
    if suffix == ".parquet":
        budget = 4 * max_bytes if max_decompressed_bytes is None else max_decompressed_bytes
        return _read_parquet(raw, name, budget, max_columns)
    text = _decode_utf8(raw, name)
    if not text.strip():
        raise ValueError(f"'{name}' is empty: it holds no data.")
    if suffix in _DELIMITED:
        return _read_delimited(text, name, "\t" if suffix == ".tsv" else ",", max_bytes, max_columns)
    records = _parse_json_lines(text, name) if suffix in _JSON_LINES else _parse_json_document(text, name)
    return _records_to_frame(records, name, max_columns)


def _too_large(name: str, size: int, max_bytes: int) -> ValueError:
    return ValueError(
        f"'{name}' is too large: the file is {format_size(size)}; the limit is {format_size(max_bytes)}. "
        "Upload a sample of the rows, or drop columns you do not need."
    )


def _too_wide(name: str, n_columns: int, max_columns: int) -> ValueError:
    return ValueError(
        f"'{name}' has {n_columns:,} columns; at most {max_columns:,} are supported. Keep the columns you need "
        "(the text, the labels, and any columns for rules or embeddings) and upload it again."
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


def _read_delimited(text: str, name: str, preferred: str, max_bytes: int, max_columns: int) -> pd.DataFrame:
    delimiter, header = _sniff_delimiter(text, name, preferred, max_bytes)
    if len(header) > max_columns:
        raise _too_wide(name, len(header), max_columns)
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
        raise ValueError(f"'{name}' has a header row ({_shown(header)}) but no data rows.")
    return frame


def _shown(fields: list[Any], limit: int = 8) -> str:
    """The first few header fields, for messages: ``'text, label'`` or ``'a, b, ... (4,096 fields)'``."""
    shown = ", ".join(str(field) for field in fields[:limit])
    return shown if len(fields) <= limit else f"{shown}, ... ({len(fields):,} fields)"


def _sniff_delimiter(text: str, name: str, preferred: str, max_bytes: int) -> tuple[str, list[str]]:
    """Pick the delimiter that splits every sampled row into as many fields as the header.

    :class:`csv.Sniffer` guesses from character frequencies and is easily fooled by commas inside
    texts; counting fields per row with a real CSV parser (quotes respected) is slower but decisive.
    """
    # The csv module refuses fields over 131,072 characters by default; a cell may be as large as the upload.
    # The limit is process-wide, so it is only ever raised (to at least the sample size every caller needs).
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes, _SNIFF_CHARS + 1))
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
        raise ValueError(
            f"'{name}' could not be parsed as a delimited text file (tried comma, tab, semicolon, pipe). "
            "Re-export it as CSV (UTF-8) with a header row."
        )

    # Short rows are padded by pandas (trailing empty cells are common), so a delimiter fits when no row is
    # *longer* than its header.  The fitting delimiter that gives the most columns wins.
    best: tuple[str, list[str]] | None = None
    for delimiter, rows in scored:
        width = len(rows[0])
        if all(len(row) <= width for row in rows) and (best is None or width > len(best[1])):
            best = (delimiter, rows[0])
    if best is not None and len(best[1]) > 1:
        return best
    # Only one column fits.  If the header itself splits into named columns under some delimiter, the rows
    # that split into more are texts holding that delimiter unquoted.  Reading the file as one column named
    # "text,label" would hide that, so say what happened instead.
    split_headers = [(d, rows) for d, rows in scored if len(rows[0]) > 1 and len(rows) > 1]
    if split_headers:
        delimiter, rows = max(split_headers, key=lambda item: len(item[1][0]))
        width = len(rows[0])
        longer = [number for number, row in enumerate(rows[1:], start=2) if len(row) > width]
        delimiter_name = _DELIMITER_NAMES[delimiter]
        raise ValueError(
            f"'{name}': the header has {width} {delimiter_name}-separated columns ({_shown(rows[0])}), but "
            f"{len(longer):,} of {len(rows) - 1:,} data rows have more fields (first: record {longer[0]}, with "
            f"{len(rows[longer[0] - 1])}): the texts contain unquoted {delimiter_name}s. "
            f"Put quotes around fields that contain a {delimiter_name} (spreadsheet programs do this when "
            "they export CSV), or save the file as tab-separated (.tsv)."
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


_PHYSICAL_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8, "BYTE_ARRAY": 4}
"""Decoded bytes per value of each Parquet physical type (BYTE_ARRAY: its 4-byte offset; the bytes come on top)."""


def _read_parquet(raw: bytes, name: str, max_decompressed_bytes: int, max_columns: int) -> pd.DataFrame:
    # A Parquet file starts and ends with the magic bytes PAR1; the footer (schema, row groups) is at
    # the end, so a cut-off upload loses it first.
    if len(raw) < 12 or raw[:4] != b"PAR1":
        raise ValueError(f"'{name}' is not a Parquet file (it does not start with the Parquet magic bytes).")
    if raw[-4:] != b"PAR1":
        raise ValueError(
            f"'{name}' is a truncated Parquet file: its footer is missing (the upload or export was cut off). "
            "Export it again."
        )
    damaged = f"'{name}' is a damaged or truncated Parquet file"
    # pyarrow's errors (ArrowInvalid, OSError, ...) all mean a damaged file here; ArrowInvalid is a ValueError.
    try:
        parquet = pq.ParquetFile(pa.BufferReader(raw))
        names = parquet.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ValueError(f"{damaged} ({error}). Export it again.") from None
    if len(names) > max_columns:
        raise _too_wide(name, len(names), max_columns)
    _refuse_duplicates(names, name)
    try:
        table = _read_within_budget(raw, parquet, name, max_decompressed_bytes)
    except _TooLargeDecompressed:
        raise
    except (pa.ArrowMemoryError, pa.ArrowCapacityError, MemoryError):
        raise _too_large_decompressed(name, len(raw), None, max_decompressed_bytes) from None
    except (pa.ArrowException, OSError, ValueError) as error:
        raise ValueError(f"{damaged} ({error}). Export it again.") from None
    frame = table.to_pandas()
    if len(frame.index) == 0:
        raise ValueError(f"'{name}' has columns ({_shown(list(frame.columns))}) but no rows.")
    return frame


class _TooLargeDecompressed(ValueError):
    """A Parquet file whose decoded data would exceed the budget."""


def _too_large_decompressed(name: str, size: int, decoded: int | None, budget: int) -> ValueError:
    holds = f"about {format_size(decoded)} of data" if decoded is not None else "more data than fits in memory"
    return _TooLargeDecompressed(
        f"'{name}' is too large once decompressed: it holds {holds} ({format_size(size)} on disk); the limit is "
        f"{format_size(budget)}. Upload a sample of the rows, or drop columns you do not need."
    )


def _read_within_budget(raw: bytes, parquet: pq.ParquetFile, name: str, budget: int) -> pa.Table:
    """Read the file's table, refusing it first if its decoded data would exceed ``budget`` bytes.

    Three estimates, each before the work it guards:

    1. From the metadata alone: per column chunk, the larger of its uncompressed (but still encoded) size and
       values x the decoded width of its type.  This catches plain-encoded bombs (1 GB of one repeated
       character compresses to a few KB) and row-count bombs.
    2. Dictionary-encoded text is where a file can stay small even uncompressed: a 1 MB dictionary entry
       referenced by 1,000 rows decodes to 1 GB.  Those columns are read *as dictionaries* (compact: the
       dictionary and the indices, both bounded by step 1), and their decoded size is summed exactly from
       the dictionary's value lengths taken at the indices.
    3. Only then are the dictionaries decoded to the file's own column types.
    """
    metadata = parquet.metadata
    estimate = 0
    dictionary_leaves: set[str] = set()
    leaf_estimates: dict[str, int] = {}
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for j in range(row_group.num_columns):
            chunk = row_group.column(j)
            width = _PHYSICAL_WIDTH.get(chunk.physical_type, 0)
            if chunk.physical_type == "FIXED_LEN_BYTE_ARRAY":
                width = parquet.schema.column(j).length or 0
            decoded = max(chunk.total_uncompressed_size, chunk.num_values * width)
            path = chunk.path_in_schema
            leaf_estimates[path] = leaf_estimates.get(path, 0) + decoded
            estimate += decoded
            if chunk.physical_type == "BYTE_ARRAY" and chunk.has_dictionary_page:
                dictionary_leaves.add(path)
    if estimate > budget:
        raise _too_large_decompressed(name, len(raw), estimate, budget)
    if not dictionary_leaves:
        return parquet.read()

    compact = pq.ParquetFile(pa.BufferReader(raw), read_dictionary=sorted(dictionary_leaves)).read()
    decoded_text = sum(_dictionary_decoded_bytes(column) for column in compact.columns)
    estimate = sum(size for path, size in leaf_estimates.items() if path not in dictionary_leaves) + decoded_text
    if estimate > budget:
        raise _too_large_decompressed(name, len(raw), estimate, budget)
    target = parquet.schema_arrow  # the file's own types: dictionaries only where the writer stored categories
    columns = []
    for position, column in enumerate(compact.columns):
        wanted = target.field(position).type
        columns.append(column if column.type == wanted else column.cast(wanted))
    return pa.Table.from_arrays(columns, schema=target)


def _dictionary_decoded_bytes(array: pa.Array | pa.ChunkedArray) -> int:
    """Bytes the dictionary-encoded parts of ``array`` take once decoded (value bytes plus 4-byte offsets)."""
    if isinstance(array, pa.ChunkedArray):
        return sum(_dictionary_decoded_bytes(chunk) for chunk in array.chunks)
    kind = array.type
    if pa.types.is_dictionary(kind):
        values = array.dictionary
        if (
            pa.types.is_string(values.type)
            or pa.types.is_binary(values.type)
            or pa.types.is_large_string(values.type)
            or pa.types.is_large_binary(values.type)
        ):
            lengths = pc.binary_length(values)
        else:  # e.g. a dictionary of numbers: fixed width
            lengths = pa.array([values.nbytes // max(len(values), 1)] * len(values), type=pa.int64())
        taken = pc.sum(pc.take(lengths.cast(pa.int64()), array.indices)).as_py() or 0
        return int(taken) + 4 * len(array)
    if pa.types.is_struct(kind):
        return sum(_dictionary_decoded_bytes(child) for child in array.flatten())
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return _dictionary_decoded_bytes(array.flatten())
    if pa.types.is_map(kind):
        return _dictionary_decoded_bytes(array.keys) + _dictionary_decoded_bytes(array.items)
    return 0


def _parse_json_lines(text: str, name: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    records: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        number = index + 1
        try:
            record = json.loads(line, object_pairs_hook=reject_duplicate_keys)
        except DuplicateKeyError as error:
            raise ValueError(
                f"'{name}' line {number}: the key '{error.key}' appears twice in one record. "
                "Each column name must be unique."
            ) from None
        except RecursionError:
            raise _too_deep(name, f"line {number}") from None
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
        document = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except DuplicateKeyError as error:
        raise ValueError(
            f"'{name}': the key '{error.key}' appears twice in one record. Each column name must be unique."
        ) from None
    except RecursionError:
        raise _too_deep(name, "the document") from None
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


def _too_deep(name: str, where: str) -> ValueError:
    return ValueError(
        f"'{name}': {where} nests lists or objects too deeply to read. Each record must be a flat object "
        'such as {"text": "...", "label": "..."}.'
    )


def _records_to_frame(records: list[dict[str, Any]], name: str, max_columns: int) -> pd.DataFrame:
    if not records:
        raise ValueError(f"'{name}' holds no records (no data rows).")
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    if len(keys) > max_columns:
        raise _too_wide(name, len(keys), max_columns)
    # pandas keeps keys in order of first appearance across records; a key missing from a record is NaN.
    return pd.DataFrame.from_records(records)
