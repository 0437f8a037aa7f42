"""The three "Understand" pages and Home in headless Chromium: render, interact, share by URL.

Run with ``SCREENSHOT_DIR=/tmp/shots_h2 pytest -m browser tests/browser/test_understand_pages.py``
to keep the screenshots.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import assert_no_exception_box, metric_value, open_page, settle_frames, wait_idle

pytestmark = pytest.mark.browser
PLOT = ".js-plotly-plot"


def _wait_plots(page, count: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('{PLOT}').length >= {count}", timeout=60_000)
    page.wait_for_timeout(800)


# Whether the running numbers show U_k − I_k = k (the prefix's fg and bg pixels add up to k).
PREFIX_SIZE_JS = """
(k) => {
  const value = (label) => {
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find((m) => m.textContent.includes(label));
    return metric ? Number(metric.querySelector('[data-testid="stMetricValue"]').textContent) : NaN;
  };
  return value('U_k') - value('I_k') === k;
}
"""


def _shot(page, screenshot_dir, name: str) -> None:
    page.set_viewport_size({"width": 1400, "height": 2600})
    settle_frames(page)
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_home_renders_with_page_map(page, app_url, screenshot_dir):
    open_page(page, app_url, "")
    _wait_plots(page, 2)
    assert_no_exception_box(page)
    assert page.get_by_text("The pages").count() >= 1
    assert page.locator('[data-testid="stPageLink"]').count() >= 6
    _shot(page, screenshot_dir, "understand_home")


def test_sorting_errors_step_and_click(page, app_url, screenshot_dir):
    open_page(page, app_url, "sorting_errors")
    _wait_plots(page, 5)
    assert_no_exception_box(page)
    assert page.evaluate(PREFIX_SIZE_JS, 12)
    # Step buttons move k by one; the URL follows (bound widget).
    page.get_by_role("button").filter(has=page.locator("span", has_text="chevron_right")).first.click()
    wait_idle(page)
    page.wait_for_function("window.location.search.includes('se_k=13')", timeout=20_000)
    # The slider answers the keyboard too.
    slider = page.locator('.st-key-se_k input[type="range"]')
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    page.wait_for_function("window.location.search.includes('se_k=16')", timeout=20_000)
    wait_idle(page)
    # U_k − I_k = (fg + bg in the prefix) = k: the metrics follow the slider.
    page.wait_for_function(PREFIX_SIZE_JS, arg=16, timeout=30_000)
    # Click the middle of the error map: the transparent scatter layer returns the pixel.
    error_map = page.locator(PLOT).nth(1)
    box = error_map.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_idle(page)
    page.get_by_text("Selected pixel").first.wait_for(timeout=20_000)
    assert_no_exception_box(page)
    _shot(page, screenshot_dir, "understand_sorting_errors")


def test_sorting_errors_url_round_trip(page, app_url, screenshot_dir):
    open_page(page, app_url, "sorting_errors", "se_size=8&se_k=3&se_errors=hinge")
    _wait_plots(page, 5)
    assert_no_exception_box(page)
    slider = page.locator('.st-key-se_k input[type="range"]')
    assert slider.get_attribute("value") == "3"
    assert page.locator('[data-testid="stRadio"]').get_by_text("hinge").count() == 1
    assert re.search(r"se_size=8", page.url)
    _shot(page, screenshot_dir, "understand_sorting_errors_hinge_8x8")


def test_sorting_errors_malformed_url_warns(page, app_url):
    open_page(page, app_url, "sorting_errors", "se_size=abc&se_k=-4")
    assert_no_exception_box(page)
    assert page.get_by_text("Some link parameters were not understood").count() == 1


def test_sorting_errors_absent_class_preset(page, app_url, screenshot_dir):
    open_page(page, app_url, "sorting_errors", "se_absent=true&se_k=1")
    _wait_plots(page, 5)
    assert_no_exception_box(page)
    page.get_by_role("tab", name="An absent class").click()
    assert page.get_by_text("is absent from the ground truth").count() >= 1
    _shot(page, screenshot_dir, "understand_sorting_errors_absent")


def test_iou_jaccard_renders_and_reacts(page, app_url, screenshot_dir):
    open_page(page, app_url, "iou_jaccard")
    _wait_plots(page, 5)
    assert_no_exception_box(page)
    before = metric_value(page, "Intersection").inner_text().strip()
    slider = page.locator('.st-key-ij_shift_x input[type="range"]')
    assert slider.get_attribute("value") == "2"
    slider.focus()
    for _ in range(4):
        slider.press("ArrowLeft")
    # Four steps of 0.5 from the default 2.0. Each press may start a run of its own; wait for the
    # last value's run (the URL is written at its start), then for the page to settle.
    page.wait_for_function("/[?&]ij_shift_x=0\\.0(&|$)/.test(window.location.search)", timeout=60_000)
    wait_idle(page)
    expect(metric_value(page, "Intersection")).not_to_have_text(before, timeout=30_000)
    _shot(page, screenshot_dir, "understand_iou_jaccard")


def test_geometry_renders_three_pixels(page, app_url, screenshot_dir):
    open_page(page, app_url, "geometry")
    _wait_plots(page, 3)
    assert_no_exception_box(page)
    _shot(page, screenshot_dir, "understand_geometry")
    open_page(page, app_url, "geometry", "geo_pixels=3&geo_soft=true")
    _wait_plots(page, 3)
    assert_no_exception_box(page)
    assert page.get_by_text("Slice: error m₃").count() >= 1
    _shot(page, screenshot_dir, "understand_geometry_3px")


def test_sorting_errors_play_walks_k(page, app_url):
    open_page(page, app_url, "sorting_errors", "se_k=2")
    _wait_plots(page, 5)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("/se_k=([3-9]|[1-9][0-9])/.test(window.location.search)", timeout=60_000)
    page.get_by_role("button", name="Pause").click()
    wait_idle(page)
    assert_no_exception_box(page)


def test_sorting_errors_click_a_bar_moves_k(page, app_url):
    open_page(page, app_url, "sorting_errors", "se_k=30")
    _wait_plots(page, 5)
    panels = page.locator(PLOT).nth(4)
    panels.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    top = panels.locator(".nsewdrag").first.bounding_box()  # panel ①: sorted errors
    assert top is not None
    # Anywhere in a rank's column selects it (hovermode "x"): click low in the first ranks.
    x, y = top["x"] + 0.05 * top["width"], top["y"] + top["height"] - 4
    page.mouse.move(x, y, steps=4)
    page.mouse.click(x, y)
    wait_idle(page)
    page.wait_for_function("/se_k=[1-5](&|$)/.test(window.location.search)", timeout=20_000)
    page.get_by_text("Selected pixel").first.wait_for(timeout=20_000)
    assert_no_exception_box(page)


OVERFLOWING_FORMULAS = """() => [...document.querySelectorAll('.katex-display')]
    .filter((display) => display.offsetParent !== null)
    .map((display) => {
        const formula = display.querySelector('.katex-html') || display;
        const box = display.closest('[data-testid="stElementContainer"]') || display.parentElement;
        const bases = [...formula.querySelectorAll(':scope > .base')].map((b) => b.getBoundingClientRect());
        return {
            text: display.textContent.slice(0, 60),
            width: Math.ceil(formula.scrollWidth),
            room: Math.floor(box.getBoundingClientRect().width),
            wrapped: bases.some((b, i) => i > 0 && b.left < bases[i - 1].right - 1),
        };
    })
    .filter((f) => f.width > f.room || f.wrapped)"""


@pytest.mark.parametrize(
    ("path", "query", "plots"),
    [("", "", 2), ("iou_jaccard", "", 6), ("geometry", "", 3), ("geometry", "geo_pixels=3", 3)],
)
def test_formulas_fit_a_1024_pixel_projector(page, app_url, screenshot_dir, path, query, plots):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, app_url, path, query)
    _wait_plots(page, plots)
    assert_no_exception_box(page)
    assert page.locator(".katex-display").count() >= 2
    assert page.evaluate(OVERFLOWING_FORMULAS) == []
    name = f"understand_1024_{path or 'home'}" + ("_3px" if query else "")
    page.set_viewport_size({"width": 1024, "height": 2400})
    settle_frames(page)
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)
