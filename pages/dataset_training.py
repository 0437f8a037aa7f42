"""Page "Training on a data set": minibatch training of several losses side by side on generated scenes.

The engine (``DatasetTrainingRun``) and the run's lifecycle (``app.run_lifecycle``) live in the
session; a fragment with ``run_every`` advances the run k steps per refresh and redraws only
itself. Every number drawn comes from ``lovasz_core.lab.views.dataset_training``. Settings
apply to the *next* run; a run survives page switches and control changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from app import classroom, presentation, session_lock, state, widgets
from app import run_lifecycle as life
from app.figures.dataset_training import (
    curves_figure,
    data_table,
    image_rgb,
    label_overlay,
    lanes_table,
    sweep_figure,
    upscale,
)
from lovasz_core.lab.dataset_training import DatasetTrainingConfig, DatasetTrainingRun
from lovasz_core.lab.lanes import LANES
from lovasz_core.lab.views.dataset_training import (
    DatasetTrainingView,
    DataSummary,
    config_from,
    data_summary,
    dataset_training_view,
    lane_label,
    run_title,
    void_check,
)

PAGE = "dataset_training"
SS = st.session_state
TICK_SECONDS = 0.25  # the fragment's refresh period
SIZE = 32  # side of every scene
MAX_KEPT = 6
TITLES = {key: spec.label for key, spec in LANES.items()}


# ------------------------------------------------------------------------------------------ the run
def _lifecycle() -> life.Lifecycle:
    if "dt_life" not in SS:
        SS.dt_life = life.Lifecycle()
    lifecycle: life.Lifecycle = SS.dt_life
    return lifecycle


def _run() -> DatasetTrainingRun | None:
    return SS.get("dt_run")


@session_lock.holding(SS)
def _carry_out(step: life.Step) -> None:
    """Enter ``step.state`` and carry out its effects (keep, build or drop the run; free the slot)."""
    SS.dt_life = step.state
    for effect in step.effects:
        if effect == "save_run":
            _keep(_run())
        elif effect == "new_run":
            try:
                SS.dt_run = DatasetTrainingRun(step.state.config)
            except (TypeError, ValueError) as error:
                SS.dt_run = None
                _carry_out(life.failed(step.state, str(error)))
                return
        elif effect == "release_slot":
            classroom.release_slot()
        elif effect == "drop_run":
            SS.dt_run = None


def _keep(run: DatasetTrainingRun | None) -> None:
    """Keep the final numbers of a run with at least one step, to compare runs (e.g. batch sizes)."""
    kept = SS.setdefault("dt_kept", [])
    if run is None or run.steps_done == 0 or any(entry["run"] is run for entry in kept):
        return
    view = dataset_training_view(run, examples=False)
    SS.dt_counter = SS.get("dt_counter", 0) + 1
    rows = [
        {
            "run": f"#{SS.dt_counter}",
            "settings": f"{view.title} · {view.steps_done} steps",
            "lane": lane.label,
            "data-set mIoU": f"{lane.dataset_miou:.3f}",
            "mean per-image IoU": f"{lane.image_miou:.3f}",
        }
        for lane in view.lanes
    ]
    SS.dt_kept = [*kept, {"run": run, "rows": rows}][-MAX_KEPT:]


def _start(config: DatasetTrainingConfig) -> None:
    if _lifecycle().can_start:
        _carry_out(life.start(_lifecycle(), config, classroom.request_slot().granted))


def _resume() -> None:
    _carry_out(life.resume(_lifecycle(), classroom.request_slot().granted))


def _event(event: Callable[[life.Lifecycle], life.Step]) -> None:
    """Apply one of the lifecycle's one-argument events (pause, stop, reset, …)."""
    _carry_out(event(_lifecycle()))


@st.cache_data(max_entries=32, show_spinner=False)
def _summary(config: DatasetTrainingConfig) -> DataSummary:
    return data_summary(config)


