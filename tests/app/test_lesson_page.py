"""The Lesson page under AppTest: navigation, the URL, revealing answers, broken lesson files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import lessons, safe_text
from tests.app_harness import assert_no_exception, run_page

BUILT_IN = lessons.load_lesson(lessons.LESSONS_DIR / f"{lessons.BUILT_IN}.md")
TITLES = [step.title for step in BUILT_IN.steps]


def header(at) -> str:
    """The step's title, without its number."""
    return at.header[0].value.split(". ", 1)[1]


def test_opens_on_the_first_step_with_its_place_in_the_url():
    at = run_page("lesson.py")
    assert_no_exception(at)
    assert header(at) == TITLES[0]
    assert (at.query_params["lesson"], at.query_params["step"]) == (lessons.BUILT_IN, "1")
    assert at.selectbox(key="_lesson_pick").value == lessons.BUILT_IN
    assert not at.error
    assert at.button(key="_lesson_prev").disabled


def test_next_and_previous_walk_the_steps_and_update_the_url():
    at = run_page("lesson.py")
    at.button(key="_lesson_next").click().run()
    assert header(at) == TITLES[1]
    at.button(key="_lesson_next").click().run()
    assert header(at) == TITLES[2]
    assert at.query_params["step"] == "3"
    at.button(key="_lesson_prev").click().run()
    assert header(at) == TITLES[1]
    assert_no_exception(at)


def test_reveal_and_hide_the_answer():
    at = run_page("lesson.py")
    assert not at.success
    at.button(key="_lesson_reveal_0").click().run()
    assert at.success[0].value == BUILT_IN.steps[0].answer
    assert at.button(key="_lesson_reveal_0").label == "Hide the answer"
    at.button(key="_lesson_reveal_0").click().run()
    assert not at.success


def test_a_link_opens_its_step_and_the_last_step_cannot_go_further():
    last = len(TITLES)
    at = run_page("lesson.py", query_params={"lesson": lessons.BUILT_IN, "step": str(last)})
    assert_no_exception(at)
    assert header(at) == TITLES[-1]
    assert at.button(key="_lesson_next").disabled


@pytest.mark.parametrize(("step", "expected"), [("999", -1), ("0", 0), ("two", 0)])
def test_a_bad_step_in_the_link_warns_and_shows_the_nearest_step(step, expected):
    at = run_page("lesson.py", query_params={"lesson": lessons.BUILT_IN, "step": step})
    assert_no_exception(at)
    assert header(at) == TITLES[expected]
    assert any(f"step={step}" in w.value for w in at.warning)


def test_an_unknown_lesson_in_the_link_warns():
    at = run_page("lesson.py", query_params={"lesson": "no_such_lesson"})
    assert_no_exception(at)
    assert any("no_such_lesson" in w.value for w in at.warning)
    assert header(at) == TITLES[0]


def test_every_step_renders_with_a_link_to_its_page():
    at = run_page("lesson.py")
    for index in range(len(TITLES)):
        assert header(at) == TITLES[index]
        assert_no_exception(at)
        if index < len(TITLES) - 1:
            at.button(key="_lesson_next").click().run()


@pytest.fixture
def lesson_folder(tmp_path, monkeypatch) -> Path:
    shutil.copy(lessons.LESSONS_DIR / f"{lessons.BUILT_IN}.md", tmp_path)
    broken = "# Broken\n\n## A step\npage: geometry\npreset: Nope\n"
    (tmp_path / "broken.md").write_text(broken, encoding="utf-8")
    (tmp_path / "tiny.md").write_text("# Tiny\n\n## Only step\npage: geometry\n\nLook.\n", encoding="utf-8")
    monkeypatch.setenv("LOVASZ_LESSONS_DIR", str(tmp_path))
    return tmp_path


def test_a_malformed_lesson_shows_file_line_and_problem(lesson_folder):
    at = run_page("lesson.py", query_params={"lesson": "broken"})
    assert_no_exception(at)
    message = safe_text.shown(at.error[0].value)  # file text is escaped: shown, never rendered
    assert "broken.md" in message and "line 5" in message and "has no preset 'Nope'" in message
    assert not at.header  # no step is shown


def test_other_broken_files_are_listed_but_do_not_stop_a_good_lesson(lesson_folder):
    at = run_page("lesson.py")
    assert_no_exception(at)
    assert header(at) == TITLES[0]
    assert not at.error
    assert any("broken.md, line 5" in safe_text.shown(m.value) for m in at.markdown)


def test_picking_another_lesson_starts_it_at_step_one(lesson_folder):
    at = run_page("lesson.py", query_params={"lesson": lessons.BUILT_IN, "step": "3"})
    at.selectbox(key="_lesson_pick").select("tiny").run()
    assert_no_exception(at)
    assert header(at) == "Only step"
    assert at.title[0].value == "Tiny"
    assert (at.query_params["lesson"], at.query_params["step"]) == ("tiny", "1")
