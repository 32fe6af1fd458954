"""The threshold block: one slider per active LF and a "set every LF" slider, each saved the moment it moves.

Thresholds live in the project settings (``ProjectSettings.thresholds``, ``None`` = no extension); the sliders
only mirror them, so leaving the page, another tab or a restart loses nothing.  Every change is saved as a
merge of the LFs it touches, so two tabs moving different sliders both keep their change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import streamlit as st

from epoxy_core.lf import BaseLF
from epoxy_core.settings import ProjectSettings
from epoxy_studio import project, render

__all__ = ["ALL_KEY", "OFF", "option_label", "options_with", "slider_key", "sliders", "to_setting", "to_slider"]

OFF = math.inf
"""Slider value meaning "do not extend this LF"."""
ALL_KEY = "results.threshold_all"
_GRID = [round(x / 100, 2) for x in range(0, 101)] + [OFF]


def slider_key(lf_name: str) -> str:
    """The widget key of an LF's threshold slider."""
    return f"results.threshold.{lf_name}"


def option_label(value: float) -> str:
    """How a slider shows a threshold.

    >>> option_label(OFF), option_label(0.0), option_label(0.8125)
    ('off', '0', '0.812')
    """
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
    """The slider grid, plus ``value`` in order if it is off the grid (a tuned threshold)."""
    return _GRID if value in _GRID else [*sorted([*_GRID[:-1], value]), OFF]


def _store(lf_name: str) -> None:
    project.update_settings(thresholds={lf_name: to_setting(st.session_state[slider_key(lf_name)])})


def _store_all(names: tuple[str, ...]) -> None:
    chosen = to_setting(st.session_state[ALL_KEY])
    project.update_settings(thresholds=dict.fromkeys(names, chosen), default_threshold=chosen)


def sliders(lfs: Sequence[BaseLF], settings: ProjectSettings) -> None:
    """Draw the set-all slider and one slider per LF in ``lfs``; every change is saved at once."""
    names = tuple(lf.name for lf in lfs)
    chosen = to_slider(settings.default_threshold)
    st.session_state[ALL_KEY] = chosen  # the saved value wins over the widget's memory (another tab, tuning)
    st.select_slider(
        "Set every LF's threshold to",
        options_with(chosen),
        format_func=option_label,
        key=ALL_KEY,
        on_change=_store_all,
        args=(names,),
    )
    columns = st.columns(2)
    for i, lf_name in enumerate(names):
        value = to_slider(settings.threshold_for(lf_name))
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
