"""Every page of the real app renders in headless Chromium without an exception box."""

from __future__ import annotations

import pytest

from .conftest import assert_no_exception_box, open_page

pytestmark = pytest.mark.browser

URL_PATHS = ["", "iou_jaccard", "sorting_errors", "geometry", "gradients", "live_training", "lesson"]


@pytest.mark.parametrize("url_path", URL_PATHS)
def test_page_renders(page, app_url, screenshot_dir, url_path):
    open_page(page, app_url, url_path)
    assert_no_exception_box(page)
    assert page.locator('[data-testid="stSidebarNav"]').count() == 1
    name = url_path or "home"
    page.screenshot(path=str(screenshot_dir / f"smoke_{name}.png"), full_page=True)
