"""The lesson file format (app/lessons.py): good files parse, bad ones name file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import lessons, state
from app.lessons import LessonFormatError, check_lesson, load_lesson, parse_lesson

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
<!-- a comment before the title is fine -->
# A small lesson
minutes: 10
level: beginners

Welcome. This intro is shown above step 1.

## First look
page: sorting_errors
preset: Absent class
params: se_k=2&se_errors=hinge

Look at the bars.
Note: this line looks like a field but follows a blank line, so it is text.

```
page: not_a_field
### Not a section
```

### Question
What is the loss?

### Answer
The largest error.

### Notes
Pause here.

## Second
page: geometry
"""


def parse(text: str):
    return parse_lesson(text, file="demo.md")


def check(text: str):
    return check_lesson(parse(text))


def test_good_file_parses_every_part():
    lesson = check(GOOD)
    assert lesson.title == "A small lesson"
    assert lesson.name == "demo"
    assert lesson.fields == {"minutes": "10", "level": "beginners"}
    assert lesson.intro == "Welcome. This intro is shown above step 1."
    first, second = lesson.steps
    assert (first.title, first.line, first.page) == ("First look", 8, "sorting_errors")
    assert first.preset == "Absent class"
    assert first.params == (("se_k", "2"), ("se_errors", "hinge"))
    assert first.text.startswith("Look at the bars.\nNote: this line")
    assert "page: not_a_field" in first.text and "### Not a section" in first.text
    assert (first.question, first.answer) == ("What is the loss?", "The largest error.")
    assert first.notes == "Pause here."
    assert (second.page, second.preset, second.params, second.question) == ("geometry", None, (), "")


def test_step_query_sets_every_field_of_the_preset_then_the_params():
    first = check(GOOD).steps[0]
    preset = state.PAGES["sorting_errors"].presets["Absent class"]
    query = lessons.step_query(first)
    assert set(query) == {state.key("sorting_errors", name) for name in state.specs(type(preset))}
    assert query["se_absent"] == "true" and query["se_k"] == "2" and query["se_errors"] == "hinge"
    params, problems = state.from_query("sorting_errors", query)
    assert problems == []
    assert params == type(preset)(**{**vars(preset), "k": 2, "errors": "hinge"})
    assert lessons.step_url(first).startswith("sorting_errors?se_scene=")


def test_a_step_without_preset_starts_from_the_page_defaults():
    step = parse("# T\n\n## G\npage: geometry\nparams: geo_m1=0.2\n").steps[0]
    params, problems = state.from_query("geometry", lessons.step_query(step))
    assert problems == [] and params == state.PAGES["geometry"].cls(m1=0.2)
    lesson_step = parse("# T\n\n## L\npage: lesson\n").steps[0]
    assert lessons.step_query(lesson_step) == {} and lessons.step_url(lesson_step) == "lesson"


# ---------------------------------------------------------------------------- malformed files
STEP = "## S\npage: geometry\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 0, "empty"),
        ("\n\n", 0, "empty"),
        ("Hello\n# Title\n", 1, "must start with its title"),
        ("#Title\n", 1, "must start with its title"),
        ("# T\n\nJust an intro.\n", 0, "no steps"),
        ("# T\n" + STEP + "# Another title\n", 4, "one title"),
        ("# T\n## \npage: home\n", 2, "needs a title"),
        ("# T\n\n## S\n\nText only.\n", 3, "no `page:` line"),
        ("# T\n## S\npage: geometry\npgae: home\n", 4, "unknown step field 'pgae'"),
        ("# T\n## S\npage: geometry\npage: home\n", 4, "sets `page:` twice"),
        ("# T\n## S\npage:\n", 3, "`page:` has no value"),
        ("# T\ncolour: blue\n" + STEP, 2, "unknown lesson field 'colour'"),
        ("# T\n### Question\nWhy?\n", 2, "before the first step"),
        ("# T\n" + STEP + "\n### Quiz\nWhy?\n", 5, "unknown section `### Quiz`"),
        ("# T\n" + STEP + "\n#### Deep\n", 5, "deeper than `### `"),
        ("# T\n" + STEP + "\n### Question\nWhy?\n", 5, "no ### Answer section"),
        ("# T\n" + STEP + "\n### Answer\nBecause.\n", 5, "no ### Question section"),
        ("# T\n" + STEP + "\n### Question\n\n### Answer\nA.\n", 5, "Question section of step 'S' is empty"),
        ("# T\n" + STEP + "\n### Question\nQ?\n### Answer\nA.\n### Question\nQ2?\n", 9, "two ### Question"),
        ("# T\n## S\npage: sorting_errors\nparams: se_k\n", 4, "is not of the form key=value"),
        ("# T\n" + STEP + "\n```\nunclosed code\n", 5, "code block is not closed"),
    ],
)
def test_structure_errors_name_file_line_and_problem(text, line, words):
    with pytest.raises(LessonFormatError) as caught:
        parse(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.file == "demo.md"
    assert error.line == line, str(error)
    assert words in error.problem, error.problem
    assert str(error).startswith("demo.md")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("# T\n## S\npage: sorting\n", 3, "unknown page 'sorting'; the pages are:"),
        ("# T\n## S\npage: geometry\npreset: Corners\n", 4, "has no preset 'Corners'; its presets are:"),
        ("# T\n## S\npage: sorting_errors\nparams: se_k=2.5\n", 4, "se_k (Step k"),
        ("# T\n## S\npage: sorting_errors\nparams: se_k=99999\n", 4, "expected a value in"),
        ("# T\n## S\npage: sorting_errors\nparams: se_errors=cubic\n", 4, "expected one of softmax, hinge"),
        ("# T\n## S\npage: sorting_errors\nparams: se_nope=1\n", 4, "'se_nope' is not a parameter"),
        ("# T\n## S\npage: sorting_errors\nparams: ij_k=1\n", 4, "`ij_k` is not a parameter of page"),
        ("# T\n## S\npage: lesson\npreset: Default\n", 4, "has no presets or link parameters"),
    ],
)
def test_app_errors_name_file_line_and_problem(text, line, words):
    with pytest.raises(LessonFormatError) as caught:
        check(text)
    assert (caught.value.file, caught.value.line) == ("demo.md", line), str(caught.value)
    assert words in caught.value.problem, caught.value.problem


