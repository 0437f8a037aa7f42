"""Page "Live training": several losses trained side by side, live, on the same image and model.

The engine (``TrainingRun``) and the run's lifecycle (``app.run_lifecycle``) live in the session;
a fragment with ``run_every`` advances the run k steps per refresh and redraws only itself, so the
buttons stay responsive. Every number drawn comes from ``lovasz_core.lab.views.live_training``.
Settings apply to the *next* run; so does an upload (an image and a mask, or a mask alone: the
run then trains on a ``TrainingSample`` of them, void pixels ignored by every loss).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import streamlit as st

from app import classroom, presentation, safe_text, session_lock, state, uploads, widgets
from app import run_lifecycle as life
from app.figures.gradients import gradient_maps_figure
from app.figures.training import (
    image_rgb,
    lanes_table,
    mask_overlay,
    outlined,
    training_curves_figure,
    upscale,
)
from lovasz_core.lab.gradients import boundary_mask
from lovasz_core.lab.images import class_range
from lovasz_core.lab.registry import LOSSES
from lovasz_core.lab.training import TrainingConfig, TrainingRun, TrainingSample, available_devices
from lovasz_core.lab.views.live_training import (
    TrainingView,
    label,
    preview,
    push_now_view,
    rarest_class,
    replay_view,
    run_title,
    sample_preview,
    training_view,
)
from lovasz_core.lab.void import VOID

PAGE = "live_training"
SS = st.session_state
TICK_SECONDS = 0.2  # the fragment's refresh period (≥ 4 refreshes per second)
SLOW_REFRESH = 0.5  # seconds between redraws of the curves while training
MAX_SAVED = 6
LOSS_TITLES = {key: spec.label for key, spec in LOSSES.items()}


# ------------------------------------------------------------------------------------------ the run
def _lifecycle() -> life.Lifecycle:
    if "lt_life" not in SS:
        SS.lt_life = life.Lifecycle()
    return SS.lt_life


def _run() -> TrainingRun | None:
    return SS.get("lt_run")


@session_lock.holding(SS)
def _carry_out(step: life.Step) -> None:
    """Enter ``step.state`` and carry out its effects (keep, build or drop the run; free the slot)."""
    SS.lt_life = step.state
    for effect in step.effects:
        if effect == "save_run":
            _save(_run())
        elif effect == "new_run":
            try:
                SS.lt_run = TrainingRun(step.state.config)
            except (TypeError, ValueError, RuntimeError) as error:  # RuntimeError: e.g. out of GPU memory
                SS.lt_run = None
                _carry_out(life.failed(step.state, str(error)))
                return
        elif effect == "release_slot":
            classroom.release_slot()
        elif effect == "drop_run":
            SS.lt_run = None


def _save(run: TrainingRun | None) -> None:
    """Keep a run with at least one step for overlays and downloads (its curves computed once)."""
    saved = SS.setdefault("lt_saved", [])
    if run is None or not run.records or any(entry["run"] is run for entry in saved):
        return
    SS.lt_counter = SS.get("lt_counter", 0) + 1
    view = training_view(run)
    entry = {
        "name": f"#{SS.lt_counter}",
        "title": f"{run_title(run.config)} · {view.steps_done} steps",
        "run": run,
        "curves": view.curves.columns(),
        "final": ", ".join(f"{lane.label} {lane.mean_iou:.3f}" for lane in view.lanes),
    }
    SS.lt_saved = [*saved, entry][-MAX_SAVED:]


def _start(config: TrainingConfig) -> None:
    if _lifecycle().can_start:
        _carry_out(life.start(_lifecycle(), config, classroom.request_slot().granted))


def _resume() -> None:
    _carry_out(life.resume(_lifecycle(), classroom.request_slot().granted))


def _event(event: Callable[[life.Lifecycle], life.Step]) -> None:
    """Apply one of the lifecycle's one-argument events (pause, stop, reset, …)."""
    _carry_out(event(_lifecycle()))


# ------------------------------------------------------------------------------------------ the live view
def _picture(image: np.ndarray, mask: np.ndarray, truth: np.ndarray, rare: int | None) -> np.ndarray:
    """``mask`` in class colours over the image, enlarged; where ``truth`` has the rare class,
    a black ring (filled with the rare class's colour only where the mask found it)."""
    overlay = mask_overlay(image, mask)
    return upscale(overlay) if rare is None else outlined(overlay, truth, rare)


