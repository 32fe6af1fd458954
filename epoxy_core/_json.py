"""Strict JSON reading for files that come from outside: no repeated keys, no NaN / Infinity constants.

``json.loads`` silently keeps the last of two equal keys and accepts ``NaN``; in an uploaded table, an LF file or
a bundle either would hide a mistake (or a tampering), so the readers refuse both with these hooks.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["DuplicateKeyError", "loads_strict", "reject_constant", "reject_duplicate_keys"]


class DuplicateKeyError(ValueError):
    """A JSON object repeats a key; ``key`` names it."""

    def __init__(self, key: str):
        super().__init__(f"duplicate key {key!r} in a JSON object.")
        self.key = key


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that raises :class:`DuplicateKeyError` on a repeated key.

    >>> json.loads('{"a": 1, "a": 2}', object_pairs_hook=reject_duplicate_keys)
    Traceback (most recent call last):
    ...
    epoxy_core._json.DuplicateKeyError: duplicate key 'a' in a JSON object.
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def reject_constant(name: str) -> Any:
    """``parse_constant`` hook: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON and are refused."""
    raise ValueError(f"{name} is not allowed in this file.")


def loads_strict(text: str) -> Any:
    """``json.loads`` with both hooks (``ValueError`` on repeated keys or non-finite constants).

    >>> loads_strict('{"a": [1, 2]}')
    {'a': [1, 2]}
    """
    return json.loads(text, object_pairs_hook=reject_duplicate_keys, parse_constant=reject_constant)
