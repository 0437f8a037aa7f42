"""The live-training and gradients pages in a real browser: live refreshes, pause, a finished
default run, a pixel click and its Clear button."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from .conftest import assert_no_exception_box, wait_idle

pytestmark = pytest.mark.browser

STEP_TEXT = re.compile(r"Step (\d+) / (\d+) · (\w+)")
SLOW_MS = 180_000  # a server shared with other jobs can take minutes to draw a page


def open_page(page, base_url: str, url_path: str, query: str = "") -> None:
    """Go to ``/<url_path>?<query>`` and wait (up to ``SLOW_MS``) for the page to settle."""
    page.goto(f"{base_url}/{url_path}" + (f"?{query}" if query else ""), wait_until="domcontentloaded")
    wait_idle(page, SLOW_MS)


def _progress(page) -> tuple[int, int, str] | None:
    """(step, total, phase) shown by the live view's progress bar (None before a run)."""
    bars = page.locator('[data-testid="stProgress"]')
    match = STEP_TEXT.search(bars.first.inner_text() if bars.count() else "")
    return (int(match.group(1)), int(match.group(2)), match.group(3)) if match else None


def _step(page) -> int | None:
    shown = _progress(page)
    return shown[0] if shown else None


def test_live_training_refreshes_then_pauses(page, app_url, screenshot_dir):
    open_page(page, app_url, "live_training", "lt_steps=2000")
    assert_no_exception_box(page)
    page.get_by_role("button", name="Start").click()
    seen: list[int] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(set(seen)) < 3:
        step = _step(page)
        if step is not None and (not seen or step != seen[-1]):
            seen.append(step)
        page.wait_for_timeout(150)
    assert len(set(seen)) >= 3, f"the step counter did not refresh twice: {seen}"
    assert seen == sorted(seen)
    page.screenshot(path=str(screenshot_dir / "live_training_running.png"), full_page=True)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Resume").wait_for(timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    paused_at = _step(page)
    page.wait_for_timeout(1500)
    assert _step(page) == paused_at, "training went on after Pause"
    assert paused_at is not None and 0 < paused_at < 2000
    # the curves and "where each loss would push"
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(2)
    # truth + 3 masks, live and in the replay (the replay's images may arrive just after the rerun)
    images = "document.querySelectorAll('[data-testid=\"stImage\"]').length"
    try:
        page.wait_for_function(f"() => {images} >= 8", timeout=60_000)
    except PlaywrightTimeoutError:
        main = page.locator('[data-testid="stMain"]').inner_text()
        replay = main[main.find("Replay") :][:400]
        pytest.fail(f"{page.evaluate(images)} images after Pause at step {paused_at}, not 8; {replay!r}")
    assert_no_exception_box(page)


def test_the_default_run_from_preview_to_finish(page, app_url, screenshot_dir):
    open_page(page, app_url, "live_training")
    assert_no_exception_box(page)
    assert page.get_by_text("Ground truth").count() >= 1, "the image and its mask before Start"
    assert page.get_by_text("Tiny conv net").count() >= 1
    assert page.get_by_text("tiny_fcn", exact=True).count() == 0, "keys only in the link"
    page.screenshot(path=str(screenshot_dir / "live_training_before_start.png"), full_page=True)
    page.get_by_role("button", name="Start").click()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        shown = _progress(page)
        if shown is not None and shown[2] == "finished":
            break
        page.wait_for_timeout(500)
    shown = _progress(page)
    assert shown is not None and shown[2] == "finished" and shown[0] == shown[1] == 200, shown
    wait_idle(page, SLOW_MS)
    table = page.locator('[data-testid="stTable"]').first
    expect(table).to_contain_text("200")
    assert "199" not in table.inner_text(), "the table ends at the bar's step"
    expect(page.get_by_text("Look for:")).to_have_count(1)
    assert_no_exception_box(page)
    page.screenshot(path=str(screenshot_dir / "live_training_finished.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 3000})  # the main area scrolls: show all of it
    wait_idle(page, SLOW_MS)
    page.screenshot(path=str(screenshot_dir / "live_training_finished_all.png"), full_page=True)


def test_gradients_page_click_shows_pixel_numbers_and_clears(page, app_url, screenshot_dir):
    open_page(page, app_url, "gradients", "gr_radius=1.0")
    assert_no_exception_box(page)
    page.screenshot(path=str(screenshot_dir / "gradients_tiny_object.png"), full_page=True)
    chart = page.locator('[data-testid="stPlotlyChart"]').nth(1)
    chart.scroll_into_view_if_needed()
    box = chart.locator(".nsewdrag").nth(1).bounding_box()  # the Lovász panel
    assert box is not None
    # the small disk sits at 20 % of the image from the top-left corner
    # A click can land while plotly is still laying the chart out (the server may be busy with
    # an earlier test's session): click again until the pixel's numbers appear, three tries.
    for attempt in range(3):
        page.mouse.click(box["x"] + 0.2 * box["width"], box["y"] + 0.2 * box["height"])
        try:
            page.get_by_text("Selected pixel (row").wait_for(timeout=20_000)
            break
        except Exception:
            if attempt == 2:
                raise
            wait_idle(page, SLOW_MS)
            box = chart.locator(".nsewdrag").nth(1).bounding_box()
    wait_idle(page, SLOW_MS)
    assert_no_exception_box(page)
    expect(page.get_by_text("true class").first).to_be_visible()
    assert "gr_row=-1" not in page.url, "the selected pixel is in the link"
    page.set_viewport_size({"width": 1400, "height": 2800})
    wait_idle(page, SLOW_MS)
    page.screenshot(path=str(screenshot_dir / "gradients_clicked.png"), full_page=True)
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("Click a pixel in any map").wait_for(timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    assert "gr_row=-1" in page.url
