"""On-disk cache of arrays keyed by content, so reopening a dataset costs a file read.

Embedding 100,000 texts takes minutes and a PyNNDescent graph tens of seconds; both are
pure functions of their inputs.  Results are stored under ``data_dir()/cache/`` as
uncompressed ``.npz`` files named by a SHA-256 of the inputs and settings
(:func:`content_key`).  Files are written atomically (a temporary file in the same
directory, then :func:`os.replace`), so a crash never leaves a half-written entry under
the final name, and read without pickle.  A corrupt, truncated or mismatched file is
deleted and reported as a miss, so the caller simply rebuilds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from epoxy_core.config import data_dir

__all__ = ["BoundedCache", "cache_dir", "content_key", "load_array", "nbytes_of", "save_array"]

CACHE_FORMAT = 1
"""Bumped whenever the file layout changes; older files then read as misses."""

_META = "__meta__"
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def cache_dir() -> Path:
    """``data_dir()/cache``, where cached arrays live."""
    return data_dir() / "cache"


# --------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------


def _update(digest: Any, part: Any) -> None:
    """Feed one part to the hash with a type tag and length, so different parts never collide."""
    if isinstance(part, np.ndarray):
        array = np.ascontiguousarray(part)
        if array.dtype == object:
            _update(digest, array.tolist())
            return
        header = f"ndarray:{array.dtype.str}:{array.shape}".encode()
        digest.update(len(header).to_bytes(8, "little") + header)
        digest.update(memoryview(array).cast("B"))
    elif isinstance(part, str):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(b"str:" + len(data).to_bytes(8, "little") + data)
    elif isinstance(part, (bytes, bytearray, memoryview)):
        data = bytes(part)
        digest.update(b"bytes:" + len(data).to_bytes(8, "little") + data)
    elif part is None or isinstance(part, (bool, int, float, np.integer, np.floating)):
        data = repr(part.item() if isinstance(part, np.generic) else part).encode()
        digest.update(b"scalar:" + len(data).to_bytes(8, "little") + data)
    elif isinstance(part, dict):
        data = json.dumps(part, sort_keys=True, default=repr).encode()
        digest.update(b"dict:" + len(data).to_bytes(8, "little") + data)
    elif isinstance(part, (list, tuple)) or hasattr(part, "__array__") or hasattr(part, "tolist"):
        items = part.tolist() if hasattr(part, "tolist") and not isinstance(part, (list, tuple)) else part
        if all(isinstance(item, str) for item in items):
            # Texts: one length-prefixed blob, so 100,000 texts hash in tens of milliseconds.
            encoded = [item.encode("utf-8", "surrogatepass") for item in items]
            lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
            digest.update(b"texts:" + len(encoded).to_bytes(8, "little"))
            digest.update(lengths.tobytes())
            digest.update(b"".join(encoded))
        else:
            digest.update(b"seq:" + len(items).to_bytes(8, "little"))
            for item in items:
                _update(digest, item)
    else:
        raise ValueError(
            f"content_key cannot hash a {type(part).__name__}; pass arrays, strings, numbers, dicts or lists."
        )


def content_key(*parts: Any) -> str:
    """SHA-256 (hex) of the parts: arrays by dtype, shape and bytes; texts; settings.

    Parts may be numpy arrays, str, bytes, numbers, None, dicts (JSON-serialisable) and
    lists / tuples / pandas Series of those.  Every part is tagged with its type and
    length, so ``("ab", "c")`` and ``("a", "bc")`` differ.

    Examples
    --------
    >>> content_key("ab", "c") == content_key("a", "bc")
    False
    >>> len(content_key(np.zeros(3), {"k": 30}))
    64
    """
    digest = hashlib.sha256()
    for part in parts:
        _update(digest, part)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def _path_for(key: str) -> Path:
    if not isinstance(key, str) or not _KEY_PATTERN.match(key):
        raise ValueError(f"Cache keys are 1-128 letters, digits, '_', '-' or '.'; got {key!r}. Use content_key().")
    return cache_dir() / f"{key}.npz"


def save_array(key: str, arrays: dict[str, np.ndarray], meta: dict[str, Any] | None = None) -> Path:
    """Store arrays and a JSON-serialisable ``meta`` dict under ``key``, atomically.

    Parameters
    ----------
    key : str
        Usually from :func:`content_key`.
    arrays : dict of str to numpy.ndarray
        Numeric arrays (object arrays are refused: the cache never pickles).
    meta : dict, optional
        Small JSON-serialisable settings, returned by :func:`load_array`.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = _path_for(key)
    for name, array in arrays.items():
        if name == _META or not isinstance(array, np.ndarray) or array.dtype == object:
            raise ValueError(f"arrays[{name!r}] must be a numeric numpy array (and not named {_META!r}).")
    header = {"format": CACHE_FORMAT, "key": key, "arrays": sorted(arrays), "meta": meta or {}}
    header_bytes = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Temporary file in the same directory: os.replace is atomic only within one filesystem.
    handle, temp_name = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **{_META: header_bytes}, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    return path


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def load_array(key: str) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]] | None:
    """Read what :func:`save_array` stored under ``key``.

    Returns
    -------
    (arrays, meta) or None
        None on a miss.  A file that is truncated, corrupt (zip CRC check), of another
        format version, or written for another key is deleted and also gives None.
    """
    path = _path_for(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(bytes(npz[_META]).decode("utf-8"))
            if header.get("format") != CACHE_FORMAT or header.get("key") != key:
                raise ValueError("cache entry written for another key or format")
            if sorted(npz.files) != sorted([_META, *header["arrays"]]):
                raise ValueError("cache entry lacks some arrays")
            # Reading each member fully verifies its CRC; a damaged file raises here.
            arrays = {name: npz[name] for name in header["arrays"]}
    except (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile, json.JSONDecodeError):
        _discard(path)
        return None
    return arrays, header["meta"]


# --------------------------------------------------------------------------------------
# In memory: a least-recently-used cache bounded by bytes
# --------------------------------------------------------------------------------------


def nbytes_of(value: Any, _depth: int = 0) -> int:
    """Approximate bytes held by ``value``: numpy arrays, DataFrames, dataclasses, dicts, lists and tuples.

    Only what dominates memory is counted (array buffers, frame columns); small Python objects count 64
    bytes each.  Views count their base's size once per reference, which over-estimates: the safe side
    for a cache bound.

    >>> nbytes_of({"a": np.zeros(1000), "b": [np.zeros(10, np.int8)]})
    8010
    """
    if _depth > 6:
        return 64
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    try:
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            # 16 bytes per cell: exact for float64 and object pointers, generous for narrower types, and
            # 100x cheaper than DataFrame.memory_usage (which builds a Series) for the small frames cached.
            return int(value.shape[0] * value.shape[1] * 16 + value.shape[0] * 8)
        if isinstance(value, pd.Series | pd.Index):
            return int(value.shape[0] * 16)
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes_of(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return sum(nbytes_of(v, _depth + 1) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(nbytes_of(v, _depth + 1) for v in value)
    return 64


class BoundedCache:
    """A thread-safe least-recently-used mapping bounded by the bytes of its values.

    Parameters
    ----------
    max_bytes : int
        Entries are dropped, least recently used first, until the values fit.  A single value larger
        than the bound is returned to the caller but not kept (unless ``keep_newest``).
    sizeof : callable, default :func:`nbytes_of`
        How many bytes a value holds.
    keep_newest : bool, default False
        Keep the entry stored last even when it alone is larger than ``max_bytes`` (every other entry is
        dropped then): for a working set that every call reads, where recomputing it on each call would
        cost more than the memory it holds.

    Examples
    --------
    >>> cache = BoundedCache(max_bytes=1000)
    >>> cache.get_or_compute("a", lambda: np.zeros(100)).nbytes, len(cache)
    (800, 1)
    >>> _ = cache.get_or_compute("b", lambda: np.zeros(100))  # 1,600 bytes > 1,000: "a" is dropped
    >>> "a" in cache, "b" in cache, cache.bytes
    (False, True, 800)
    """

    def __init__(self, max_bytes: int, sizeof: Callable[[Any], int] = nbytes_of, *, keep_newest: bool = False):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}.")
        self.max_bytes = int(max_bytes)
        self.keep_newest = keep_newest
        self._sizeof = sizeof
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    @property
    def bytes(self) -> int:
        """Bytes currently held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value under ``key`` (marking it recently used), else ``default``."""
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` (replacing any old one), then drop old entries until the bound holds."""
        size = int(self._sizeof(value))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes and not self.keep_newest:
                return
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def pop(self, key: Hashable) -> Any:
        """Remove and return the value under ``key`` (None when absent)."""
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self._bytes -= item[1]
            return item[0]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value, or ``compute()`` stored under ``key``.

        Concurrent callers asking for the same missing key wait for one computation instead of
        repeating it (two browser tabs, or a rerun while the previous run still computes).
        """
        missing = object()
        value = self.get(key, missing)
        if value is not missing:
            return value
        with self._lock:
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            value = self.get(key, missing)
            if value is missing:
                value = compute()
                self.put(key, value)
        with self._lock:
            if self._computing.get(key) is key_lock and not key_lock.locked():
                del self._computing[key]
        return value
