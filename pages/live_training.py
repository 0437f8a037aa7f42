"""Page "Live training": several losses trained side by side, live, on the same image and model.

The engine (``lovasz_core.lab.training.TrainingRun``) lives in ``st.session_state``; a fragment with
``run_every`` advances it k steps per tick and redraws only itself (DESIGN §5), so the buttons
stay responsive and a press takes effect within one tick. Settings apply to the *next* run.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import pandas as pd
import streamlit as st

from app import classroom, params, presentation, state, widgets
from app.figures.gradients import gradient_maps_figure
from app.figures.training import (
    class_iou_table,
    mask_overlay,
    training_curves_figure,
    upscale,
)
from lovasz_core.lab.gradients import boundary_mask, logit_gradient
from lovasz_core.lab.images import class_range, load_image
from lovasz_core.lab.models import MODEL_NAMES
from lovasz_core.lab.registry import LOSSES
from lovasz_core.lab.training import MODES, OPTIMIZERS, TrainingConfig, TrainingRun, available_devices

PAGE = "live_training"
TITLES = {key: LOSSES[key].label for key in LOSSES}
TICK_SECONDS = 0.2  # the fragment's refresh period (≥ 4 refreshes per second)
TRAIN_BUDGET = 0.06  # seconds of training per refresh (k adapts to it): ≥ 4 refreshes/s come first
SLOW_REFRESH = 0.5  # seconds between redraws of the curves and the table while training
MAX_SAVED = 6
DEFAULT_LOSSES = ["cross_entropy", "lovasz_softmax", "ce_lovasz"]
SS = st.session_state


# ------------------------------------------------------------------------------------------ state
def _init_state() -> None:
    defaults = {
        "lt_run": None,
        "lt_running": False,
        "lt_stopped": False,
        "lt_saved": [],
        "lt_k": 4,
        "lt_ticks": deque(maxlen=12),
        "lt_wall": deque(maxlen=12),
        "lt_error": "",
        "lt_waiting": None,
    }
    for key, value in defaults.items():
        if key not in SS:
            SS[key] = value


def _restore_settings_from_run() -> None:
    """After a page switch the widgets forget their values: refill them from the kept run."""
    run: TrainingRun | None = SS.lt_run
    if run is None:
        return
    cfg = run.config
    values = {
        "image": cfg.image,
        "size": cfg.size,
        "classes": cfg.num_classes,
        "model": cfg.model,
        "mode": cfg.mode,
        "warmup": cfg.warmup_steps,
        "optimizer": cfg.optimizer,
        "lr": _lr_text(cfg.lr),
        "steps": cfg.steps,
        "seed": cfg.seed,
    }
    for name, value in values.items():
        key = state.key(PAGE, name)
        if key not in SS:
            SS[key] = value
    SS.setdefault("lt_losses", list(cfg.losses))
    SS.setdefault("lt_device", cfg.device)


def _lr_text(lr: float) -> str:
    for option in params.LEARNING_RATES:
        if float(option) == lr:
            return option
    return "0.01"


def _save(run: TrainingRun | None) -> None:
    """Keep a finished, stopped or replaced run (with at least one step) for overlays and downloads."""
    if run is None or not run.records or any(entry["run"] is run for entry in SS.lt_saved):
        return
    cfg = run.config
    SS.lt_counter = SS.get("lt_counter", 0) + 1
    name = (
        f"#{SS.lt_counter} {cfg.image} · {MODES[cfg.mode].lower()} · {cfg.optimizer} "
        f"lr {cfg.lr:g} · {run.steps_done} steps"
    )
    SS.lt_saved = [*SS.lt_saved, {"name": name, "run": run}][-MAX_SAVED:]


# ------------------------------------------------------------------------------------------ buttons
def _start(config: TrainingConfig) -> None:
    if not classroom.request_slot().granted:  # every training slot is busy: wait in the queue
        SS.lt_waiting = config
        return
    SS.lt_waiting = None
    _save(SS.lt_run)
    try:
        SS.lt_run = TrainingRun(config)
    except (TypeError, ValueError) as error:
        SS.lt_error = str(error)
        SS.lt_run, SS.lt_running = None, False
        classroom.release_slot()
        return
    SS.lt_error, SS.lt_running, SS.lt_stopped, SS.lt_k = "", True, False, 4
    SS.lt_ticks.clear()
    SS.lt_wall.clear()


def _pause() -> None:
    SS.lt_running = False
    classroom.release_slot()


def _resume() -> None:
    if not classroom.request_slot().granted:
        SS.lt_waiting = "resume"
        return
    SS.lt_waiting = None
    SS.lt_running = True
    SS.lt_ticks.clear()


def _stop() -> None:
    SS.lt_running, SS.lt_stopped = False, True
    classroom.release_slot()
    _save(SS.lt_run)


def _reset() -> None:
    SS.lt_waiting = None
    classroom.release_slot()
    _save(SS.lt_run)
    SS.lt_run, SS.lt_running, SS.lt_stopped = None, False, False


def _slot_granted() -> None:
    """The classroom queue gave this session a slot: start (or resume) what it was waiting for."""
    waiting, SS.lt_waiting = SS.lt_waiting, None
    if waiting == "resume":
        _resume()
    elif waiting is not None:
        _start(waiting)


def _leave_queue() -> None:
    SS.lt_waiting = None


# ------------------------------------------------------------------------------------------ views
def rarest_class(run: TrainingRun) -> int:
    """Index of the class with the fewest ground-truth pixels."""
    return int(run.sample.class_fractions().argmin())


def records_frame(run: TrainingRun) -> pd.DataFrame:
    """Curves' data: step, loss_key, loss, mean_iou, rare_iou (one row per lane and step)."""
    rare = rarest_class(run)
    records = run.records
    return pd.DataFrame(
        {
            "step": [r.step for r in records],
            "loss_key": [r.loss_key for r in records],
            "loss": [r.loss for r in records],
            "mean_iou": [r.mean_iou for r in records],
            "rare_iou": [r.class_iou[rare] for r in records],
        }
    )


