"""The hand-labeling page's body: a queue, one row at a time, class buttons with keyboard shortcuts, skip, undo.

Each label is saved in the workspace at once and joins the dev set (:mod:`epoxy_studio.hand_labels`): the
engine hands the new labels to the shared session (``LabelingSession.set_labels``: every vote and nearest
voter is kept, only what depends on labels is recomputed), so the results page re-scores with them.  Skips
and the undo history belong to this browser session.

Keyboard: the class buttons are ``1`` … ``9`` (first nine classes), *Skip* is ``S`` and *Undo* ``U``, through
``st.button(shortcut=...)`` (Streamlit's own shortcuts: no script is injected into the page).  Streamlit
ignores them while a text field has the focus.

The body is one fragment: labeling a row reruns it, not the page around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from epoxy_core.data import Dataset
from epoxy_core.labeling_queue import STRATEGIES, queue_order
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import BaseLF
from epoxy_studio import hand_labels, project, render, state

__all__ = [
    "SHORTCUT_SKIP",
    "SHORTCUT_UNDO",
    "Context",
    "class_shortcut",
    "labeler",
    "neighbours_table",
    "votes_table",
]

SHORTCUT_SKIP = "S"
SHORTCUT_UNDO = "U"
_TEXT_CHARS = 3000  # of the row being labelled; a 1 MB cell is cut, with a note
_NEIGHBOURS = 5
_NEXT_UP = 5

# Plain session keys (they must survive leaving the page; widget state does not).
_STRATEGY = "hand_label_strategy"
_CURRENT = "hand_label_current"
_SKIPPED = "hand_label_skipped"
_HISTORY = "hand_label_history"
_OWNER = "hand_label_owner"  # the project + dataset the three keys above belong to


def class_shortcut(position: int) -> str | None:
    """The key of the ``position``-th class button: ``"1"`` … ``"9"``, then none.

    >>> class_shortcut(0), class_shortcut(8), class_shortcut(9)
    ('1', '9', None)
    """
    return str(position + 1) if position < 9 else None


# ---------------------------------------------------------------------------------------------- callbacks


def _label(row: int, label: int) -> None:
    before = project.dataset().y[row] if project.dataset().hand_labeled[row] else None
    if hand_labels.save(row, label):
        st.session_state[_HISTORY].append(("label", row, None if before is None else int(before)))
        st.session_state[_CURRENT] = None


def _skip(row: int) -> None:
    st.session_state[_SKIPPED].add(int(row))
    st.session_state[_HISTORY].append(("skip", int(row), None))
    st.session_state[_CURRENT] = None


def _undo() -> None:
    if not st.session_state[_HISTORY]:
        return
    action, row, before = st.session_state[_HISTORY].pop()
    if action == "skip":
        st.session_state[_SKIPPED].discard(row)
    elif not hand_labels.save(row, before):
        st.session_state[_HISTORY].append((action, row, before))
        return
    st.session_state[_CURRENT] = row


def _start(owner: str) -> None:
    """The queue's session keys, reset when the project or its dataset changed."""
    st.session_state.setdefault(_STRATEGY, STRATEGIES[0])
    if st.session_state.get(_OWNER) != owner:
        st.session_state[_OWNER] = owner
        st.session_state[_CURRENT] = None
        st.session_state[_SKIPPED] = set()
        st.session_state[_HISTORY] = []


def _store_strategy() -> None:
    st.session_state[_STRATEGY] = st.session_state["hand_label.strategy"]
    st.session_state[_CURRENT] = None


# ---------------------------------------------------------------------------------------------- what is known


