"""Nothing a link can turn against students, checked in headless Chromium (that no page asks
a host but the app's own is checked on every page's visit in ``test_projector_browser.py``)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from .conftest import assert_no_exception_box, open_page

pytestmark = pytest.mark.browser

EVIL = "evil.example"
LINK = "[Log in again](https://evil.example/login)"
IMAGE = "![x](https://evil.example/p.png)"
HTML = '<img src="https://evil.example/h.png">'


def _record_requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def _assert_nothing_from_evil(page, requests: list[str]) -> None:
    assert page.locator(f'a[href*="{EVIL}"]').count() == 0, "a link from the URL became clickable"
    assert page.locator(f'img[src*="{EVIL}"]').count() == 0, "an image from the URL is on the page"
    assert not [u for u in requests if EVIL in urlsplit(u).netloc], "the browser asked evil.example"


@pytest.mark.parametrize(
    ("path", "query", "shown"),
    [
        ("sorting_errors", f"se_size={quote(LINK)}", LINK),
        ("sorting_errors", f"se_size={quote(IMAGE)}", IMAGE),
        ("sorting_errors", f"se_size={quote(HTML)}", HTML),
        ("sorting_errors", f"{quote('se_`[k](https://evil.example/k)`x')}=1", "[k](https://evil.example/k)"),
        ("lesson", f"lesson={quote(LINK)}", LINK),
        ("lesson", f"lesson={quote(IMAGE)}&step={quote(LINK)}", IMAGE),
    ],
)
def test_text_from_a_link_is_shown_as_text(page, app_url, path, query, shown):
    requests = _record_requests(page)
    open_page(page, app_url, path, query)
    assert_no_exception_box(page)
    _assert_nothing_from_evil(page, requests)
    alerts = page.locator('[data-testid="stAlert"]')
    texts = [alerts.nth(i).inner_text() for i in range(alerts.count())]
    assert any(shown in text for text in texts), texts  # the characters themselves, on the page
