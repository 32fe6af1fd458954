"""Datasets that need no download: scikit-learn's digits and breast-cancer tables, and a small self-made
text dataset of customer-support messages shipped with the package (``epoxy_core/data/demo_files/``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from epoxy_core.data.dataset import DatasetSpec
from epoxy_core.data.io import read_table

__all__ = ["SUPPORT_CLASSES", "Demo", "demo_file", "list_demos", "load_demo"]


class Demo(NamedTuple):
    """A built-in dataset, ready for :func:`prepare_dataset`.

    Attributes
    ----------
    df : pandas.DataFrame
    spec : DatasetSpec
    lfs : list of dict or None
        Suggested labeling functions in :func:`epoxy_core.lf.lf_from_dict` format.
    embedding : str or list of str
        ``"text"`` to embed the text column with the configured embedder, or the names of numeric
        columns to use as the embedding (see :func:`epoxy_core.embed.embeddings_from_columns`).
    """

    df: pd.DataFrame
    spec: DatasetSpec
    lfs: list[dict[str, Any]] | None
    embedding: str | list[str]


_DEMOS: dict[str, str] = {
    "support_messages": "Customer-support messages (text, 3 classes: billing, shipping, technical; self-made).",
    "digits": "scikit-learn handwritten digits (1,797 8x8 images, 10 classes; pixel embeddings).",
    "breast_cancer": "scikit-learn breast cancer (569 tumours, 30 measurements, 2 classes; column rules).",
}
_DEV_FRACTION = 0.1
_DEMO_SEED = 0


def list_demos() -> dict[str, str]:
    """Names of the built-in demos, each with a one-line description.

    >>> sorted(list_demos())
    ['breast_cancer', 'digits', 'support_messages']
    """
    return dict(_DEMOS)


def load_demo(name: str) -> Demo:
    """Load a built-in demo: its table, spec, suggested LFs and embedding source.

    Parameters
    ----------
    name : str
        One of :func:`list_demos`.

    Returns
    -------
    Demo
        A named tuple ``(df, spec, lfs, embedding)``.  Gold labels are kept on a seeded ~10 % of rows
        (the dev set); the other label cells are empty.
    """
    if name == "support_messages":
        return _support_messages_demo()
    if name == "digits":
        return _digits_demo()
    if name == "breast_cancer":
        return _breast_cancer_demo()
    raise ValueError(f"No demo named {name!r}. Available: {', '.join(_DEMOS)}.")


def _dev_labels(target: np.ndarray, class_names: list[str]) -> list[str | None]:
    """Class names on a seeded ~10 % of rows, ``None`` elsewhere."""
    rng = np.random.default_rng(_DEMO_SEED)
    dev = rng.choice(len(target), size=round(_DEV_FRACTION * len(target)), replace=False)
    labels: list[str | None] = [None] * len(target)
    for row in dev:
        labels[row] = class_names[int(target[row])]
    return labels


def _digits_demo() -> Demo:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    class_names = [str(digit) for digit in range(10)]
    pixels = pd.DataFrame(bunch.data.astype(np.int64), columns=[f"px_{i}" for i in range(64)])
    # Single pixels are weak evidence (precision 0.5–0.9 on the full data): honest starting points
    # whose votes the embedding extension can spread.  Pixel values run 0..16.
    lfs = [
        _column_lf("centre empty -> 0", "0", "px_36", "<", 2, class_names),
        _column_lf("bottom-right stroke -> 2", "2", "px_62", ">", 12, class_names),
        _column_lf("lower-left ink -> 4", "4", "px_41", ">", 8, class_names),
        _column_lf("bottom row empty -> 7", "7", "px_60", "<", 2, class_names),
    ]
    return _numeric_demo("digit image", pixels, bunch.target, class_names, lfs)


def _breast_cancer_demo() -> Demo:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    class_names = [str(name) for name in bunch.target_names]  # ["malignant", "benign"]
    features = bunch.data.reset_index(drop=True)
    # Thresholds read off the feature distributions; each rule covers 30–50 % of rows at 0.92–0.99 precision.
    lfs = [
        _column_lf("large worst radius", "malignant", "worst radius", ">", 17, class_names),
        _column_lf("many worst concave points", "malignant", "worst concave points", ">", 0.15, class_names),
        _column_lf("large worst area", "malignant", "worst area", ">", 900, class_names),
        _column_lf("small worst perimeter", "benign", "worst perimeter", "<", 90, class_names),
        _column_lf("few worst concave points", "benign", "worst concave points", "<", 0.1, class_names),
        _column_lf("small worst radius", "benign", "worst radius", "<", 14, class_names),
    ]
    return _numeric_demo("tumour sample", features, bunch.target.to_numpy(), class_names, lfs)


def _numeric_demo(
    what: str, features: pd.DataFrame, target: np.ndarray, class_names: list[str], lfs: list[dict[str, Any]]
) -> Demo:
    """A demo over numeric columns: a "<what> #i" description column (so text pages work), the features,
    dev labels on a seeded ~10 % of rows, and the features as the embedding."""
    frame = pd.concat(
        [
            pd.DataFrame({"description": [f"{what} #{i}" for i in range(len(features))]}),
            features,
            pd.DataFrame({"label": _dev_labels(target, class_names)}),
        ],
        axis=1,
    )
    spec = DatasetSpec(text_column="description", label_column="label", class_names=class_names)
    return Demo(frame, spec, lfs, list(features.columns))


def _column_lf(name: str, label: str, column: str, op: str, value: float, class_names: list[str]) -> dict[str, Any]:
    return {
        "type": "column_rule",
        "name": name,
        "label": class_names.index(label),
        "column": column,
        "op": op,
        "value": value,
    }


SUPPORT_CLASSES = ["billing", "shipping", "technical"]
"""Class names of the ``support_messages`` demo, in class-index order."""


def _support_messages_demo() -> Demo:
    path = demo_file("support_messages.csv")
    if not path.is_file():
        raise ValueError(f"The demo file {path} is missing; regenerate it with `python scripts/make_demo_text.py`.")
    frame = read_table(path, path.name)
    spec = DatasetSpec(
        text_column="text", label_column="label", split_column="split", class_names=list(SUPPORT_CLASSES)
    )

    def keyword(name: str, label: str, words: list[str]) -> dict[str, Any]:
        return {
            "type": "keyword",
            "name": name,
            "label": SUPPORT_CLASSES.index(label),
            "keywords": words,
            "whole_word": True,
            "case_sensitive": False,
        }

    # Deliberately incomplete keyword lists: many messages say the same thing in other words, which is
    # what the embedding extension is for; some keywords also appear in messages of another class.
    lfs = [
        keyword("refund / charge", "billing", ["refund", "charged", "invoice"]),
        keyword("payment words", "billing", ["payment", "card", "subscription"]),
        keyword("delivery words", "shipping", ["delivery", "package", "tracking"]),
        keyword("arrival words", "shipping", ["arrived", "courier", "shipped"]),
        keyword("crash / error", "technical", ["crash", "crashes", "error", "bug"]),
        keyword("login words", "technical", ["login", "password", "log in"]),
    ]
    return Demo(frame, spec, lfs, "text")


def demo_file(name: str) -> Path:
    """The path of a file shipped in ``epoxy_core/data/demo_files`` (works from a checkout and an install)."""
    return Path(str(resources.files("epoxy_core.data").joinpath("demo_files", name)))
