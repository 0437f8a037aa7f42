"""Shared Streamlit controls: URL-bound parameter widgets, presets, share links, the image/mask
picker and the prediction maker, and the device line.

Every control is made from the page's parameter dataclass (:mod:`state`): its key is the URL
query-parameter name (``bind="query-params"``), so moving a slider updates the link.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st
import torch

from app import presentation, safe_text, state, uploads  # params: importing it registers every page
from lovasz_core.lab.predictions import PredictionSpec, make_logits
from lovasz_core.lab.shapes import ground_truth
from lovasz_core.lab.void import VOID

GROUND_TRUTH_FIELDS = ("scene", "size", "classes", "seed")
PREDICTION_FIELDS = ("shift_x", "shift_y", "scale", "noise", "temp")


def control(
    page: str,
    name: str,
    container: Any = None,
    *,
    lo: float | None = None,
    hi: float | None = None,
    horizontal: bool = False,
    help: str | None = None,
    format_func: Callable[[Any], str] | None = None,
) -> Any:
    """Render the widget of field ``name`` of ``page`` and return its value.

    ``lo``/``hi`` tighten the field's bounds for this run (e.g. the class index ≤ C − 1); a value
    outside them is clamped first, with a warning if a link asked for it. Booleans become
    toggles, fields with options select boxes (or a horizontal radio), tuples of options
    multiselects, numbers sliders. The value lives in ``st.session_state`` under the field's key,
    which :func:`app.state.sync_from_url` fills before the page runs.
    """
    spec, default, kind = state.specs(state.PAGES[page].cls)[name]
    where = container if container is not None else st
    key = state.key(page, name)
    st.session_state.setdefault(key, list(default) if kind is tuple else default)
    common: dict[str, Any] = {"key": key, "help": help or spec.help}
    if format_func is not None:
        common["format_func"] = format_func
    if kind is bool:
        return where.toggle(spec.label, **common)
    if kind is tuple:
        return tuple(where.multiselect(spec.label, list(spec.options or ()), **common))
    if spec.options is not None:
        options = list(spec.options)
        if horizontal:
            return where.radio(spec.label, options, horizontal=True, **common)
        return where.selectbox(spec.label, options, **common)
    if spec.lo is None or spec.hi is None:
        raise ValueError(f"parameter {key!r} is a number without bounds: give it lo and hi")
    low: float = spec.lo if lo is None else max(lo, spec.lo)
    high: float = spec.hi if hi is None else min(hi, spec.hi)
    if kind is int:
        low, high = int(low), int(high)
    wanted = st.session_state[key]
    if not low <= wanted <= high:
        st.session_state[key] = min(max(wanted, low), high)
    shown = st.session_state[key]
    asked = state.linked_value(page, name)
    if asked is not None and asked != shown and not low <= asked <= high:
        where.warning(
            f"The link asks for {spec.label.lower()} = {format_value_for_text(asked)} ({key}), "
            f"outside {format_value_for_text(low)}–{format_value_for_text(high)} here; showing "
            f"{format_value_for_text(shown)}.",
            icon=":material/link_off:",
        )
    if low >= high:  # a one-value range cannot be a slider
        where.caption(f"{spec.label}: {low}")
        return low
    step = int(spec.step or 1) if kind is int else spec.step
    return where.slider(spec.label, low, high, step=step, **common)


def format_value_for_text(value: Any) -> str:
    """A parameter value as it reads in a sentence (escaped: it may come from a link)."""
    text = state.format_value(value)
    return safe_text.literal(", ".join(text) if isinstance(text, list) else text)


def _apply_preset(page: str) -> None:
    chosen = st.session_state.get(f"_{state.PAGES[page].prefix}_preset")
    if isinstance(chosen, str) and chosen in state.PAGES[page].presets:
        state.apply_preset(page, chosen)


def preset_picker(page: str, container: Any = None) -> None:
    """A select box of the page's presets; picking one sets every control (and the URL)."""
    where = container if container is not None else st
    names = list(state.PAGES[page].presets)
    where.selectbox(
        "Preset",
        names,
        index=None,
        placeholder="Choose a preset…",
        key=f"_{state.PAGES[page].prefix}_preset",
        on_change=_apply_preset,
        args=(page,),
        help="Presets set every control of this page at once; the URL follows.",
    )


