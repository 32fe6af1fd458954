"""Real-browser test: headless Debian Chromium drives the installed app (`epoxy-studio`) like a user.

Skips cleanly when chromium / chromedriver / selenium are absent.  Screenshots go to tests/app/screenshots/
(gitignored).  With EPOXY_DOCS_SCREENSHOTS=1, ``test_docs_screenshots`` also refreshes docs/screenshots/.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests import chromium
from tests.app.helpers import comments_csv

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(__file__).resolve().parent / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not chromium.installed():
    pytest.skip("Debian chromium and chromium-driver are not installed", allow_module_level=True)
pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    ElementNotInteractableException,
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _wait(driver, timeout: float) -> WebDriverWait:
    # Streamlit replaces elements on every rerun: a reference can go stale between two polls.
    return WebDriverWait(driver, timeout, poll_frequency=0.25, ignored_exceptions=[StaleElementReferenceException])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`python -m epoxy_studio` (the `epoxy-studio` command) on a free port with an empty data dir; yields its URL."""
    process, url = chromium.start_app_server(tmp_path / "data", tmp_path / "streamlit.log", timeout=60)
    try:
        yield url
    finally:
        chromium.stop(process)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[tuple[object, Path]]:
    """Headless Chromium with a download directory; yields (driver, download dir)."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    prefs = {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    driver = chromium.start_chrome(["--window-size=1400,1800"], prefs=prefs)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield driver, downloads
    finally:
        driver.quit()


def wait_text(driver, text: str, timeout: float = 120) -> None:
    """Wait until ``text`` appears in the page and the app is not running."""
    _wait(driver, timeout).until(lambda d: text in d.find_element(By.TAG_NAME, "body").text)
    wait_idle(driver)


def wait_idle(driver, timeout: float = 120) -> None:
    """Wait until Streamlit's "running" indicator is gone (the rerun finished)."""
    time.sleep(0.3)
    try:
        _wait(driver, timeout).until(lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'))
    except Exception:
        shot(driver, SHOTS, "timeout")  # what the page looked like when it hung, for the failure report
        raise


def nav(driver, label: str, title: str | None = None) -> None:
    """Click a page link in the sidebar (a page URL would start a new session) and wait for the page's title."""
    links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"] a')
    next(link for link in links if label in link.text).click()
    _wait(driver, 60).until(
        lambda d: any(h.text.strip() == (title or label) for h in d.find_elements(By.TAG_NAME, "h1"))
    )
    wait_idle(driver)


def find(driver, css: str, timeout: float = 60):
    """Wait for an element and return it."""
    return _wait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def click_button(driver, label: str) -> None:
    def button(d):
        buttons = d.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] button')
        return next((b for b in buttons if b.text.strip() == label and b.is_displayed()), False)

    target = _wait(driver, 60).until(button)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", target)
    target.click()
    wait_idle(driver)


def download(driver, label: str, folder: Path, name: str, attempts: int = 3) -> Path:
    """Click a download button until ``folder/name`` arrives.

    A click that lands while Streamlit is replacing the button during a rerun starts no download
    (seen once in a full CI run), so the click is retried a few times before giving up.
    """
    target = folder / name
    for _ in range(attempts):
        click_button(driver, label)
        try:
            _wait(driver, 20).until(lambda d: target.exists() and target.stat().st_size > 0)
        except TimeoutException:
            continue
        time.sleep(0.5)  # let Chrome finish renaming its .crdownload file
        return target
    found = sorted(path.name for path in folder.iterdir())
    raise AssertionError(f"{label!r} downloaded nothing after {attempts} clicks; the folder holds {found}")


def click_when_ready(driver, locator: tuple[str, str], timeout: float = 30):
    """Click an element as soon as it takes the click (an expander still opening refuses it); returns it."""

    def attempt(d):
        try:
            element = d.find_element(*locator)
            element.click()
        except (ElementNotInteractableException, NoSuchElementException):
            return False
        return element

    return _wait(driver, timeout).until(attempt)


def type_into(driver, aria_label: str, text: str) -> None:
    field = find(driver, f'[data-testid="stMain"] input[aria-label="{aria_label}"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
    field.click()
    field.send_keys(text, Keys.ENTER)
    wait_idle(driver)


def choose_radio(driver, text: str) -> None:
    def option(d):
        labels = d.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] [data-testid="stRadio"] label')
        return next((label for label in labels if text in label.text), False)

    target = _wait(driver, 60).until(option)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", target)
    target.click()
    wait_idle(driver)


def metric_value(driver, label: str) -> int:
    """The integer shown by the ``st.metric`` labelled ``label`` (-1 while it is not on the page)."""
    for element in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
        try:
            if element.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text.strip() == label:
                value = element.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text
                return int(value.replace(",", ""))
        except (NoSuchElementException, StaleElementReferenceException, ValueError):
            return -1
    return -1


