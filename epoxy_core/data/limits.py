"""The sizes Epoxy Studio accepts, in one place: uploads, their decompressed size, columns.

Each limit is enforced before the expensive step it protects (a file's size before reading it, a
Parquet file's decoded size from its metadata before decoding it, the column count from the header
before parsing the rows), and each refusal says which limit was hit and what to do.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_DECOMPRESSED_BYTES", "MAX_COLUMNS", "format_size"]

DEFAULT_MAX_BYTES: int = 200 * 2**20
"""Largest upload :func:`~epoxy_core.data.read_table` accepts by default (200 MB, Streamlit's own default)."""

DEFAULT_MAX_DECOMPRESSED_BYTES: int = 4 * DEFAULT_MAX_BYTES
"""Largest decoded size of a Parquet upload by default (800 MB of Arrow data).

Parquet is compressed: a 108 KB file can hold 1 GB of repeated text.  The decoded size is worked out from
the file's metadata (and, for dictionary-encoded text, from the dictionary and its indices) before any
column is decoded.  :func:`~epoxy_core.data.read_table` uses four times its ``max_bytes``.
"""

MAX_COLUMNS: int = 4096
"""Most columns a table may have (enough for a 3,072-d embedding stored as columns, plus metadata).

Per-column costs (Parquet metadata, hashing, type conversion) made a 100,000-column CSV take over a minute
to open; tables wider than this are refused from their header, before the rows are parsed.
"""


def format_size(n_bytes: int | float) -> str:
    """A byte count for people (KB = 2**10 bytes, MB = 2**20, GB = 2**30).

    >>> [format_size(n) for n in (474, 108 * 2**10, 2**19, 210 * 2**20, 1000 * 2**20, 4 * 2**30)]
    ['474 bytes', '108 KB', '0.5 MB', '210 MB', '1.0 GB', '4.0 GB']
    """
    if n_bytes < 2**10:
        return f"{int(n_bytes)} bytes"
    if n_bytes < 2**19:
        return f"{n_bytes / 2**10:.0f} KB"
    if n_bytes >= 1000 * 2**20:
        return f"{n_bytes / 2**30:.1f} GB"
    mb = n_bytes / 2**20
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"
