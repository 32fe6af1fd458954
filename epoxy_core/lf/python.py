"""LFs written in Python, for notebooks only: never serialised, never built from text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN
from epoxy_core.lf.base import BaseLF
from epoxy_core.lf.frame import (
    _Frame,
    _Row,
)


@dataclass(frozen=True)
class LabelingFunction(BaseLF):
    """An LF written in Python, with Snorkel's signature: ``LabelingFunction(name, f)``.

    ``f(row, **resources)`` returns a class index, ``-1`` / None (abstain), or a bool (True votes ``label``).
    ``row`` is a mapping of column name to value that also allows attribute access (``row.text``).
    For notebooks only: it cannot be saved as JSON, and nothing in Epoxy Studio turns text into code.
    It runs one Python call per row, so it is far slower than the declarative LFs.

    Parameters
    ----------
    name : str
        Unique name of the LF.
    f : callable
        ``f(row, **resources)``.
    label : int, optional
        The class voted when ``f`` returns True; not needed when it returns class indices.  Keyword-only, as
        are the arguments after it (Snorkel's third positional is ``resources``: a positional here would trap).
    resources : mapping, optional
        Keyword arguments passed to every call of ``f`` (as Snorkel's ``resources``).
    enabled : bool, default True

    Examples
    --------
    >>> import pandas as pd
    >>> lf = LabelingFunction("short", lambda row: 0 if len(row.text.split()) < 3 else -1)
    >>> lf.apply(pd.DataFrame({"text": ["so good", "not short at all"]})).tolist()
    [0, -1]
    >>> LabelingFunction("long", lambda row, limit: len(row.text) > limit, label=1, resources={"limit": 7})(
    ...     {"text": "so good!"})
    True
    """

    kind: ClassVar[str] = "python"

    name: str
    f: Callable[..., Any]
    _: KW_ONLY
    label: int | None = None
    resources: Mapping[str, Any] | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        self._validate_common(label_required=False)
        if not callable(self.f):
            raise ValueError(f"{self._name_prefix()}: f must be callable, got {type(self.f).__name__}.")
        if self.resources is not None and not isinstance(self.resources, Mapping):
            raise ValueError(f"{self._name_prefix()}: resources must be a mapping of keyword arguments.")

    def __call__(self, row: Any) -> Any:
        """Call ``f`` on one row (handy for trying an LF out); a plain dict gets ``row.name`` access."""
        row = _Row(row) if isinstance(row, dict) and not isinstance(row, _Row) else row
        return self.f(row, **(self.resources or {}))

    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Unknown in advance: Python code may read any column, so none is checked up front."""
        return ()

    def _vote(self, result: Any, index: int) -> int:
        if result is None:
            return ABSTAIN
        if isinstance(result, bool | np.bool_):
            if self.label is None:
                raise ValueError(f"{self._name_prefix()} returns true/false, so it needs a label to vote.")
            return self.label if result else ABSTAIN
        if isinstance(result, int | np.integer):
            return int(result)
        raise ValueError(
            f"{self._name_prefix()} returned {result!r:.40} on row {index}; return a bool, a class index, -1 or None."
        )

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        votes = np.empty(len(frame.df), dtype=np.int64)
        resources = dict(self.resources or {})
        for i, row in enumerate(frame.rows()):
            try:
                result = self.f(row, **resources)
            except Exception as exc:
                # Name the LF and row: a bare KeyError from deep in user code is hard to place in the UI.
                raise ValueError(f"{self._name_prefix()} failed on row {i}: {exc!r}") from exc
            votes[i] = self._vote(result, i)
        return votes


def labeling_function(
    name: str | Callable[[Any], Any] | None = None, *, label: int | None = None, enabled: bool = True
) -> Any:
    """Snorkel-style decorator turning ``row -> bool | int`` into a :class:`LabelingFunction`.

    Parameters
    ----------
    name : str, optional
        LF name; defaults to the function's name.
    label : int, optional
        Class voted when the function returns True.  Not needed when it returns class indices.
    enabled : bool, default True

    Examples
    --------
    >>> import pandas as pd
    >>> @labeling_function(label=1)
    ... def has_link(row):
    ...     return "http" in row.text
    >>> has_link.name, has_link.apply(pd.DataFrame({"text": ["see http://x", "no"]})).tolist()
    ('has_link', [1, -1])
    """
    if callable(name):  # used bare: @labeling_function
        return LabelingFunction(name=name.__name__, f=name, label=label, enabled=enabled)

    def decorate(func: Callable[[Any], Any]) -> LabelingFunction:
        return LabelingFunction(name=name or func.__name__, f=func, label=label, enabled=enabled)

    return decorate