@dataclass(frozen=True)
class Context:
    """What the page knows about the rows: the LFs' votes, the models' probabilities, the graph.

    Any part may be missing (no LF yet, no graph yet); the page shows what there is.
    """

    names: list[str]
    L: np.ndarray | None
    L_extended: np.ndarray | None
    label_proba: np.ndarray | None
    covered: np.ndarray | None
    end_proba: np.ndarray | None
    graph: Any
    note: str = ""

    def queue_proba(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(proba, rows it does not rank)`` for "least certain": the end model's (every row) when fitted,
        else the label model's on the rows some LF votes on (elsewhere it only knows the prior)."""
        if self.end_proba is not None:
            return self.end_proba, None
        if self.label_proba is not None:
            return self.label_proba, ~self.covered
        return None, None


def _context(engine: Any, lfs: Sequence[BaseLF]) -> Context:
    names = [lf.name for lf in lfs]
    graph = None
    try:
        session = engine.session
    except ValueError as error:  # e.g. an uploaded .npy gone from the data dir
        session, note = None, str(error)
    else:
        note = "" if session is not None else "Build the embeddings and the graph (data page) to see neighbours."
    if session is not None:
        graph = session.graph
    if session is None or not lfs:
        L = np.column_stack([engine.votes(lf) for lf in lfs]) if lfs else None
        return Context(names, L, None, None, None, None, graph, note)
    results = engine.results(list(lfs))
    end = engine.end_model(results)
    end_proba = end.proba if end.proba is not None and not end.stale else None
    return Context(names, results.L, results.L_extended, results.proba, results.covered, end_proba, graph)


# ---------------------------------------------------------------------------------------------- tables


def _label_name(dataset: Dataset, row: int) -> str:
    if dataset.y[row] == ABSTAIN:
        return "—"
    return dataset.class_names[dataset.y[row]] + (" (hand)" if dataset.hand_labeled[row] else "")


def votes_table(dataset: Dataset, context: Context, row: int) -> pd.DataFrame:
    """One line per LF: its own vote on ``row`` and, where it abstains, the vote extension gives it."""
    names = dataset.class_names

    def name(vote: int) -> str:
        return "—" if vote == ABSTAIN else names[vote]

    own = [int(v) for v in context.L[row]] if context.L is not None else []
    extended = [int(v) for v in context.L_extended[row]] if context.L_extended is not None else [ABSTAIN] * len(own)
    return pd.DataFrame(
        {
            "LF": context.names,
            "own vote": [name(v) for v in own],
            "extended vote": [name(e) if o == ABSTAIN else "" for o, e in zip(own, extended, strict=True)],
        }
    ).set_index("LF")


def neighbours_table(dataset: Dataset, graph: Any, row: int, n: int = _NEIGHBOURS) -> pd.DataFrame:
    """The ``n`` nearest rows in the k-NN graph: similarity, text, and their label if they have one."""
    indices = np.asarray(graph.indices[row][:n], dtype=np.int64)
    similarities = np.asarray(graph.similarities[row][:n], dtype=float)
    return pd.DataFrame(
        {
            "row": indices,
            "similarity": similarities.round(3),
            "text": [dataset.texts[i][:300] for i in indices],
            "label": [_label_name(dataset, int(i)) for i in indices],
        }
    ).set_index("row")


# ---------------------------------------------------------------------------------------------- the page body


def _queue(dataset: Dataset, context: Context, strategy: str) -> tuple[np.ndarray, str]:
    """The next rows of the chosen queue (and a note when it had to fall back to random)."""
    exclude = dataset.dev_mask.copy()
    skipped = st.session_state[_SKIPPED]
    if skipped:
        exclude[np.fromiter(skipped, dtype=np.int64)] = True
    note = ""
    if strategy == "least certain":
        proba, unranked = context.queue_proba()
        if proba is None:
            strategy, note = "random", "“Least certain” needs LFs and the graph: showing random rows meanwhile."
        elif unranked is not None:
            exclude = exclude | unranked
            note = "Ranked by the label model on rows some LF votes on (the end model ranks every row once fitted)."
            order = queue_order(strategy, proba=proba, exclude=exclude, limit=_NEXT_UP + 1)
            if len(order) == 0:  # every voted row is labelled: go on with the others
                exclude = dataset.dev_mask.copy()
                strategy, note = "random", "Every row an LF votes on is labelled: showing random rows."
            else:
                return order, note
        else:
            return queue_order(strategy, proba=proba, exclude=exclude, limit=_NEXT_UP + 1), note
    if strategy == "LF disagreement":
        L = context.L_extended if context.L_extended is not None else context.L
        if L is None:
            strategy, note = "random", "“LF disagreement” needs LFs: showing random rows meanwhile."
        else:
            return queue_order(strategy, L=L, exclude=exclude, limit=_NEXT_UP + 1), note
    return queue_order("random", n_rows=len(dataset), exclude=exclude, limit=_NEXT_UP + 1), note


def _current(dataset: Dataset, order: np.ndarray) -> int | None:
    current = st.session_state[_CURRENT]
    if current is not None and 0 <= current < len(dataset) and not dataset.dev_mask[current]:
        if current not in st.session_state[_SKIPPED]:
            return int(current)
    return int(order[0]) if len(order) else None


def _prediction(dataset: Dataset, context: Context, row: int) -> None:
    names = dataset.class_names
    shown = False
    for what, proba in (("End model", context.end_proba), ("Label model", context.label_proba)):
        if proba is None:
            continue
        p = proba[row]
        best = int(np.argmax(p))
        if what == "Label model" and context.covered is not None and not context.covered[row]:
            st.metric(what, "no LF votes", help="The label model only knows the prior here.")
        else:
            st.metric(what, render.md(names[best]), f"confidence {p[best]:.0%}", delta_color="off", delta_arrow="off")
        shown = True
    if not shown:
        st.caption("No prediction yet: add LFs (and build the graph) to see one.")


def _buttons(dataset: Dataset, row: int) -> None:
    names = dataset.class_names
    columns = st.columns(len(names) + 2)
    for position, name in enumerate(names):
        shortcut = class_shortcut(position)
        columns[position].button(
            render.md(name),
            key=f"hand_label.class.{position}",
            type="primary",
            shortcut=shortcut,
            on_click=_label,
            args=(row, position),
            width="stretch",
            help=f"Label this row {name!r}" + (f" (key {shortcut})" if shortcut else ""),
        )
    columns[-2].button(
        "Skip",
        key="hand_label.skip",
        icon=":material/skip_next:",
        shortcut=SHORTCUT_SKIP,
        on_click=_skip,
        args=(row,),
        width="stretch",
    )
    columns[-1].button(
        "Undo",
        key="hand_label.undo",
        icon=":material/undo:",
        shortcut=SHORTCUT_UNDO,
        on_click=_undo,
        disabled=not st.session_state[_HISTORY],
        width="stretch",
    )


@st.fragment
def labeler() -> None:
    """The queue and the row being labelled (call it once per run of the hand-labeling page)."""
    state.rerun_page_if_requested()
    dataset = hand_labels.apply_saved()
    engine = project.engine()
    if dataset is None or engine is None:
        return
    _start(f"{project.name()}:{dataset.content_hash}")
    lfs = engine.active(project.lfs())
    context = _context(engine, lfs)

    n_hand = int(dataset.hand_labeled.sum())
    a, b, c = st.columns([1, 1, 2])
    a.metric("Dev rows (labeled)", f"{int(dataset.dev_mask.sum()):,}")
    b.metric("Hand-labelled", f"{n_hand:,}")
    with c:
        st.radio(
            "Queue",
            STRATEGIES,
            index=STRATEGIES.index(st.session_state[_STRATEGY]),
            key="hand_label.strategy",
            on_change=_store_strategy,
            horizontal=True,
            help="Least certain: where the model's two most likely classes are closest. LF disagreement: where "
            "the LFs vote for different classes. Random: an unbiased sample, for honest dev figures.",
        )
    order, note = _queue(dataset, context, st.session_state[_STRATEGY])
    if note:
        st.caption(render.md(note))
    if context.note:
        st.caption(render.md(context.note))
    row = _current(dataset, order)
    if row is None:
        st.success("Nothing left in this queue: every row it lists is labelled or skipped.")
        if st.session_state[_HISTORY]:
            st.button("Undo", key="hand_label.undo", icon=":material/undo:", shortcut=SHORTCUT_UNDO, on_click=_undo)
        return

    with st.container(border=True):
        st.caption(f"Row {row:,}" + ("" if dataset.spec.text_column is None else f" · {dataset.spec.text_column}"))
        text = dataset.texts[row]
        st.markdown(render.md(text[:_TEXT_CHARS]) if text else "*(empty)*")
        if len(text) > _TEXT_CHARS:
            st.caption(f"The first {_TEXT_CHARS:,} of {len(text):,} characters.")
        _buttons(dataset, row)
        keys = ", ".join(f"{class_shortcut(i)} = {n}" for i, n in enumerate(dataset.class_names) if class_shortcut(i))
        st.caption(render.md(f"Keys: {keys}; {SHORTCUT_SKIP} = skip, {SHORTCUT_UNDO} = undo."))

    left, right = st.columns([2, 1])
    with left:
        st.markdown("**Labeling functions on this row**")
        if context.names:
            st.dataframe(votes_table(dataset, context, row), width="stretch")
        else:
            st.caption("No switched-on LF yet.")
    with right:
        st.markdown("**Prediction**")
        _prediction(dataset, context, row)
    st.markdown("**Nearest neighbours** (k-NN graph)")
    if context.graph is not None:
        st.dataframe(neighbours_table(dataset, context.graph, row), width="stretch")
    else:
        st.caption("Build the embeddings and the graph on the data page to see them.")
    upcoming = [int(r) for r in order if int(r) != row][:_NEXT_UP]
    if upcoming:
        with st.expander("Next in the queue"):
            st.dataframe(
                pd.DataFrame({"row": upcoming, "text": [dataset.texts[r][:200] for r in upcoming]}).set_index("row"),
                width="stretch",
            )
