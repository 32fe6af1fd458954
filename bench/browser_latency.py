"""Latency of the app in a real browser (issue 11 part 3): slider release, LF keystroke and *Add LF*, as users see it.

Run from the project root (needs Chromium, chromedriver and selenium; measured at load 7-11 on this 2-core
machine: 10k rows ~7 minutes, 100k rows ~14 minutes, of which ~3 minutes build the k-NN graph and ~3 the app's
first results page)::

    nice -n 5 .venv/bin/python -u bench/browser_latency.py --rows 10000 100000 --repeats 5
    nice -n 5 .venv/bin/python -u bench/browser_latency.py --rows 10000 --no-end-model   # label model only

``--quiet`` prints only each size's summary.  The server's peak RSS is printed with the figures.

For each size a synthetic table is made (no ``../shared`` needed): ``rows`` short texts drawn from 40 topics
(each a class, ham or spam, with 10% of rows flipped), 1% of rows carrying a dev label, and precomputed
random-but-clustered 384-d embeddings (a unit centre per topic plus noise, so the k-NN graph has the structure
real embeddings have).  Running a text model over 100,000 rows is what the embedder benches time; here the
embeddings are stored as an uploaded ``.npy`` (``save_npy_upload``, what the data page does with an upload) and
the k-NN graph is built ahead (``cached_knn_graph`` into the data dir's cache, so the app reads it from disk).
The workspace gets the table, five keyword LFs and settings saying the graph is built (app defaults otherwise:
threshold 0.8, the end model on).  A fresh server (``python -m epoxy_studio``, its own ``EPOXY_DATA_DIR``, a
free port) is then driven by headless Debian Chromium through selenium.

What is timed, in the page (``performance.now()`` on both ends, so WebDriver round trips do not count):

- **start**: the ``timeStamp`` of the user's event: the ``pointerup`` that releases the slider thumb, the
  ``keydown`` of Enter that commits the LF draft's text box (Streamlit sends a text box on Enter), the
  ``click`` on *Add LF*;
- **settled**: the first check (every 5 ms, by ``setInterval`` in the page) at which (1) the server has sent a
  ``script_finished`` message (a full run or a fragment run that finished, read off the app's WebSocket) after
  the start, (2) ``[data-testid="stApp"]`` says ``data-test-script-state="notRunning"``, (3) no
  ``[data-testid="stStatusWidget"]`` is showing (one in its exit transition counts as gone), (4) no element is
  marked ``data-stale="true"``, and (5) the watched text changed: the export caption "N% of rows get a label
  from the LFs (after extension)" (straight from the label model's results) for the slider; the draft's four
  metrics for a keystroke; for *Add LF*, the new LF's threshold slider and a changed caption on the results page.

(a) **slider**: on the results page, drag the "Set every LF's threshold to" thumb to a new value (each repeat
a value not used before, so no cached results) and release.  (b) **keystroke**: on the LF page, type
", <word>" into the draft's keywords (a new word each repeat) and press Enter.  (c) **Add LF**: fill a new
draft, click *Add LF*; timed until the LF page has settled with it listed, and then (the script clicks the
results page link at once) until the results page shows it.  Background work that lands later (the end model,
above 20,000 rows the exact nearest voters) is awaited between repeats and reported as "background done"
(polled through WebDriver from 0.3 s after the step: the first poll that sees the page idle, so it reads high by
at most one poll, a WebDriver round trip plus 50 ms).

Baselines, in the same run: (a, b) a no-op rerun of the same page (the "r" key: Streamlit reruns with nothing
changed, every cache hit), settled by conditions 1-4; (c) opening the results page from the LF page with
nothing changed.  ``uptime``'s load is printed before and after each size: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import chromium  # noqa: E402 - the browser and server the browser tests use

DIM = 384
N_TOPICS = 40
WORDS_PER_TOPIC = 10
KEYWORDS_LABEL = "Keywords, comma-separated (literal text, not regex)"
SLIDER_LABEL = "Set every LF's threshold to"
BACKGROUND_TEXTS = ("End model updating", "Refining nearest voters", "stale, updating")
# Thresholds the slider is moved to, in order: all distinct and none the seeded 0.8, so every move is new work.
SLIDER_VALUES = [0.5, 0.9, 0.55, 0.95, 0.6, 0.85, 0.65, 0.75, 0.7, 0.45, 0.4, 0.35]

# --------------------------------------------------------------------------------------------- the page harness

# Installed before any page script runs (CDP Page.addScriptToEvaluateOnNewDocument).  It records the
# script_finished messages of Streamlit's WebSocket (ForwardMsg field 6, a varint: 0 full run finished,
# 2 finished early for a rerun, 3 fragment run finished) and times one armed interaction at a time.
HARNESS = r"""
(() => {
  if (window.__bench) return;
  const B = window.__bench = {finished: [], t0: null, t1: null, armed: null, watch: null, timer: null};
  function finishedStatus(bytes) {
    let i = 0;
    const varint = () => { let v = 0, s = 0, b; do { b = bytes[i++]; v += (b & 0x7f) * 2 ** s; s += 7; }
                           while (b & 0x80 && i < bytes.length); return v; };
    while (i < bytes.length) {
      const key = varint(), field = Math.floor(key / 8), wire = key & 7;
      if (wire === 0) { const v = varint(); if (field === 6) return v; }
      else if (wire === 2) { const n = varint(); i += n; }  // i += varint() would add to the old i
      else if (wire === 1) { i += 8; }
      else if (wire === 5) { i += 4; }
      else return null;
    }
    return null;
  }
  const Native = window.WebSocket;
  class Recorded extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (!(event.data instanceof ArrayBuffer)) return;
        const bytes = new Uint8Array(event.data);
        const status = finishedStatus(bytes);
        if (status !== null) B.finished.push([performance.now(), status]);
      });
    }
  }
  window.WebSocket = Recorded;
  B.text = (selector, contains) => {
    const found = [...document.querySelectorAll(selector)].map((e) => e.innerText)
      .filter((t) => !contains || t.includes(contains));
    return found.join('\n');
  };
  B.running = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return true;
    const widget = document.querySelector('[data-testid="stStatusWidget"]');
    if (widget && !String(widget.className).includes('StatusWidget-exit')) return true;
    return document.querySelector('[data-stale="true"]') !== null;
  };
  B.check = () => {
    if (B.t0 === null || B.t1 !== null) return;
    if (!B.finished.some(([t, s]) => t > B.t0 && (s === 0 || s === 3))) return;
    if (B.running()) return;
    const w = B.watch;
    if (w) {
      const now = B.text(w.selector, w.contains);
      if (w.before !== null && now === w.before) return;
      if (w.needs && !w.needs.every((n) => document.body.innerText.includes(n))) return;
    }
    B.t1 = performance.now();
    clearInterval(B.timer);
  };
  B.listener = (event) => {
    const a = B.armed;
    if (!a || B.t0 !== null || event.type !== a.type || (a.key && event.key !== a.key)) return;
    B.t0 = event.timeStamp;
    B.timer = setInterval(B.check, 5);
  };
  for (const type of ['pointerup', 'keydown', 'click']) document.addEventListener(type, B.listener, true);
  // type: the starting event; watch: {selector, contains, before (null: no change needed), needs}.
  B.arm = (type, key, watch) => {
    clearInterval(B.timer);
    B.t0 = null; B.t1 = null; B.armed = {type, key}; B.watch = watch;
    if (watch && watch.before === undefined) watch.before = B.text(watch.selector, watch.contains);
  };
  // For a second leg (navigation after Add LF): keep t0, wait for new conditions from now on.
  B.rewatch = (watch) => {
    B.realT0 = B.t0; B.t0 = performance.now(); B.t1 = null; B.watch = watch;
    B.timer = setInterval(B.check, 5);
  };
  B.result = () => ({t0: B.t0, t1: B.t1, now: performance.now()});
})();
"""


# --------------------------------------------------------------------------------------------- synthetic data


def _words(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct pronounceable made-up words (so keyword LFs match exactly the rows drawn with them)."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(list(consonants)) + rng.choice(list(vowels)) for _ in range(3)))
    return sorted(out)


def make_table(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, list[list[str]]]:
    """A ham/spam table of ``n_rows`` texts, its clustered 384-d embeddings and each topic's words.

    Each row belongs to one of :data:`N_TOPICS` topics; its text is mostly its topic's words plus common
    filler words; its class is the topic's class flipped for 10% of rows; 1% of rows carry that label (dev).
    Its embedding is the topic's random unit centre plus Gaussian noise of a per-row scale, so neighbour
    similarities spread over the slider's range.
    """
    rng = np.random.default_rng(seed)
    vocabulary = _words(N_TOPICS * WORDS_PER_TOPIC + 200, rng)
    topic_words = [vocabulary[t * WORDS_PER_TOPIC : (t + 1) * WORDS_PER_TOPIC] for t in range(N_TOPICS)]
    filler = np.array(vocabulary[N_TOPICS * WORDS_PER_TOPIC :])
    topic_class = np.arange(N_TOPICS) % 2  # 0 ham, 1 spam
    topics = rng.integers(0, N_TOPICS, n_rows)
    n_topic = rng.integers(3, 7, n_rows)
    n_filler = rng.integers(3, 9, n_rows)
    texts = []
    for t, a, b in zip(topics, n_topic, n_filler, strict=True):
        words = list(rng.choice(topic_words[t], a)) + list(rng.choice(filler, b))
        rng.shuffle(words)
        texts.append(" ".join(words))
    y = np.where(rng.random(n_rows) < 0.1, 1 - topic_class[topics], topic_class[topics])
    dev = rng.random(n_rows) < 0.01
    label = np.where(dev, np.array(["ham", "spam"])[y], "")
    centres = rng.standard_normal((N_TOPICS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    scale = rng.uniform(0.6, 1.6, (n_rows, 1)).astype(np.float32) / np.sqrt(DIM)
    embeddings = centres[topics] + scale * rng.standard_normal((n_rows, DIM), dtype=np.float32)
    df = pd.DataFrame({"row_id": np.arange(n_rows), "text": texts, "label": label})
    return df, embeddings.astype(np.float32), topic_words


def seed_workspace(
    data_dir: Path, df: pd.DataFrame, embeddings: np.ndarray, topic_words: list[list[str]], *, end_model: bool = True
) -> float:
    """Store the table, five keyword LFs, the ``.npy`` embeddings and the graph; returns the graph build seconds."""
    import io

    os.environ["EPOXY_DATA_DIR"] = str(data_dir)  # the array cache the app reads the graph from
    from epoxy_core.data import DatasetSpec
    from epoxy_core.embed import embed_source, save_npy_upload
    from epoxy_core.lf import KeywordLF, lf_to_dict
    from epoxy_core.neighbors import cached_knn_graph
    from epoxy_core.workspace import Workspace

    ws = Workspace(data_dir)
    ws.create_project("default")
    ws.save_dataset("default", df, DatasetSpec("text", "label"), "synthetic.csv")
    lfs = [KeywordLF(f"topic{t}", t % 2, topic_words[t][:2]) for t in (0, 1, 2, 3, 5)]  # ham, spam, ham, spam, spam
    ws.save_lfs("default", [lf_to_dict(lf) for lf in lfs])
    buffer = io.BytesIO()
    np.save(buffer, embeddings, allow_pickle=False)
    npy_dir = data_dir / "uploads"
    source = save_npy_upload(buffer.getvalue(), len(df), npy_dir=npy_dir)
    vectors = embed_source(source, df, None, npy_dir=npy_dir)
    started = time.perf_counter()
    cached_knn_graph(vectors, n_neighbors=30)
    seconds = time.perf_counter() - started
    changes = {"embedding": source.to_dict(), "graph_built": True, "n_neighbors": 30, "end_model": end_model}
    ws.update_settings("default", changes)
    return seconds


# --------------------------------------------------------------------------------------------- server and browser


def start_browser():
    driver = chromium.start_chrome(["--window-size=1400,1800"])
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HARNESS})
    return driver


class Page:
    """The few things the bench does to the app, with waits that tolerate Streamlit replacing elements."""

    def __init__(self, driver, quiet: bool):
        from selenium.webdriver.common.by import By

        self.driver = driver
        self.by = By
        self.quiet = quiet

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"  · {text}", flush=True)

    def wait(self, condition, timeout: float = 120, what: str = "condition"):
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        deadline = time.monotonic() + timeout
        while True:
            try:
                value = condition()
                if value:
                    return value
            except (StaleElementReferenceException, StopIteration):
                pass
            except WebDriverException as error:
                if "stale" not in str(error).lower():
                    raise
            if time.monotonic() > deadline:
                self.driver.save_screenshot(str(Path(tempfile.gettempdir()) / "browser_latency_timeout.png"))
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.05)

    def body(self) -> str:
        return self.driver.find_element(self.by.TAG_NAME, "body").text

    def idle(self, timeout: float = 600) -> float:
        """Wait until no run is going on and nothing in the background is pending (end model, exact voters).

        Returns the ``time.perf_counter()`` at which the page was first seen idle (before the trailing pause).
        """
        time.sleep(0.3)

        def quiet() -> float | None:
            if self.driver.execute_script("return window.__bench.running()"):
                return None
            body = self.body()
            if any(text in body for text in BACKGROUND_TEXTS):
                return None
            return time.perf_counter()

        seen = self.wait(quiet, timeout, "the page to be idle")
        time.sleep(0.3)  # let the page settle before the next interaction
        return seen

    def nav(self, label: str) -> None:
        links = self.driver.find_elements(self.by.CSS_SELECTOR, '[data-testid="stSidebarNav"] a')
        next(link for link in links if label in link.text).click()

    def on_page(self, title: str) -> bool:
        return any(h.text.strip() == title for h in self.driver.find_elements(self.by.TAG_NAME, "h1"))

    def input(self, aria_label: str):
        field = self.wait(
            lambda: self.driver.find_element(
                self.by.CSS_SELECTOR, f'[data-testid="stMain"] input[aria-label="{aria_label}"]'
            ),
            60,
            f"the {aria_label!r} box",
        )
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
        return field

    def button(self, label: str):
        def find():
            buttons = self.driver.find_elements(self.by.CSS_SELECTOR, '[data-testid="stMain"] button')
            return next((b for b in buttons if b.text.strip() == label and b.is_displayed()), False)

        target = self.wait(find, 120, f"the {label!r} button")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", target)
        return target

    def arm(self, event: str, key: str | None, watch: dict | None) -> None:
        self.driver.execute_script("window.__bench.arm(arguments[0], arguments[1], arguments[2])", event, key, watch)

    def timed(self, timeout: float = 300) -> float:
        """Milliseconds from the armed event to the settled page."""

        def done():
            result = self.driver.execute_script("return window.__bench.result()")
            return result if result["t1"] is not None else False

        result = self.wait(done, timeout, "the page to settle")
        return result["t1"] - result["t0"]


# --------------------------------------------------------------------------------------------- the measurements

CAPTION = {"selector": '[data-testid="stMain"] [data-testid="stCaptionContainer"]', "contains": "of rows get a label"}
METRICS = {"selector": '[data-testid="stMain"] [data-testid="stMetric"]', "contains": None}


def noop_rerun(page: Page) -> float:
    """A rerun with nothing changed: Streamlit's "r" shortcut (focus on the page, not in a text box)."""
    page.driver.execute_script("document.activeElement && document.activeElement.blur()")
    page.arm("keydown", "r", None)
    page.driver.find_element(page.by.TAG_NAME, "body").send_keys("r")
    return page.timed()


