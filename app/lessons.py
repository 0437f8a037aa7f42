"""Lessons: guided paths through the app, written as plain Markdown files in ``assets/lessons/``.

A teacher writes a lesson without touching Python (the format is documented, with an example,
in ``assets/lessons/README.md``)::

    # Lovász-Softmax in 45 minutes          ← the lesson's title (first line that is not blank)
    minutes: 45                             ← optional lesson fields, right under the title

    One paragraph of introduction.

    ## Why IoU needs a surrogate            ← one step per "## " heading
    page: iou_jaccard                       ← the step's fields, right under its heading
    preset: Perfect prediction
    params: ij_offset=-2.5&ij_noise=0

    What to do on that page (Markdown).

    ### Question                            ← asked to the class
    What is the gradient of the IoU with respect to b?

    ### Answer                              ← revealed on click
    Zero almost everywhere: …

    ### Notes                               ← optional, for the teacher (collapsed)

Parsing is pure (:func:`parse_lesson`); checking pages, presets and link parameters against
the app's registry (:mod:`state`) is :func:`check_lesson`; :func:`load_lesson` does both. Any
problem raises :class:`LessonFormatError`, which names the file, the line and the problem.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from urllib.parse import parse_qsl, urlencode

import app.params  # noqa: F401  (importing it registers every page)
from app import state

ROOT = Path(__file__).resolve().parent.parent
LESSONS_DIR = ROOT / "assets" / "lessons"  # LOVASZ_LESSONS_DIR overrides it (see lessons_dir)
PAGES_DIR = ROOT / "pages"
BUILT_IN = "lovasz_in_45_minutes"

LESSON_FIELDS = ("minutes", "level", "author")
STEP_FIELDS = ("page", "preset", "params")
SECTIONS = ("question", "answer", "notes")
_HEADING = re.compile(r"^(#{1,6})(?:\s+(.*?))?\s*$")
# "page: geometry" and "page:geometry"; not "https://…" (a URL is text)
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_ -]*):(?!//)\s*(.*)$")
MAX_LESSON_BYTES = 512 * 1024  # a lesson is a few KB of text; a huge file is a mistake


class LessonFormatError(ValueError):
    """A lesson file that cannot be used: ``file``, 1-based ``line`` (0: the whole file), ``problem``."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        self.file, self.line, self.problem = file, line, problem
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Step:
    """One step of a lesson: a page to open (with link parameters), text, a question and its answer."""

    title: str
    line: int
    page: str
    preset: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    text: str = ""
    question: str = ""
    answer: str = ""
    notes: str = ""
    field_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Lesson:
    """A parsed lesson file: title, optional fields, introduction and steps."""

    name: str
    file: str
    title: str
    steps: tuple[Step, ...]
    intro: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------
# Parsing (pure)


def _clean(lines: Iterable[str]) -> str:
    return "\n".join(lines).strip()


def _field_line(line: str) -> tuple[str, str] | None:
    match = _FIELD.match(line)
    if match is None:
        return None
    return match.group(1).strip().lower(), (match.group(2) or "").strip()


def _parse_params(raw: str, file: str, line: int) -> tuple[tuple[str, str], ...]:
    text = raw.strip().lstrip("?")
    pairs = []
    for chunk in filter(None, text.split("&")):
        if "=" not in chunk:
            raise LessonFormatError(
                file,
                line,
                f"params: {chunk!r} is not of the form key=value "
                "(write e.g. `params: se_k=3&se_absent=true`)",
            )
        pairs.extend(parse_qsl(chunk, keep_blank_values=True))
    if not pairs:
        raise LessonFormatError(file, line, "params: empty; write e.g. `params: se_k=3&se_absent=true`")
    return tuple(pairs)


