"""Headless Debian Chromium and the Epoxy Studio server it drives: shared by the browser tests and benches.

The browser tests (``tests/app/test_browser.py``, ``tests/test_report.py``) and the browser benches
(``bench/browser_latency.py``, ``bench/app_memory.py``) start the same browser with the same flags and the same
server on a free port.  Selenium is imported only when a browser starts, so importing this module costs nothing
where selenium is absent (the tests then skip on :func:`installed`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["CHROMEDRIVER", "CHROMIUM", "FLAGS", "ROOT", "installed", "start_app_server", "start_chrome", "stop"]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
"""Flags for Debian's Chromium in a container: no GPU, no sandbox, nothing fetched in the background."""


def installed() -> bool:
    """Whether Debian's chromium and chromium-driver are installed."""
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def start_chrome(extra_flags: Sequence[str] = (), *, prefs: dict[str, Any] | None = None, log_browser: bool = False):
    """A headless Chromium WebDriver with :data:`FLAGS` plus ``extra_flags``.

    ``prefs`` are Chrome preferences (e.g. the download folder); ``log_browser`` keeps the console log
    (``driver.get_log("browser")``).
    """
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra_flags):
        options.add_argument(flag)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    if log_browser:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)


def start_app_server(data_dir: Path, log_path: Path, *, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """``python -m epoxy_studio`` (the ``epoxy-studio`` command) on a free port with ``data_dir``.

    Returns the process and its URL once ``/_stcore/health`` answers.  The server's output goes to
    ``log_path``.  Other work may edit the sources meanwhile, so the file watcher is off: a "file changed"
    banner would look like a running app.

    Raises
    ------
    RuntimeError
        If the server exits or is not healthy within ``timeout`` seconds (with its log).
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "EPOXY_DATA_DIR": str(data_dir), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    command = [sys.executable, "-m", "epoxy_studio", "--server.headless", "true", "--server.address", "127.0.0.1"]
    command += ["--server.port", str(port), "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    with open(log_path, "wb") as log:  # the child keeps its own handle
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return server, url
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise RuntimeError("streamlit did not become healthy:\n" + Path(log_path).read_text(errors="replace"))
        time.sleep(0.3)


def stop(server: subprocess.Popen) -> None:
    """Terminate ``server``, killing it after 10 s."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
