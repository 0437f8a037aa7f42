"""Classroom features in headless Chromium: projector mode, the share link, PNG/SVG chart export."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import assert_no_exception_box, open_page, wait_idle

pytestmark = pytest.mark.browser


PARAGRAPH = '[data-testid="stMain"] [data-testid="stMarkdownContainer"] p'


def _font_px(page) -> float:
    return float(page.locator(PARAGRAPH).first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def test_projector_mode_enlarges_the_text(page, app_url, screenshot_dir):
    open_page(page, app_url, "lesson", "lesson=lovasz_in_45_minutes&step=6")
    normal = _font_px(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("Projector mode").click()
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"projector=true"))
    # The URL is written when the run starts; the larger text comes with the run's styles.
    page.wait_for_function(
        """([selector, least]) => {
            const p = document.querySelector(selector);
            return p !== null && parseFloat(getComputedStyle(p).fontSize) > least;
        }""",
        arg=[PARAGRAPH, normal * 1.15],
        timeout=30_000,
    )
    expect(page.get_by_text("Teacher notes")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "projector_lesson.png"), full_page=True)
    assert_no_exception_box(page)


def test_share_link_restores_the_view(page, app_url):
    open_page(page, app_url, "sorting_errors", "se_k=5&se_size=8")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Share and export").click()
    link = sidebar.locator('[data-testid="stCode"]').first.inner_text().strip()
    assert link.startswith(app_url + "/sorting_errors?")
    assert "se_k=5" in link and "se_size=8" in link and "projector" not in link
    page.goto(link)
    wait_idle(page)
    k_slider = page.locator('[data-testid="stSlider"] input[aria-label="Step k: the k largest errors"]')
    expect(k_slider).to_have_value("5")


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_chart_camera_button_downloads_png_and_svg(browser, app_url, tmp_path, fmt):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, app_url, "geometry")
        if fmt == "svg":
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Share and export").click()
            sidebar.get_by_text("SVG", exact=True).click()
            wait_idle(page)
        # The rerun that the choice starts redraws the charts with the new config: wait for it
        # (on a busy machine the rerun may begin after wait_idle has already seen the app idle).
        page.wait_for_function(
            """fmt => {
                const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
                const options = plot && plot._context && plot._context.toImageButtonOptions;
                return Boolean(options) && options.format === fmt;
            }""",
            arg=fmt,
            timeout=60_000,
        )
        chart = page.locator('[data-testid="stPlotlyChart"]').first
        chart.hover()
        button = chart.locator('.modebar-btn[data-title^="Download plot"]').first
        with page.expect_download() as download:
            button.click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        assert path.suffix == f".{fmt}" and path.name.startswith("lovasz_")
        head = path.read_bytes()[:64]
        assert head.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in head
        assert chart.get_attribute("aria-label") or chart.locator("[aria-label]").count()
    finally:
        context.close()