def test_load_lesson_reports_unreadable_files(tmp_path):
    binary = tmp_path / "broken.md"
    binary.write_bytes(b"# T\n\xff\xfe\n")
    with pytest.raises(LessonFormatError, match=r"^broken\.md: not UTF-8"):
        load_lesson(binary)
    with pytest.raises(LessonFormatError, match="cannot be read"):
        load_lesson(tmp_path / "missing.md")


def test_available_lessons_lists_markdown_files_built_in_first(tmp_path):
    for name in ("zeta.md", "README.md", "alpha.md", f"{lessons.BUILT_IN}.md", "notes.txt"):
        (tmp_path / name).write_text("# T\n")
    assert list(lessons.available_lessons(tmp_path)) == [lessons.BUILT_IN, "alpha", "zeta"]


# ---------------------------------------------------------------------------- the built-in lesson
BUILT_IN = load_lesson(lessons.LESSONS_DIR / f"{lessons.BUILT_IN}.md")


def test_built_in_lesson_has_at_least_eight_complete_steps():
    assert len(BUILT_IN.steps) >= 8
    for step in BUILT_IN.steps:
        assert step.text or step.preset, step.title
        assert step.question and step.answer, step.title


def test_built_in_lesson_pages_exist_and_links_parse():
    pages = {p.stem for p in (ROOT / "pages").glob("*.py")}
    visited = set()
    for step in BUILT_IN.steps:
        assert step.page in pages
        visited.add(step.page)
        query = lessons.step_query(step)
        if step.page in state.PAGES:
            params, problems = state.from_query(step.page, query)
            assert problems == [], (step.title, problems)
            if step.preset:
                preset = state.PAGES[step.page].presets[step.preset]
                for key, value in step.params:
                    assert state.format_value(getattr(params, key.split("_", 1)[1])) == value
                overridden = {k.split("_", 1)[1] for k, _ in step.params}
                untouched = set(state.specs(type(preset))) - overridden
                assert all(getattr(params, k) == getattr(preset, k) for k in untouched)
    assert visited >= {"iou_jaccard", "sorting_errors", "geometry", "gradients", "live_training"}


@pytest.mark.parametrize(
    "must_say",
    [
        "staircase",  # why IoU needs a surrogate
        "zero almost everywhere",
        "marginal",  # what the sort does
        "exactly the largest error",  # absent class
        'classes="present"',
        "per_image=False",  # per image vs per batch, and the defaults
        "per_image=True",
        "CE 76.7, Lovász alone 64.7, CE + Lovász 78.4",  # scratch vs CE + Lovász
        "fine-tune",
        "the Jaccard loss of the k worst pixels",  # prefix sums of g
        "1 − IoU of the thresholded prediction",
        "ignore_index=255",  # void label
        "concentrates on the errors",  # how g shifts in training
    ],
)
def test_built_in_lesson_answers_the_questions_people_ask(must_say):
    answers = "\n".join(s.answer for s in BUILT_IN.steps)
    assert must_say in answers


def test_the_example_in_the_lessons_readme_is_a_valid_lesson():
    readme = (lessons.LESSONS_DIR / "README.md").read_text(encoding="utf-8")
    example = readme.split("```markdown\n", 1)[1].split("\n```\n", 1)[0]
    lesson = check(example)
    assert [s.page for s in lesson.steps] == ["sorting_errors", "geometry"]
    assert lesson.steps[0].question and lesson.steps[0].answer and lesson.steps[0].notes