def shot(driver, directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def test_upload_add_lf_see_lift_and_download_labels(server, browser, tmp_path):
    driver, downloads = browser
    csv = tmp_path / "comments.csv"
    csv.write_bytes(comments_csv())
    driver.get(server)
    wait_text(driver, "Open the results page")
    find(driver, '[data-testid="stSelectbox"]')  # the project picker has loaded
    # A local tool has nothing to deploy: client.toolbarMode = "minimal" hides Streamlit's Deploy button.
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stAppDeployButton"]')
    assert "Deploy" not in driver.find_element(By.TAG_NAME, "body").text
    assert "Train and You'll Miss It" in driver.find_element(By.TAG_NAME, "body").text
    shot(driver, SHOTS, "1_home")

    nav(driver, "Data & embeddings")
    find(driver, 'input[type="file"]').send_keys(str(csv))
    wait_text(driver, "Use this table")
    click_button(driver, "Use this table")
    wait_text(driver, "Dev rows (labeled)")
    choose_radio(driver, "TF-IDF")
    click_button(driver, "Build embeddings and graph")
    wait_text(driver, "Graph built with TF-IDF")
    shot(driver, SHOTS, "2_data")

    nav(driver, "Labeling functions")
    type_into(driver, "Name", "song")
    type_into(driver, "Keywords, comma-separated (literal text, not regex)", "song")
    wait_text(driver, "Coverage")
    assert "37.5%" in driver.find_element(By.TAG_NAME, "body").text
    click_button(driver, "Add LF")
    wait_text(driver, "song: keywords")
    shot(driver, SHOTS, "3_lfs")

    nav(driver, "Extension & results")
    wait_text(driver, "Label quality on dev labels")
    try:
        _wait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]')) >= 4)
    finally:
        shot(driver, SHOTS, "4_results")
    # The coverage-lift chart is drawn by vega-embed; its title is part of the chart's view.
    charts = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]')
    assert any(c.size["height"] > 100 for c in charts)

    target = download(driver, "Labels (CSV)", downloads, "labels.csv")
    labels = pd.read_csv(target)
    assert len(labels) == 40
    # The upload has its own "label" column: it is kept, and the generated columns are prefixed.
    assert {"text", "label", "epoxy_label", "epoxy_P(ham)", "epoxy_P(spam)"} <= set(labels.columns)
    assert labels["label"].fillna("").tolist() == pd.read_csv(csv)["label"].fillna("").tolist()
    assert labels[["epoxy_P(ham)", "epoxy_P(spam)"]].sum(axis=1).round(6).eq(1.0).all()
    # Ham rows that mention "song" are labelled ham.
    assert (labels.loc[labels["text"].str.contains("song"), "epoxy_label"] == "ham").all()

    # The stakeholder report opens offline and draws its charts.
    report = download(driver, "Download report", downloads, "epoxy_report.html")
    home = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    driver.get(report.as_uri())
    charts_drawn = "return document.querySelectorAll('.chart svg').length"
    _wait(driver, 60).until(lambda d: d.execute_script(charts_drawn) > 0)
    assert driver.execute_script("return window.__epoxyReportErrors") == []
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    driver.close()
    driver.switch_to.window(home)

    # Hand-label three rows with the keyboard: they join the dev set at once.
    nav(driver, "Hand-label rows")
    dev_before = metric_value(driver, "Dev rows (labeled)")
    for done in range(1, 4):
        driver.find_element(By.TAG_NAME, "body").send_keys("1")  # the first class's shortcut
        _wait(driver, 60).until(lambda d, done=done: metric_value(d, "Hand-labelled") == done)
        wait_idle(driver)
    assert metric_value(driver, "Dev rows (labeled)") == dev_before + 3

    # A second project from the sidebar starts empty; the first keeps its data.
    find(driver, '[data-testid="stSidebar"] [data-testid="stExpander"] summary').click()
    sidebar_name = (By.CSS_SELECTOR, '[data-testid="stSidebar"] input[aria-label="Name"]')
    name = click_when_ready(driver, sidebar_name)  # after the expander has opened
    name.send_keys("second", Keys.ENTER)
    wait_idle(driver)

    def created(d) -> bool:
        # Creating the project clears the name box.  Under load a click can land while the sidebar is being
        # redrawn and be lost: click again until the box is empty.
        box = d.find_elements(*sidebar_name)
        if box and box[0].get_attribute("value") == "":
            return True
        buttons = d.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] button')
        button = next((b for b in buttons if b.text.strip() == "Create project"), None)
        if button is not None:
            button.click()
        wait_idle(d)
        return False

    _wait(driver, 120).until(created)
    nav(driver, "Data & embeddings")
    wait_text(driver, "No data yet in this project")


