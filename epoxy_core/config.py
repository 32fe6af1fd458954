"""Where Epoxy Studio keeps its files: the data directory (workspaces, caches, numba's JIT cache).

Resolution order, first match wins:

1. ``$EPOXY_DATA_DIR``, when set (``~`` is expanded);
2. ``<checkout>/data`` when ``epoxy_core`` is imported from a source checkout (the folder above the
   package holds this project's ``pyproject.toml``), so developers keep everything beside the code;
3. the user data directory of the platform (``platformdirs.user_data_dir("epoxy-studio")``, e.g.
   ``~/.local/share/epoxy-studio`` on Linux), for a ``pip install``-ed package.

This module imports nothing heavy, so every other module may ask it for paths without import cycles.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "ENV_DATA_DIR", "checkout_root", "data_dir"]

APP_NAME = "epoxy-studio"
ENV_DATA_DIR = "EPOXY_DATA_DIR"


def checkout_root() -> Path | None:
    """The source checkout ``epoxy_core`` is imported from, or None for an installed package.

    A checkout is recognised by its ``pyproject.toml`` naming this project; an installed package lives in
    ``site-packages``, whose parent folder holds no such file.
    """
    root = Path(__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    try:
        return root if f'name = "{APP_NAME}"' in pyproject.read_text(encoding="utf-8") else None
    except OSError:
        return None


def data_dir() -> Path:
    """The directory for workspaces and caches (see the module docstring); not created here.

    Raises
    ------
    ValueError
        If ``$EPOXY_DATA_DIR`` names something that exists but is not a directory.
    """
    configured = os.environ.get(ENV_DATA_DIR)
    if configured:
        path = Path(configured).expanduser()
        if path.exists() and not path.is_dir():
            raise ValueError(
                f"{ENV_DATA_DIR} is {str(path)!r}, which is a file, not a folder. "
                "Point it at a folder (it is created if missing)."
            )
        return path
    root = checkout_root()
    if root is not None:
        return root / "data"
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
