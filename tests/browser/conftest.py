"""Fixtures for real-browser tests: one ``streamlit run`` server and headless Debian Chromium.

The server runs the real entrypoint on a free port; Playwright drives ``/usr/bin/chromium`` (or
``$CHROMIUM``; without one the tests are skipped, or fail when ``$CI`` is set).
Screenshots go to a temporary directory (``SCREENSHOT_DIR`` overrides it, e.g. to refresh the
README's images).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.serving import CHROMIUM, CHROMIUM_FLAGS, serve

IDLE_SELECTOR = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION_SELECTOR = '[data-testid="stException"]'


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Base URL of a real ``streamlit run app/main.py`` server on a free loopback port."""
    with serve(log_name="streamlit-test") as (url, _process):
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium driven by Playwright: Debian's, or the one ``$CHROMIUM`` names.

    Without it the browser tests are skipped, with the reason; with ``$CI`` set they fail, so
    that CI never passes without them.
    """
    if not Path(CHROMIUM).exists():
        reason = (
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package, or set "
            "CHROMIUM to the path of a Chromium binary"
        )
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{reason} (CI is set: the browser tests may not be skipped)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context and page, 1400×1000, per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where screenshots are written: ``$SCREENSHOT_DIR`` or a session temp dir."""
    chosen = os.environ.get("SCREENSHOT_DIR")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# Counts the script runs that have ended since the page loaded: a MutationObserver on the app's
# run state (installed on first use), so that a test can wait for the run that its action starts.
RUNS_ENDED_JS = """
() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!window.__runsEnded || window.__runsEnded.app !== app) {
    const watch = { app, count: 0 };
    new MutationObserver((records) => {
      for (const record of records) if (record.oldValue === 'running') watch.count += 1;
    }).observe(app, { attributeFilter: ['data-test-script-state'], attributeOldValue: true });
    window.__runsEnded = watch;
  }
  return window.__runsEnded.count;
}
"""


def wait_idle(tab, timeout_ms: int = 60_000) -> None:
    """Wait until the app has rendered and its script is not running."""
    tab.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    tab.wait_for_timeout(300)
    _wait_settled(tab, timeout_ms)


def _wait_settled(tab, timeout_ms: int) -> None:
    tab.wait_for_selector(IDLE_SELECTOR, timeout=timeout_ms)
    # The script may be done while lazily loaded elements (plotly, dataframes) still show their
    # loading skeletons: wait until they are drawn, so that screenshots show the real page.
    tab.wait_for_function(
        "() => document.querySelectorAll('[data-testid^=\"stSkeleton\"]').length === 0",
        timeout=timeout_ms,
    )


def rerun_and_wait(tab, action: Callable[[], object], timeout_ms: int = 120_000) -> None:
    """Do ``action`` (a click, an upload) on an idle page, then wait for the script run that it
    starts to end and for the page to settle.

    ``action`` must start a run (a widget that changes its value does). A run of a few
    milliseconds may never be drawn as running (React merges its start and its end into one
    update): when no run is seen to end within 2 s, wait as :func:`wait_idle` does, a little longer.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    tab.wait_for_selector(IDLE_SELECTOR, timeout=timeout_ms)
    before = tab.evaluate(RUNS_ENDED_JS)
    action()
    try:
        tab.wait_for_function("(before) => window.__runsEnded.count > before", arg=before, timeout=2_000)
    except PlaywrightTimeoutError:
        tab.wait_for_timeout(500)
        tab.wait_for_selector(IDLE_SELECTOR, timeout=timeout_ms)
        tab.wait_for_timeout(500)
    _wait_settled(tab, timeout_ms)


def wait_quiet(tab, quiet_ms: int = 1_000, timeout_ms: int = 120_000) -> None:
    """Wait until the page is idle and no script run has ended for ``quiet_ms``: for an action
    that may or may not start a run (a file the uploader itself refuses can still drop the file
    it held), so that a late run cannot be taken for the next action's."""
    tab.evaluate(RUNS_ENDED_JS)
    for _ in range(max(1, timeout_ms // quiet_ms)):
        tab.wait_for_selector(IDLE_SELECTOR, timeout=timeout_ms)
        count = tab.evaluate(RUNS_ENDED_JS)
        tab.wait_for_timeout(quiet_ms)
        if tab.evaluate(RUNS_ENDED_JS) == count and tab.locator(IDLE_SELECTOR).count():
            return
    raise AssertionError(f"the page kept running scripts for {timeout_ms} ms")


def settle_frames(tab) -> None:
    """Wait for the web fonts and two animation frames (a resized window is laid out and painted)."""
    tab.wait_for_function("() => document.fonts.status === 'loaded'")
    tab.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def open_page(tab, base_url: str, url_path: str = "", query: str = "") -> None:
    """Go to ``/<url_path>?<query>`` and wait for the app to settle."""
    target = f"{base_url}/{url_path}" + (f"?{query}" if query else "")
    tab.goto(target, wait_until="domcontentloaded")
    wait_idle(tab)


def metric_value(tab, label: str):
    """The value of the first metric whose label contains ``label`` (a locator: ``expect`` retries
    it until a run has drawn what the test waits for)."""
    metric = tab.locator('[data-testid="stMetric"]', has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]')


def assert_no_exception_box(tab) -> None:
    boxes = tab.locator(EXCEPTION_SELECTOR)
    count = boxes.count()
    texts = [boxes.nth(i).inner_text() for i in range(count)]
    assert count == 0, f"exception box on the page: {texts}"
