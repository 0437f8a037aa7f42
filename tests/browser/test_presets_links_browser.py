"""In Chromium, for every page with presets: preset P chosen after another preset Q shows the same
view as P alone (the same address and the same numbers), and opening that address in a new tab
restores it with no warning."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app import params, state  # noqa: F401  (params registers every page)

from .conftest import assert_no_exception_box, open_page, rerun_and_wait, wait_idle

pytestmark = pytest.mark.browser

PAGES = [name for name, entry in state.PAGES.items() if len(entry.presets) > 1]


def _view(tab, page: str) -> dict[str, list[str]]:
    """The page's parameters in the address bar."""
    prefix = f"{state.PAGES[page].prefix}_"
    query = parse_qs(urlsplit(tab.url).query, keep_blank_values=True)
    return {key: values for key, values in query.items() if key.startswith(prefix)}


def _numbers(tab) -> list[str]:
    """Every metric on the page, label and value, as the reader sees it."""
    return [
        tab.locator('[data-testid="stMetric"]').nth(i).inner_text()
        for i in range(tab.locator('[data-testid="stMetric"]').count())
    ]


def _choose(tab, preset: str) -> None:
    picker = tab.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]', has_text="Preset").first
    picker.click()
    rerun_and_wait(tab, tab.get_by_role("option", name=preset, exact=True).click)


@pytest.mark.parametrize("page_name", PAGES)
def test_preset_after_another_equals_preset_alone_and_the_address_restores_it(browser, app_url, page_name):
    presets = list(state.PAGES[page_name].presets)
    chosen, before = presets[-1], presets[1]
    expected = {
        k: v if isinstance(v, list) else [v]
        for k, v in state.view_query(page_name, state.PAGES[page_name].presets[chosen]).items()
    }
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        alone = context.new_page()
        open_page(alone, app_url, page_name)
        _choose(alone, chosen)
        after = context.new_page()
        open_page(after, app_url, page_name)
        _choose(after, before)
        _choose(after, chosen)
        assert_no_exception_box(after)
        assert _view(after, page_name) == _view(alone, page_name) == expected
        assert _numbers(after) == _numbers(alone)

        reopened = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        reopened.goto(after.url, wait_until="domcontentloaded")
        wait_idle(reopened)
        assert _view(reopened, page_name) == expected
        assert _numbers(reopened) == _numbers(after)
        assert reopened.locator('[data-testid="stAlertContentWarning"]', has_text="link").count() == 0
        reopened.context.close()
    finally:
        context.close()