class _StepBuilder:
    def __init__(self, title: str, line: int) -> None:
        self.title, self.line = title, line
        self.values: dict[str, str] = {}
        self.field_lines: dict[str, int] = {}
        self.sections: dict[str, list[str]] = {"text": []}
        self.section_lines: dict[str, int] = {}
        self.current = "fields"

    def build(self, file: str) -> Step:
        if "page" not in self.values:
            raise LessonFormatError(
                file,
                self.line,
                f"step {self.title!r} has no `page:` line "
                "(put e.g. `page: sorting_errors` right under the heading)",
            )
        question = _clean(self.sections.get("question", []))
        answer = _clean(self.sections.get("answer", []))
        for name, text in (("question", question), ("answer", answer), ("notes", None)):
            if name in self.section_lines and text == "":
                raise LessonFormatError(
                    file,
                    self.section_lines[name],
                    f"the ### {name.capitalize()} section of step {self.title!r} is empty",
                )
        if question and not answer:
            raise LessonFormatError(
                file,
                self.section_lines["question"],
                f"step {self.title!r} asks a question but has no ### Answer section",
            )
        if answer and not question:
            raise LessonFormatError(
                file,
                self.section_lines["answer"],
                f"step {self.title!r} has an answer but no ### Question section",
            )
        params: tuple[tuple[str, str], ...] = ()
        if "params" in self.values:
            params = _parse_params(self.values["params"], file, self.field_lines["params"])
        return Step(
            title=self.title,
            line=self.line,
            page=self.values["page"],
            preset=self.values.get("preset"),
            params=params,
            text=_clean(self.sections["text"]),
            question=question,
            answer=answer,
            notes=_clean(self.sections.get("notes", [])),
            field_lines=dict(self.field_lines),
        )


def parse_lesson(text: str, file: str = "<lesson>", name: str | None = None) -> Lesson:
    """Parse a lesson's Markdown text (see the module docstring); raise :class:`LessonFormatError`.

    Checks the structure only (title, fields, sections, question/answer pairs); whether the
    pages, presets and parameters exist is :func:`check_lesson`'s job.

    Example:
        >>> lesson = parse_lesson("# Demo\\n\\n## First\\npage: geometry\\n\\nLook.\\n")
        >>> lesson.title, lesson.steps[0].page, lesson.steps[0].text
        ('Demo', 'geometry', 'Look.')
    """
    title: str | None = None
    lesson_fields: dict[str, str] = {}
    intro: list[str] = []
    steps: list[Step] = []
    builder: _StepBuilder | None = None
    in_header_fields = False
    fence = False
    fence_line = 0

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if fence or stripped.startswith("```"):  # code blocks are text, never structure
            if stripped.startswith("```"):
                fence, fence_line = not fence, number
            if title is None:
                raise LessonFormatError(
                    file, number, "the lesson must start with its title, a line like `# My lesson`"
                )
            if builder is None:
                intro.append(line)
            else:
                if builder.current == "fields":
                    builder.current = "text"
                builder.sections[builder.current].append(line)
            in_header_fields = False
            continue
        heading = _HEADING.match(line)
        level = len(heading.group(1)) if heading else 0
        label = (heading.group(2) or "").strip() if heading else ""
        if title is None:
            if not stripped or stripped.startswith("<!--"):
                continue
            if level != 1 or not label:
                raise LessonFormatError(
                    file,
                    number,
                    "the lesson must start with its title, a line "
                    f"like `# My lesson`; found {stripped[:60]!r}",
                )
            title = label
            in_header_fields = True
            continue
        if level == 1:
            raise LessonFormatError(
                file,
                number,
                "a lesson has one title (`# …`); start steps with `## ` and sections with `### `",
            )
        if level == 2:
            if builder is not None:
                steps.append(builder.build(file))
            if not label:
                raise LessonFormatError(file, number, "a step heading `## ` needs a title")
            builder = _StepBuilder(label, number)
            in_header_fields = False
            continue
        if level == 3:
            section = label.lower()
            if builder is None:
                raise LessonFormatError(
                    file, number, f"section `{line.strip()}` before the first step (`## Step title`)"
                )
            if section not in SECTIONS:
                expected = ", ".join("### " + s.capitalize() for s in SECTIONS)
                raise LessonFormatError(
                    file, number, f"unknown section `{line.strip()}`; expected one of: {expected}"
                )
            if section in builder.sections:
                raise LessonFormatError(
                    file, number, f"step {builder.title!r} has two ### {section.capitalize()} sections"
                )
            builder.sections[section] = []
            builder.section_lines[section] = number
            builder.current = section
            continue
        if level >= 4:
            raise LessonFormatError(
                file,
                number,
                "headings deeper than `### ` are not part of the lesson format; use **bold** text instead",
            )

        if builder is None:  # lesson header: fields under the title, then the introduction
            parsed = _field_line(line) if in_header_fields else None
            if in_header_fields and stripped and parsed is not None:
                key, value = parsed
                if key not in LESSON_FIELDS:
                    raise LessonFormatError(
                        file,
                        number,
                        f"unknown lesson field {key!r}; expected one "
                        f"of: {', '.join(LESSON_FIELDS)} (or leave a blank line "
                        "before the introduction)",
                    )
                lesson_fields[key] = value
                continue
            if stripped:
                in_header_fields = False
            intro.append(line)
            continue

        if builder.current == "fields":
            if not stripped:
                if builder.values:
                    builder.current = "text"
                continue
            parsed = _field_line(line)
            if parsed is None:
                builder.current = "text"
            else:
                key, value = parsed
                if key not in STEP_FIELDS:
                    raise LessonFormatError(
                        file,
                        number,
                        f"unknown step field {key!r}; expected one "
                        f"of: {', '.join(STEP_FIELDS)} (put a blank line between "
                        "the fields and the step's text)",
                    )
                if key in builder.values:
                    raise LessonFormatError(file, number, f"step {builder.title!r} sets `{key}:` twice")
                if not value:
                    raise LessonFormatError(file, number, f"`{key}:` has no value")
                builder.values[key] = value
                builder.field_lines[key] = number
                continue
        builder.sections[builder.current].append(line)

    if fence:
        raise LessonFormatError(file, fence_line, "this code block is not closed (add a line ```)")
    if title is None:
        raise LessonFormatError(file, 0, "the file is empty; a lesson starts with a title line `# My lesson`")
    if builder is not None:
        steps.append(builder.build(file))
    if not steps:
        raise LessonFormatError(
            file, 0, "the lesson has no steps; start each step with a `## Step title` line"
        )
    return Lesson(
        name=name or Path(file).stem,
        file=file,
        title=title,
        steps=tuple(steps),
        intro=_clean(intro),
        fields=lesson_fields,
    )


