"""The threshold block: one slider per active LF and a "set every LF" slider, each saved the moment it moves.

Thresholds live in the project settings (``ProjectSettings.thresholds``, ``None`` = no extension); the sliders
only mirror them, so leaving the page, another tab or a restart loses nothing.  Every change is saved as a
merge of the LFs it touches, so two tabs moving different sliders both keep their change.  The set-all slider
shows the LFs' common threshold, or "per LF" when they differ (after a per-LF tuning, or one slider moved).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import streamlit as st

from epoxy_core.lf import BaseLF
from epoxy_core.settings import ProjectSettings
from epoxy_studio import project, render

__all__ = [
    "ALL_KEY",
    "MIXED",
    "OFF",
    "common_value",
    "option_label",
    "options_with",
    "slider_key",
    "sliders",
    "to_setting",
    "to_slider",
]

OFF = math.inf
"""Slider value meaning "do not extend this LF"."""
MIXED = -math.inf
"""Set-all slider value meaning "the LFs have different thresholds" (choosing it changes nothing)."""
ALL_KEY = "results.threshold_all"
_GRID = [round(x / 100, 2) for x in range(0, 101)] + [OFF]


def slider_key(lf_name: str) -> str:
    """The widget key of an LF's threshold slider."""
    return f"results.threshold.{lf_name}"


def option_label(value: float) -> str:
    """How a slider shows a threshold.

    >>> option_label(OFF), option_label(0.0), option_label(0.8125), option_label(MIXED)
    ('off', '0', '0.812', 'per LF')
    """
    if value == MIXED:
        return "per LF"
    return "off" if value == OFF else f"{value:.3g}"


def to_slider(value: float | None) -> float:
    """A stored threshold as a slider value: None = off; tuned values stay exact (not rounded to the grid).

    >>> to_slider(None), to_slider(0.0), to_slider(-0.2)
    (inf, 0.0, 0.0)
    """
    if value is None or not math.isfinite(value):
        return OFF
    return min(max(float(value), 0.0), 1.0)


def to_setting(value: float) -> float | None:
    """A slider value as stored: off is None, 0.0 stays 0.0.

    >>> to_setting(OFF), to_setting(0.0), to_setting(0.55)
    (None, 0.0, 0.55)
    """
    return None if value == OFF else float(value)


def options_with(value: float) -> list[float]:
    """The slider grid, plus ``value`` in order if it is off the grid (a tuned threshold), or "per LF" first.

    >>> options_with(MIXED)[:2], options_with(0.333)[33:35]
    ([-inf, 0.0], [0.33, 0.333])
    """
    if value == MIXED:
        return [MIXED, *_GRID]
    return _GRID if value in _GRID else [*sorted([*_GRID[:-1], value]), OFF]


def common_value(values: Sequence[float], default: float) -> float:
    """The set-all slider's value: the one slider value all LFs share, ``default`` without LFs, else MIXED.

    >>> common_value([0.7, 0.7], 0.8), common_value([], 0.8), common_value([0.7, OFF], 0.8) == MIXED
    (0.7, 0.8, True)
    """
    distinct = set(values)
    if not distinct:
        return default
    return distinct.pop() if len(distinct) == 1 else MIXED


def _store(lf_name: str) -> None:
    project.update_settings(thresholds={lf_name: to_setting(st.session_state[slider_key(lf_name)])})


def _store_all(names: tuple[str, ...]) -> None:
    if st.session_state[ALL_KEY] == MIXED:  # "per LF" is what the LFs have already
        return
    chosen = to_setting(st.session_state[ALL_KEY])
    project.update_settings(thresholds=dict.fromkeys(names, chosen), default_threshold=chosen)


def sliders(lfs: Sequence[BaseLF], settings: ProjectSettings) -> None:
    """Draw the set-all slider and one slider per LF in ``lfs``; every change is saved at once."""
    names = tuple(lf.name for lf in lfs)
    values = [to_slider(settings.threshold_for(name)) for name in names]
    chosen = common_value(values, to_slider(settings.default_threshold))
    st.session_state[ALL_KEY] = chosen  # the saved state wins over the widget's memory (another tab, tuning)
    st.select_slider(
        "Set every LF's threshold to",
        options_with(chosen),
        format_func=option_label,
        key=ALL_KEY,
        on_change=_store_all,
        args=(names,),
    )
    columns = st.columns(2)
    for i, (lf_name, value) in enumerate(zip(names, values, strict=True)):
        st.session_state[slider_key(lf_name)] = value
        columns[i % 2].select_slider(
            render.md(lf_name),  # a widget label is markdown: LF names are shown literally
            options_with(value),
            format_func=option_label,
            key=slider_key(lf_name),
            on_change=_store,
            args=(lf_name,),
            help="Minimum cosine similarity to the nearest row the LF votes on, to copy its vote",
        )
