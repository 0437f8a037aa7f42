"""Page "Lesson": a guided path through the other pages, one step at a time.

Lessons are Markdown files in ``assets/lessons/`` (format: ``assets/lessons/README.md``,
parser: ``app/lessons.py``). Each step opens a page with its settings, asks the class a
question and reveals the answer on a click. The place in the lesson is in the address bar
(``?lesson=<file>&step=<n>``), so a link brings everyone to the same step. A broken lesson file
shows its file, line and problem, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import lessons, presentation, safe_text

PICK = "_lesson_pick"  # the select box (a widget key: forgotten when another page runs)
LESSON = "_lesson_name"  # the lesson, kept across pages
STEP = "_lesson_step"  # 0-based
REVEALED = "_lesson_revealed"
SS = st.session_state
PAGE_TITLES = {
    "home": "Home",
    "iou_jaccard": "IoU and the Jaccard loss",
    "sorting_errors": "Sorting errors",
    "geometry": "Geometry of the extension",
    "gradients": "Gradients: Lovász vs cross-entropy",
    "live_training": "Live training",
    "lesson": "Lesson",
}


def _load_all() -> tuple[dict[str, lessons.Lesson], dict[str, lessons.LessonFormatError]]:
    """Every lesson file, parsed and checked; broken ones are returned with their error."""
    good: dict[str, lessons.Lesson] = {}
    broken: dict[str, lessons.LessonFormatError] = {}
    for name, path in lessons.available_lessons().items():
        try:
            good[name] = lessons.load_lesson(path, lessons.lessons_dir())
        except lessons.LessonFormatError as error:
            broken[name] = error
    return good, broken


def _show_error(error: lessons.LessonFormatError) -> None:
    where = f"line {error.line}" if error.line else "the whole file"
    st.error(
        f"**The lesson file {safe_text.code(error.file)} cannot be used** ({where}): "
        f"{safe_text.literal(error.problem, limit=500)}\n\n"
        "See `assets/lessons/README.md` for the format.",
        icon=":material/error:",
    )


def _url_step(count: int) -> int | None:
    raw = st.query_params.get("step")
    if raw is None:
        return None
    try:
        step = int(raw)
    except ValueError:
        st.warning(
            f"The link's {safe_text.code(f'step={raw}')} is not a number; starting at step 1.",
            icon=":material/link_off:",
        )
        return 0
    if not 1 <= step <= count:
        st.warning(
            f"The link's {safe_text.code(f'step={raw}')} is outside 1–{count}; showing the nearest step.",
            icon=":material/link_off:",
        )
    return min(max(step, 1), count) - 1


def _sync_url() -> None:
    st.query_params["lesson"] = SS[LESSON]
    st.query_params["step"] = str(SS[STEP] + 1)


def _picked() -> None:
    SS[LESSON] = SS[PICK]
    SS[STEP] = 0
    _sync_url()


def _move(delta: int, count: int) -> None:
    SS[STEP] = min(max(SS[STEP] + delta, 0), count - 1)
    _sync_url()


def _go(index: int) -> None:
    SS[STEP] = index
    _sync_url()


def _toggle_answer(token: str) -> None:
    revealed = set(SS.get(REVEALED, set()))
    revealed.symmetric_difference_update({token})
    SS[REVEALED] = revealed


def _page_path(page: str) -> str:
    return str(Path(lessons.PAGES_DIR, f"{page}.py").resolve())


def _navigation(index: int, count: int) -> None:
    left, middle, right = st.columns([1, 4, 1], vertical_alignment="center")
    left.button(
        "Previous",
        icon=":material/arrow_back:",
        key="_lesson_prev",
        disabled=index == 0,
        on_click=_move,
        args=(-1, count),
        width="stretch",
    )
    middle.progress(
        (index + 1) / count,
        text=f"Step **{index + 1}** of {count}" + (": the last one" if index == count - 1 else ""),
    )
    right.button(
        "Next",
        icon=":material/arrow_forward:",
        icon_position="right",
        key="_lesson_next",
        disabled=index == count - 1,
        on_click=_move,
        args=(1, count),
        type="primary",
        width="stretch",
    )


def _step_view(lesson: lessons.Lesson, index: int) -> None:
    step = lesson.steps[index]
    projector = presentation.is_projector()
    _navigation(index, len(lesson.steps))
    st.header(f"{index + 1}. {step.title}", anchor=False)

    target = PAGE_TITLES.get(step.page, step.page)
    setting = f" (preset *{step.preset}*)" if step.preset else ""
    with st.container(border=True):
        st.page_link(
            _page_path(step.page),
            label=f"Open **{target}**{setting}",
            icon=":material/open_in_new:",
            query_params=lessons.step_query(step) or None,
        )
        if not projector:
            st.caption(
                "The link opens the page with this step's settings; come back with **Lesson** in the "
                "sidebar, the lesson keeps its place."
            )
    if step.text:
        st.markdown(step.text)

    if step.question:
        token = f"{lesson.name}:{index}"
        shown = token in SS.get(REVEALED, set())
        with st.container(border=True):
            st.markdown("**:material/quiz: Question for the class**")
            st.markdown(step.question)
            st.button(
                "Hide the answer" if shown else "Reveal the answer",
                key=f"_lesson_reveal_{index}",
                icon=":material/visibility_off:" if shown else ":material/visibility:",
                type="secondary" if shown else "primary",
                on_click=_toggle_answer,
                args=(token,),
            )
            if shown:
                st.success(step.answer, icon=":material/lightbulb:")
    if step.notes and not projector:
        with st.expander("Teacher notes", icon=":material/edit_note:"):
            st.markdown(step.notes)
    if not projector:
        with st.expander("Link to this step, for the class", icon=":material/link:"):
            st.code(presentation.view_url({"lesson": lesson.name, "step": index + 1}), language=None)
            st.caption("Everyone who opens it lands on this step; the copy button is on the right.")


# ------------------------------------------------------------------------------------------ page
good, broken = _load_all()
names = [*good, *(n for n in broken if n not in good)]
if not names:
    st.title("Lesson")
    problem = lessons.lessons_dir_problem()
    folder = safe_text.code(lessons.lessons_dir())
    st.warning(
        safe_text.literal(problem)
        if problem
        else f"No lesson files in {folder}. Add one (format: `assets/lessons/README.md`)."
    )
    st.stop()

url_lesson = st.query_params.get("lesson")
if url_lesson is not None and url_lesson not in names:
    st.warning(
        f"The link's lesson {safe_text.code(url_lesson)} does not exist here; "
        f"showing {safe_text.code(SS.get(LESSON, names[0]))}.",
        icon=":material/link_off:",
    )
    url_lesson = None
if url_lesson is not None and url_lesson != SS.get(LESSON):
    SS[LESSON] = url_lesson
    SS[STEP] = 0
elif SS.get(LESSON) not in names:
    SS[LESSON] = names[0]
    SS[STEP] = 0
SS.setdefault(STEP, 0)
SS[PICK] = SS[LESSON]


def _label(name: str) -> str:
    if name in good:
        return f"{good[name].title} ({len(good[name].steps)} steps)"
    return f"{name}.md: has an error"


with st.sidebar:
    st.selectbox(
        "Lesson",
        names,
        key=PICK,
        format_func=_label,
        on_change=_picked,
        help="Every Markdown file in `assets/lessons/` is a lesson; see the README there to write your own.",
    )
    others = {n: e for n, e in broken.items() if n != SS[LESSON]}
    if others:
        with st.expander(f"{len(others)} lesson file(s) with errors", icon=":material/warning:"):
            for error in others.values():
                st.markdown(f"- {safe_text.literal(error, limit=500)}")

if SS[LESSON] in broken:
    st.title("Lesson")
    _show_error(broken[SS[LESSON]])
    st.stop()

lesson = good[SS[LESSON]]
wanted = _url_step(len(lesson.steps))
if wanted is not None:
    SS[STEP] = wanted
SS[STEP] = min(max(int(SS[STEP]), 0), len(lesson.steps) - 1)
_sync_url()

with st.sidebar:
    st.markdown("**Steps**")
    for i, each in enumerate(lesson.steps):
        st.button(
            f"{i + 1}. {each.title}",
            key=f"_lesson_go_{i}",
            on_click=_go,
            args=(i,),
            type="primary" if i == SS[STEP] else "tertiary",
            width="stretch",
        )

st.title(lesson.title)
details = " · ".join(f"{k}: {v}" for k, v in lesson.fields.items())
if details and not presentation.is_projector():
    st.caption(details)
if SS[STEP] == 0 and lesson.intro:
    st.markdown(lesson.intro)

_step_view(lesson, SS[STEP])