# ------------------------------------------------------------------------------------------
# Checking against the app (pages on disk, presets and parameters in ``state``)


def page_names(pages_dir: Path = PAGES_DIR) -> list[str]:
    """The app's page names: the stems of ``pages/*.py``."""
    return sorted(p.stem for p in pages_dir.glob("*.py") if not p.stem.startswith("_"))


def _registry() -> Mapping[str, state.PageState]:
    return state.PAGES


def check_lesson(
    lesson: Lesson, pages: Iterable[str] | None = None, registry: Mapping[str, state.PageState] | None = None
) -> Lesson:
    """Check every step's page, preset and link parameters; return the lesson or raise.

    ``pages`` defaults to the files in ``pages/``; ``registry`` to :data:`state.PAGES`.
    """
    known_pages = list(pages) if pages is not None else page_names()
    registry = _registry() if registry is None else registry
    for step in lesson.steps:
        page_line = step.field_lines.get("page", step.line)
        if step.page not in known_pages:
            raise LessonFormatError(
                lesson.file, page_line, f"unknown page {step.page!r}; the pages are: {', '.join(known_pages)}"
            )
        entry = registry.get(step.page)
        if entry is None:
            if step.preset or step.params:
                raise LessonFormatError(
                    lesson.file,
                    step.field_lines.get("preset", step.field_lines.get("params", step.line)),
                    f"page {step.page!r} has no presets or link parameters",
                )
            continue
        if step.preset is not None and step.preset not in entry.presets:
            raise LessonFormatError(
                lesson.file,
                step.field_lines["preset"],
                f"page {step.page!r} has no preset {step.preset!r}; its presets are: "
                f"{', '.join(entry.presets)}",
            )
        if step.params:
            _, problems = state.from_query(step.page, dict(step.params))
            prefix = f"{entry.prefix}_"
            strays = [k for k, _ in step.params if not k.startswith(prefix)]
            if strays:
                problems.append(
                    f"`{strays[0]}` is not a parameter of page {step.page!r} "
                    f"(its parameters start with `{prefix}`)"
                )
            if problems:
                raise LessonFormatError(
                    lesson.file,
                    step.field_lines["params"],
                    "params: "
                    + problems[0].replace("; using the default instead", "").replace("; it is ignored", ""),
                )
    return lesson