# ------------------------------------------------------------------------------------------ the live view
def _train_one_refresh(run: DatasetTrainingRun) -> None:
    """Advance the run by k steps (k adapts to the refresh budget); end the phase when done."""
    if not classroom.keep_slot():  # the classroom reclaimed the slot (tab hidden too long)
        _carry_out(life.slot_lost(_lifecycle()))
        st.rerun()
    began = time.perf_counter()
    if not run.finished:
        run.step(_lifecycle().steps_per_tick)
    spent = time.perf_counter() - began
    _carry_out(life.tick(_lifecycle(), run.steps_done, spent, run.finished, time.perf_counter()))
    if not _lifecycle().training:
        st.rerun()  # a full rerun stops the fragment's timer


def _examples(view: DatasetTrainingView) -> None:
    """A few validation images: the image, its labels, and each lane's prediction with its mIoU."""
    shown = view.examples
    if shown is None:
        return
    lanes = [lane.key for lane in view.lanes if lane.key in shown.predictions]
    st.markdown(f"**Validation images and each lane's prediction at step {view.steps_done}**")
    headers = st.columns(len(lanes) + 2)
    headers[0].caption("Image")
    headers[1].caption("Ground truth" + (" (white: void)" if (shown.masks == 255).any() else ""))
    for cell, key in zip(headers[2:], lanes, strict=True):
        cell.caption(lane_label(key))
    for row in range(len(shown.masks)):
        cells = st.columns(len(lanes) + 2)
        cells[0].image(upscale(image_rgb(shown.images[row])), width="stretch")
        cells[1].image(upscale(label_overlay(shown.images[row], shown.masks[row])), width="stretch")
        for cell, key in zip(cells[2:], lanes, strict=True):
            cell.image(
                upscale(label_overlay(shown.images[row], shown.predictions[key][row])),
                caption=f"image mIoU {shown.image_iou[key][row]:.2f}",
                width="stretch",
            )


def _view(run: DatasetTrainingRun) -> DatasetTrainingView:
    """The view of ``run`` at its step, computed once per step (reruns while paused reuse it)."""
    cached = SS.get("dt_view")
    if cached is not None and cached[0] is run and cached[1] == run.steps_done:
        kept: DatasetTrainingView = cached[2]
        return kept
    view = dataset_training_view(run)
    SS.dt_view = (run, run.steps_done, view)
    return view


@session_lock.holding(SS)
def _live_view() -> None:
    """One refresh: train (if running), then progress, curves, table, look-for, sweep and examples."""
    run = _run()
    if run is None:
        return
    if _lifecycle().training:
        _train_one_refresh(run)
    lifecycle = _lifecycle()
    view = _view(run)
    st.progress(
        view.progress, text=f"Step **{view.steps_done}** / {view.steps_total} · {life.label(lifecycle)}"
    )
    engine = min((lane.steps_per_second for lane in view.lanes), default=float("nan"))
    speed = lifecycle.live_speed()
    st.markdown(
        f"**Training speed** {engine:.0f} steps/s (slowest lane, one step alone) · "
        f"**live** {f'{speed:.0f}' if speed else '–'} steps/s for all lanes together",
        help="Training speed: forward, backward, update and batch IoU of one minibatch step of the "
        f"slowest lane (median). Live: steps per second of wall time while the page redraws every "
        f"{TICK_SECONDS:g} s.",
    )
    for lane in view.lanes:
        if lane.status == "diverged":
            st.error(f"**{lane.label}**: {lane.message}", icon=":material/error:")
    presentation.plotly_chart(
        curves_figure(view.val, view.batches, TITLES, view.steps_total, view.rare_name),
        key="dt_curves_chart",
        numbers=False,  # the table below has them
        alt="Validation data-set mIoU, mean per-image IoU and rare-class IoU, and the training "
        "batch mIoU, against the step, one line per lane",
    )
    if view.lanes:
        st.table(lanes_table(view.lanes, view.class_names))
    st.caption(view.look_for)
    if view.sweep is not None:
        st.markdown("**Which IoU does a batch see? The mIoU of validation batches of each size**")
        presentation.plotly_chart(
            sweep_figure(view.sweep, TITLES, view.batch_size, view.steps_done),
            key="dt_sweep_chart",
            numbers=not lifecycle.training,
            alt="Mean mIoU of random validation batches against the batch size, one line per lane: "
            "batch size 1 is the mean per-image IoU, the whole split the data-set mIoU",
        )
        st.caption(
            f"Each lane's weights at step {view.steps_done}, scored on random batches of the "
            f"{view.val_scenes} validation images (one confusion matrix per batch, averaged over "
            "batches). At 1 image per batch this is exactly the mean per-image IoU (what "
            "per_image=True optimises); at all the images, exactly the data-set mIoU; in between, "
            "the batch IoU that per_image=False optimises at that batch size."
        )
    _examples(view)


