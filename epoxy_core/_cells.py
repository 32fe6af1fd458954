"""What counts as a missing table cell, and a cell's text, in one place for readers, LFs, datasets and pages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """True for None, ``pd.NA``, ``NaT`` and NaN (float or datetime); False for everything else, "" included.

    Unlike ``pd.isna``, a list or array cell (from JSON) is a value, never an ambiguous array of answers.

    >>> [is_missing(v) for v in (None, float("nan"), np.datetime64("NaT"), "", 0, "NA", [1, 2], np.zeros(2))]
    [True, True, True, False, False, False, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def cell_to_text(value: Any) -> str:
    """A cell as text for matching and display: ``""`` when missing, the string itself, else ``str(value)``.

    >>> [cell_to_text(v) for v in (None, float("nan"), "hi", 3, [1, 2])]
    ['', '', 'hi', '3', '[1, 2]']
    """
    if is_missing(value):
        return ""
    return value if isinstance(value, str) else str(value)
