"""LFs as JSON: the LF-set file format, read as untrusted input."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from epoxy_core._json import loads_strict
from epoxy_core.lf._checks import (
    MAX_LFS,
)
from epoxy_core.lf.apply import _check_unique_names
from epoxy_core.lf.base import BaseLF
from epoxy_core.lf.column import ColumnRuleLF, VoteColumnLF
from epoxy_core.lf.lookup import LookupLF
from epoxy_core.lf.python import LabelingFunction
from epoxy_core.lf.similarity import SimilarityLF
from epoxy_core.lf.text import KeywordLF, RegexLF

FORMAT_NAME = "epoxy-lfs"
FORMAT_VERSION = 1

_SERIALISABLE: dict[str, type[BaseLF]] = {
    cls.kind: cls for cls in (KeywordLF, RegexLF, ColumnRuleLF, VoteColumnLF, LookupLF, SimilarityLF)
}

# A lookup LF stores its whole term list (up to 400,000 characters) in the file, so the limit is generous.
MAX_LF_FILE_BYTES = 8_000_000


def _init_fields(cls: type[BaseLF]) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]


def lf_to_dict(lf: BaseLF) -> dict[str, Any]:
    """A JSON-ready dict of ``lf``: ``{"type": ..., <every constructor field>}``.

    Raises
    ------
    ValueError
        For a :class:`LabelingFunction` (code is never serialised) or an unknown LF class.

    Examples
    --------
    >>> lf_to_dict(VoteColumnLF("person", "person_vote"))
    {'type': 'vote_column', 'name': 'person', 'column': 'person_vote', 'enabled': True}
    """
    if isinstance(lf, LabelingFunction):
        raise ValueError(
            f"LabelingFunction {lf.name!r} wraps Python code and cannot be saved as JSON; rewrite it as a keyword, "
            "regex, lookup, similarity or column rule LF, or store its votes in a column and use VoteColumnLF."
        )
    if type(lf) not in _SERIALISABLE.values():
        raise ValueError(f"Cannot serialise LF of type {type(lf).__name__}.")
    out: dict[str, Any] = {"type": lf.kind}
    for f in _init_fields(type(lf)):
        value = getattr(lf, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def lf_from_dict(data: Any) -> BaseLF:
    """Build an LF from :func:`lf_to_dict` output, validating every field.

    Raises
    ------
    ValueError
        Naming the field: unknown type, unknown or missing field, wrong value type, over-long pattern, ...
    """
    if not isinstance(data, dict):
        raise ValueError(f"an LF must be a JSON object, got {type(data).__name__}.")
    kind = data.get("type")
    if kind == LabelingFunction.kind:
        raise ValueError("type 'python' cannot be loaded: LFs written as code are never read from JSON.")
    if not isinstance(kind, str) or kind not in _SERIALISABLE:
        raise ValueError(f"field 'type' must be one of {', '.join(map(repr, _SERIALISABLE))}; got {kind!r:.60}.")
    cls = _SERIALISABLE[kind]
    fields = _init_fields(cls)
    names = {f.name for f in fields}
    unknown = sorted(str(k) for k in data if k != "type" and k not in names)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))} for type {kind!r}.")
    missing = [
        f.name
        for f in fields
        if f.name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(map(repr, missing))} for type {kind!r}.")
    return cls(**{k: v for k, v in data.items() if k != "type"})


def lfs_to_json(lfs: Iterable[BaseLF]) -> str:
    """Serialise LFs as ``{"format": "epoxy-lfs", "version": 1, "lfs": [...]}``.

    Raises
    ------
    ValueError
        For a :class:`LabelingFunction`, duplicate names or more than the allowed number of LFs.
    """
    lfs = list(lfs)
    if len(lfs) > MAX_LFS:
        raise ValueError(f"{len(lfs):,} LFs; at most {MAX_LFS:,} can be saved in one file.")
    _check_unique_names(lfs)
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "lfs": [lf_to_dict(lf) for lf in lfs]}
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)


def lfs_from_json(text: str | bytes, *, max_bytes: int = MAX_LF_FILE_BYTES) -> list[BaseLF]:
    """Load LFs saved by :func:`lfs_to_json`, treating the input as untrusted.

    Parameters
    ----------
    text : str or bytes
        The JSON document (bytes must be UTF-8).
    max_bytes : int, default MAX_LF_FILE_BYTES (8 MB)
        Larger inputs are refused before parsing.

    Returns
    -------
    list of BaseLF

    Raises
    ------
    ValueError
        For input that is too large, not UTF-8, not JSON, nested too deeply, of another format or a newer
        version, with too many LFs or duplicate names, or an invalid LF (the message names ``LF <index>`` and
        the field).
    """
    if isinstance(text, bytes | bytearray):
        if len(text) > max_bytes:
            raise ValueError(f"The LF file is {len(text):,} bytes; the limit is {max_bytes:,}.")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"The LF file is not UTF-8 text (bad byte at position {exc.start}).") from None
    elif isinstance(text, str):
        # Characters never outnumber UTF-8 bytes, so this cheap test bounds the encode below.
        if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise ValueError(f"The LF file is larger than the limit of {max_bytes:,} bytes.")
    else:
        raise ValueError(f"LF JSON must be str or bytes, got {type(text).__name__}.")

    try:
        document = loads_strict(text)
    except RecursionError:
        raise ValueError("The LF file is nested too deeply to be an LF file.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"The LF file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except ValueError as exc:  # duplicate keys, NaN, integers with thousands of digits
        raise ValueError(f"The LF file is not acceptable JSON: {exc}") from None

    if not isinstance(document, dict):
        raise ValueError(f"The LF file must hold a JSON object, got {type(document).__name__}.")
    if document.get("format") != FORMAT_NAME:
        raise ValueError(
            f"Not an Epoxy LF file: field 'format' must be {FORMAT_NAME!r}, got {document.get('format')!r:.60}."
        )
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"Field 'version' must be an integer, got {version!r:.60}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"The LF file has version {version}, newer than this Epoxy Studio reads ({FORMAT_VERSION}); upgrade."
        )
    if version < 1:
        raise ValueError(f"Field 'version' must be at least 1, got {version}.")
    unknown = sorted(set(document) - {"format", "version", "lfs"})
    if unknown:
        raise ValueError(f"Unknown top-level field(s) {', '.join(map(repr, unknown))} in the LF file.")
    items = document.get("lfs")
    if not isinstance(items, list):
        raise ValueError(f"Field 'lfs' must be a list of LFs, got {type(items).__name__}.")
    if len(items) > MAX_LFS:
        raise ValueError(f"The LF file holds {len(items):,} LFs; the limit is {MAX_LFS:,}.")

    lfs: list[BaseLF] = []
    for index, item in enumerate(items):
        try:
            lfs.append(lf_from_dict(item))
        except ValueError as exc:
            name = item.get("name") if isinstance(item, dict) else None
            label = f"LF {index}" + (f" ({name!r:.60})" if isinstance(name, str) else "")
            raise ValueError(f"{label}: {exc}") from None
    _check_unique_names(lfs, where=" in the LF file")
    return lfs