def slider_release(page: Page, value: float) -> tuple[float, str]:
    """Drag the set-all threshold thumb to ``value``'s position and release; returns (ms, value landed on)."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver = page.driver
    slider = page.wait(
        lambda: next(
            s
            for s in driver.find_elements(page.by.CSS_SELECTOR, '[data-testid="stMain"] [data-testid="stSlider"]')
            if SLIDER_LABEL in s.text
        ),
        60,
        "the set-all slider",
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
    # The thumb is the positioned box around the slider's <input type="range">; its parent is the track.
    # Options are 0.00 ... 1.00 and "off": index i sits at i / 101 of the track.
    thumb, track_left, track_width, thumb_x = driver.execute_script(
        "const t = arguments[0].querySelector('input[type=range]').parentElement.parentElement;"
        "const r = t.parentElement.getBoundingClientRect(), b = t.getBoundingClientRect();"
        "return [t, r.left, r.width, b.left + b.width / 2];",
        slider,
    )
    target_x = track_left + track_width * round(value * 100) / 101
    page.arm("pointerup", None, dict(CAPTION))
    ActionChains(driver, duration=50).click_and_hold(thumb).move_by_offset(
        round(target_x - thumb_x), 0
    ).release().perform()
    ms = page.timed()
    landed = driver.execute_script(
        'return document.querySelector(\'[data-testid="stMain"] [data-testid="stSlider"] input[type=range]\')'
        ".getAttribute('aria-valuetext')"
    )
    return ms, str(landed)


def keystroke(page: Page, word: str) -> float:
    """Type ", <word>" into the draft's keywords and press Enter; ms from the Enter to the updated preview."""
    from selenium.webdriver.common.keys import Keys

    field = page.input(KEYWORDS_LABEL)
    field.click()
    field.send_keys(Keys.END, f", {word}")
    page.arm("keydown", "Enter", dict(METRICS))
    field.send_keys(Keys.ENTER)
    return page.timed()