def _check_file(path: Path, directory: Path) -> None:
    """Refuse a file that is a link out of ``directory``, not a regular file, or too large."""
    try:
        target = path.resolve(strict=True)
        inside = target.is_relative_to(directory.resolve(strict=True))
        stat = target.stat()
    except OSError as error:
        raise LessonFormatError(path.name, 0, f"cannot be read ({error.strerror or error})") from None
    if not inside:
        raise LessonFormatError(
            path.name,
            0,
            "is a link to a file outside the lessons folder; lessons are read only from inside "
            "it (copy the file into the folder instead)",
        )
    if not S_ISREG(stat.st_mode):
        raise LessonFormatError(path.name, 0, "is not a regular file")
    if stat.st_size > MAX_LESSON_BYTES:
        raise LessonFormatError(
            path.name,
            0,
            f"is {stat.st_size / 1e6:.1f} MB; a lesson file may be at most "
            f"{MAX_LESSON_BYTES // 1024} KB (it is text: split it into several lessons)",
        )


def load_lesson(path: Path | str, directory: Path | None = None) -> Lesson:
    """Read, parse and check a lesson file; the error names the file by its name in the folder.

    ``directory`` (default: the file's folder) is the lessons folder: a link that leads out of it
    is refused, and so is a file over ``MAX_LESSON_BYTES``. A UTF-8 byte-order mark is skipped.
    """
    path = Path(path)
    _check_file(path, path.parent if directory is None else directory)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise LessonFormatError(path.name, 0, f"not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise LessonFormatError(path.name, 0, f"cannot be read ({error.strerror or error})") from None
    return check_lesson(parse_lesson(text, file=path.name, name=path.stem))


def lessons_dir() -> Path:
    """Where lessons are read from: ``$LOVASZ_LESSONS_DIR`` if set, else ``assets/lessons``."""
    chosen = os.environ.get("LOVASZ_LESSONS_DIR", "").strip()
    return Path(chosen) if chosen else LESSONS_DIR


def lessons_dir_problem(directory: Path | None = None) -> str | None:
    """Why the lessons folder cannot be read (naming the folder), or None if it can."""
    directory = lessons_dir() if directory is None else directory
    origin = " (set by LOVASZ_LESSONS_DIR)" if os.environ.get("LOVASZ_LESSONS_DIR", "").strip() else ""
    if not directory.exists():
        return f"The lessons folder {directory}{origin} does not exist."
    if not directory.is_dir():
        return f"The lessons folder {directory}{origin} is not a folder."
    return None


def available_lessons(directory: Path | None = None) -> dict[str, Path]:
    """``{name: path}`` of the lesson files (``*.md`` except README), the built-in one first."""
    directory = lessons_dir() if directory is None else directory
    if lessons_dir_problem(directory) is not None:
        return {}
    files = {p.stem: p for p in sorted(directory.glob("*.md")) if p.stem.lower() != "readme"}
    ordered = {BUILT_IN: files.pop(BUILT_IN)} if BUILT_IN in files else {}
    ordered.update(files)
    return ordered


# ------------------------------------------------------------------------------------------
# Links


def step_query(step: Step) -> dict[str, str | list[str]]:
    """Query parameters that open ``step``'s view: every field of its preset, then ``params``.

    Every field is set, not only those that differ from the defaults: a student's session
    remembers the values it last used on a page, and the lesson must show *its* view. A step
    without a preset starts from the page's defaults (its "Default" preset, when it has one).
    """
    query: dict[str, str | list[str]] = {}
    if step.page in state.PAGES:
        entry = state.PAGES[step.page]
        params = entry.presets[step.preset] if step.preset is not None else entry.cls()
        query.update(
            {
                state.key(step.page, name): state.format_value(getattr(params, name))
                for name in state.specs(entry.cls)
            }
        )
    query.update(dict(step.params))
    return query


def step_url(step: Step) -> str:
    """Relative URL of the step's view, e.g. ``"sorting_errors?se_scene=disks&…&se_k=1"``."""
    query = step_query(step)
    path = "" if step.page == "home" else step.page
    return path + (f"?{urlencode(query)}" if query else "")