def _truth_caption(rare_name: str | None, truth: np.ndarray | None = None) -> str:
    """The ground truth's caption: where the rare class is, and that grey pixels are void."""
    caption = "Ground truth" if rare_name is None else f"Ground truth · black rings: where *{rare_name}* is"
    return caption + (" · grey: void, not counted" if truth is not None and (truth == VOID).any() else "")


def _train_one_refresh(run: TrainingRun) -> None:
    """Advance the run by k steps (k adapts to the refresh budget); end the phase when done."""
    if not classroom.keep_slot():  # the classroom reclaimed the slot (tab hidden too long)
        _carry_out(life.slot_lost(_lifecycle()))
        st.rerun()
    began = time.perf_counter()
    try:
        if not run.finished:
            run.step(_lifecycle().steps_per_tick)
    except RuntimeError as error:  # the device failed (e.g. out of GPU memory): keep the run, say why
        _carry_out(life.failed(_lifecycle(), f"Training stopped at step {run.steps_done}: {error}"))
        st.rerun()
    spent = time.perf_counter() - began
    SS.lt_train_ms = 1000 * spent
    _carry_out(life.tick(_lifecycle(), run.steps_done, spent, run.finished, time.perf_counter()))
    if not _lifecycle().training:
        st.rerun()  # a full rerun stops the fragment's timer


def _curves(view: TrainingView, run: TrainingRun) -> object:
    """The curves figure, rebuilt at most every ``SLOW_REFRESH`` s while training."""
    overlay = tuple(SS.get("lt_overlay", []))
    cached, now = SS.get("lt_curves_cache"), time.perf_counter()
    if (
        cached is not None
        and cached["run"] is run
        and cached["overlay"] == overlay
        and _lifecycle().training
        and now - cached["time"] < SLOW_REFRESH
    ):
        return cached["figure"]
    past = [(entry["name"], entry["curves"]) for entry in SS.get("lt_saved", []) if entry["name"] in overlay]
    figure = training_curves_figure(
        view.curves.columns(), LOSS_TITLES, view.steps_total, view.warmup, past, rare_class=view.rare_name
    )
    SS.lt_curves_cache = {"run": run, "overlay": overlay, "time": now, "figure": figure}
    return figure


@session_lock.holding(SS)
def _live_view() -> None:
    """One refresh: train (if running), then the progress, the masks, the curves and the table."""
    began = time.perf_counter()
    SS.lt_train_ms = 0.0
    run = _run()
    if run is None:
        return
    if _lifecycle().training:
        _train_one_refresh(run)
    lifecycle = _lifecycle()
    view = training_view(run)
    st.progress(
        view.progress, text=f"Step **{view.steps_done}** / {view.steps_total} · {life.label(lifecycle)}"
    )
    rate, speed = lifecycle.refresh_rate(), lifecycle.live_speed()
    engine = min((lane.steps_per_second for lane in view.lanes), default=float("nan"))
    st.markdown(
        f"**Training speed** {engine:.0f} steps/s (slowest loss, one step alone) · "
        f"**live** {f'{speed:.0f}' if speed else '–'} steps/s per loss · "
        f"**page** {f'{rate:.1f}' if rate else '–'} refreshes/s",
        help="Training speed: forward, backward, update and IoU of one full-image step of the slowest "
        f"lane. Live: steps per second of wall time while the page redraws every {TICK_SECONDS:g} s.",
    )
    for lane in view.lanes:
        if lane.status == "diverged":
            st.error(f"**{lane.label}**: {lane.message}", icon=":material/error:")

    cells = st.columns(len(view.lanes) + 1)
    cells[0].image(
        _picture(run.sample.image, run.sample.mask, run.sample.mask, view.rare_shown),
        caption=_truth_caption(view.rare_name if view.rare_shown is not None else None, run.sample.mask),
        width="stretch",
    )
    for cell, lane in zip(cells[1:], view.lanes, strict=True):
        if lane.mask is not None:
            caption = f"{lane.label} · step {lane.step} · mIoU {lane.mean_iou:.3f}"
            cell.image(
                _picture(run.sample.image, lane.mask, run.sample.mask, view.rare_shown),
                caption=caption,
                width="stretch",
            )

    presentation.plotly_chart(
        _curves(view, run),
        key="lt_curves_chart",
        numbers=False,  # the table below has them
        alt="Loss, 1 − mean IoU and 1 − the rarest class's IoU against the step (log scales), "
        "one line per loss",
    )
    if view.lanes:
        st.table(lanes_table(view.lanes, view.class_names))
    st.markdown(view.look_for)
    if lifecycle.training and SS.get("lt_last_tick_ms"):
        st.caption(
            f"Previous refresh on the server: {SS.lt_last_tick_ms:.0f} ms, of which training "
            f"{SS.lt_last_train_ms:.0f} ms; {lifecycle.steps_per_tick} step(s) per refresh next."
        )
    SS.lt_last_tick_ms = 1000 * (time.perf_counter() - began)
    SS.lt_last_train_ms = SS.get("lt_train_ms", 0.0)


