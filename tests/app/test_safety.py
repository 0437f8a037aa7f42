"""Nothing a link, a lesson file or a setting can turn against students: text shown as text,
lesson files that stay in their folder and stay small, settings that keep training possible."""

from __future__ import annotations

import os

import pytest

from app import classroom, lessons, safe_text
from app.classroom import ClassroomConfig
from app.params import LiveTrainingParams
from app.state import specs
from tests.app_harness import assert_no_exception, run_page

LESSON = "# Tiny\n\n## Only step\npage: geometry\n\nLook at the corners.\n"


# ------------------------------------------------------------------------------------------ text
@pytest.mark.parametrize(
    "text",
    [
        "[Log in again](https://evil.example/login)",
        "![x](https://evil.example/p.png)",
        '<img src="https://evil.example/h.png">',
        "se_`[k](https://evil.example/k)`x",
        "**bold** _it_ # heading :red[red] $x$ www.evil.example a@evil.example",
    ],
)
def test_literal_leaves_no_markdown_link_image_or_html(text):
    import re

    out = safe_text.literal(text)
    # outside code spans, every punctuation character is escaped
    outside = re.sub(r"(`+).*?\1", "", out)
    assert not re.search(r"(?<!\\)[\[\]()<>!*_#`:$@]", outside), out
    assert "\n" not in out
    if "`" not in text:  # the same characters, once escapes and code-span fences are gone
        assert safe_text.shown(re.sub(r"(`+)(.*?)\1", r"\2", out)) == text


def test_code_span_holds_any_backticks_and_lines_are_joined():
    assert safe_text.code("plain") == "`plain`"
    assert safe_text.code("a`b") == "`` a`b ``"
    assert safe_text.code("x``y") == "``` x``y ```"
    assert safe_text.literal("two\nlines\r\nhere") == "two lines here"
    assert safe_text.literal("x" * 1000).endswith("…") and len(safe_text.literal("x" * 1000)) == 300


# ------------------------------------------------------------------------------------------ lessons
def test_a_link_out_of_the_lessons_folder_is_refused(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n")
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "evil.md").symlink_to(outside)
    with pytest.raises(lessons.LessonFormatError) as caught:
        lessons.load_lesson(folder / "evil.md", folder)
    assert "outside the lessons folder" in caught.value.problem
    assert "root:x" not in str(caught.value)  # the target's content is never read


def test_a_link_inside_the_folder_is_fine(tmp_path):
    (tmp_path / "real.md").write_text(LESSON)
    (tmp_path / "alias.md").symlink_to(tmp_path / "real.md")
    assert lessons.load_lesson(tmp_path / "alias.md", tmp_path).title == "Tiny"


def test_a_huge_lesson_file_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big.md"
    with open(big, "wb") as handle:
        handle.truncate(58_000_000)  # a sparse file: 58 MB that cost no disk
    with pytest.raises(lessons.LessonFormatError) as caught:
        lessons.load_lesson(big, tmp_path)
    assert "58.0 MB" in caught.value.problem and "at most 512 KB" in caught.value.problem


def test_a_byte_order_mark_and_a_field_without_a_space_are_accepted(tmp_path):
    path = tmp_path / "bom.md"
    path.write_bytes("\ufeff".encode() + LESSON.replace("page: geometry", "page:geometry").encode())
    lesson = lessons.load_lesson(path, tmp_path)
    assert lesson.title == "Tiny" and lesson.steps[0].page == "geometry"


def test_a_url_under_a_step_heading_is_text_not_a_field():
    lesson = lessons.parse_lesson("# T\n\n## S\npage: geometry\n\nhttps://example.org/x\n")
    assert lesson.steps[0].text == "https://example.org/x"


def test_a_missing_lessons_folder_is_named(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("LOVASZ_LESSONS_DIR", str(missing))
    problem = lessons.lessons_dir_problem()
    assert problem is not None and str(missing) in problem and "LOVASZ_LESSONS_DIR" in problem
    assert lessons.available_lessons() == {}
    at = run_page("lesson.py")
    assert_no_exception(at)
    assert "nowhere" in safe_text.shown(at.warning[0].value)


def test_the_lesson_name_from_a_link_is_shown_as_text():
    at = run_page("lesson.py", query_params={"lesson": "[Log in](https://evil.example/login)"})
    assert_no_exception(at)
    warning = at.warning[0].value
    assert "`[Log in](https://evil.example/login)`" in warning  # in a code span: shown, never linked


# ------------------------------------------------------------------------------------------ settings
def test_the_minimums_are_the_sliders_lowest_values():
    fields = specs(LiveTrainingParams)
    assert fields["steps"][0].lo == classroom.MIN_STEPS
    assert fields["size"][0].lo == classroom.MIN_IMAGE_SIZE


@pytest.mark.parametrize(
    ("variable", "raw", "words"),
    [
        ("LOVASZ_MAX_STEPS", "5", "at least 20"),
        ("LOVASZ_MAX_IMAGE_SIZE", "8", "from 16"),
        ("LOVASZ_SLOT_TIMEOUT_S", "nan", "from 1 to 86400"),
        ("LOVASZ_SLOT_TIMEOUT_S", "1e-300", "from 1 to 86400"),
        ("LOVASZ_SLOT_TIMEOUT_S", "inf", "from 1 to 86400"),
        ("LOVASZ_MAX_CONCURRENT_RUNS", "0", "a positive int"),
    ],
)
def test_a_setting_that_would_break_training_is_rejected_with_its_default(variable, raw, words):
    config, problems = ClassroomConfig.read_env({variable: raw, "LOVASZ_MAX_LOSSES": "3"})
    assert config.max_losses == 3  # the other settings still apply
    name = next(n for n, v in ClassroomConfig.ENV.items() if v == variable)
    assert getattr(config, name) == getattr(ClassroomConfig(), name)
    (problem,) = problems
    assert problem.startswith(variable) and words in problem and repr(raw) in problem
    assert f"using the default {getattr(ClassroomConfig(), name)}" in problem


def test_the_live_training_page_reports_a_bad_setting_and_still_trains(monkeypatch):
    monkeypatch.setenv("LOVASZ_MAX_STEPS", "5")
    classroom.reset_shared_manager()
    try:
        at = run_page("live_training.py")
        assert_no_exception(at)
        texts = [safe_text.shown(w.value) for w in at.warning]
        assert any("LOVASZ_MAX_STEPS" in t and "'5'" in t for t in texts), texts
        assert not at.button(key="lt_start").disabled
    finally:
        classroom.reset_shared_manager()
        os.environ.pop("LOVASZ_MAX_STEPS", None)