def _latest_table(run: TrainingRun) -> pd.DataFrame:
    latest: dict[str, dict] = {}
    for row in reversed(run.record_rows()[-4 * len(run.lanes) :]):
        latest.setdefault(row["loss_key"], row)
    frame = pd.DataFrame([latest[k] for k in run.lanes if k in latest])
    speeds = {k: 1.0 / s for k, s in run.seconds_per_step().items() if s > 0}
    return class_iou_table(frame, run.class_names, TITLES, speeds)


def _hint(run: TrainingRun) -> str:
    """What to look for in this run's curves."""
    cfg = run.config
    if cfg.mode == "finetune":
        return (
            f"**Look for:** all lanes coincide for {cfg.warmup_steps} CE steps, then each "
            "switches to its own loss at the dashed line. Overlay a *from scratch* run of the same "
            "settings to see that Lovász-Softmax does better after CE than alone."
        )
    if run.sample.class_fractions().min() < 0.05:
        return (
            "**Look for:** the rarest class's IoU (right). Cross-entropy can leave a class of a few "
            "pixels at IoU 0 for a long time; Lovász-Softmax weighs it like any other class."
        )
    return (
        "**Look for:** who gets the mean IoU up first and who ends highest. From scratch, Lovász "
        "alone often lags CE and CE + Lovász ends best; try Mode *Fine-tune*."
    )


def _formatted(table: pd.DataFrame) -> pd.DataFrame:
    """Numbers as short strings (st.table shows floats with every digit; a Styler is slow)."""
    out = table.copy()
    for name in out.columns:
        digits = 0 if name in ("step", "steps/s") else 3
        out[name] = [("–" if pd.isna(v) else f"{v:.{digits}f}") for v in table[name]]
    return out


def _refresh_rate() -> float | None:
    ticks = SS.lt_ticks
    if len(ticks) < 3:
        return None
    return (len(ticks) - 1) / max(ticks[-1] - ticks[0], 1e-9)