# ------------------------------------------------------------------------------------------ after a run
def _replay(run: TrainingRun) -> None:
    """Scrub through the masks kept every ``snapshot_every`` steps, up to the last step."""
    view = training_view(run)
    replay = replay_view(run, view)
    if len(replay.steps) < 2:
        return
    st.subheader("Replay: how each loss's prediction evolved")
    at = st.select_slider(
        "Step",
        list(replay.steps),
        value=replay.steps[-1],
        key="lt_replay",
        help=f"A mask is kept every {run.config.snapshot_every} steps, and the last one.",
    )
    frame = replay.frames.get(at, {})
    cells = st.columns(len(run.lanes) + 1)
    cells[0].image(
        _picture(run.sample.image, run.sample.mask, run.sample.mask, view.rare_shown),
        caption=_truth_caption(view.rare_name if view.rare_shown is not None else None, run.sample.mask),
        width="stretch",
    )
    for cell, key in zip(cells[1:], run.lanes, strict=True):
        if key in frame:
            cell.image(
                _picture(run.sample.image, frame[key], run.sample.mask, view.rare_shown),
                caption=f"{label('loss', key)} · step {at}",
                width="stretch",
            )
        else:
            cell.caption(f"{label('loss', key)}: no mask at step {at} (the lane stopped earlier)")


def _push_now(run: TrainingRun) -> None:
    """∂L/∂z of CE and Lovász-Softmax at one lane's current prediction: where each would push now."""
    st.subheader("Where each loss would push now")
    cells = st.columns(2)
    lane = cells[0].selectbox(
        "Prediction of the lane", list(run.lanes), format_func=lambda k: label("loss", k), key="lt_grad_lane"
    )
    target = cells[1].selectbox(
        "Logit of class",
        list(range(run.num_classes)),
        index=rarest_class(run.sample.class_fractions()),
        format_func=lambda c: run.class_names[c],
        key="lt_grad_class",
    )
    push = push_now_view(run, lane, target)
    if push.diverged:
        st.warning(f"{push.lane} diverged: its logits or losses are NaN/inf, so it has no gradient to show.")
        return
    presentation.plotly_chart(
        gradient_maps_figure(
            push.maps, LOSS_TITLES, boundary=boundary_mask(run.sample.mask), scales=push.scales
        ),
        key="lt_grad_chart",
        alt="Gradient of each loss with respect to one class's logit at this step, one map per loss",
    )
    st.caption(
        f"At step {push.step}, each map on its own colour scale (its largest |∂L/∂z_c| in its title); "
        f"blue raises the logit of *{push.class_name}*, red lowers it. Cross-entropy pushes every "
        "pixel a little; Lovász-Softmax concentrates on the pixels that still cost IoU. See the page "
        "*Gradients: Lovász vs cross-entropy* for the full story."
    )


def _runs_kept(run: TrainingRun | None, lifecycle: life.Lifecycle) -> None:
    """Download this run; list, download and overlay the runs kept in this session."""
    saved = SS.get("lt_saved", [])
    if not saved and (run is None or not run.records):
        return
    st.subheader("Runs: download and compare")
    st.multiselect(
        "Overlay up to two kept runs on the curves (thinner, dotted then dashed)",
        [entry["name"] for entry in saved],
        max_selections=2,
        key="lt_overlay",
        format_func=lambda name: next(
            (f"{e['name']} {e['title']}" for e in saved if e["name"] == name), name
        ),
    )
    if run is not None and run.records and not lifecycle.training:
        cells = st.columns(4)
        cells[0].download_button(
            "This run: records (CSV)",
            run.records_csv(),
            "lovasz_training.csv",
            "text/csv",
            key="lt_dl_csv",
            icon=":material/download:",
        )
        cells[1].download_button(
            "This run: settings (JSON)",
            run.settings_json(),
            "lovasz_training.json",
            "application/json",
            key="lt_dl_json",
            icon=":material/download:",
        )
    elif lifecycle.training:
        st.caption("Pause to download this run.")
    for i, entry in enumerate(saved):
        cells = st.columns([5, 1, 1])
        title = safe_text.literal(entry["title"])
        cells[0].markdown(f"**{entry['name']}** {title}: final mIoU {entry['final']}")
        cells[1].download_button(
            "CSV", entry["run"].records_csv(), f"run{i + 1}.csv", "text/csv", key=f"lt_dl_csv_{i}"
        )
        cells[2].download_button(
            "JSON",
            entry["run"].settings_json(),
            f"run{i + 1}.json",
            "application/json",
            key=f"lt_dl_json_{i}",
        )


