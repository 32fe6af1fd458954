"""A 2-D map of the embeddings for display: PCA on a random sample of rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["pca_points"]


def pca_points(
    embeddings: np.ndarray,
    labels: Sequence[str],
    texts: Sequence[str] | None = None,
    max_points: int = 5000,
    seed: int = 0,
) -> pd.DataFrame:
    """Project a sample of at most ``max_points`` rows onto their first two principal components.

    Parameters
    ----------
    embeddings : numpy.ndarray of shape (n_rows, dim)
    labels : sequence of str
        One display label per row (class name, or e.g. ``"unlabeled"``).
    texts : sequence of str, optional
        Shown in tooltips; cut to 200 characters to keep the chart payload small.
    max_points : int
        Sample size cap; the browser draws more points poorly and PCA on a sample is faithful enough.
    seed : int
        Seed of the sample, so the map does not jump between reruns.

    Returns
    -------
    pandas.DataFrame
        Columns ``row``, ``x``, ``y``, ``label`` (and ``text``), one row per sampled point.
    """
    from sklearn.decomposition import PCA  # heavy import, only when a map is drawn

    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or embeddings.shape[0] != len(labels):
        raise ValueError(f"Need one label per embedding row: embeddings {embeddings.shape}, {len(labels)} labels.")
    n = embeddings.shape[0]
    rows = np.arange(n)
    if n > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
    sample = embeddings[rows]
    if sample.shape[0] >= 2 and sample.shape[1] >= 2:
        xy = PCA(n_components=2, random_state=seed).fit_transform(sample)
    else:  # degenerate data: nothing to project, put the points on a line
        xy = np.column_stack([np.arange(sample.shape[0], dtype=float), np.zeros(sample.shape[0])])
    frame = pd.DataFrame({"row": rows, "x": xy[:, 0], "y": xy[:, 1], "label": np.asarray(labels, dtype=object)[rows]})
    if texts is not None:
        frame["text"] = [str(t)[:200] for t in np.asarray(texts, dtype=object)[rows]]
    return frame
