"""A project's settings as one typed, validated value: what the app and the command line read from a workspace.

The workspace stores settings as a JSON object (``Workspace.save_settings``); :class:`ProjectSettings` is that
object with its types checked.  :meth:`ProjectSettings.from_dict` reads what any earlier version wrote (the
``"embedder"`` / ``"graph_source"`` keys of version 0.2) and refuses values it cannot use with a
:class:`ValueError` naming the setting; :meth:`ProjectSettings.salvage` keeps the valid settings of a damaged
object and reports the others, so a bad value never locks a user out of a project.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from epoxy_core.embed.registry import DEFAULT_MODEL
from epoxy_core.embed.source import EmbeddingSource
from epoxy_core.model.balance import BALANCE_MODES, DEFAULT_CLASS_BALANCE

__all__ = [
    "DEFAULT_CLASS_BALANCE_MODE",
    "DEFAULT_N_NEIGHBORS",
    "DEFAULT_THRESHOLD",
    "MAX_N_NEIGHBORS",
    "ProjectSettings",
]

DEFAULT_THRESHOLD: float = 0.8
"""Extension threshold of an LF nobody has tuned or moved yet (minimum cosine similarity)."""
DEFAULT_N_NEIGHBORS: int = 30
"""Neighbours per row of the k-NN graph (PyNNDescent's recall is 0.998 at 30 on the spam data, 0.95 at 15)."""
MAX_N_NEIGHBORS: int = 200
DEFAULT_CLASS_BALANCE_MODE: str = DEFAULT_CLASS_BALANCE
"""The label model's prior when the user chose none: the library's one default (one of ``BALANCE_MODES``)."""
_MAX_THRESHOLDS = 10_000
_MAX_NAME = 2_000


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"Setting {what!r} must be true or false, got {value!r:.60}.")
    return value