@pytest.mark.skipif(os.environ.get("EPOXY_DOCS_SCREENSHOTS") != "1", reason="set EPOXY_DOCS_SCREENSHOTS=1")
def test_docs_screenshots(server, browser):
    """Refresh docs/screenshots/ with every page on the support-messages demo (MiniLM embeddings)."""
    driver, _ = browser
    driver.set_window_size(1400, 1500)
    driver.get(server)
    wait_text(driver, "Epoxy Studio")
    nav(driver, "Data & embeddings")
    _wait(driver, 60).until(
        lambda d: next((t for t in d.find_elements(By.CSS_SELECTOR, '[role="tab"]') if "demo" in t.text), False)
    ).click()
    click_button(driver, "Open demo (replaces this project's data and LFs)")
    wait_text(driver, "Dev rows (labeled)")
    click_button(driver, "Build embeddings and graph")
    wait_text(driver, "Graph built with", timeout=300)
    nav(driver, "Home", "Epoxy Studio")
    wait_text(driver, "Embeddings and graph built")  # the last of the three steps has rendered
    shot(driver, DOCS_SHOTS, "home")
    nav(driver, "Data & embeddings")
    wait_text(driver, "Graph built with")
    _wait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]'))
    time.sleep(1)  # let vega finish drawing
    shot(driver, DOCS_SHOTS, "data")
    nav(driver, "Labeling functions")
    type_into(driver, "Name", "refund requests")
    type_into(driver, "Keywords, comma-separated (literal text, not regex)", "refund, money back")
    wait_text(driver, "Rows it votes on")
    shot(driver, DOCS_SHOTS, "labeling_functions")
    nav(driver, "Extension & results")
    wait_text(driver, "Label quality on dev labels")
    click_button(driver, "Tune on dev labels")
    wait_text(driver, "dev labels by nested cross-validation", timeout=900)  # tuning runs in the background
    _wait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]')) >= 4)
    time.sleep(1)  # let vega finish drawing
    shot(driver, DOCS_SHOTS, "results")
    nav(driver, "Hand-label rows")
    wait_text(driver, "skip")
    shot(driver, DOCS_SHOTS, "hand_label")
    nav(driver, "Data & embeddings")
    wait_text(driver, "Graph built with")
    # The map switches from PCA to UMAP once umap-learn is done (its caption goes away).
    _wait(driver, 600).until(lambda d: "Laying the rows out" not in d.find_element(By.TAG_NAME, "body").text)
    wait_idle(driver)
    _wait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]'))
    time.sleep(1)
    shot(driver, DOCS_SHOTS, "data")  # again, after UMAP
    heading = next(h for h in driver.find_elements(By.CSS_SELECTOR, "h2, h3") if "Map of the rows" in h.text)
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", heading)
    time.sleep(1)
    shot(driver, DOCS_SHOTS, "map")


@pytest.fixture
def pixel_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request; yields (its URL, the paths requested)."""
    import http.server
    import threading

    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            requested.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requested
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_page_url_opened_first_renders_and_user_text_stays_text(server, browser, tmp_path, pixel_server):
    """The first request of a fresh server names a page (a reconnecting tab); class names hold markdown."""
    driver, _ = browser
    driver.get(f"{server}/labeling_functions")
    _wait(driver, 60).until(
        lambda d: any(h.text.strip() == "Labeling functions" for h in d.find_elements(By.TAG_NAME, "h1"))
    )
    wait_idle(driver)
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "KeyError" not in body and "Load a dataset first" in body
    # The app's own navigation, not one Streamlit made up from a pages/ folder.
    links = [a.text.splitlines()[-1] for a in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"] a')]
    assert links == ["Home", "Data & embeddings", "Labeling functions", "Hand-label rows", "Extension & results"]

    url, requested = pixel_server
    image = f"![x]({url}/pixel.png)"
    frame = pd.DataFrame(
        {"text": ["buy now", "nice song", "buy it", "a song"], "label": ["**bold**", image, "", image]}
    )
    csv = tmp_path / "markdown.csv"
    frame.to_csv(csv, index=False)
    nav(driver, "Data & embeddings")
    find(driver, 'input[type="file"]').send_keys(str(csv))
    wait_text(driver, "Use this table")
    click_button(driver, "Use this table")
    wait_text(driver, "Dev rows (labeled)")
    caption = next(
        c.text
        for c in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stCaptionContainer"]')
        if "Classes:" in c.text
    )
    assert caption.replace("\u2060", "") == f"Classes: {image}, **bold**"  # literally, sorted
    main = driver.find_element(By.CSS_SELECTOR, '[data-testid="stMain"]')
    assert not main.find_elements(By.CSS_SELECTOR, "img[src*='pixel'], strong")
    time.sleep(1)
    assert requested == [], f"the browser fetched {requested} from text in the data"