def fill_draft(page: Page, name: str, keywords: str) -> None:
    """Put a draft into the LF form (not timed) and wait for its preview."""
    from selenium.webdriver.common.keys import Keys

    for label, text in (("Name", name), (KEYWORDS_LABEL, keywords)):
        field = page.input(label)
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE, text, Keys.ENTER)
        page.idle()
    page.wait(lambda: "Coverage" in page.body(), 120, "the draft preview")
    page.idle()


def add_lf(page: Page, name: str) -> tuple[float, float]:
    """Click *Add LF*, then open the results page; (ms until the LF page lists it, ms until the results show it)."""
    driver = page.driver
    target = page.button("Add LF")
    page.arm(
        "click",
        None,
        {"selector": '[data-testid="stMain"]', "contains": None, "before": None, "needs": [f"{name}: keywords"]},
    )
    target.click()
    on_lf_page = page.timed()
    # The new LF's threshold slider is drawn in the same script run as the results it changes.
    driver.execute_script(
        "window.__bench.rewatch(arguments[0])",
        {
            "selector": '[data-testid="stMain"] h1',
            "contains": None,
            "before": None,
            "needs": ["Label quality on dev", name],
        },
    )
    page.nav("Extension & results")
    page.wait(lambda: driver.execute_script("return window.__bench.t1 !== null"), 600, "the results with the new LF")
    total = driver.execute_script("return window.__bench.t1 - window.__bench.realT0")
    return on_lf_page, total


