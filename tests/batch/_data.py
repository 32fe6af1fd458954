"""A small synthetic comments table and LF set shared by the bundle, CLI and batch tests (no ../shared needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from epoxy_core.lf import KeywordLF, RegexLF, lfs_to_json

CLASS_NAMES = ["ham", "spam"]

_SPAM = (
    "check out my channel for {w} videos",
    "subscribe to my {w} channel please",
    "visit http://{w}.example.com for free stuff",
    "free {w} gift cards, click the link in my profile",
    "follow me for daily {w} giveaways",
)
_HAM = (
    "i love this song, the {w} part is great",
    "this {w} video is amazing",
    "the singer has such a {w} voice",
    "best {w} music of the year",
    "favourite {w} track, listening every day",
)
_WORDS = "summer guitar dance piano night rain happy golden violin sunset retro chill party ocean".split()


def comments(n: int = 400, *, seed: int = 0, n_dev: int = 60, start_id: int = 0) -> pd.DataFrame:
    """``n`` comments (``row_id``, ``text``, ``label`` on ``n_dev`` rows, ``video``), half spam, shuffled."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    texts = []
    for label in y:
        template = rng.choice(_SPAM if label == 1 else _HAM)
        text = template.format(w=rng.choice(_WORDS))
        if rng.random() < 0.3:
            text += " " + " ".join(rng.choice(_WORDS, size=rng.integers(1, 4)))
        texts.append(text)
    labels = np.full(n, None, dtype=object)
    dev = rng.choice(n, size=min(n_dev, n), replace=False)
    labels[dev] = np.array(CLASS_NAMES, dtype=object)[y[dev]]
    return pd.DataFrame(
        {
            "row_id": np.arange(start_id, start_id + n, dtype=np.int64),
            "text": texts,
            "label": labels,
            "video": rng.integers(1, 5, size=n),
        }
    )


def lfs() -> list:
    return [
        KeywordLF("my", 1, ["my"]),
        KeywordLF("subscribe", 1, ["subscribe"]),
        KeywordLF("http", 1, ["http"]),
        KeywordLF("song", 0, ["song"]),
        RegexLF("love or amazing", 0, r"love|amazing"),
    ]


def write_lfs(path: Path) -> Path:
    path.write_text(lfs_to_json(lfs()), encoding="utf-8")
    return path


def write_lf_document(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
