"""The live-training and gradients pages in a real browser: live refreshes, pause, a pixel click."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import assert_no_exception_box, open_page, wait_idle

pytestmark = pytest.mark.browser

STEP_TEXT = re.compile(r"Step (\d+) / (\d+)")


def _step(page) -> int | None:
    """The step counter shown by the live view's progress bar (None before a run)."""
    text = (
        page.locator('[data-testid="stProgress"]').first.inner_text()
        if page.locator('[data-testid="stProgress"]').count()
        else ""
    )
    match = STEP_TEXT.search(text)
    return int(match.group(1)) if match else None


def test_live_training_refreshes_then_pauses(page, app_url, screenshot_dir):
    open_page(page, app_url, "live_training", "lt_steps=2000")
    assert_no_exception_box(page)
    page.get_by_role("button", name="Start").click()
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(set(seen)) < 3:
        step = _step(page)
        if step is not None and (not seen or step != seen[-1]):
            seen.append(step)
        page.wait_for_timeout(150)
    assert len(set(seen)) >= 3, f"the step counter did not refresh twice: {seen}"
    assert seen == sorted(seen)
    page.screenshot(path=str(screenshot_dir / "live_training_running.png"), full_page=True)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Resume").wait_for(timeout=20_000)
    wait_idle(page)
    paused_at = _step(page)
    page.wait_for_timeout(1500)
    assert _step(page) == paused_at, "training went on after Pause"
    assert paused_at is not None and 0 < paused_at < 2000
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 2  # curves, "where each loss would push"
    assert page.locator('[data-testid="stImage"]').count() >= 4  # truth + one mask per loss
    assert_no_exception_box(page)
    page.set_viewport_size({"width": 1400, "height": 2400})  # the main area scrolls: show all of it
    wait_idle(page)
    page.screenshot(path=str(screenshot_dir / "live_training_paused.png"), full_page=True)


def test_gradients_page_click_shows_pixel_numbers(page, app_url, screenshot_dir):
    open_page(page, app_url, "gradients")
    assert_no_exception_box(page)
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
            page.get_by_text("Pixel (row").wait_for(timeout=20_000)
            break
        except Exception:
            if attempt == 2:
                raise
            wait_idle(page)
            box = chart.locator(".nsewdrag").nth(1).bounding_box()
    wait_idle(page)
    assert_no_exception_box(page)
    assert page.get_by_text("true class").count() >= 1
    page.set_viewport_size({"width": 1400, "height": 2600})
    wait_idle(page)
    page.screenshot(path=str(screenshot_dir / "gradients_clicked.png"), full_page=True)
