"""Memory of the running app (issue 11 part 5): the Streamlit server's RSS while a user works through every page.

Run from the project root (1-3 minutes; needs ``../shared`` for the spam data, Chromium and selenium)::

    .venv/bin/python bench/app_memory.py                       # YouTube spam, 1,836 rows, the default embedder
    .venv/bin/python bench/app_memory.py --embedder tfidf

A fresh server (``python -m epoxy_studio``) gets a fresh data dir seeded with the spam table and five keyword
LFs (the workspace API, as a user who uploaded them earlier would have left it).  Headless Chromium then opens
the home page, builds the embeddings and graph on the data page, types a draft LF on the LF page and opens the
results page; after each step the server's ``VmRSS`` (and at the end ``VmHWM``, the peak) is read from
``/proc/<pid>/status``.  The last figure is after 20 s idle on the results page.  Phase 0 measured 1.9 GB
idle with this table.  Load averages are printed with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import chromium  # noqa: E402 - the browser and server the browser tests use

SPAM = ROOT.parent / "shared" / "data" / "youtube_spam" / "youtube_spam.csv"


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


def _folded(text: str) -> str:
    """Lower-case letters and digits only, so a command-line fragment matches a radio label however it is spelt."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def seed(data_dir: Path) -> None:
    from epoxy_core.data import DatasetSpec
    from epoxy_core.lf import KeywordLF, RegexLF, lf_to_dict
    from epoxy_core.workspace import Workspace

    ws = Workspace(data_dir)
    ws.create_project("default")
    df = pd.read_csv(SPAM)
    ws.save_dataset("default", df, DatasetSpec("text", "label", split_column="split"), SPAM.name)
    lfs = [
        KeywordLF("subscribe", 1, ["subscribe"]),
        KeywordLF("http", 1, ["http"], whole_word=False),
        KeywordLF("please", 1, ["please", "plz"]),
        KeywordLF("song", 0, ["song"]),
        RegexLF("check out", 1, r"check.*out"),
    ]
    ws.save_lfs("default", [lf_to_dict(lf) for lf in lfs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default=None, help="radio label fragment to pick (default: the page's default)")
    args = parser.parse_args()
    if not SPAM.exists():
        raise SystemExit(f"{SPAM} is missing")
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    tmp = Path(tempfile.mkdtemp(prefix="epoxy-app-memory-"))
    seed(tmp / "data")
    server, url = chromium.start_app_server(tmp / "data", tmp / "streamlit.log", timeout=90)
    figures: list[tuple[str, dict[str, int]]] = []

    def record(step: str) -> None:
        figures.append((step, status(server.pid)))
        load = os.getloadavg()[0]
        print(f"{step:<48} RSS {figures[-1][1]['VmRSS']:>6,} MiB   (load {load:.1f})", flush=True)

    def wait(driver, timeout: float = 300) -> WebDriverWait:
        return WebDriverWait(driver, timeout, poll_frequency=0.25, ignored_exceptions=[StaleElementReferenceException])

    def idle(driver) -> None:
        time.sleep(0.5)
        wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'))

    def text_shown(driver, text: str, timeout: float = 300) -> None:
        wait(driver, timeout).until(lambda d: text in d.find_element(By.TAG_NAME, "body").text)
        idle(driver)

    def nav(driver, label: str) -> None:
        links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"] a')
        next(link for link in links if label in link.text).click()
        wait(driver).until(lambda d: any(h.text.strip() == label for h in d.find_elements(By.TAG_NAME, "h1")))
        idle(driver)

    def click(driver, label: str) -> None:
        def button(d):
            found = d.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] button')
            return next((b for b in found if b.text.strip() == label and b.is_displayed()), False)

        target = wait(driver).until(button)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", target)
        target.click()
        idle(driver)

    driver = None
    try:
        record("server started")
        driver = chromium.start_chrome(["--window-size=1400,1800"])
        driver.get(url)
        text_shown(driver, "Open the results page")
        record("home page (dataset loaded from the workspace)")
        nav(driver, "Data & embeddings")
        if args.embedder:
            labels = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] [data-testid="stRadio"] label')
            wanted = _folded(args.embedder)  # "tfidf" picks "TF-IDF (word + char n-grams ...)"
            matching = [label for label in labels if wanted in _folded(label.text)]
            if not matching:
                shown = "; ".join(label.text for label in labels if label.text.strip())
                raise SystemExit(f"--embedder {args.embedder!r} matches none of the page's embedders: {shown}")
            matching[0].click()
            idle(driver)
        started = time.perf_counter()
        click(driver, "Build embeddings and graph")
        text_shown(driver, "Graph built with", timeout=900)
        record(f"embeddings + graph built ({time.perf_counter() - started:.0f} s)")
        nav(driver, "Labeling functions")
        field = driver.find_element(By.CSS_SELECTOR, '[data-testid="stMain"] input[aria-label="Name"]')
        field.send_keys("my", Keys.ENTER)
        idle(driver)
        field = driver.find_element(
            By.CSS_SELECTOR,
            '[data-testid="stMain"] input[aria-label="Keywords, comma-separated (literal text, not regex)"]',
        )
        field.send_keys("my", Keys.ENTER)
        text_shown(driver, "Coverage")
        record("LF page with a draft preview")
        nav(driver, "Extension & results")
        text_shown(driver, "Label quality on dev labels")
        time.sleep(3)
        idle(driver)
        record("results page")
        time.sleep(20)
        record("results page, 20 s idle")
        print(f"peak (VmHWM) {status(server.pid)['VmHWM']:,} MiB")
    finally:
        if driver is not None:
            driver.quit()
        chromium.stop(server)


if __name__ == "__main__":
    main()
