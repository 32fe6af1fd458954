"""The package installs and runs outside the checkout: demo data inside the wheel, the console command, data dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Top-level folders that are not part of the package (the checkout's data/ holds workspaces and caches).
UNPACKAGED = {".git", ".venv", "data", "build", "dist", ".pytest_data", ".ruff_cache", "epoxy_studio.egg-info"}

CHECK_OUTSIDE_CHECKOUT = """
import sys
import epoxy_core, epoxy_studio
from epoxy_core import load_demo
from epoxy_core.config import checkout_root, data_dir
from epoxy_studio.launcher import APP_PATH
assert epoxy_core.__file__.startswith(sys.argv[1]), epoxy_core.__file__
assert checkout_root() is None
demo = load_demo("support_messages")
print(len(demo.df), data_dir(), APP_PATH.is_file(), (APP_PATH.parent / "app_pages" / "results.py").is_file())
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools writes build/ and *.egg-info into the folder it builds.
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=lambda folder, names: UNPACKAGED & set(names) if Path(folder) == ROOT else ())
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    (path,) = out.glob("epoxy_studio-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_holds_both_packages_the_demo_data_the_pages_and_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "epoxy_core/data/demo_files/support_messages.csv" in names
    assert "epoxy_studio/app.py" in names and "epoxy_studio/app_pages/labeling_functions.py" in names
    assert not any(name.startswith(("tests/", "bench/", "data/")) for name in names)
    assert "epoxy-studio = epoxy_studio.launcher:main" in entry_points


@pytest.mark.slow
def test_the_installed_package_works_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True
    )
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("EPOXY_DATA_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", CHECK_OUTSIDE_CHECKOUT, str(site)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows, data_dir, has_app, has_pages = result.stdout.split()
    assert int(rows) > 100 and has_app == has_pages == "True"
    assert Path(data_dir) == tmp_path / "xdg" / "epoxy-studio"


def test_every_public_name_resolves_from_the_top_level() -> None:
    import epoxy_core as ec

    assert sorted(ec.__all__) == sorted(ec._EXPORTS)
    for name in ec.__all__:
        assert getattr(ec, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        ec.no_such_name  # noqa: B018


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    # The command line and every Dask worker import epoxy_core: it must not pull in scikit-learn or numba.
    heavy = ("sklearn", "numba", "pynndescent", "onnxruntime", "pandas")
    code = f"import sys, epoxy_core; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
