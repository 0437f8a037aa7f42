"""Helpers to run a page of the app under ``streamlit.testing.v1.AppTest``.

``AppTest.from_file`` resolves relative paths against the calling file, so the entrypoint is
given as an absolute path, and each page is reached through the navigation.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "app" / "main.py"
PAGE_FILES = (
    "home.py",
    "iou_jaccard.py",
    "sorting_errors.py",
    "geometry.py",
    "gradients.py",
    "live_training.py",
    "lesson.py",
)


def run_page(page: str, query_params: dict[str, str] | None = None, timeout: float = 60.0) -> AppTest:
    """Run ``pages/<page>`` (e.g. ``"sorting_errors.py"``) once and return the AppTest."""
    at = AppTest.from_file(str(MAIN), default_timeout=timeout)
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    at.run()
    if page != "home.py":
        # Opening a link to the page: its parameters are in the address when the page starts (the
        # first run, on Home, wrote Home's view into the address bar).
        for key, value in (query_params or {}).items():
            at.query_params[key] = value
        at.switch_page(f"../pages/{page}")
        at.run()
    return at


def assert_no_exception(at: AppTest) -> None:
    """Fail with the exception texts if the page raised."""
    messages = [e.value for e in at.exception]
    assert not messages, f"page raised: {messages}"