def _void_section(config: DatasetTrainingConfig, run: DatasetTrainingRun | None) -> None:
    """The void band: its share of the pixels, and each lane's gradient on it (exactly 0)."""
    source = run if run is not None and run.config.void_width else None
    if source is None and not config.void_width:
        return
    if source is None:
        try:
            source = DatasetTrainingRun(config)
        except (TypeError, ValueError):
            return
    check = void_check(source)
    st.subheader("The void band: ignored by every loss and every IoU")
    largest = ", ".join(
        f"{lane_label(k)} {check.largest_void[k]:.1g} (elsewhere up to {check.largest_kept[k]:.2g})"
        for k in check.largest_void
    )
    st.markdown(
        f"On the training batch of step {min(source.steps_done, source.config.steps - 1)} "
        f"({'this run' if source is run else 'the next run, untrained'}), "
        f"**{check.void_pixels}** of {check.pixels} pixels are void "
        f"({100 * check.void_pixels / check.pixels:.1f} %). Largest |∂L/∂z| on a void pixel: "
        f"{largest}. Every lane is called with `ignore_index=255` — cross-entropy included — so a "
        "void pixel has no rank in the Lovász sort and no term in cross-entropy; the confusion "
        "matrices of every IoU on this page skip it too."
    )


# ------------------------------------------------------------------------------------------ the page
LIMITS = classroom.config()  # this server's per-session caps (LOVASZ_* environment variables)
widgets.page_header(
    PAGE,
    "Training on a data set",
    "A loss only ever sees a minibatch, a benchmark scores the whole data set: per_image=False "
    "optimises the IoU of the batch, per_image=True the IoU of each image. Train both on the "
    "same batches and watch which average each one raises.",
)

with st.sidebar:
    widgets.preset_picker(PAGE)
    lanes = widgets.control(
        PAGE,
        "lanes",
        format_func=lane_label,
        help="\n\n".join(f"**{s.label}**: {s.summary}" for s in LANES.values()),
    )
    classes = widgets.control(PAGE, "classes")
    batch = widgets.control(PAGE, "batch")
    void = widgets.control(PAGE, "void")
    void_width = widgets.control(PAGE, "void_width") if void else 1
    num_classes = widgets.control(PAGE, "num_classes")
    rare_rate = widgets.control(PAGE, "rare_rate") if num_classes >= 3 else 0.5
    scenes = widgets.control(PAGE, "scenes")
    lr = widgets.control(PAGE, "lr")
    steps = widgets.control(PAGE, "steps", hi=LIMITS.max_steps)
    seed = widgets.control(PAGE, "seed")
    st.caption(f"Computing on {widgets.device_name()}; training uses 1 CPU thread per step.")

settings = config_from(
    lanes=tuple(lanes),
    classes=classes,
    batch=int(batch),
    void=bool(void),
    void_width=int(void_width),
    num_classes=int(num_classes),
    rare_rate=float(rare_rate),
    scenes=int(scenes),
    lr=lr,
    steps=int(steps),
    seed=int(seed),
    size=SIZE,
)
settings, problem = widgets.checked_settings(settings, len(settings.lanes), LIMITS)

