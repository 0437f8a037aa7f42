"""Projector mode on a real projector's sizes, in headless Chromium: nothing cut off.

Every page at 1024 × 768 and 1280 × 720 with ``?projector=true``, two pages on a 390 px phone
and every page at the default 1400 × 1000 are measured in the browser: no text element (button,
metric label or value, formula, heading, paragraph, navigation link) may be wider than its box,
be cut off by a box that hides or scrolls its overflow, stick out of its element's box or past
the right edge of the window, and the document may not scroll sideways. A failure lists every
element that overflows. The same pages check that a metric's value is at least as large as its
label. Screenshots (the window, and the whole page) go to the screenshot directory.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from .conftest import assert_no_exception_box, wait_idle

pytestmark = pytest.mark.browser

PAGES = [
    "home",
    "iou_jaccard",
    "sorting_errors",
    "geometry",
    "gradients",
    "your_data",
    "live_training",
    "dataset_training",
    "lesson",
]
PROJECTOR_SIZES = [(1024, 768), (1280, 720)]
PHONE = (390, 844)
PHONE_PAGES = ["home", "sorting_errors"]
DESKTOP = (1400, 1000)

# Every problem as one line: what the element is, its text, and how it overflows. An element
# inside one already reported is left out, so a formula is reported once, not once per symbol.
# Charts (drawn by plotly), data grids (a canvas), exception boxes and tooltips are not measured;
# the sidebar is measured when it is open.
OVERFLOWS_JS = """
() => {
  const width = window.innerWidth;
  const SKIP = '.js-plotly-plot, .katex-mathml, [data-testid="stDataFrame"], [data-testid="stException"], '
    + '[data-testid="stTooltipContent"], [data-baseweb="tooltip"], [data-baseweb="popover"]';
  const TEXT = 'button, [data-testid="stMetricLabel"], [data-testid="stMetricValue"], '
    + '[data-testid="stMetricDelta"], .katex-display, h1, h2, h3, h4, h5, h6, p, li, label, td, th, '
    + '[data-testid="stCaptionContainer"], [data-testid="stMarkdownContainer"]';
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && style.display !== 'none';
  };
  const describe = (el) => {
    const owner = el.parentElement && el.parentElement.closest('[data-testid]');
    const what = el.dataset.testid
      || (el.classList.contains('katex-display') ? 'formula' : el.tagName.toLowerCase());
    const text = Array.from((el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' '))
      .slice(0, 60).join('');
    return `${what}${owner ? ' in ' + owner.dataset.testid : ''} "${text}"`;
  };
  const roots = [document.querySelector('[data-testid="stMain"]')];
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  if (sidebar && sidebar.dataset.collapsed === 'false' && sidebar.getBoundingClientRect().right > 0) {
    roots.push(sidebar);
  }
  const found = [];
  for (const root of roots.filter(Boolean)) {
    for (const el of root.querySelectorAll('*')) {
      const details = el.closest('details');
      if (details && !details.open && !el.closest('summary')) continue;  // a closed expander
      if (el.closest(SKIP) || !shown(el)) continue;
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      const problems = [];
      const wider = el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1;
      if (wider && style.overflowX !== 'visible' && (el.innerText || '').trim()) {
        const how = style.textOverflow === 'ellipsis' ? ', ellipsis' : '';
        problems.push(`content ${el.scrollWidth}px wide in a ${el.clientWidth}px box `
          + `(overflow-x: ${style.overflowX}${how})`);
      } else if (wider && el.matches(TEXT)) {
        problems.push(`text ${el.scrollWidth}px wide in a ${el.clientWidth}px box`);
      }
      if (el.matches(TEXT)) {
        const container = el.parentElement && el.parentElement.closest('[data-testid="stElementContainer"]');
        const right = container && container.getBoundingClientRect().right;
        if (container && box.right > right + 1) {
          problems.push(`right edge ${Math.round(box.right)} past its element's box ${Math.round(right)}`);
        }
        if (box.right > width + 1) {
          problems.push(`right edge ${Math.round(box.right)} past the window ${width}`);
        }
      }
      if (problems.length) found.push([el, `${describe(el)}: ${problems.join('; ')}`]);
    }
  }
  const reported = new Set(found.map(([el]) => el));
  const inside = (el) => {
    for (let up = el.parentElement; up; up = up.parentElement) if (reported.has(up)) return true;
    return false;
  };
  const lines = found.filter(([el]) => !inside(el)).map(([, line]) => line);
  const page = document.documentElement.scrollWidth;
  if (page > width) lines.push(`the document scrolls sideways: scrollWidth ${page} > window ${width}`);
  return lines;
}
"""

# A metric whose value is smaller than its label, as "label: value px < label px".
SMALL_VALUES_JS = """
() => [...document.querySelectorAll('[data-testid="stMetric"]')].flatMap((metric) => {
  const size = (selector) => {
    const el = metric.querySelector(selector);
    return el ? parseFloat(getComputedStyle(el).fontSize) : NaN;
  };
  const label = size('[data-testid="stMetricLabel"] p');
  const value = size('[data-testid="stMetricValue"] p') || size('[data-testid="stMetricValue"]');
  const name = (metric.querySelector('[data-testid="stMetricLabel"]') || metric).innerText.trim();
  return value >= label ? [] : [`${name}: value ${value}px < label ${label}px`];
})
"""

# Chart texts that a projector shows smaller than ``least`` px, as "selector "text": size px"
# (ticks, axis titles, legends, colour bars, titles and notes of every plotly chart).
PROJECTOR_CHART_TEXT_MIN = 14
SMALL_CHART_TEXT_JS = """
(least) => {
  const selectors = ['.xtick text', '.ytick text', '.g-xtitle text', '.g-ytitle text', '.legendtext',
                     '.cbaxis text', '.annotation-text', '.gtitle'];
  return selectors.flatMap((selector) => [...document.querySelectorAll(`.js-plotly-plot ${selector}`)]
    .filter((el) => el.textContent.trim() && parseFloat(getComputedStyle(el).fontSize) < least)
    .map((el) => `${selector} "${el.textContent.trim().slice(0, 30)}": ${getComputedStyle(el).fontSize}`))
    .slice(0, 12);
}
"""

SIDEBAR_SETTLED_JS = """
(open) => {
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  if (!sidebar) return !open;
  const box = sidebar.getBoundingClientRect();
  return open ? sidebar.dataset.collapsed === 'false' && box.left >= 0 && box.width > 0
              : sidebar.dataset.collapsed === 'true' && box.right <= 0;
}
"""


def _open(tab, app_url, url_path, query) -> None:
    """Go to the page and wait until it is drawn (the CPU may be shared: a long timeout)."""
    target = f"{app_url}/{'' if url_path == 'home' else url_path}" + (f"?{query}" if query else "")
    tab.goto(target, wait_until="domcontentloaded")
    wait_idle(tab, timeout_ms=180_000)
    assert_no_exception_box(tab)


def _settle(tab, sidebar_open: bool) -> None:
    """Wait for the web fonts (KaTeX's too), the sidebar to finish opening or closing, and a frame."""
    tab.wait_for_function("() => document.fonts.status === 'loaded'")
    tab.wait_for_function(SIDEBAR_SETTLED_JS, arg=sidebar_open)
    tab.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def _screenshots(tab, path_stem: str) -> None:
    """The window as a teacher sees it, then the whole page (a window as tall as the page)."""
    tab.screenshot(path=f"{path_stem}.png")
    size = tab.viewport_size
    height = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    tab.set_viewport_size({"width": size["width"], "height": min(int(height), 6000)})
    tab.screenshot(path=f"{path_stem}_full.png")
    tab.set_viewport_size(size)


def _navigation_problems(tab) -> list[str]:
    """The sidebar lists every page of :data:`PAGES` (one message if not)."""
    links = tab.locator('[data-testid="stSidebarNav"] a')
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    listed = sorted(urlsplit(href).path.strip("/") or "home" for href in hrefs)
    return [] if listed == sorted(PAGES) else [f"the navigation lists {listed}, not {sorted(PAGES)}"]


def _outside_hosts(tab, app_url: str, requests: list[str]) -> list[str]:
    """Requests (``requests``: every URL the tab asked) to a host but the app's own, and a page
    icon from elsewhere: one message per problem."""
    own = urlsplit(app_url).netloc
    web = {urlsplit(url).netloc for url in requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")}
    problems = [f"requests to other hosts: {sorted(web - {own})}"] if web - {own} else []
    icon = tab.locator('link[rel="shortcut icon"], link[rel="icon"]').first.get_attribute("href") or ""
    if urlsplit(icon).netloc not in ("", own):
        problems.append(f"the page icon comes from {icon}")
    return problems


def _measure(browser, app_url, screenshot_dir, url_path, sizes, query, sidebar_open, prefix) -> list[str]:
    """Open the page once, then at each window size: the overflows and the small metric values.

    Returns one failure message per size that has problems; screenshots are taken at each size.
    """
    width, height = sizes[0]
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    requests: list[str] = []
    tab.on("request", lambda request: requests.append(request.url))
    failures = []
    try:
        _open(tab, app_url, url_path, query)
        if sidebar_open:
            failures += _navigation_problems(tab)
        for width, height in sizes:
            tab.set_viewport_size({"width": width, "height": height})
            _settle(tab, sidebar_open)
            problems = tab.evaluate(OVERFLOWS_JS)
            small = tab.evaluate(SMALL_VALUES_JS)
            tiny = (
                tab.evaluate(SMALL_CHART_TEXT_JS, PROJECTOR_CHART_TEXT_MIN)
                if "projector=true" in query
                else []
            )
            suffix = f"_{width}x{height}" if len(sizes) > 1 else ""
            _screenshots(tab, str(screenshot_dir / f"{prefix}_{url_path}{suffix}"))
            where = f"/{url_path}?{query} at {width}×{height}"
            if problems:
                failures.append(f"{len(problems)} element(s) overflow on {where}:\n" + "\n".join(problems))
            if small:
                failures.append(f"metric values smaller than their labels on {where}:\n" + "\n".join(small))
            if tiny:
                failures.append(
                    f"chart text under {PROJECTOR_CHART_TEXT_MIN} px on {where}:\n" + "\n".join(tiny)
                )
        if sidebar_open:  # after the screenshots: late requests (fonts, the favicon) are in
            failures += _outside_hosts(tab, app_url, requests)
    finally:
        context.close()
    return failures


@pytest.mark.parametrize("url_path", PAGES)
def test_projector_mode_fits_a_projector(browser, app_url, screenshot_dir, url_path):
    """Projector mode at 1024 × 768 and 1280 × 720: the sidebar starts closed, nothing is cut off,
    and every chart text is at least ``PROJECTOR_CHART_TEXT_MIN`` px."""
    failures = _measure(
        browser, app_url, screenshot_dir, url_path, PROJECTOR_SIZES, "projector=true", False, "projector"
    )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("url_path", PHONE_PAGES)
def test_pages_fit_a_phone(browser, app_url, screenshot_dir, url_path):
    """A 390 px phone (normal mode): the sidebar starts closed and nothing is cut off."""
    failures = _measure(browser, app_url, screenshot_dir, url_path, [PHONE], "", False, "phone")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("url_path", PAGES)
def test_pages_fit_the_default_window(browser, app_url, screenshot_dir, url_path):
    """The default 1400 × 1000 window (normal mode, sidebar open): the page renders without an
    exception box, the sidebar lists every page, no request goes to a host but the app's own,
    and nothing is cut off."""
    failures = _measure(browser, app_url, screenshot_dir, url_path, [DESKTOP], "", True, "desktop")
    assert not failures, "\n".join(failures)


def test_projector_sidebar_opens_with_its_controls_and_fits(browser, app_url, screenshot_dir):
    """The closed sidebar opens from its arrow; the page still fits next to it and it stays open."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    try:
        _open(tab, app_url, "sorting_errors", "projector=true")
        _settle(tab, sidebar_open=False)
        tab.locator('[data-testid="stExpandSidebarButton"]').click()
        _settle(tab, sidebar_open=True)
        toggle = tab.locator('[data-testid="stSidebar"]').get_by_role("switch", name="Projector mode")
        assert toggle.is_checked()
        buttons = tab.locator('[data-testid="stMain"] button')
        # k + 1 reruns the page: the sidebar the teacher opened stays open
        buttons.filter(has=tab.get_by_text("chevron_right")).first.click()
        wait_idle(tab, timeout_ms=180_000)
        _settle(tab, sidebar_open=True)
        problems = tab.evaluate(OVERFLOWS_JS)
        tab.screenshot(path=str(screenshot_dir / "projector_sorting_errors_sidebar_open_1024x768.png"))
    finally:
        context.close()
    assert not problems, "with the sidebar open at 1024×768:\n" + "\n".join(problems)