# ------------------------------------------------------------------------------------------ the page
LIMITS = classroom.config()  # this server's per-session caps (LOVASZ_* environment variables)
widgets.page_header(
    PAGE,
    "Live training",
    "Same image, same initial weights, same optimizer: only the loss differs. Watch which one "
    "gets the IoU up — and the rare class — and how fast.",
)


def _upload_sample(case: uploads.UploadedCase | None) -> tuple[TrainingSample | None, str]:
    """The upload as a :class:`TrainingSample` (C read from the stored mask), or why it cannot train."""
    if case is None:
        return None, ""
    stored = uploads.current_store().mask
    num_classes = stored.num_classes if stored is not None else case.num_classes
    try:
        sample = TrainingSample.from_arrays(
            case.mask, num_classes, case.image, name=case.names.get("mask", "mask")
        )
    except (TypeError, ValueError) as error:
        return None, f"Your upload cannot be trained on: {error}"
    return sample, ""


def _data_note(running: TrainingConfig, following: TrainingConfig) -> str | None:
    """What a change of upload does while a run exists: nothing to that run, it applies to the next
    with the other settings; None when the upload is the run's."""
    if running.data == following.data:
        return None
    running, following = running.data, following.data
    if following is None:
        change = "Your upload is off or forgotten: the next run trains on the built-in image"
    elif running is None:
        change = "Your upload applies to the next run"
    else:
        change = "Your new upload applies to the next run"
    kept = "your earlier upload" if running is not None else "its built-in image"
    return (
        f"{change}, with any other changed setting (press **Reset**, or **Start** after this run "
        f"ends). The run below keeps training on {kept} and its own settings."
    )


with st.sidebar:
    widgets.preset_picker(PAGE)
    upload = uploads.upload_controls(
        PAGE, LIMITS.max_image_size, container=st.expander("Your data", icon=":material/upload:")
    )
    image = (
        widgets.control(PAGE, "image", format_func=lambda k: label("image", k))
        if upload is None
        else str(state.current(PAGE).image)
    )
    low, high = class_range(image)
    size = widgets.control(
        PAGE,
        "size",
        hi=LIMITS.max_image_size,
        help=None if upload is None else "Your upload is shrunk to at most this many pixels a side.",
    )
    classes = widgets.control(PAGE, "classes", lo=low, hi=high) if upload is None else low
    model = widgets.control(PAGE, "model", format_func=lambda k: label("model", k))
    losses = widgets.control(
        PAGE,
        "losses",
        format_func=lambda k: label("loss", k),
        help="\n\n".join(f"**{s.label}**: {s.summary}" for s in LOSSES.values()),
    )
    mode = widgets.control(PAGE, "mode", format_func=lambda k: label("mode", k))
    warmup = widgets.control(PAGE, "warmup") if mode == "finetune" else 100
    optimizer = widgets.control(PAGE, "optimizer", format_func=lambda k: label("optimizer", k))
    lr = widgets.control(PAGE, "lr")
    steps = widgets.control(PAGE, "steps", hi=LIMITS.max_steps)
    seed = widgets.control(PAGE, "seed")
    devices = available_devices()
    if SS.get(state.key(PAGE, "device")) not in devices:
        st.warning("This machine has no CUDA device: training runs on the CPU.", icon=":material/memory:")
        SS[state.key(PAGE, "device")] = "cpu"
    device = widgets.control(PAGE, "device") if len(devices) > 1 else "cpu"
    st.caption(f"Computing on {widgets.device_name()}; training uses 1 CPU thread per step.")

if upload is not None:
    upload = uploads.case_of(uploads.current_store(), int(size))  # at most `size` pixels a side
