"""What counts as a missing table cell, in one place for readers, LFs and datasets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """True for None, ``pd.NA``, ``NaT`` and NaN (float or datetime); False for everything else, "" included.

    >>> [is_missing(v) for v in (None, float("nan"), np.datetime64("NaT"), "", 0, "NA")]
    [True, True, True, False, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False
