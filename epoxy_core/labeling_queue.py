"""Which row to hand-label next: the orders of a hand-labeling queue, as pure functions.

A domain expert labels a few rows by hand to grow the dev set.  The rows worth their time are the ones the
model is least sure about (active learning's *margin* sampling), the ones the labeling functions argue about
(their conflicts are what the label model must guess), or a plain random sample (an unbiased dev set, the
only one whose accuracy estimates mean what they say).  Each function here returns row ids best first and
leaves out the rows given in ``exclude`` (already labelled, skipped); :func:`queue_order` picks one by name.

Nothing here keeps state: the app holds "where am I in the queue" and the undo history, and asks again after
every label (the order follows the newest model).

Examples
--------
>>> import numpy as np
>>> proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.3, 0.7], [0.5, 0.5]])
>>> least_certain(proba).tolist()
[3, 1, 2, 0]
>>> L = np.array([[0, 1, -1], [0, 0, -1], [1, 0, 0], [-1, -1, -1]])
>>> lf_disagreement(L).tolist()
[2, 0]
>>> queue_order("least certain", proba=proba, exclude=[3]).tolist()
[1, 2, 0]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from epoxy_core.labels import ABSTAIN

__all__ = ["STRATEGIES", "Strategy", "least_certain", "lf_disagreement", "queue_order", "random_order"]

Strategy = Literal["least certain", "LF disagreement", "random"]
STRATEGIES: tuple[Strategy, ...] = ("least certain", "LF disagreement", "random")
"""The queue orders :func:`queue_order` knows, in the order a page offers them."""

RowIds = npt.NDArray[np.int64]


def _keep(n_rows: int, exclude: Iterable[int] | npt.ArrayLike | None) -> npt.NDArray[np.bool_]:
    """Mask of the rows a queue may list: every row but those in ``exclude`` (a mask or row ids)."""
    keep = np.ones(n_rows, dtype=bool)
    if exclude is None:
        return keep
    excluded = np.asarray(list(exclude) if not hasattr(exclude, "__array__") else exclude)
    if excluded.dtype == bool:
        if excluded.shape != (n_rows,):
            raise ValueError(f"exclude as a mask needs one entry per row ({n_rows:,}); got shape {excluded.shape}.")
        return ~excluded
    if excluded.size == 0:
        return keep
    if not np.issubdtype(excluded.dtype, np.integer):
        raise ValueError(f"exclude must hold row ids (integers) or be a boolean mask; got dtype {excluded.dtype}.")
    excluded = excluded.ravel()
    if excluded.min() < 0 or excluded.max() >= n_rows:
        raise ValueError(f"exclude names rows outside 0..{n_rows - 1:,}.")
    keep[excluded] = False
    return keep


def _order(score: npt.NDArray[np.float64], keep: npt.NDArray[np.bool_], seed: int, limit: int | None) -> RowIds:
    """Row ids of ``keep`` by ascending ``score`` (at most ``limit`` of them), ties in a seeded random order.

    Every row gets a random rank from ``seed`` once: equally scored rows come in rank order, which does not
    change when other rows are excluded (the queue does not reshuffle after each label), and does not walk the
    table from its first row, which is often one source or one date.  With ``limit`` the work is linear (a
    partition, then a sort of ``limit`` rows): a page that shows the next few rows of a million pays
    milliseconds, not a full sort.
    """
    n_rows = score.shape[0]
    rank = np.random.default_rng(seed).permutation(n_rows)
    by_rank = np.empty(n_rows, dtype=np.int64)
    by_rank[rank] = np.arange(n_rows, dtype=np.int64)  # the rows in random-rank order, without a sort
    rows = by_rank[keep[by_rank]]
    scores = score[rows]
    if limit is not None and limit < rows.size:
        if limit <= 0:
            return np.zeros(0, dtype=np.int64)
        kth = np.partition(scores, limit - 1)[limit - 1]
        below = np.flatnonzero(scores < kth)
        tied = np.flatnonzero(scores == kth)[: limit - below.size]  # the first in rank order, as without limit
        picked = np.sort(np.concatenate([below, tied]))  # back to rank order for the stable sort below
        rows, scores = rows[picked], scores[picked]
    return rows[np.argsort(scores, kind="stable")]


def _check_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 0:
        raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}.")
    return int(limit)


def least_certain(
    proba: npt.ArrayLike,
    *,
    exclude: Iterable[int] | npt.ArrayLike | None = None,
    seed: int = 0,
    limit: int | None = None,
) -> RowIds:
    """Rows by the model's margin, smallest first: the gap between its two most probable classes.

    With two classes this is the same order as "least confident" (largest probability nearest 1/2); with more,
    the margin ranks a row torn between two classes above one spread over all of them, which a human settles
    more usefully.

    Parameters
    ----------
    proba : array-like of shape (n_rows, n_classes)
        Class probabilities of every row (the end model's when it is fitted: it covers rows no LF votes on).
    exclude : row ids or boolean mask, optional
        Rows to leave out (labelled already, skipped).
    seed : int, default 0
        Orders rows with the same margin.
    limit : int, optional
        Return only the first ``limit`` rows (linear time instead of a full sort; the same rows, in the same
        order, as the full queue's first ``limit``).

    Returns
    -------
    numpy.ndarray of int64
        Row ids, least certain first.

    Raises
    ------
    ValueError
        If ``proba`` is not a 2-D array of probabilities with at least two classes.

    Examples
    --------
    >>> least_certain([[0.2, 0.5, 0.3], [0.4, 0.2, 0.4], [0.9, 0.05, 0.05]]).tolist()
    [1, 0, 2]
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(f"proba must have shape (rows, classes >= 2); got {proba.shape}.")
    if not np.isfinite(proba).all():
        raise ValueError("proba holds NaN or infinite values; pass the model's class probabilities.")
    top_two = np.partition(proba, proba.shape[1] - 2, axis=1)[:, -2:]
    margin = top_two[:, 1] - top_two[:, 0]
    return _order(margin, _keep(proba.shape[0], exclude), seed, _check_limit(limit))


def lf_disagreement(
    L: npt.ArrayLike,
    *,
    exclude: Iterable[int] | npt.ArrayLike | None = None,
    seed: int = 0,
    limit: int | None = None,
) -> RowIds:
    """Rows where the labeling functions vote for different classes, the most contested first.

    A row's score is the number of votes against its most-voted class (two LFs against three ranks above one
    against three); among equals, rows with more votes come first (more LFs are involved).  Rows where the
    LFs agree, or only one votes, are not listed: the queue may be empty.

    Parameters
    ----------
    L : array-like of shape (n_rows, n_lfs)
        Votes (class index, ``ABSTAIN`` = -1); pass the extended matrix to see what the label model sees.
    exclude : row ids or boolean mask, optional
        Rows to leave out.
    seed : int, default 0
        Orders rows with the same score.
    limit : int, optional
        Return only the first ``limit`` rows (see :func:`least_certain`).

    Returns
    -------
    numpy.ndarray of int64
        Row ids, most contested first.

    Examples
    --------
    >>> lf_disagreement([[0, 1, 1, -1], [0, 1, -1, -1], [1, 1, 1, 1], [0, 0, 1, 1]]).tolist()
    [3, 0, 1]
    """
    L = np.asarray(L)
    if L.ndim != 2:
        raise ValueError(f"L must be a 2-D label matrix (rows, LFs); got shape {L.shape}.")
    if L.size and not np.issubdtype(L.dtype, np.integer):
        raise ValueError(f"L must hold integer votes (class index, {ABSTAIN} = abstain); got dtype {L.dtype}.")
    n_rows = L.shape[0]
    if L.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    if L.size and L.min() < ABSTAIN:
        raise ValueError(f"L holds {int(L.min())}; votes are class indices, {ABSTAIN} for abstain.")
    cardinality = int(L.max(initial=0)) + 1
    counts = np.zeros((n_rows, cardinality), dtype=np.int64)
    for c in range(cardinality):  # a loop over classes, never over rows
        counts[:, c] = np.count_nonzero(c == L, axis=1)
    total = counts.sum(axis=1)
    against = total - counts.max(axis=1)
    keep = _keep(n_rows, exclude) & (against > 0)
    # Most votes against first, then most votes: negate for the ascending order of _order.
    score = -(against.astype(np.float64) * (L.shape[1] + 1) + total)
    return _order(score, keep, seed, _check_limit(limit))


def random_order(
    n_rows: int,
    *,
    exclude: Iterable[int] | npt.ArrayLike | None = None,
    seed: int = 0,
    limit: int | None = None,
) -> RowIds:
    """Every row (but ``exclude``) in a seeded random order: labels from it make an unbiased dev sample.

    >>> order = random_order(5, exclude=[0])
    >>> sorted(order.tolist()), bool((order == random_order(5, exclude=[0])).all())
    ([1, 2, 3, 4], True)
    """
    if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer) or n_rows < 0:
        raise ValueError(f"n_rows must be a non-negative integer, got {n_rows!r}.")
    return _order(np.zeros(int(n_rows)), _keep(int(n_rows), exclude), seed, _check_limit(limit))


def queue_order(
    strategy: Strategy,
    *,
    proba: npt.ArrayLike | None = None,
    L: npt.ArrayLike | None = None,
    n_rows: int | None = None,
    exclude: Iterable[int] | npt.ArrayLike | None = None,
    seed: int = 0,
    limit: int | None = None,
) -> RowIds:
    """The queue for one of :data:`STRATEGIES`.

    Parameters
    ----------
    strategy : {"least certain", "LF disagreement", "random"}
    proba : array-like of shape (n_rows, n_classes), optional
        Needed for "least certain".
    L : array-like of shape (n_rows, n_lfs), optional
        Needed for "LF disagreement".
    n_rows : int, optional
        For "random" when neither ``proba`` nor ``L`` is given.
    exclude, seed, limit
        See :func:`least_certain`.

    Returns
    -------
    numpy.ndarray of int64
        Row ids, the next one to label first.

    Raises
    ------
    ValueError
        For an unknown strategy, or without what the strategy needs (the message says what to do).
    """
    if strategy == "least certain":
        if proba is None:
            raise ValueError("'least certain' needs the model's probabilities: add labeling functions first.")
        return least_certain(proba, exclude=exclude, seed=seed, limit=limit)
    if strategy == "LF disagreement":
        if L is None:
            raise ValueError("'LF disagreement' needs the LFs' votes: add labeling functions first.")
        return lf_disagreement(L, exclude=exclude, seed=seed, limit=limit)
    if strategy == "random":
        size: Any = n_rows
        if size is None:
            for given in (proba, L):
                if given is not None:
                    size = np.shape(given)[0]
                    break
        if size is None:
            raise ValueError("'random' needs the number of rows (n_rows=).")
        return random_order(int(size), exclude=exclude, seed=seed, limit=limit)
    raise ValueError(f"strategy must be one of {', '.join(repr(s) for s in STRATEGIES)}; got {strategy!r}.")