def _curves_and_table(run: TrainingRun, latest: pd.DataFrame) -> tuple[object, pd.DataFrame | None]:
    """The curves figure and the IoU table, rebuilt at most every ``SLOW_REFRESH`` s while training.

    Re-sending an unchanged figure costs the browser nothing, so the heavy plotly redraw happens
    about twice a second while the step counter and the masks refresh every tick.
    """
    cached = SS.get("lt_slow_cache")
    now = time.perf_counter()
    overlay = tuple(SS.get("lt_overlay", []))
    fresh = (
        cached is not None
        and cached["run"] is run
        and cached["overlay"] == overlay
        and SS.lt_running
        and now - cached["time"] < SLOW_REFRESH
    )
    if fresh:
        return cached["figure"], cached["table"]
    past = [
        (entry["name"].split(" ")[0], records_frame(entry["run"]))
        for entry in SS.lt_saved
        if entry["name"] in overlay
    ]
    warmup = run.config.warmup_steps if run.config.mode == "finetune" else None
    rare_name = run.class_names[rarest_class(run)]
    figure = training_curves_figure(latest, TITLES, None, warmup, past, rare_class=rare_name)
    table = _formatted(_latest_table(run)) if run.records else None
    SS.lt_slow_cache = {"run": run, "overlay": overlay, "time": now, "figure": figure, "table": table}
    return figure, table


def _live_view() -> None:
    """One tick: advance the run (if running), then draw progress, masks, curves and the table."""
    tick_began = time.perf_counter()
    SS.lt_train_ms = 0.0
    run: TrainingRun | None = SS.lt_run
    if run is None:
        st.info("Press **Start** to train the chosen losses side by side.", icon=":material/play_arrow:")
        return
    if SS.lt_running and not run.finished and not classroom.keep_slot():
        SS.lt_running, SS.lt_waiting = False, "resume"  # the slot was reclaimed (tab hidden too long)
        st.rerun()
    if SS.lt_running and not run.finished:
        began = time.perf_counter()
        run.step(SS.lt_k)
        spent = time.perf_counter() - began
        SS.lt_train_ms = 1000 * spent
        SS.lt_k = max(1, min(64, round(SS.lt_k * TRAIN_BUDGET / max(spent, 1e-4))))
        SS.lt_ticks.append(time.perf_counter())
        SS.lt_wall.append((time.perf_counter(), run.steps_done))
    if SS.lt_running and run.finished:
        SS.lt_running = False
        classroom.release_slot()
        _save(run)
        st.rerun()  # a full rerun stops the fragment's timer

    cfg = run.config
    label = (
        "running"
        if SS.lt_running
        else ("stopped" if SS.lt_stopped else ("finished" if run.finished else "paused"))
    )
    st.progress(run.progress, text=f"Step **{run.steps_done}** / {cfg.steps} · {label}")
    rate = _refresh_rate()
    speeds = run.seconds_per_step()
    engine = min((1.0 / s for s in speeds.values() if s > 0), default=0.0)
    wall = SS.lt_wall
    live_speed = (wall[-1][1] - wall[0][1]) / max(wall[-1][0] - wall[0][0], 1e-9) if len(wall) > 2 else None
    # one line of text, not three metric widgets: every element costs the browser on each refresh
    st.markdown(
        f"**Training speed** {engine:.0f} steps/s (slowest loss, one step alone) · "
        f"**live** {f'{live_speed:.0f}' if live_speed else '–'} steps/s per loss · "
        f"**page** {f'{rate:.1f}' if rate else '–'} refreshes/s",
        help=f"Training speed: forward, backward, update and IoU of one full-image step of the slowest "
        f"lane. Live: steps per second of wall time while the page redraws every "
        f"{TICK_SECONDS:g} s (about {1000 * TRAIN_BUDGET:.0f} ms of training per refresh).",
    )

    for key, (status, message) in run.status().items():
        if status == "diverged":
            st.error(f"**{TITLES[key]}**: {message}", icon=":material/error:")

    latest = records_frame(run)
    last_iou = latest.groupby("loss_key")["mean_iou"].last() if not latest.empty else {}
    panels = {"truth": run.sample.mask, **run.latest_masks()}
    # plain images, not plotly: the browser redraws them several times a second
    for cell, (key, mask) in zip(st.columns(len(panels)), panels.items(), strict=True):
        score = last_iou.get(key, float("nan"))
        caption = "Ground truth" if key == "truth" else f"{TITLES[key]} · mIoU {score:.2f}"
        cell.image(upscale(mask_overlay(run.sample.image, mask)), caption=caption, width="stretch")

    figure, table = _curves_and_table(run, latest)
    presentation.plotly_chart(
        figure,
        key="lt_curves_chart",
        numbers=False,  # the table below has them
        alt="Loss, mean IoU and the rarest class's IoU against the training step, one line per loss",
    )
    if table is not None:
        st.table(table)
    timing = ""
    if SS.get("lt_last_tick_ms"):
        timing = (
            f" — Previous refresh on the server: {SS.lt_last_tick_ms:.0f} ms, of which training "
            f"{SS.lt_last_train_ms:.0f} ms; {SS.lt_k} steps per refresh next."
        )
    st.caption(_hint(run) + timing)
    SS.lt_last_tick_ms = 1000 * (time.perf_counter() - tick_began)
    SS.lt_last_train_ms = SS.get("lt_train_ms", 0.0)


