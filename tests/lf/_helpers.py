"""Small helpers shared by the LF tests."""

from __future__ import annotations

import pandas as pd


def votes(lf, texts, **columns):
    """The LF's votes on a frame of ``texts`` (and extra ``columns``), as a list."""
    return lf.apply(pd.DataFrame({"text": texts, **columns})).tolist()
