"""In Chromium, for every page with presets: preset P chosen after another preset Q shows P's view
(P's address, nothing of Q left), and that address opened in a new tab shows the same numbers with
no warning. A value of Q left behind would show either in the address or as a difference between
the two tabs' numbers (the new tab knows only the address)."""

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


# What the reader sees of the view: every metric (label and value) and every control's value.
SHOWN_JS = """
() => {
  const shown = [];
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) shown.push(m.innerText);
  for (const s of document.querySelectorAll('input[type="range"]')) {
    shown.push(`${s.getAttribute('aria-label')} = ${s.value}`);
  }
  for (const box of document.querySelectorAll('[data-testid="stSelectbox"], [data-testid="stRadio"]')) {
    shown.push(box.innerText);
  }
  for (const box of document.querySelectorAll('input[type="checkbox"]')) {
    shown.push(`${box.getAttribute('aria-label') || box.closest('label')?.innerText} = ${box.checked}`);
  }
  return shown;
}
"""


def _numbers(tab) -> list[str]:
    """Every metric, label and value, and every control's value, as the reader sees them."""
    return tab.evaluate(SHOWN_JS)


def _choose(tab, preset: str) -> None:
    picker = tab.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]', has_text="Preset").first
    picker.click()
    rerun_and_wait(tab, tab.get_by_role("option", name=preset, exact=True).click)


@pytest.mark.parametrize("page_name", PAGES)
def test_preset_after_another_shows_its_view_and_the_address_restores_it(browser, app_url, page_name):
    presets = list(state.PAGES[page_name].presets)
    chosen, before = presets[-1], presets[1]
    expected = {
        k: v if isinstance(v, list) else [v]
        for k, v in state.view_query(page_name, state.PAGES[page_name].presets[chosen]).items()
    }
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    reopened_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        after = context.new_page()
        open_page(after, app_url, page_name)
        _choose(after, before)
        assert _view(after, page_name) != expected, "the two presets must differ for this test"
        _choose(after, chosen)
        assert_no_exception_box(after)
        assert _view(after, page_name) == expected
        assert len(_numbers(after)) >= 3, "the page shows its numbers and controls"

        reopened = reopened_context.new_page()
        reopened.goto(after.url, wait_until="domcontentloaded")
        wait_idle(reopened)
        assert _view(reopened, page_name) == expected
        assert _numbers(reopened) == _numbers(after)
        assert reopened.locator('[data-testid="stAlertContentWarning"]', has_text="link").count() == 0
    finally:
        context.close()
        reopened_context.close()