def url_warnings(page: str) -> None:
    """Warn about malformed URL parameters (Streamlit drops them silently)."""
    problems = state.url_problems(page)
    if problems:
        st.warning(
            "Some link parameters were not understood:\n\n"
            + "\n".join(f"- {safe_text.literal(p)}" for p in problems),  # they quote the link
            icon=":material/link_off:",
        )


def share_link(page: str, params: Any, container: Any = None) -> None:
    """Show the link that restores this exact view: the address bar holds the same one."""
    if presentation.is_projector():  # secondary on a projector: the sidebar's "Share" box has it
        return
    where = container if container is not None else st
    where.caption("Link to this view (the address bar holds it too):")
    where.code(
        presentation.view_url(state.view_query(page, params), url_path=page), language=None, wrap_lines=True
    )
    note = uploads.link_note()
    if note:
        where.caption(note)


def page_header(page: str, title: str, intuition: str) -> None:
    """Title, one sentence of intuition, and URL warnings."""
    st.title(title)
    st.markdown(f"*{intuition}*")
    url_warnings(page)


# ------------------------------------------------------------------------------------------
# Ground truth and predictions (cached, numpy out so st.cache_data can hash and copy them)


@st.cache_data(max_entries=64, show_spinner=False)
def load_ground_truth(source: str, size: int, num_classes: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """``([H, W] int64 labels, notes)`` from a scene or bundled image (see lovasz_core.lab.shapes)."""
    labels, notes = ground_truth(source, int(size), int(num_classes), int(seed))
    return labels.numpy(), notes


@st.cache_data(max_entries=64, show_spinner=False)
def load_logits(labels: np.ndarray, num_classes: int, spec: PredictionSpec) -> np.ndarray:
    """``[C, H, W]`` float32 logits of the prediction maker (void pixels are predicted as background)."""
    return make_logits(torch.from_numpy(np.where(labels == VOID, 0, labels)), int(num_classes), spec).numpy()


def ground_truth_controls(page: str, container: Any = None) -> tuple[np.ndarray, int]:
    """Scene/image picker, size, number of classes and seed; returns ``(labels [H, W], C)``."""
    where = container if container is not None else st
    source = control(page, "scene", where)
    size = control(page, "size", where)
    classes = control(page, "classes", where)
    seed = control(page, "seed", where)
    try:
        labels, notes = load_ground_truth(source, size, classes, seed)
    except (ValueError, TypeError) as error:
        st.error(f"Cannot make this ground truth: {safe_text.literal(error)}")
        st.stop()
    for note in notes:
        where.info(note, icon=":material/info:")
    num_classes = max(int(classes), int(labels.max()) + 1)
    return labels, num_classes


def prediction_controls(page: str, container: Any = None, seed: int = 0) -> PredictionSpec:
    """Shift, scale, noise and temperature of the prediction maker; returns its spec."""
    where = container if container is not None else st
    values = {name: control(page, name, where) for name in PREDICTION_FIELDS}
    return PredictionSpec(
        shift_x=float(values["shift_x"]),
        shift_y=float(values["shift_y"]),
        scale=float(values["scale"]),
        noise=float(values["noise"]),
        temperature=float(values["temp"]),
        seed=int(seed),
    )


def scene_sidebar(page: str, keep_void: bool = False) -> tuple[np.ndarray, int, PredictionSpec]:
    """The sidebar the "understand" pages share: preset, ground truth (generated, or the user's
    uploaded mask, shrunk to the page's largest image size), then the prediction maker.

    Returns the labels ``[H, W]``, the number of classes and the prediction maker's spec. Void
    pixels (255) of an uploaded mask stay in the labels with ``keep_void``; otherwise they are
    shown as background (0), and the page says so.
    """
    sidebar = st.sidebar
    preset_picker(page, sidebar)
    max_side = int(state.specs(state.PAGES[page].cls)["size"][0].hi or 64)
    box = sidebar.expander("Your data", icon=":material/upload:")
    case = uploads.upload_controls(page, max_side, container=box)
    if case is None:
        sidebar.subheader("Ground truth")
        labels, num_classes = ground_truth_controls(page, sidebar)
    else:
        labels, num_classes = case.mask, case.num_classes
        shape = f"{case.shape[0]}×{case.shape[1]}"
        note = f"Showing your mask ({shape}, {num_classes} classes"
        note += f", shrunk from {case.original_shape[0]}×{case.original_shape[1]})" if case.resized else ")"
        if case.void_pixels and not keep_void:
            labels = np.where(labels == VOID, 0, labels)
            note += f"; its {case.void_pixels} void pixels are shown as background on this page"
        st.info(
            note + ". Turn off 'Use my upload' in the sidebar for the page's own scenes.",
            icon=":material/upload:",
        )
    sidebar.subheader("Prediction")
    seed = int(st.session_state.get(state.key(page, "seed"), 0))
    return labels, num_classes, prediction_controls(page, sidebar, seed=seed)


def checked_settings(settings: Any, lanes: int, limits: Any) -> tuple[Any, str]:
    """A training page's settings validated (``settings.validated()``), and what keeps them from
    running: their own error, or this server's caps (``limits.capped``); ``""`` when they can run."""
    try:
        settings = settings.validated()
    except (TypeError, ValueError) as error:
        return settings, str(error)
    return settings, "; ".join(limits.capped(settings.size, settings.steps, lanes))


def run_buttons(
    prefix: str,
    lifecycle: Any,
    run_config: Any | None,
    settings: Any,
    problem: str,
    *,
    on_event: Callable[[Callable[[Any], Any]], None],
    on_start: Callable[[Any], None],
    on_resume: Callable[[], None],
    pause: Callable[[Any], Any],
    stop: Callable[[Any], Any],
    reset: Callable[[Any], Any],
    reset_help: str,
    changed_note: str | None = None,
) -> None:
    """Start (or Pause/Resume and Stop) and Reset of a training page, from its run lifecycle
    (:mod:`app.run_lifecycle`), then what keeps the settings from running, the run's error, and
    one note when the settings differ from those of the run shown (``run_config``):
    ``changed_note`` where the page says better what changed, else a generic one."""
    buttons = st.columns([1, 1, 1, 1, 4])
    if lifecycle.can_pause_or_stop:
        if lifecycle.training:
            buttons[0].button(
                "Pause", icon=":material/pause:", on_click=on_event, args=(pause,), key=f"{prefix}_pause"
            )
        else:
            buttons[0].button(
                "Resume",
                icon=":material/play_arrow:",
                on_click=on_resume,
                key=f"{prefix}_resume",
                type="primary",
                disabled=lifecycle.phase == "waiting",
            )
        buttons[1].button(
            "Stop", icon=":material/stop:", on_click=on_event, args=(stop,), key=f"{prefix}_stop"
        )
    else:
        buttons[0].button(
            "Start",
            icon=":material/play_arrow:",
            on_click=on_start,
            args=(settings,),
            key=f"{prefix}_start",
            type="primary",
            disabled=bool(problem) or not lifecycle.can_start,
        )
    buttons[2].button(
        "Reset",
        icon=":material/restart_alt:",
        on_click=on_event,
        args=(reset,),
        key=f"{prefix}_reset",
        disabled=run_config is None and lifecycle.phase == "idle",
        help=reset_help,
    )
    if problem:
        st.error(f"These settings cannot run: {safe_text.literal(problem)}", icon=":material/error:")
    if lifecycle.error:
        st.error(safe_text.literal(lifecycle.error))
    if run_config is not None and not problem and settings != run_config:
        st.info(
            changed_note
            or "The settings changed since this run started: they apply when you press **Reset** "
            "(or **Start** after the run ends). The run below keeps its own settings.",
            icon=":material/tune:",
        )


def device_name() -> str:
    """Where torch computes: the CUDA device's name, or the CPU with its thread count."""
    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    return f"CPU ({torch.get_num_threads()} torch threads)"
