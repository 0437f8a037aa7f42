"""The Lesson page in headless Chromium: walk the steps, reveal an answer, follow a step's link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import assert_no_exception_box, open_page, wait_idle

pytestmark = pytest.mark.browser
STEP_6 = "6. An absent class costs exactly its largest error"


def _click(page, name: str) -> None:
    page.get_by_role("button", name=name).first.click()
    wait_idle(page)


def test_lesson_walkthrough(page, app_url, screenshot_dir):
    open_page(page, app_url, "lesson")
    assert_no_exception_box(page)
    assert "step=1" in page.url and "lesson=lovasz_in_45_minutes" in page.url
    page.screenshot(path=str(screenshot_dir / "lesson_step1.png"), full_page=True)

    _click(page, "Next")
    page.wait_for_url(re.compile(r"step=2"))
    expect(page.get_by_role("heading", name="2. IoU is a step function of the logits")).to_have_count(1)

    _click(page, "Reveal the answer")
    answer = page.locator('[data-testid="stAlertContentSuccess"]')
    answer.wait_for()
    assert "None." in answer.inner_text()
    page.screenshot(path=str(screenshot_dir / "lesson_step2_answer.png"), full_page=True)
    assert_no_exception_box(page)


def test_step_link_opens_the_page_with_its_preset(page, app_url, screenshot_dir):
    open_page(page, app_url, "lesson", "lesson=lovasz_in_45_minutes&step=6")
    expect(page.get_by_role("heading", name=STEP_6)).to_have_count(1)
    page.get_by_role("link", name=re.compile("Open Sorting errors")).click()
    page.wait_for_url(re.compile(r"/sorting_errors\?.*se_absent=true"))
    wait_idle(page)
    assert_no_exception_box(page)
    toggle = page.locator('[data-testid="stCheckbox"]').filter(has_text="Remove class c from the ground")
    expect(toggle.locator("input").first).to_be_checked()
    page.screenshot(path=str(screenshot_dir / "lesson_opened_sorting_errors.png"), full_page=True)

    # back to the lesson through the sidebar: the lesson keeps its place
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Lesson").click()
    wait_idle(page)
    page.wait_for_url(re.compile(r"step=6"))
    expect(page.get_by_role("heading", name=STEP_6)).to_have_count(1)


def test_step_link_overrides_what_the_student_changed_before(page, app_url):
    open_page(page, app_url, "sorting_errors", "se_k=30&se_noise=2.0")
    open_page(page, app_url, "lesson", "lesson=lovasz_in_45_minutes&step=4")
    page.get_by_role("link", name=re.compile("Open Sorting errors")).click()
    page.wait_for_url(re.compile(r"/sorting_errors"))
    wait_idle(page)

    def slider(label: str):
        return page.locator(f'[data-testid="stSlider"] input[type="range"][aria-label="{label}"]')

    # the Default preset's values, not the student's earlier 30 and 2.0
    expect(slider("Step k: the k largest errors")).to_have_value("12")
    expect(slider("Logit noise σ")).to_have_value("0.6")
