"""The page "Training on a data set" in a real browser: live refreshes, pause, nothing cut off at
1400 × 1000 and in projector mode at 1024 × 768. Screenshots go to the screenshot directory."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import assert_no_exception_box, wait_idle

pytestmark = pytest.mark.browser

STEP_TEXT = re.compile(r"Step (\d+) / (\d+)")
SMALL = "dt_scenes=40&dt_batch=4&dt_steps=2000"

# Text elements wider than their box, or past the window's right edge; the document scrolling sideways.
OVERFLOWS_JS = """
() => {
  const width = window.innerWidth;
  const TEXT = 'button, h1, h2, h3, p, li, label, td, th, [data-testid="stCaptionContainer"]';
  const found = [];
  for (const el of document.querySelectorAll('[data-testid="stMain"] *')) {
    if (!el.matches(TEXT) || el.closest('.js-plotly-plot')) continue;
    const details = el.closest('details');
    if (details && !details.open && !el.closest('summary')) continue;
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2) continue;
    const text = (el.innerText || '').trim().slice(0, 50);
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      found.push(`${el.tagName} "${text}": ${el.scrollWidth}px in ${el.clientWidth}px`);
    } else if (box.right > width + 1) {
      found.push(`${el.tagName} "${text}": right edge ${Math.round(box.right)} > ${width}`);
    }
  }
  if (document.documentElement.scrollWidth > width) found.push('the document scrolls sideways');
  return found;
}
"""


def open_page(tab, base_url: str, url_path: str, query: str) -> None:
    """Go to ``/<url_path>?<query>`` and wait for the app to settle (the CPU may be shared)."""
    tab.goto(f"{base_url}/{url_path}?{query}", wait_until="domcontentloaded")
    wait_idle(tab, timeout_ms=300_000)


def _step(page) -> int | None:
    bars = page.locator('[data-testid="stProgress"]')
    match = STEP_TEXT.search(bars.first.inner_text() if bars.count() else "")
    return int(match.group(1)) if match else None


def _train_then_pause(page) -> int:
    """Press Start, see the step counter refresh twice, press Pause; the step it paused at."""
    page.get_by_role("button", name="Start").click()
    seen: list[int] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(set(seen)) < 3:
        step = _step(page)
        if step is not None and (not seen or step != seen[-1]):
            seen.append(step)
        page.wait_for_timeout(200)
    assert len(set(seen)) >= 3 and seen == sorted(seen), f"the step counter did not refresh: {seen}"
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Resume").wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=300_000)
    paused_at = _step(page)
    assert paused_at is not None and 0 < paused_at < 2000
    return paused_at


def test_training_refreshes_pauses_and_fits_the_window(page, app_url, screenshot_dir):
    page.set_default_timeout(300_000)
    open_page(page, app_url, "dataset_training", SMALL)
    assert_no_exception_box(page)
    page.screenshot(path=str(screenshot_dir / "dataset_training_before.png"), full_page=True)
    paused_at = _train_then_pause(page)
    page.wait_for_timeout(1500)
    assert _step(page) == paused_at, "training went on after Pause"
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(2)  # curves, batch-size sweep
    # 4 scenes, 2 + 4 lanes (the replay's images may arrive just after the rerun)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stImage\"]').length >= 4 * (2 + 4)")
    expect(page.get_by_text("Look for:")).to_have_count(1)
    assert_no_exception_box(page)
    assert page.evaluate(OVERFLOWS_JS) == []
    page.screenshot(path=str(screenshot_dir / "dataset_training_1400x1000.png"))
    page.set_viewport_size({"width": 1400, "height": 3600})  # the main area scrolls: show all of it
    wait_idle(page, timeout_ms=300_000)
    page.screenshot(path=str(screenshot_dir / "dataset_training_paused.png"), full_page=True)


def test_projector_mode_at_1024x768_fits(browser, app_url, screenshot_dir):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    tab = context.new_page()
    tab.set_default_timeout(300_000)
    try:
        open_page(tab, app_url, "dataset_training", f"{SMALL}&dt_void=true&projector=true")
        assert_no_exception_box(tab)
        _train_then_pause(tab)
        assert_no_exception_box(tab)
        problems = tab.evaluate(OVERFLOWS_JS)
        tab.screenshot(path=str(screenshot_dir / "projector_dataset_training_1024x768.png"))
        tab.set_viewport_size({"width": 1024, "height": 4000})
        wait_idle(tab, timeout_ms=300_000)
        tab.screenshot(path=str(screenshot_dir / "projector_dataset_training_full.png"), full_page=True)
    finally:
        context.close()
    assert problems == [], "\n".join(problems)