lifecycle, run = _lifecycle(), _run()
widgets.run_buttons(
    "dt",
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
    reset_help="Put this run aside (its final numbers are kept below) and apply the current settings.",
)

shown_config = run.config if run is not None else (None if problem else settings)
if shown_config is not None:
    summary = _summary(shown_config)
    which = "This run" if run is not None else "Next run"
    st.caption(f"{which}: **{run_title(shown_config)}**.")
    with st.expander(
        f"The data set: {summary.train_scenes} training and {summary.val_scenes} validation scenes "
        f"of {summary.size}×{summary.size}",
        expanded=run is None,
    ):
        cells = st.columns([2, 3])
        cells[0].table(data_table(summary))
        facts = [f"Void pixels (label 255): {100 * summary.void_share:.1f} % of all pixels."]
        if summary.rare_class is not None:
            facts.append(
                f"The rare object is absent from {100 * summary.rare_absent_images:.0f} % of the "
                f"training images and from {100 * summary.rare_absent_batches:.0f} % of the "
                f"{summary.batches_per_epoch} batches of {summary.batch_size} in the first epoch of "
                'this seed\'s batch order: with classes="present" such a batch (or image, with '
                'per_image=True) has no rare-class term; with "all" it costs the largest rare-class '
                "probability."
            )
        cells[0].caption(" ".join(facts))
        pictures = cells[1].columns(len(summary.masks))
        for cell, image, mask in zip(pictures, summary.images, summary.masks, strict=True):
            cell.image(upscale(image_rgb(image)), width="stretch")
            cell.image(upscale(label_overlay(image, mask)), width="stretch")
        cells[1].caption("Validation scenes: the image (the network's input) above its labels.")
    if run is None and not problem:
        st.info(
            "Press **Start** to train the chosen lanes on the same batches.", icon=":material/play_arrow:"
        )

if lifecycle.phase == "waiting":
    classroom.waiting_room(lambda: _event(life.slot_granted), lambda: _event(life.leave_queue))
live = st.fragment(_live_view, run_every=TICK_SECONDS if lifecycle.training else None)
live()

if not _lifecycle().training:
    _void_section(settings, run)

kept = SS.get("dt_kept", [])
if kept:
    st.subheader("Runs kept: compare their final numbers")
    st.dataframe([row for entry in kept for row in entry["rows"]], hide_index=True, width="stretch")

with st.expander("Per image, per batch, the data set: which IoU does each loss optimise?", expanded=False):
    st.markdown(
        "- **Data-set mIoU** (Pascal VOC): one confusion matrix over every validation pixel, then "
        "IoU per class, then the mean. **Mean per-image IoU**: the mIoU of each image, then the mean "
        "over images; a small object missed in one image costs that image a whole class.\n"
        "- `lovasz_softmax(probas, labels, per_image=False)` pools the pixels of the **batch** into "
        "one IoU surrogate per class: it optimises the batch mIoU, which moves from the per-image "
        "average (1 image) to the data-set mIoU (all images) as the batch grows — the sweep above "
        "measures it.\n"
        "- `per_image=True` computes one surrogate per image and class and averages them: it "
        "optimises the mean per-image IoU.\n"
        '- `classes="present"` (the default) skips a class absent from the batch (or image); '
        '`"all"` keeps it, and its term is then the largest probability of that class.\n'
        "- **Void** (label 255) pixels are dropped before the sort (`ignore_index=255`); give "
        "cross-entropy the same `ignore_index`, or it trains on them.\n"
        "- The preset *Binary: Lovász hinge vs BCE vs Lovász sigmoid* is the paper's binary "
        "demo: one score s = l₁ − l₀ per pixel, Lovász hinge per image, Lovász sigmoid per batch."
    )

widgets.share_link(PAGE, state.current(PAGE))