def open_results(page: Page) -> float:
    """From the LF page to the results page with nothing changed (ms from the link click to the settled page)."""
    link = next(
        a
        for a in page.driver.find_elements(page.by.CSS_SELECTOR, '[data-testid="stSidebarNav"] a')
        if "Extension & results" in a.text
    )
    page.arm("click", None, {**CAPTION, "before": None, "needs": ["Label quality on dev labels"]})
    link.click()
    return page.timed()


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def run_size(
    n_rows: int, repeats: int, quiet: bool, end_model: bool = True, settle: float = 90
) -> dict[str, list[float]]:
    tmp = Path(tempfile.mkdtemp(prefix=f"epoxy-browser-{n_rows}-"))
    model = "end model on" if end_model else "end model off"
    print(f"\n=== {n_rows:,} rows x {DIM} dims (5 keyword LFs, {model}; data dir {tmp}) ===", flush=True)
    print(f"load before: {load()}", flush=True)
    started = time.perf_counter()
    df, embeddings, topic_words = make_table(n_rows)
    graph_seconds = seed_workspace(tmp / "data", df, embeddings, topic_words, end_model=end_model)
    del embeddings
    print(
        f"seeded in {time.perf_counter() - started:.1f} s (k-NN graph {graph_seconds:.1f} s, in this process)",
        flush=True,
    )
    server_started = time.perf_counter()
    server, url = chromium.start_app_server(tmp / "data", tmp / "streamlit.log")
    driver = None
    figures: dict[str, list[float]] = {}
    notes: list[str] = []
    try:
        driver = start_browser()
        page = Page(driver, quiet)
        driver.get(url)
        page.wait(lambda: "Open the results page" in page.body(), 180, "the home page")
        page.idle()
        first = time.perf_counter()
        page.nav("Extension & results")
        page.wait(lambda: "Label quality on dev labels" in page.body(), 900, "the first results")
        page.idle()
        print(
            f"first results page (session from the cached graph, first fits, background work): "
            f"{time.perf_counter() - first:.1f} s",
            flush=True,
        )
        # The server compiles PyNNDescent's and umap-learn's kernels in background threads for its first
        # ~30-60 s; numba's compiler holds the GIL, so interactions then are slower than afterwards.
        wait = settle - (time.perf_counter() - server_started)
        if wait > 0:
            print(f"waiting {wait:.0f} s more for the server's background compilers (--settle {settle:.0f})")
            time.sleep(wait)

        for _ in range(repeats):
            figures.setdefault("a baseline: no-op rerun, results page", []).append(noop_rerun(page))
            page.idle()
        for i in range(repeats):
            ms, landed = slider_release(page, SLIDER_VALUES[i % len(SLIDER_VALUES)])
            figures.setdefault("a slider release -> results updated", []).append(ms)
            t = time.perf_counter()
            figures.setdefault("a   background done after (end model, exact voters)", []).append(
                ms + 1000 * (page.idle() - t)
            )
            page.say(f"slider at {landed}: {ms:.0f} ms")

        page.nav("Labeling functions")
        page.wait(lambda: page.on_page("Labeling functions"), 120, "the LF page")
        page.idle()
        fill_draft(page, "draft", topic_words[6][0])
        for _ in range(repeats):
            figures.setdefault("b baseline: no-op rerun, LF page", []).append(noop_rerun(page))
            page.idle()
        for i in range(repeats):
            ms = keystroke(page, topic_words[7 + i % 30][0])
            figures.setdefault("b keystroke -> draft preview updated", []).append(ms)
            page.idle()
            if "still being computed" in page.body():
                notes.append(f"keystroke {i}: the preview was still being computed (timebox) when it settled")
            page.say(f"keystroke: {ms:.0f} ms")

        for i in range(repeats):
            baseline = open_results(page)
            figures.setdefault("c baseline: open results page, nothing changed", []).append(baseline)
            page.idle()
            page.nav("Labeling functions")
            page.wait(lambda: page.on_page("Labeling functions"), 120, "the LF page")
            page.idle()
            name = f"added{i}"
            fill_draft(page, name, topic_words[10 + i % 30][1])
            on_lf_page, total = add_lf(page, name)
            figures.setdefault("c Add LF -> LF page settled, LF listed", []).append(on_lf_page)
            figures.setdefault("c Add LF -> results page updated (incl. opening it)", []).append(total)
            t = time.perf_counter()
            figures.setdefault("c   background done after", []).append(total + 1000 * (page.idle() - t))
            page.say(f"add LF: {on_lf_page:.0f} ms on the LF page, {total:.0f} ms to the results")
            page.nav("Labeling functions")
            page.wait(lambda: page.on_page("Labeling functions"), 120, "the LF page")
            page.idle()
    finally:
        if driver is not None:
            driver.quit()
        rss = None
        try:
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM"):
                    rss = int(line.split()[1]) // 1024
        except OSError:
            pass
        chromium.stop(server)
    print(f"\n{n_rows:,} rows: medians of {repeats} (min-max), ms")
    for name, values in figures.items():
        print(f"  {name:<56} {statistics.median(values):>8.0f}   ({min(values):.0f}-{max(values):.0f})")
    for note in notes:
        print(f"  note: {note}")
    if rss is not None:
        print(f"  server peak RSS {rss:,} MiB")
    print(f"load after: {load()}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000], help="table sizes")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of each interaction (median shown)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary of each size")
    parser.add_argument(
        "--no-end-model", action="store_true", help="seed the project with the end model off (the app's default is on)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=90,
        help="seconds after the server's start before the first timed interaction (its JIT warm-ups)",
    )
    args = parser.parse_args()
    if not chromium.installed():
        raise SystemExit("needs Debian chromium and chromium-driver")
    for n_rows in args.rows:
        run_size(n_rows, args.repeats, args.quiet, end_model=not args.no_end_model, settle=args.settle)


if __name__ == "__main__":
    main()
