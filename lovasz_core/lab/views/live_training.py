"""Page "Live training": what the screen shows of a run, computed from the run alone.

The engine's record of step t is measured on the weights after t updates, *before* update t + 1
(``lovasz_core.lab.training``), so after N updates the last record is step N − 1. The view adds
one measurement of the weights as they are now (step N, no update), so the progress bar, the
table, the curves, the masks and the replay all end at the same step.

Curves plot what separates the lanes near the top: 1 − IoU (lower is better) on a log scale,
clipped at :data:`IOU_FLOOR` (a perfect class shows as the floor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ...metrics import per_class_iou
from ..gradients import logit_gradient
from ..images import SegmentationImage, load_image
from ..models import MODEL_NAMES
from ..registry import LOSSES
from ..training import MODES, OPTIMIZERS, TrainingConfig, TrainingRun, TrainingSample, _torch_threads

__all__ = [
    "FOUND_IOU",
    "IOU_FLOOR",
    "Curves",
    "LaneView",
    "Preview",
    "PushNowView",
    "ReplayView",
    "TrainingView",
    "label",
    "look_for",
    "preview",
    "push_now_view",
    "rarest_class",
    "replay_view",
    "run_title",
    "sample_preview",
    "training_view",
]

IOU_FLOOR = 1e-3  # 1 − IoU below this is drawn at this value (log axis)
FOUND_IOU = 0.5  # a lane has "found" the rare class once its IoU reaches this
RARE_FRACTION = 0.05  # a class under 5 % of the pixels is "rare"
LEVEL = 0.01  # lanes whose mean IoU differ by less than this end level

IMAGE_LABELS: dict[str, str] = {
    "horse": "Horse",
    "coins": "Coins",
    "camera": "Camera",
    "blobs": "Blobs (generated)",
    "rare_object": "Rare object (generated)",
}
_LABELS: dict[str, dict[str, str]] = {
    "image": IMAGE_LABELS,
    "model": MODEL_NAMES,
    "mode": MODES,
    "optimizer": OPTIMIZERS,
    "loss": {key: spec.label for key, spec in LOSSES.items()},
}


def label(kind: str, key: str) -> str:
    """The human label of a setting's key: ``label("model", "tiny_fcn") == "Tiny conv net"``.

    ``kind`` is ``"image"``, ``"model"``, ``"mode"``, ``"optimizer"`` or ``"loss"``; an unknown key
    is returned as is.
    """
    return _LABELS[kind].get(key, key)


def run_title(config: TrainingConfig) -> str:
    """One line naming a run by its settings, in words: image, size, model, mode, optimizer, seed.

    A run on uploaded data is named "your upload <name> H×W" (the name is the user's: show it as text).
    """
    mode = label("mode", config.mode).lower()
    if config.mode == "finetune":
        mode = f"{mode} ({config.warmup_steps} CE steps)"
    if config.data is not None:
        height, width = config.data.shape
        what = f"your upload {config.data.name} {height}×{width}"
    else:
        what = f"{label('image', config.image)} {config.size}×{config.size}"
    return (
        f"{what} · "
        f"{label('model', config.model)} · {mode} · "
        f"{label('optimizer', config.optimizer)} lr {config.lr:g} · seed {config.seed}"
    )


# ------------------------------------------------------------------------------------------ before a run
@dataclass(frozen=True)
class Preview:
    """The image and ground truth of the next run.

    ``image`` ``[H, W]`` or ``[H, W, 3]`` in [0, 1]; ``mask`` ``[H, W]`` int64; ``fractions`` ``[C]``
    (share of the pixels per class, sum 1); ``rare_class`` = argmin of ``fractions``.
    """

    image: np.ndarray
    mask: np.ndarray
    class_names: tuple[str, ...]
    fractions: np.ndarray
    rare_class: int

    @property
    def rare_shown(self) -> int | None:
        """The rare class to outline in pictures (None when no class is under 5 % of the pixels)."""
        return self.rare_class if self.fractions[self.rare_class] < RARE_FRACTION else None

    @property
    def caption(self) -> str:
        """``"background 71.0 %, large disk 28.3 %, rare square 0.66 %"``."""
        return ", ".join(
            f"{name} {_percent(share)}" for name, share in zip(self.class_names, self.fractions, strict=True)
        )


def _percent(share: float) -> str:
    value = 100 * float(share)
    return f"{value:.2f} %" if value < 1 else f"{value:.1f} %"


def rarest_class(fractions: np.ndarray) -> int:
    """The index of the smallest positive share of ``fractions`` ``[C]`` (absent classes skipped)."""
    return int(np.where(fractions > 0, fractions, np.inf).argmin())


def preview(image: str, size: int, num_classes: int | None, seed: int) -> Preview:
    """The image, mask and class shares that a run of these settings trains on."""
    return sample_preview(load_image(image, size, num_classes, seed))


def sample_preview(sample: SegmentationImage | TrainingSample) -> Preview:
    """The image, mask (255 = void) and class shares (of the labelled pixels) of a sample."""
    fractions = sample.class_fractions()
    return Preview(sample.image, sample.mask, sample.class_names, fractions, rarest_class(fractions))


# ------------------------------------------------------------------------------------------ a run
@dataclass(frozen=True)
class LaneView:
    """One lane now.

    Attributes:
        key / label: the loss's registry key and name. status: ``training``, ``finished`` or
        ``diverged``; message: why it stopped. step: updates done when measured (the run's
        ``steps_done``, or the last record's step for a diverged lane). loss: the objective at
        that step. mean_iou: mean over the classes with a defined IoU. class_iou ``[C]`` (NaN:
        undefined). rare_iou: IoU of the rarest class. rare_found_at: first step with
        rare IoU ≥ ``FOUND_IOU`` (None: not yet). steps_per_second: 1 / median step time.
        mask ``[H, W]``: argmax prediction at ``step`` (None before the first step).
    """

    key: str
    label: str
    status: str
    message: str
    step: int
    loss: float
    mean_iou: float
    class_iou: tuple[float, ...]
    rare_iou: float
    rare_found_at: int | None
    steps_per_second: float
    mask: np.ndarray | None


@dataclass(frozen=True)
class Curves:
    """One point per lane and measured step (the records plus the measurement now), ``[N]`` each.

    ``gap_mean`` = 1 − mean IoU and ``gap_rare`` = 1 − IoU of the rarest class, clipped below at
    ``IOU_FLOOR`` for a log axis.
    """

    step: np.ndarray
    loss_key: tuple[str, ...]
    loss: np.ndarray
    mean_iou: np.ndarray
    rare_iou: np.ndarray

    @property
    def gap_mean(self) -> np.ndarray:
        return np.clip(1.0 - self.mean_iou, IOU_FLOOR, 1.0)

    @property
    def gap_rare(self) -> np.ndarray:
        return np.clip(1.0 - self.rare_iou, IOU_FLOOR, 1.0)

    def columns(self) -> dict[str, np.ndarray | list[str]]:
        """Columns for a data frame: step, loss_key, loss, mean_iou, rare_iou, gap_mean, gap_rare."""
        return {
            "step": self.step,
            "loss_key": list(self.loss_key),
            "loss": self.loss,
            "mean_iou": self.mean_iou,
            "rare_iou": self.rare_iou,
            "gap_mean": self.gap_mean,
            "gap_rare": self.gap_rare,
        }


@dataclass(frozen=True)
class TrainingView:
    """Everything the live view draws of one run.

    ``steps_done`` of ``steps_total`` updates; ``lanes`` in the run's order; ``rare_class`` the
    index of the class with the fewest pixels (``rare_fraction`` its share); ``warmup`` the CE
    steps of a fine-tune run (None from scratch); ``look_for`` what the curves show, in words,
    computed from these numbers.
    """

    title: str
    steps_done: int
    steps_total: int
    finished: bool
    class_names: tuple[str, ...]
    rare_class: int
    rare_fraction: float
    warmup: int | None
    lanes: tuple[LaneView, ...]
    curves: Curves
    look_for: str

    @property
    def progress(self) -> float:
        return self.steps_done / self.steps_total

    @property
    def rare_name(self) -> str:
        return self.class_names[self.rare_class]

    @property
    def rare_shown(self) -> int | None:
        """The rare class to outline in pictures (None when no class is under 5 % of the pixels)."""
        return self.rare_class if self.rare_fraction < RARE_FRACTION else None


def _mean_defined(values: tuple[float, ...]) -> float:
    defined = [v for v in values if not math.isnan(v)]
    return float(np.mean(defined)) if defined else math.nan


def _measure_now(run: TrainingRun, key: str) -> tuple[float, tuple[float, ...], np.ndarray] | None:
    """Loss, IoU per class and mask of lane ``key`` on its current weights (None if not finite)."""
    objective = run.objective_at(key, run.steps_done)
    with _torch_threads(run.threads), torch.no_grad():
        logits = run.predicted_logits(key)
        if not bool(torch.isfinite(logits).all()):
            return None
        labels = run.sample.label_tensor()
        loss = float(LOSSES[objective].fn(logits, labels, ignore_index=run.ignore_index))
        prediction = logits.argmax(1)
        ious = per_class_iou(prediction, labels, run.num_classes, run.ignore_index)
        class_iou = tuple(float(v) for v in ious.tolist())
    if not math.isfinite(loss):
        return None
    return loss, class_iou, prediction[0].numpy()


def training_view(run: TrainingRun) -> TrainingView:
    """The view of ``run`` after ``run.steps_done`` updates (see the module docstring)."""
    fractions = run.sample.class_fractions()
    rare = rarest_class(fractions)
    speeds = run.seconds_per_step()
    status = run.status()
    steps: list[int] = []
    keys: list[str] = []
    losses: list[float] = []
    means: list[float] = []
    rares: list[float] = []
    for record in run.records:
        steps.append(record.step)
        keys.append(record.loss_key)
        losses.append(record.loss)
        means.append(record.mean_iou)
        rares.append(record.class_iou[rare])
    lanes: list[LaneView] = []
    for key in run.lanes:
        lane_status, message = status[key]
        now = _measure_now(run, key) if run.steps_done > 0 and lane_status != "diverged" else None
        mask: np.ndarray | None
        if now is not None:
            loss, class_iou, mask = now
            step = run.steps_done
            steps.append(step)
            keys.append(key)
            losses.append(loss)
            means.append(_mean_defined(class_iou))
            rares.append(class_iou[rare])
        else:
            last = next((r for r in reversed(run.records) if r.loss_key == key), None)
            if last is None:  # no step yet, or diverged at its first
                loss, class_iou, step = math.nan, (math.nan,) * run.num_classes, 0
            else:
                loss, class_iou, step = last.loss, last.class_iou, last.step
            mask = run.latest_masks().get(key)
        found = next(
            (s for s, k, r in zip(steps, keys, rares, strict=True) if k == key and r >= FOUND_IOU), None
        )
        seconds = speeds.get(key, 0.0)
        lanes.append(
            LaneView(
                key=key,
                label=label("loss", key),
                status=lane_status,
                message=message,
                step=step,
                loss=loss,
                mean_iou=_mean_defined(class_iou),
                class_iou=class_iou,
                rare_iou=class_iou[rare],
                rare_found_at=found,
                steps_per_second=1.0 / seconds if seconds > 0 else math.nan,
                mask=mask,
            )
        )
    order = np.lexsort((np.array([list(run.lanes).index(k) for k in keys]), np.array(steps)))
    curves = Curves(
        step=np.array(steps, dtype=np.int64)[order],
        loss_key=tuple(keys[i] for i in order),
        loss=np.array(losses, dtype=np.float64)[order],
        mean_iou=np.array(means, dtype=np.float64)[order],
        rare_iou=np.array(rares, dtype=np.float64)[order],
    )
    cfg = run.config
    warmup = cfg.warmup_steps if cfg.mode == "finetune" else None
    lanes_t = tuple(lanes)
    return TrainingView(
        title=run_title(cfg),
        steps_done=run.steps_done,
        steps_total=cfg.steps,
        finished=run.finished,
        class_names=tuple(run.class_names),
        rare_class=rare,
        rare_fraction=float(fractions[rare]),
        warmup=warmup,
        lanes=lanes_t,
        curves=curves,
        look_for=look_for(
            lanes_t,
            run.steps_done,
            run.finished,
            tuple(run.class_names),
            rare,
            float(fractions[rare]),
            warmup,
        ),
    )


def _list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def look_for(
    lanes: tuple[LaneView, ...],
    steps_done: int,
    finished: bool,
    class_names: tuple[str, ...],
    rare_class: int,
    rare_fraction: float,
    warmup: int | None,
) -> str:
    """What to look for, in words, from the lanes' numbers (never a claim the numbers do not make).

    Three parts: the fine-tune switch (if any); when each lane first reached IoU ≥ ``FOUND_IOU``
    on a rare class (< 5 % of the pixels); the mean IoU of each lane, best first, or that they
    are level (within ``LEVEL``).
    """
    if not lanes or steps_done == 0:
        return ""
    parts: list[str] = []
    when = "at the end" if finished else "so far"
    if warmup is not None:
        parts.append(
            f"All lanes are the same cross-entropy run for the first {warmup} steps, then each "
            "switches to its own loss at the dashed line."
        )
    if rare_fraction < RARE_FRACTION and len(class_names) > 1:
        found = sorted(
            (lane for lane in lanes if lane.rare_found_at is not None), key=lambda x: x.rare_found_at or 0
        )
        missing = [lane for lane in lanes if lane.rare_found_at is None]
        rare = f"*{class_names[rare_class]}* ({_percent(rare_fraction)} of the pixels)"
        sentences = []
        if found:
            steps = ", ".join(f"{lane.label} at step {lane.rare_found_at}" for lane in found)
            sentences.append(f"The rare class {rare} reached IoU {FOUND_IOU:g} first with {steps}")
        if missing:
            names = _list([f"{lane.label} (IoU {lane.rare_iou:.2f})" for lane in missing])
            verb = "has" if len(missing) == 1 else "have"
            lead = "" if found else f"The rare class {rare}: "
            sentences.append(f"{lead}{names} {verb} not after {steps_done} steps")
        parts.append("; ".join(sentences) + ".")
    ranked = sorted(lanes, key=lambda lane: -np.nan_to_num(lane.mean_iou, nan=-1.0))
    scores = ", ".join(f"{lane.label} {lane.mean_iou:.3f}" for lane in ranked)
    spread = ranked[0].mean_iou - ranked[-1].mean_iou if len(ranked) > 1 else 0.0
    if len(ranked) > 1 and spread < LEVEL:
        parts.append(
            f"Mean IoU {when} (step {steps_done}): {scores} — level, within {LEVEL:g}: the "
            "difference is how fast each got there."
        )
    else:
        parts.append(f"Mean IoU {when} (step {steps_done}), best first: {scores}.")
    return "**Look for:** " + " ".join(parts)


# ------------------------------------------------------------------------------------------ replay
@dataclass(frozen=True)
class ReplayView:
    """Masks ``[H, W]`` kept every ``snapshot_every`` steps, and the masks now (the last step).

    ``steps`` in increasing order; ``frames[step][lane]`` the lane's mask at that step (a lane that
    stopped early has no mask at later steps).
    """

    steps: tuple[int, ...]
    frames: dict[int, dict[str, np.ndarray]]


def replay_view(run: TrainingRun, view: TrainingView) -> ReplayView:
    """Snapshots of every lane, plus each lane's mask at ``view``'s last step."""
    frames: dict[int, dict[str, np.ndarray]] = {}
    for key in run.lanes:
        for step, mask in run.snapshots(key):
            frames.setdefault(step, {})[key] = mask
    for lane in view.lanes:
        if lane.mask is not None:
            frames.setdefault(lane.step, {})[lane.key] = lane.mask
    return ReplayView(tuple(sorted(frames)), frames)


# ------------------------------------------------------------------------------------------ push now
PUSH_KEYS: tuple[str, ...] = ("cross_entropy", "lovasz_softmax")


@dataclass(frozen=True)
class PushNowView:
    """∂L/∂z_c of cross-entropy and Lovász-Softmax at one lane's current prediction.

    ``maps[key]`` ``[H, W]`` signed, ``scales[key]`` its largest |value| (each map on its own
    scale); ``diverged``: the lane's logits or losses are not finite (no maps then).
    """

    lane: str
    class_name: str
    step: int
    maps: dict[str, np.ndarray]
    scales: dict[str, float]
    diverged: bool


def push_now_view(run: TrainingRun, lane_key: str, class_index: int) -> PushNowView:
    """Where each loss of ``PUSH_KEYS`` would push lane ``lane_key``'s logit of class ``class_index``."""
    with _torch_threads(run.threads):
        logits = run.predicted_logits(lane_key)
        labels = run.sample.label_tensor()
        results = (
            {key: logit_gradient(key, logits, labels, run.ignore_index) for key in PUSH_KEYS}
            if bool(logits.isfinite().all())
            else {}
        )
    maps = {key: grad[0, class_index].numpy() for key, (_, grad) in results.items()}
    finite = bool(results) and all(
        math.isfinite(value) and np.isfinite(maps[key]).all() for key, (value, _) in results.items()
    )
    scales = {key: float(np.abs(m).max()) for key, m in maps.items()} if finite else {}
    return PushNowView(
        lane=label("loss", lane_key),
        class_name=run.class_names[class_index],
        step=run.steps_done,
        maps=maps if finite else {},
        scales=scales,
        diverged=not finite,
    )