def _check_threshold(value: Any, what: str) -> float | None:
    """``None`` (no extension) or a finite similarity in [-1, 1]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number between -1 and 1, or null for no extension; got {value!r:.60}.")
    number = float(value)
    if not math.isfinite(number) or not -1.0 <= number <= 1.0:
        raise ValueError(f"{what} must be a number between -1 and 1, or null for no extension; got {value!r:.60}.")
    return number


def _check_embedding(value: Any) -> EmbeddingSource:
    """An :class:`EmbeddingSource`, its ``to_dict`` form, or a settings string of version 0.2."""
    try:
        return EmbeddingSource.from_value(value)
    except ValueError as error:
        raise ValueError(f"Setting 'embedding' is not a usable embedding source: {error}") from None


def _check_thresholds(value: Any) -> dict[str, float | None]:
    if not isinstance(value, Mapping):
        raise ValueError(f"Setting 'thresholds' must map LF names to thresholds, got {type(value).__name__}.")
    if len(value) > _MAX_THRESHOLDS:
        raise ValueError(f"Setting 'thresholds' has {len(value):,} entries; the limit is {_MAX_THRESHOLDS:,}.")
    out: dict[str, float | None] = {}
    for name, threshold in value.items():
        if not isinstance(name, str) or len(name) > _MAX_NAME:
            raise ValueError(f"Setting 'thresholds' must be keyed by LF names, got {name!r:.60}.")
        out[name] = _check_threshold(threshold, f"The threshold of LF {name!r:.60}")
    return out


def _check_n_neighbors(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= MAX_N_NEIGHBORS:
        raise ValueError(
            f"Setting 'n_neighbors' must be a whole number from 2 to {MAX_N_NEIGHBORS}, got {value!r:.60}."
        )
    return value


def _check_class_balance(value: Any) -> str:
    if value not in BALANCE_MODES:
        raise ValueError(
            f"Setting 'class_balance' must be one of {', '.join(map(repr, BALANCE_MODES))}; got {value!r:.60}."
        )
    return str(value)


def _check_end_model_C(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"Setting 'end_model_C' must be a positive number, got {value!r:.60}.")
    return float(value)


_CHECKS = {
    "embedding": _check_embedding,
    "graph_built": lambda value: _check_bool(value, "graph_built"),
    "n_neighbors": _check_n_neighbors,
    "thresholds": _check_thresholds,
    "default_threshold": lambda value: _check_threshold(value, "Setting 'default_threshold'"),
    "class_balance": _check_class_balance,
    "end_model": lambda value: _check_bool(value, "end_model"),
    "end_model_C": _check_end_model_C,
}
# Keys written by version 0.2: the embedder picked on the data page, and the one the graph was built with.
_LEGACY_KEYS = ("embedder", "graph_source")


@dataclass(frozen=True)
class ProjectSettings:
    """Everything a project remembers besides its data and LFs.

    Parameters
    ----------
    embedding : EmbeddingSource, default the default text model
        How rows become vectors (a text model, numeric columns or an uploaded ``.npy``).  The constructor and
        :meth:`from_dict` also take its ``to_dict`` form or a settings string of version 0.2 (``"tfidf"``,
        ``'columns:["a", "b"]'``, ``"npy:<digest>"``).
    graph_built : bool, default False
        Whether the k-NN graph of ``embedding`` has been built for the current dataset.
    n_neighbors : int, default 30
        Neighbours per row of the k-NN graph.
    thresholds : dict of str to float or None
        Extension threshold per LF name; ``None`` = do not extend that LF.  LFs missing here use
        ``default_threshold``.
    default_threshold : float or None, default 0.8
        Threshold of LFs without their own (also what the "set all" slider last chose); ``None`` = off.
    class_balance : str, default :data:`epoxy_core.model.balance.DEFAULT_CLASS_BALANCE`
        The label model's prior: one of :data:`epoxy_core.model.balance.BALANCE_MODES`.
    end_model : bool, default True
        Whether an end model on the embeddings labels every row (rows no LF covers included).
    end_model_C : float, default 1.0
        The end model's inverse regularisation strength (tuning chooses it on the dev labels).

    Examples
    --------
    >>> settings = ProjectSettings.from_dict({"thresholds": {"my": 0.5, "song": None}, "default_threshold": 0.7})
    >>> settings.threshold_for("my"), settings.threshold_for("song"), settings.threshold_for("new")
    (0.5, None, 0.7)
    >>> ProjectSettings.from_dict(settings.to_dict()) == settings
    True
    """

    embedding: EmbeddingSource = field(default_factory=lambda: EmbeddingSource.model_source(DEFAULT_MODEL))
    graph_built: bool = False
    n_neighbors: int = DEFAULT_N_NEIGHBORS
    thresholds: dict[str, float | None] = field(default_factory=dict)
    default_threshold: float | None = DEFAULT_THRESHOLD
    class_balance: str = DEFAULT_CLASS_BALANCE_MODE
    end_model: bool = True
    end_model_C: float = 1.0

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            object.__setattr__(self, name, check(getattr(self, name)))

    def threshold_for(self, lf_name: str) -> float | None:
        """The threshold of LF ``lf_name`` (its own, else the default); ``None`` means no extension."""
        return self.thresholds.get(lf_name, self.default_threshold)

    def replace(self, **changes: Any) -> ProjectSettings:
        """A copy with ``changes`` applied (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, read back by :meth:`from_dict`."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["embedding"] = self.embedding.to_dict()
        out["thresholds"] = dict(self.thresholds)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectSettings:
        """Build settings from :meth:`to_dict` output (or the settings of version 0.2), validating every value.

        Missing keys take their defaults.

        Raises
        ------
        ValueError
            For a key this version does not know, or a value of the wrong type or range; the message names
            the setting.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"Project settings must be a JSON object, got {type(data).__name__}.")
        unknown = sorted(str(key) for key in data if key not in _CHECKS and key not in _LEGACY_KEYS)
        if unknown:
            raise ValueError(f"Unknown project setting(s) {', '.join(map(repr, unknown))}.")
        return cls(**_upgraded(data))

    @classmethod
    def salvage(cls, data: Any) -> tuple[ProjectSettings, list[str]]:
        """Like :meth:`from_dict`, but an invalid or unknown setting is dropped (its default is used) and reported.

        Returns
        -------
        settings : ProjectSettings
        problems : list of str
            One message per setting that was dropped; empty when ``from_dict`` would have succeeded.

        Examples
        --------
        >>> settings, problems = ProjectSettings.salvage({"n_neighbors": "thirty", "default_threshold": 0.5})
        >>> settings.n_neighbors, settings.default_threshold, len(problems)
        (30, 0.5, 1)
        """
        if not isinstance(data, Mapping):
            return cls(), [f"Project settings must be a JSON object, got {type(data).__name__}; defaults are used."]
        problems = [
            f"Unknown project setting {str(key)!r:.60} was ignored."
            for key in data
            if key not in _CHECKS and key not in _LEGACY_KEYS
        ]
        kept: dict[str, Any] = {}
        for name, value in _upgraded(data).items():
            if name == "thresholds" and isinstance(value, Mapping):
                value = _good_thresholds(value, problems)  # one bad threshold does not cost the others
            try:
                kept[name] = _CHECKS[name](value)
            except ValueError as error:
                problems.append(f"{error} The default is used.")
        return cls(**kept), problems


def _good_thresholds(thresholds: Mapping[Any, Any], problems: list[str]) -> dict[Any, Any]:
    """The entries of ``thresholds`` that are valid; a message in ``problems`` for each other one."""
    good = {}
    for name, value in thresholds.items():
        try:
            _check_thresholds({name: value})
        except ValueError as error:
            problems.append(f"{error} That LF uses the default threshold.")
        else:
            good[name] = value
    return good


def _upgraded(data: Mapping[str, Any]) -> dict[str, Any]:
    """The known keys of ``data``, with version 0.2's ``embedder`` / ``graph_source`` turned into today's keys."""
    out = {key: value for key, value in data.items() if key in _CHECKS}
    graph_source = data.get("graph_source")
    if "embedding" not in out:
        legacy = graph_source if graph_source is not None else data.get("embedder")
        if legacy is not None:
            out["embedding"] = legacy
    if "graph_built" not in out and "graph_source" in data:
        out["graph_built"] = graph_source is not None
    return out
