"""The ``epoxy-studio`` command: start the Streamlit app that ships inside this package.

``epoxy-studio [streamlit options]`` is ``streamlit run <installed app.py>`` with the options below, so an
installed package runs from any folder.  Options given on the command line win, e.g.
``epoxy-studio --server.port 8600``.  ``.streamlit/config.toml`` in a source checkout holds the same values
for developers who run ``streamlit run epoxy_studio/app.py`` (a test keeps the two in step).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["APP_PATH", "STREAMLIT_OPTIONS", "main", "streamlit_argv"]

APP_PATH = Path(__file__).resolve().parent / "app.py"

STREAMLIT_OPTIONS: dict[str, str] = {
    # Localhost only: nothing in the app authenticates (README, "Limits and guarantees").
    "server.address": "127.0.0.1",
    "server.maxUploadSize": "200",
    "browser.gatherUsageStats": "false",
    # A local tool has nothing to deploy: hide Streamlit's "Deploy" button.
    "client.toolbarMode": "minimal",
    "theme.primaryColor": "#2171b5",
    # No "magic": a bare expression in a page (e.g. a property read for its side effect) must not be drawn.
    "runner.magicEnabled": "false",
    # No full garbage collection after every script run: it walks every object the process holds (~400,000
    # after the imports, ~250 ms here) before the run counts as finished, on every slider move and keystroke.
    # Python's own generational collector still frees cycles; epoxy_studio/memory.py keeps its rare full
    # passes short (bench/browser_latency.py).
    "runner.postScriptGC": "false",
}


def streamlit_argv(extra: list[str]) -> list[str]:
    """The ``streamlit run`` command line for ``extra`` user arguments (which override the defaults).

    >>> streamlit_argv(["--server.port", "8600"])[:3] == ["streamlit", "run", str(APP_PATH)]
    True
    """
    given = {arg.split("=", 1)[0].removeprefix("--") for arg in extra if arg.startswith("--")}
    defaults = [f"--{key}={value}" for key, value in STREAMLIT_OPTIONS.items() if key not in given]
    return ["streamlit", "run", str(APP_PATH), *defaults, *extra]


def main(argv: list[str] | None = None) -> int:
    """Run the app; returns Streamlit's exit code."""
    from streamlit.web import cli as streamlit_cli

    sys.argv = streamlit_argv(list(sys.argv[1:] if argv is None else argv))
    return int(streamlit_cli.main() or 0)


if __name__ == "__main__":
    raise SystemExit(main())