# ------------------------------------------------------------------------------------------ page
_init_state()
_restore_settings_from_run()
LIMITS = classroom.config()  # this server's per-session caps (LOVASZ_* environment variables)
widgets.page_header(
    PAGE,
    "Live training",
    "Same image, same initial weights, same optimizer: only the loss differs. Watch which one "
    "gets the IoU up, and how fast.",
)

with st.sidebar:
    widgets.preset_picker(PAGE)
    image = widgets.control(PAGE, "image")
    low, high = class_range(image)
    size = widgets.control(PAGE, "size", hi=LIMITS.max_image_size)
    classes = widgets.control(PAGE, "classes", lo=low, hi=high)
    model = widgets.control(PAGE, "model", help=" · ".join(f"{k}: {v}" for k, v in MODEL_NAMES.items()))
    losses = st.multiselect(
        "Losses to compare",
        list(LOSSES),
        default=None if "lt_losses" in SS else DEFAULT_LOSSES,
        format_func=lambda k: TITLES[k],
        key="lt_losses",
        bind="query-params",
        help="\n\n".join(f"**{s.label}**: {s.summary}" for s in LOSSES.values()),
    )
    mode = widgets.control(PAGE, "mode", help="; ".join(f"{k}: {v}" for k, v in MODES.items()))
    warmup = widgets.control(PAGE, "warmup") if mode == "finetune" else 100
    optimizer = widgets.control(PAGE, "optimizer", help="; ".join(f"{k}: {v}" for k, v in OPTIMIZERS.items()))
    lr = widgets.control(PAGE, "lr")
    steps = widgets.control(PAGE, "steps", hi=LIMITS.max_steps)
    seed = widgets.control(PAGE, "seed")
    device = st.selectbox(
        "Device", available_devices(), key="lt_device", help="CUDA is listed when this machine has a GPU."
    )
    st.caption(f"Computing on {widgets.device_name()}; training uses 1 CPU thread per step.")

