"""Take the README's screenshots: every page at 1400×1000 in headless Chromium, against a real
server; the two training pages after a finished run of their defaults.

    python -m tools.readme_screenshots [assets/screenshots]

Writes ``<page>.png`` for each page (about 4 minutes on a 2-core machine, most of it training).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.lessons import page_names
from app.serving import CHROMIUM, CHROMIUM_FLAGS, serve

TRAINING_SCROLL = {"live_training": 330, "dataset_training": 520}  # px: the finished run in view
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
TIMEOUT_MS = 240_000


def _wait_idle(tab) -> None:
    tab.wait_for_selector('[data-testid="stApp"]', timeout=TIMEOUT_MS)
    tab.wait_for_timeout(400)
    tab.wait_for_selector(IDLE, timeout=TIMEOUT_MS)


def _train_to_the_end(tab, limit_s: float = 600.0) -> None:
    """Press Start and wait until the run is over (Start is back, Pause gone)."""
    tab.get_by_role("button", name="Start").first.click()
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        tab.wait_for_timeout(3000)
        running = tab.get_by_role("button", name="Pause").count() > 0
        if not running and tab.get_by_role("button", name="Start").count():
            break
    _wait_idle(tab)


def take(directory: Path) -> list[Path]:
    """Write one screenshot per page into ``directory``; return their paths."""
    from playwright.sync_api import sync_playwright

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    with serve(log_name="readme-screenshots") as (url, _process), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        for name in page_names():  # every file in pages/: a new page gets its screenshot
            tab.goto(f"{url}/{'' if name == 'home' else name}", wait_until="domcontentloaded")
            _wait_idle(tab)
            if name in TRAINING_SCROLL:
                _train_to_the_end(tab)
                tab.wait_for_timeout(1500)
                tab.mouse.wheel(0, TRAINING_SCROLL[name])
            tab.wait_for_timeout(1500)
            tab.mouse.move(1390, 990)  # away from the charts: no hover toolbar in the picture
            tab.wait_for_timeout(500)
            path = directory / f"{name}.png"
            tab.screenshot(path=str(path))
            written.append(path)
            print(path, flush=True)
        browser.close()
    return written


if __name__ == "__main__":
    take(Path(sys.argv[1] if len(sys.argv) > 1 else "assets/screenshots"))
