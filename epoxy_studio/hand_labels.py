"""Hand labels in the app: saved in the workspace at once, laid over the project's dataset, undone exactly.

The workspace keeps one label per row (``Workspace.save_hand_label`` / ``load_hand_labels``, tied to the
dataset's rows).  :func:`apply_saved` makes the dataset in session state carry exactly the saved labels
(``Dataset.with_hand_labels``), so every page sees them: ``app.py`` calls it on each full run after the
project is loaded (a query of a few rows; nothing changes when nothing was saved), and the hand-labeling page
after each label.  The engine then hands the new dev labels to the project's shared ``LabelingSession``
(``set_labels``), which keeps every vote and nearest voter and re-scores what depends on labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import streamlit as st

from epoxy_core.data import Dataset, prepare_dataset
from epoxy_core.labels import ABSTAIN
from epoxy_core.workspace import ConflictError
from epoxy_studio import project, state

__all__ = ["apply_saved", "hand_labels_of", "relabel", "save"]


def _column_labels(dataset: Dataset, rows: np.ndarray) -> np.ndarray:
    """The label column's value (class index or ABSTAIN) at ``rows``, whatever hand labels say now."""
    if dataset.spec.label_column is None or len(rows) == 0:
        return np.full(len(rows), ABSTAIN, dtype=np.int64)
    spec = dataclasses.replace(dataset.spec, class_names=list(dataset.class_names))
    try:
        return prepare_dataset(dataset.df.iloc[rows].reset_index(drop=True), spec).y
    except ValueError:  # e.g. those rows' texts are all empty: read them one by one
        values = []
        for row in rows:
            try:
                values.append(int(prepare_dataset(dataset.df.iloc[[row]].reset_index(drop=True), spec).y[0]))
            except ValueError:
                values.append(ABSTAIN)
        return np.asarray(values, dtype=np.int64)


def relabel(dataset: Dataset, labels: Mapping[int, int]) -> Dataset:
    """``dataset`` with exactly ``labels`` as its hand labels (earlier hand labels not in ``labels`` go back to
    the label column's value).

    >>> import pandas as pd
    >>> from epoxy_core.data import DatasetSpec
    >>> frame = pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", None, "y"]})
    >>> data = prepare_dataset(frame, DatasetSpec("text", "label")).with_hand_labels({1: 0, 2: 0})
    >>> again = relabel(data, {1: 1})
    >>> again.y.tolist(), again.hand_labeled.tolist()
    ([0, 1, 1], [False, True, False])
    """
    base = dataset
    if dataset.hand_labeled.any():
        rows = np.flatnonzero(dataset.hand_labeled)
        y = dataset.y.copy()
        y[rows] = _column_labels(dataset, rows)
        base = dataclasses.replace(dataset, y=y, hand_labeled=np.zeros(len(dataset), dtype=bool))
    return base.with_hand_labels(dict(labels))


def hand_labels_of(dataset: Dataset) -> dict[int, int]:
    """The dataset's hand labels, row -> class index."""
    return {int(r): int(dataset.y[r]) for r in np.flatnonzero(dataset.hand_labeled)}


def apply_saved() -> Dataset | None:
    """Make the project's dataset carry the hand labels saved in the workspace (any tab's); returns it.

    Idempotent and cheap when nothing changed (one small query).  A dataset object with other labels replaces
    the one in session state; the engine then gives the shared session the new dev labels.
    """
    dataset = project.dataset()
    if dataset is None:
        return None
    try:
        saved = project.workspace().load_hand_labels(project.name())
    except ValueError as error:  # a workspace problem: the page keeps working without hand labels
        state.flash("warning", f"The hand labels could not be read: {error}")
        return dataset
    saved = {row: label for row, label in saved.items() if 0 <= row < len(dataset)}
    if saved != hand_labels_of(dataset):
        dataset = relabel(dataset, saved)
        st.session_state[state.DATASET] = dataset
    return dataset


def save(row: int, label: int | None) -> bool:
    """Save (or, with None, remove) one hand label and refresh the dataset.

    Returns False when it was not saved: another tab replaced the dataset meanwhile (the page is then
    reloaded and says so), or the row or class is out of range (said in a message).
    """
    try:
        project.workspace().save_hand_label(
            project.name(), int(row), label, expected_dataset_revision=st.session_state[state.DATASET_TOKEN]
        )
    except ConflictError:
        state.flash("warning", "The dataset was replaced in another tab; your label was not saved. Look, then go on.")
        state.request_full_rerun()
        return False
    except ValueError as error:
        state.flash("error", str(error))
        return False
    apply_saved()
    return True