settings = TrainingConfig(
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
problem = ""
try:
    settings = settings.validated()
except (TypeError, ValueError) as error:
    problem = str(error)
problem = problem or "; ".join(LIMITS.capped(settings.size, settings.steps, len(settings.losses)))

sample = None if problem else load_image(settings.image, settings.size, settings.num_classes, settings.seed)
run: TrainingRun | None = SS.lt_run
buttons = st.columns([1, 1, 1, 1, 4])
can_start = not problem and SS.lt_waiting is None and (run is None or run.finished or SS.lt_stopped)
if run is not None and not run.finished and not SS.lt_stopped:
    if SS.lt_running:
        buttons[0].button("Pause", icon=":material/pause:", on_click=_pause, key="lt_pause", width="stretch")
    else:
        buttons[0].button(
            "Resume",
            icon=":material/play_arrow:",
            on_click=_resume,
            key="lt_resume",
            type="primary",
            width="stretch",
        )
    buttons[1].button("Stop", icon=":material/stop:", on_click=_stop, key="lt_stop", width="stretch")
else:
    buttons[0].button(
        "Start",
        icon=":material/play_arrow:",
        on_click=_start,
        args=(settings,),
        key="lt_start",
        type="primary",
        disabled=not can_start,
        width="stretch",
    )
buttons[2].button(
    "Reset",
    icon=":material/restart_alt:",
    on_click=_reset,
    key="lt_reset",
    disabled=run is None,
    width="stretch",
    help="Put this run aside (kept below) and apply the current settings.",
)
if problem:
    st.error(f"These settings cannot run: {problem}", icon=":material/error:")
if SS.lt_error:
    st.error(SS.lt_error)
if run is not None and not problem and settings != run.config:
    st.info(
        "The settings changed since this run started: they apply when you press **Reset** "
        "(or **Start** after the run ends). The run below keeps its own settings.",
        icon=":material/tune:",
    )
if run is not None:
    cfg = run.config
    st.caption(
        f"This run: **{cfg.image}** {cfg.size}×{cfg.size}, {run.num_classes} classes "
        f"({', '.join(run.class_names)}), {MODEL_NAMES[cfg.model]}, {OPTIMIZERS[cfg.optimizer]} "
        f"lr {cfg.lr:g}, seed {cfg.seed}, {MODES[cfg.mode].lower()}"
        + (f" ({cfg.warmup_steps} CE steps, then each lane's loss)" if cfg.mode == "finetune" else "")
        + f", {cfg.device}. Training runs while this page is open and goes on when you come back."
    )
elif sample is not None:
    fractions = ", ".join(
        f"{n} {100 * f:.1f}%" for n, f in zip(sample.class_names, sample.class_fractions(), strict=True)
    )
    st.caption(f"Next run: {settings.image} {settings.size}×{settings.size}, classes: {fractions}.")

if SS.lt_waiting is not None:
    classroom.waiting_room(_slot_granted, _leave_queue)
live = st.fragment(_live_view, run_every=TICK_SECONDS if SS.lt_running else None)
live()


def _replay(run: TrainingRun) -> None:
    """Scrub through the masks kept every ``snapshot_every`` steps (shown when not training)."""
    kept = {key: dict(run.snapshots(key)) for key in run.lanes}
    steps = sorted({step for lane in kept.values() for step in lane})
    if len(steps) < 2:
        return
    st.subheader("Replay: how each loss's prediction evolved")
    at = st.select_slider(
        "Step",
        steps,
        value=steps[-1],
        key="lt_replay",
        help=f"A mask is kept every {run.config.snapshot_every} steps.",
    )
    cells = st.columns(len(kept) + 1)
    cells[0].image(
        upscale(mask_overlay(run.sample.image, run.sample.mask)), caption="Ground truth", width="stretch"
    )
    for cell, (key, lane) in zip(cells[1:], kept.items(), strict=True):
        if at in lane:
            overlay = upscale(mask_overlay(run.sample.image, lane[at]))
            cell.image(overlay, caption=f"{TITLES[key]} · step {at}", width="stretch")
        else:
            cell.caption(f"{TITLES[key]}: no mask at step {at} (the lane stopped earlier)")


def _gradients_now(run: TrainingRun) -> None:
    """∂L/∂z of CE and Lovász-Softmax at one lane's current prediction: where each would push now."""
    st.subheader("Where each loss would push now")
    cells = st.columns(2)
    lane = cells[0].selectbox(
        "Prediction of the lane", list(run.lanes), format_func=lambda k: TITLES[k], key="lt_grad_lane"
    )
    target = cells[1].selectbox(
        "Logit of class",
        list(range(run.num_classes)),
        index=rarest_class(run),
        format_func=lambda c: run.class_names[c],
        key="lt_grad_class",
    )
    logits = run.predicted_logits(lane)
    labels = run.sample.label_tensor()
    keys = ("cross_entropy", "lovasz_softmax")
    results = {}
    if bool(logits.isfinite().all()):
        results = {key: logit_gradient(key, logits, labels) for key in keys}
    maps = {key: grad[0, target].numpy() for key, (_, grad) in results.items()}
    finite = all(np.isfinite(value) and np.isfinite(maps[key]).all() for key, (value, _) in results.items())
    if not results or not finite:
        st.warning(
            f"{TITLES[lane]} diverged: its logits or losses are NaN/inf, so it has no gradient to show."
        )
        return
    presentation.plotly_chart(
        gradient_maps_figure(maps, TITLES, boundary=boundary_mask(run.sample.mask)),
        key="lt_grad_chart",
        alt="Gradient of each loss with respect to one class's logit at this step, one map per loss",
    )
    st.caption(
        f"At step {run.steps_done}, on one colour scale (blue raises the logit of "
        f"*{run.class_names[target]}*, red lowers it). Cross-entropy still pushes every pixel a little; "
        "Lovász-Softmax concentrates on the pixels that still cost IoU — often the boundary and the "
        "rare class. See the page *Gradients: Lovász vs cross-entropy* for the full story."
    )


if run is not None and not SS.lt_running:
    _replay(run)
    if run.records:
        _gradients_now(run)

with st.expander("Why does Lovász alone train worse from scratch, and CE + Lovász best?", expanded=False):
    st.markdown(
        "- **From scratch**, the prediction is near uniform: every error m_i(c) ≈ 1 − 1/C and the "
        "Lovász gradient is a weighted sum of Jaccard gradients that, early on, spreads thin over "
        "almost every pixel of a class; cross-entropy's per-pixel gradient (p − onehot)/P is "
        "informative everywhere at once and gets a network to a sensible solution faster.\n"
        "- **Near a good solution**, cross-entropy keeps polishing easy pixels; Lovász-Softmax "
        "puts the gradient on the errors that cost the most IoU (boundaries, small classes).\n"
        "- So: **CE first, then Lovász** (mode *Fine-tune*) or **CE + Lovász** from the start. "
        "The paper's reference code reports CE 76.7, Lovász alone 64.7 and both 78.4 mIoU.\n"
        "- Try the presets *Lovász from scratch vs fine-tuned* and *Rare class (imbalance)*."
    )

if SS.lt_saved or (run is not None and run.records):
    st.subheader("Runs: download and compare")
    names = [entry["name"] for entry in SS.lt_saved]
    st.multiselect(
        "Overlay up to two past runs on the curves (dotted, dashed)",
        names,
        max_selections=2,
        key="lt_overlay",
    )
    if run is not None and run.records and not SS.lt_running:
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
    elif SS.lt_running:
        st.caption("Pause to download this run.")
    for i, entry in enumerate(SS.lt_saved):
        past_run: TrainingRun = entry["run"]
        cells = st.columns([4, 1, 1])
        cells[0].markdown(
            f"{entry['name']}: final mIoU "
            + ", ".join(
                f"{TITLES[r.loss_key]} {r.mean_iou:.3f}" for r in past_run.records[-len(past_run.lanes) :]
            )
        )
        cells[1].download_button(
            "CSV", past_run.records_csv(), f"run{i + 1}.csv", "text/csv", key=f"lt_dl_csv_{i}"
        )
        cells[2].download_button(
            "JSON", past_run.settings_json(), f"run{i + 1}.json", "application/json", key=f"lt_dl_json_{i}"
        )
widgets.share_link(PAGE, state.current(PAGE))