data, upload_problem = _upload_sample(upload)
settings = TrainingConfig(
    data=data,
    image=image,
    size=int(size),
    num_classes=int(classes),
    model=model,
    losses=tuple(losses),
    mode=mode,
    warmup_steps=int(warmup),
    optimizer=optimizer,
    lr=float(lr),
    steps=int(steps),
    seed=int(seed),
    device=device,
)
settings, problem = widgets.checked_settings(settings, len(settings.losses), LIMITS)
problem = upload_problem or problem

lifecycle, run = _lifecycle(), _run()
widgets.run_buttons(
    "lt",
    lifecycle,
    run.config if run is not None else None,
    settings,
    problem,
    on_event=_event,
    on_start=_start,
    on_resume=_resume,
    pause=life.pause,
    stop=life.stop,
    reset=life.reset,
    reset_help="Put this run aside (kept below) and apply the current settings.",
    changed_note=_data_note(run.config, settings) if run is not None else None,
)

if run is not None:
    st.caption(
        f"This run: **{safe_text.literal(run_title(run.config))}**; classes {', '.join(run.class_names)}; "
        f"on the {run.config.device.upper()}. Training goes on while this page is open and resumes "
        "when you come back."
    )
elif not problem:
    if settings.data is not None:
        shown = sample_preview(settings.data)
        void = settings.data.void_pixels
        st.info(
            f"**Training on your upload** {safe_text.literal(settings.data.name)} "
            f"({settings.data.shape[0]}×{settings.data.shape[1]}, {settings.data.num_classes} classes"
            + (f", {void} void pixels left out of every loss and of the IoU" if void else "")
            + "). "
            + (
                "No image was uploaded: the network's input is made from your mask (each class a grey "
                "level, blurred, with noise), as the built-in Horse is. Upload the image too for a "
                "real task. "
                if settings.data.generated
                else ""
            )
            + "For a built-in image, turn off **Use my upload** or press **Forget my upload** in the "
            "sidebar.",
            icon=":material/upload:",
        )
    else:
        shown = preview(settings.image, settings.size, settings.num_classes, settings.seed)
    st.caption(f"Next run: **{safe_text.literal(run_title(settings))}**. Classes: {shown.caption}.")
    cells = st.columns(4)
    input_caption = (
        "Image made from your mask (the network's input)"
        if settings.data is not None and settings.data.generated
        else "Image (the network's input)"
    )
    cells[0].image(upscale(image_rgb(shown.image)), caption=input_caption, width="stretch")
    cells[1].image(
        _picture(shown.image, shown.mask, shown.mask, shown.rare_shown),
        caption=_truth_caption(
            shown.class_names[shown.rare_class] if shown.rare_shown is not None else None, shown.mask
        ),
        width="stretch",
    )
    st.info("Press **Start** to train the chosen losses side by side.", icon=":material/play_arrow:")

if lifecycle.phase == "waiting":
    classroom.waiting_room(lambda: _event(life.slot_granted), lambda: _event(life.leave_queue))
live = st.fragment(_live_view, run_every=TICK_SECONDS if lifecycle.training else None)
live()

if run is not None and not _lifecycle().training and run.records:
    _replay(run)
    _push_now(run)

with st.expander("Why can Lovász alone train worse from scratch, and CE + Lovász best?", expanded=False):
    st.markdown(
        "- **From scratch**, the prediction is near uniform: every error m_i(c) ≈ 1 − 1/C and the "
        "Lovász gradient, a weighted sum of Jaccard gradients, spreads thin over almost every pixel "
        "of a class; cross-entropy's per-pixel gradient (p − onehot)/P is informative everywhere at "
        "once and can get a network to a sensible solution faster.\n"
        "- **Near a good solution**, cross-entropy keeps polishing easy pixels; Lovász-Softmax puts "
        "the gradient on the errors that cost the most IoU (boundaries, small classes) — which is "
        "why, on the default rare-class scene, it finds the rare class first.\n"
        "- Hence **CE first, then Lovász** (mode *Fine-tune*), or **CE + Lovász** from the start. "
        "One user of the reference code reported, for DeepLabv3 trained from scratch on Cityscapes, "
        "76.7 mIoU with CE, 64.7 with Lovász alone and 78.4 with both "
        "([bermanmaxim/LovaszSoftmax issue #5](https://github.com/bermanmaxim/LovaszSoftmax/issues/5)); "
        "these are not results of the paper or of its code's authors.\n"
        "- Try the presets *Horse, from scratch* and *Lovász from scratch vs fine-tuned*; the text "
        "under the curves always describes the run shown."
    )

_runs_kept(run, _lifecycle())
widgets.share_link(PAGE, state.current(PAGE))
