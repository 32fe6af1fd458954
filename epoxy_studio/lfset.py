"""The project's LF set as the app holds it: LF objects, each beside the JSON the workspace stores for it.

The workspace stores ``lf_to_dict`` JSON.  :func:`parse` turns it into :class:`LFItem` values holding an
``epoxy_core.lf`` object.  A stored entry that no longer builds an LF (a file edited by hand, a kind this
version does not know, a second LF with the same name) is kept as it was, with the reason, so the page can
show it and the user can delete or replace it: nothing the user made is dropped silently.  Whether an LF fits
the *dataset* (its class exists, its column is there, its rule suits the column) is the engine's question
(:meth:`epoxy_studio.engine.Engine.problems`).

The operations below are pure: they return a new list and never touch Streamlit or the workspace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from epoxy_core.lf import BaseLF, lf_from_dict, lf_to_dict

__all__ = ["LFItem", "deleted", "from_lfs", "moved", "parse", "to_dicts", "toggled", "with_lf"]


@dataclass(frozen=True)
class LFItem:
    """One entry of the LF set.

    Attributes
    ----------
    stored : dict
        What the workspace holds for it (``lf_to_dict`` form when ``lf`` is set).
    lf : BaseLF or None
        The LF, or None when ``stored`` does not describe a valid LF.
    error : str or None
        Why ``stored`` is not a valid LF (None when ``lf`` is set).
    """

    stored: dict[str, Any]
    lf: BaseLF | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        """The LF's name (what is stored when it is not a valid LF)."""
        if self.lf is not None:
            return self.lf.name
        name = self.stored.get("name") if isinstance(self.stored, dict) else None
        return name if isinstance(name, str) and name else "(unnamed)"

    @property
    def enabled(self) -> bool:
        """The user's on/off switch (an invalid LF is never applied, whatever it says)."""
        return self.lf is not None and self.lf.enabled


def _item(stored: Any) -> LFItem:
    try:
        lf = lf_from_dict(stored)
    except ValueError as error:
        kept = dict(stored) if isinstance(stored, dict) else {"value": stored}
        return LFItem(kept, None, str(error))
    return LFItem(lf_to_dict(lf), lf, None)


def parse(stored: Sequence[Any]) -> list[LFItem]:
    """LF items from the workspace's list of dicts; invalid entries and repeated names are kept with a reason.

    >>> items = parse([{"type": "keyword", "name": "a", "label": 0, "keywords": ["x"]}, {"type": "??", "name": "b"}])
    >>> [(item.name, item.lf is not None) for item in items]
    [('a', True), ('b', False)]
    """
    items = [_item(entry) for entry in stored]
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.lf is None:
            continue
        if item.name in seen:
            reason = f"Another LF is already named {item.name!r}; rename or delete one."
            items[i] = LFItem(dict(stored[i]), None, reason)  # kept exactly as it was saved
        seen.add(item.name)
    return items


def from_lfs(lfs: Sequence[BaseLF]) -> list[LFItem]:
    """LF items for LF objects (all valid)."""
    return [LFItem(lf_to_dict(lf), lf, None) for lf in lfs]


def to_dicts(items: Sequence[LFItem]) -> list[dict[str, Any]]:
    """What the workspace stores for ``items`` (invalid entries unchanged)."""
    return [dict(item.stored) for item in items]


def _index(items: Sequence[LFItem], position: int, name: str) -> int:
    if not 0 <= position < len(items) or items[position].name != name:
        raise ValueError(f"The LF list changed before {name!r} could be updated; look again and retry.")
    return position


def with_lf(items: Sequence[LFItem], lf: BaseLF, replacing: str | None = None) -> list[LFItem]:
    """``items`` with ``lf`` added at the end, or in the place of the LF named ``replacing``.

    Raises
    ------
    ValueError
        If another LF already has ``lf``'s name.
    """
    out = list(items)
    clash = [i for i, item in enumerate(out) if item.name == lf.name and item.name != replacing]
    if clash:
        raise ValueError(f"An LF named {lf.name!r} already exists; choose another name.")
    new = LFItem(lf_to_dict(lf), lf, None)
    names = [item.name for item in out]
    if replacing is not None and replacing in names:
        out[names.index(replacing)] = new
    else:
        out.append(new)
    return out


def toggled(items: Sequence[LFItem], position: int, name: str, enabled: bool) -> list[LFItem]:
    """``items`` with the LF at ``position`` (named ``name``) switched on or off."""
    out = list(items)
    item = out[_index(out, position, name)]
    if item.lf is None:
        raise ValueError(f"LF {name!r} is not valid: {item.error} Delete it or import a corrected version.")
    out[position] = LFItem(
        lf_to_dict(dataclasses.replace(item.lf, enabled=enabled)), dataclasses.replace(item.lf, enabled=enabled)
    )
    return out


def moved(items: Sequence[LFItem], position: int, name: str, step: int) -> list[LFItem]:
    """``items`` with the LF at ``position`` moved ``step`` places (clipped to the list)."""
    out = list(items)
    i = _index(out, position, name)
    j = min(max(i + step, 0), len(out) - 1)
    out[i], out[j] = out[j], out[i]
    return out


def deleted(items: Sequence[LFItem], position: int, name: str) -> list[LFItem]:
    """``items`` without the LF at ``position``."""
    out = list(items)
    del out[_index(out, position, name)]
    return out
