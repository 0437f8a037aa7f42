"""Page "Training on a data set": what the screen shows of a minibatch run, computed from the run alone.

The engine (:mod:`lovasz_core.lab.dataset_training`) scores the validation split every
``eval_every`` steps. The view adds one measurement of every lane's weights as they are now
(step ``steps_done``), so the progress bar, the table, the curves, the batch-size sweep and the
example predictions all end at the same step.

Three averages of IoU appear, all over the non-void pixels:

* **data-set mIoU** — one confusion matrix accumulated over the whole validation split (Pascal VOC);
* **mean per-image IoU** — the mIoU of each image, averaged over the images;
* **batch mIoU** — one confusion matrix over a batch of b images: what Lovász-Softmax with
  ``per_image=False`` optimises. :func:`batch_size_sweep` averages it over random validation
  batches of each size b: at b = 1 it *is* the mean per-image IoU, at b = N the data-set mIoU.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from ...metrics import iou_from_confusion
from ..dataset_training import DatasetTrainingConfig, DatasetTrainingRun
from ..lanes import LANES

__all__ = [
    "BATCH_WINDOW",
    "LEVEL",
    "BatchSweep",
    "DataSummary",
    "DatasetTrainingView",
    "Examples",
    "LaneNow",
    "VoidCheck",
    "batch_size_sweep",
    "config_from",
    "data_summary",
    "dataset_training_view",
    "eval_every_for",
    "lane_label",
    "look_for",
    "run_title",
    "void_check",
]

BATCH_WINDOW = 10  # training-batch curves: mean over the last this many steps
LEVEL = 0.01  # lanes closer than this are called level
SWEEP_REPEATS = 8  # random orders of the validation split per batch size
EXAMPLES = 4  # validation images shown with each lane's prediction


def lane_label(key: str) -> str:
    """The lane's display name (``"lovasz_image"`` → ``"Lovász per image"``); unknown keys as is."""
    spec = LANES.get(key)
    return spec.label if spec is not None else key


def eval_every_for(steps: int) -> int:
    """Validation period of a run of ``steps`` steps: about 40 points per curve, at least every 5 steps."""
    return max(5, int(steps) // 40)


def config_from(
    *,
    lanes: tuple[str, ...],
    classes: str,
    batch: int,
    void: bool,
    void_width: int,
    num_classes: int,
    rare_rate: float,
    scenes: int,
    lr: float | str,
    steps: int,
    seed: int,
    size: int = 32,
) -> DatasetTrainingConfig:
    """The run of the page's settings (named as its parameters); not validated yet.

    ``void`` off means no band whatever ``void_width``; ``seed`` seeds the scenes, the initial
    weights and the batch order; validation every :func:`eval_every_for` steps.
    """
    return DatasetTrainingConfig(
        scenes=int(scenes),
        size=int(size),
        num_classes=int(num_classes),
        void_width=int(void_width) if void else 0,
        rare_rate=float(rare_rate),
        data_seed=int(seed),
        lanes=tuple(lanes),
        classes=classes,
        batch_size=int(batch),
        lr=float(lr),
        steps=int(steps),
        eval_every=eval_every_for(int(steps)),
        seed=int(seed),
    )


def run_title(config: DatasetTrainingConfig) -> str:
    """One line naming a run by its settings, in words."""
    void = f"void band {config.void_width} px" if config.void_width else "no void"
    return (
        f"{config.scenes} scenes {config.size}×{config.size}, {config.num_classes} classes · "
        f'batch {config.batch_size} · classes="{config.classes}" · {void} · '
        f"Adam lr {config.lr:g} · seed {config.seed}"
    )


# ------------------------------------------------------------------------------------------ the data
@dataclass(frozen=True)
class DataSummary:
    """The data set of a config, as the page describes it before and during a run.

    Attributes:
        class_names: one per class; rare_class: index of the rare class (None when C = 2).
        train_scenes / val_scenes: split sizes; size: side in pixels.
        pixel_share: ``[C]`` share of the non-void training pixels in each class.
        scene_share: ``[C]`` share of the training scenes holding each class.
        void_share: share of all pixels that are void (label 255).
        batch_size: images per step; batches_per_epoch: full batches in one pass.
        rare_absent_batches: share of the first epoch's batches with no rare pixel (NaN: no rare class).
        rare_absent_images: share of the training images with no rare pixel (NaN: no rare class).
        images / masks: the first ``EXAMPLES`` validation scenes, ``[k, H, W, 3]`` and ``[k, H, W]``.
    """

    class_names: tuple[str, ...]
    rare_class: int | None
    train_scenes: int
    val_scenes: int
    size: int
    pixel_share: tuple[float, ...]
    scene_share: tuple[float, ...]
    void_share: float
    batch_size: int
    batches_per_epoch: int
    rare_absent_batches: float
    rare_absent_images: float
    images: np.ndarray
    masks: np.ndarray


def data_summary(config: DatasetTrainingConfig) -> DataSummary:
    """What the data set of ``config`` holds, and how often the rare class misses a batch.

    Raises:
        TypeError / ValueError naming the field, as :meth:`DatasetTrainingConfig.validated`.
    """
    run = DatasetTrainingRun(config)  # validates; its batch order is the one training will use
    data = run.data
    _, train_masks = data.split("train")
    val_images, val_masks = data.split("val")
    rare = data.rare_class
    absent_batches = absent_images = math.nan
    if rare is not None:
        has_rare = (train_masks == rare).any(axis=(1, 2))
        absent_images = float(1.0 - has_rare.mean())
        batches = [run.batch_indices(step) for step in range(run.batches_per_epoch)]
        absent_batches = float(np.mean([not has_rare[index].any() for index in batches]))
    shown = min(EXAMPLES, len(val_masks))
    return DataSummary(
        class_names=data.class_names,
        rare_class=rare,
        train_scenes=len(data.train_index),
        val_scenes=len(data.val_index),
        size=data.size,
        pixel_share=tuple(float(v) for v in data.class_pixel_fractions("train")),
        scene_share=tuple(float(v) for v in data.class_presence("train")),
        void_share=data.void_fraction(),
        batch_size=run.config.batch_size,
        batches_per_epoch=run.batches_per_epoch,
        rare_absent_batches=absent_batches,
        rare_absent_images=absent_images,
        images=val_images[:shown].transpose(0, 2, 3, 1).copy(),
        masks=val_masks[:shown].copy(),
    )


# ------------------------------------------------------------------------------------------ a run
@dataclass(frozen=True)
class LaneNow:
    """One lane on the validation split at ``step`` (its weights now, or when it diverged).

    Attributes:
        key / label: lane key and name; status ``training``/``finished``/``diverged``; message.
        step: updates done when measured. dataset_miou, image_miou: the two validation averages.
        class_iou: ``[C]`` IoU per class from the accumulated confusion matrix (NaN: undefined).
        rare_iou: IoU of the rare class (NaN without one).
        batch_miou / batch_image_miou: mean over the lane's last ``BATCH_WINDOW`` training batches
            of the batch mIoU and of the batch's mean per-image IoU (NaN before the first step).
        loss: mean loss over the same batches. steps_per_second: 1 / median seconds of a step.
    """

    key: str
    label: str
    status: str
    message: str
    step: int
    dataset_miou: float
    image_miou: float
    class_iou: tuple[float, ...]
    rare_iou: float
    batch_miou: float
    batch_image_miou: float
    loss: float
    steps_per_second: float


@dataclass(frozen=True)
class BatchSweep:
    """Mean mIoU of random validation batches of each size, per lane, at the view's step.

    ``sizes`` increasing, ending at the whole split; ``miou[lane]`` one value per size. The first
    value equals the lane's mean per-image IoU, the last its data-set mIoU.
    """

    sizes: tuple[int, ...]
    miou: dict[str, tuple[float, ...]]

    def at(self, lane: str, size: int) -> float:
        """The value of ``lane`` at the largest swept size ≤ ``size``."""
        position = max(i for i, s in enumerate(self.sizes) if s <= max(size, 1))
        return self.miou[lane][position]


@dataclass(frozen=True)
class Examples:
    """``EXAMPLES`` validation scenes and each lane's prediction on them at the view's step.

    ``images`` ``[k, H, W, 3]`` in [0, 1]; ``masks`` ``[k, H, W]`` (255 = void);
    ``predictions[lane]`` ``[k, H, W]``; ``image_iou[lane]`` the mIoU of each shown image.
    """

    images: np.ndarray
    masks: np.ndarray
    predictions: dict[str, np.ndarray]
    image_iou: dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class DatasetTrainingView:
    """Everything the live view draws of one run.

    ``val`` columns: ``step, lane, dataset_miou, image_miou, rare_iou`` (validation, one row per
    lane and evaluation, ending at the view's step); ``batches`` columns: ``step, lane, loss,
    batch_miou, batch_image_miou`` (each the mean over the last ``BATCH_WINDOW`` steps).
    """

    title: str
    steps_done: int
    steps_total: int
    finished: bool
    batch_size: int
    val_scenes: int
    class_names: tuple[str, ...]
    rare_class: int | None
    lanes: tuple[LaneNow, ...]
    val: dict[str, np.ndarray]
    batches: dict[str, np.ndarray]
    sweep: BatchSweep | None
    examples: Examples | None
    look_for: str

    @property
    def progress(self) -> float:
        return self.steps_done / self.steps_total

    @property
    def rare_name(self) -> str | None:
        return None if self.rare_class is None else self.class_names[self.rare_class]


def _nanmean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan


def _confusions(prediction: np.ndarray, target: np.ndarray, classes: int, ignore_index: int) -> np.ndarray:
    """``[N, C, C]`` int64 confusion matrix of each image (rows = truth), void pixels skipped.

    For the run's own argmax predictions and labels (already in range): one ``bincount``.
    """
    images = target.shape[0]
    truth = target.reshape(images, -1)
    keys = (np.arange(images)[:, None] * classes + truth) * classes + prediction.reshape(images, -1)
    counts = np.bincount(keys[truth != ignore_index], minlength=images * classes * classes)
    return counts.reshape(images, classes, classes)


def _miou_rows(confusions: np.ndarray) -> np.ndarray:
    """mIoU of each ``[C, C]`` confusion matrix of ``[M, C, C]`` (classes with a union; NaN if none)."""
    counts = confusions.astype(np.float64)
    intersection = np.diagonal(counts, axis1=1, axis2=2)
    union = counts.sum(1) + counts.sum(2) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, intersection / np.maximum(union, 1), np.nan)
        defined = (~np.isnan(iou)).sum(1)
        return np.where(defined > 0, np.nansum(iou, 1) / np.maximum(defined, 1), np.nan)


def batch_size_sweep(
    per_image: torch.Tensor | np.ndarray, sizes: tuple[int, ...] | None = None, seed: int = 0
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """``(sizes, values)``: mean mIoU of batches of each size drawn from per-image confusions.

    ``per_image`` ``[N, C, C]`` counts; for each size b, ``SWEEP_REPEATS`` seeded orders of the
    N images are cut into ⌊N / b⌋ batches, and the mIoU of each batch's summed confusion matrix
    is averaged. b = 1 gives the mean per-image IoU, b = N the data-set mIoU (both exactly).
    """
    counts = per_image.numpy() if isinstance(per_image, torch.Tensor) else np.asarray(per_image)
    count = int(counts.shape[0])
    if sizes is None:
        sizes = tuple(sorted({*(2**k for k in range(count.bit_length()) if 2**k < count), count}))
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(count) for _ in range(SWEEP_REPEATS)]
    values = []
    for size in sizes:
        if size == count:
            values.append(_nanmean(_miou_rows(counts.sum(0, keepdims=True))))
            continue
        usable = (count // size) * size
        chosen = orders if size > 1 else orders[:1]
        grouped = np.concatenate([counts[order[:usable]] for order in chosen])
        batches = grouped.reshape(-1, size, *counts.shape[1:]).sum(1)
        values.append(_nanmean(_miou_rows(batches)))
    return tuple(sizes), tuple(values)


def _median_speed(run: DatasetTrainingRun, key: str) -> float:
    seconds = [r.seconds for r in run.batches if r.lane == key]
    return 1.0 / float(np.median(seconds)) if seconds and np.median(seconds) > 0 else math.nan


def _trailing(values: list[float], window: int) -> np.ndarray:
    """Mean of each value and the up to ``window − 1`` before it (NaN skipped)."""
    array = np.array(values, dtype=np.float64)
    return np.array([_nanmean(array[max(0, i - window + 1) : i + 1]) for i in range(len(array))])


def dataset_training_view(run: DatasetTrainingRun, examples: bool = True) -> DatasetTrainingView:
    """The view of ``run`` after ``run.steps_done`` updates (see the module docstring).

    ``examples``: also predict the shown validation images and sweep the batch size (the page
    skips both on refreshes where the step did not change).
    """
    cfg = run.config
    rare = run.data.rare_class
    status = run.status()
    val_masks = run.data.split("val")[1]
    masks = torch.from_numpy(val_masks.copy())
    val_rows: dict[str, list] = {k: [] for k in ("step", "lane", "dataset_miou", "image_miou", "rare_iou")}
    for record in run.evaluations:
        val_rows["step"].append(record.step)
        val_rows["lane"].append(record.lane)
        val_rows["dataset_miou"].append(record.dataset_miou)
        val_rows["image_miou"].append(record.image_miou)
        val_rows["rare_iou"].append(record.class_iou[rare] if rare is not None else math.nan)
    lanes: list[LaneNow] = []
    per_image: dict[str, np.ndarray] = {}
    predictions: dict[str, np.ndarray] = {}
    for key in cfg.lanes:
        lane_status, message = status[key]
        evaluated = [e for e in run.evaluations if e.lane == key]
        if lane_status != "diverged":
            prediction = run.predict(key, "val")
            predictions[key] = prediction
            counts = _confusions(prediction, val_masks, run.num_classes, run.ignore_index)
            per_image[key] = counts
            pooled = counts.sum(0)
            step, dataset_miou, image_miou = (
                run.steps_done,
                float(_miou_rows(pooled[None])[0]),
                _nanmean(_miou_rows(counts)),
            )
            class_iou = tuple(float(v) for v in iou_from_confusion(torch.from_numpy(pooled)).tolist())
            if not evaluated or evaluated[-1].step != run.steps_done:
                val_rows["step"].append(step)
                val_rows["lane"].append(key)
                val_rows["dataset_miou"].append(dataset_miou)
                val_rows["image_miou"].append(image_miou)
                val_rows["rare_iou"].append(class_iou[rare] if rare is not None else math.nan)
        elif evaluated:
            last = evaluated[-1]
            step, dataset_miou, image_miou, class_iou = (
                last.step,
                last.dataset_miou,
                last.image_miou,
                last.class_iou,
            )
        else:
            continue
        records = [r for r in run.batches if r.lane == key][-BATCH_WINDOW:]
        lanes.append(
            LaneNow(
                key=key,
                label=lane_label(key),
                status=lane_status,
                message=message,
                step=step,
                dataset_miou=dataset_miou,
                image_miou=image_miou,
                class_iou=tuple(class_iou),
                rare_iou=class_iou[rare] if rare is not None else math.nan,
                batch_miou=_nanmean(np.array([r.batch_miou for r in records])) if records else math.nan,
                batch_image_miou=(
                    _nanmean(np.array([r.batch_image_miou for r in records])) if records else math.nan
                ),
                loss=float(np.mean([r.loss for r in records])) if records else math.nan,
                steps_per_second=_median_speed(run, key),
            )
        )
    order = np.lexsort(
        (np.array([list(cfg.lanes).index(k) for k in val_rows["lane"]]), np.array(val_rows["step"]))
    )
    val = {
        name: (np.array(values)[order] if values else np.array(values)) for name, values in val_rows.items()
    }
    batch_cols: dict[str, list] = {k: [] for k in ("step", "lane", "loss", "batch_miou", "batch_image_miou")}
    for key in cfg.lanes:
        records = [r for r in run.batches if r.lane == key]
        batch_cols["step"].extend(r.step for r in records)
        batch_cols["lane"].extend(key for _ in records)
        batch_cols["loss"].extend(_trailing([r.loss for r in records], BATCH_WINDOW))
        batch_cols["batch_miou"].extend(_trailing([r.batch_miou for r in records], BATCH_WINDOW))
        batch_cols["batch_image_miou"].extend(_trailing([r.batch_image_miou for r in records], BATCH_WINDOW))
    batches = {name: np.array(values) for name, values in batch_cols.items()}
    sweep = shown = None
    if examples and per_image:
        sizes: tuple[int, ...] = ()
        values: dict[str, tuple[float, ...]] = {}
        for key, counts in per_image.items():
            sizes, values[key] = batch_size_sweep(counts, seed=cfg.seed)
        sweep = BatchSweep(sizes, values)
        count = min(EXAMPLES, int(masks.shape[0]))
        images = run.data.split("val")[0][:count].transpose(0, 2, 3, 1).copy()
        ious = {}
        for key, counts in per_image.items():
            ious[key] = tuple(float(v) for v in _miou_rows(counts[:count]))
        shown = Examples(
            images=images,
            masks=masks[:count].numpy(),
            predictions={k: p[:count] for k, p in predictions.items()},
            image_iou=ious,
        )
    lanes_t = tuple(lanes)
    return DatasetTrainingView(
        title=run_title(cfg),
        steps_done=run.steps_done,
        steps_total=cfg.steps,
        finished=run.finished,
        batch_size=cfg.batch_size,
        val_scenes=int(masks.shape[0]),
        class_names=tuple(run.class_names),
        rare_class=rare,
        lanes=lanes_t,
        val=val,
        batches=batches,
        sweep=sweep,
        examples=shown,
        look_for=look_for(
            lanes_t, run.steps_done, run.finished, cfg.batch_size, sweep, run.class_names, rare
        ),
    )


# ------------------------------------------------------------------------------------------ void
@dataclass(frozen=True)
class VoidCheck:
    """Where the gradient of each lane's loss goes on one training batch with void pixels.

    ``void_pixels`` / ``pixels`` in the batch; ``largest_void[lane]`` = max |∂L/∂z| over the void
    pixels (0 when ignored), ``largest_kept[lane]`` the same over the other pixels.
    """

    void_pixels: int
    pixels: int
    largest_void: dict[str, float]
    largest_kept: dict[str, float]


def void_check(run: DatasetTrainingRun) -> VoidCheck:
    """∂L/∂logits of every lane's loss at its current weights on the batch of the next step."""
    index = torch.from_numpy(run.batch_indices(min(run.steps_done, run.config.steps - 1)))
    inputs = torch.from_numpy(run.data.split("train")[0].copy())[index]
    labels = torch.from_numpy(run.data.split("train")[1].copy())[index]
    void = labels == run.ignore_index
    largest_void: dict[str, float] = {}
    largest_kept: dict[str, float] = {}
    for key, lane in run.lanes.items():
        with torch.no_grad():
            logits = lane.model(inputs)
        logits.requires_grad_(True)
        loss = LANES[key].loss(logits, labels, run.config.classes, run.ignore_index)
        (grad,) = torch.autograd.grad(loss, logits)
        size = grad.abs().amax(1)  # [B, H, W]
        largest_void[key] = float(size[void].max()) if bool(void.any()) else 0.0
        largest_kept[key] = float(size[~void].max()) if bool((~void).any()) else 0.0
    return VoidCheck(int(void.sum()), int(void.numel()), largest_void, largest_kept)


# ------------------------------------------------------------------------------------------ look for
def _ranked(lanes: tuple[LaneNow, ...], value: str) -> list[LaneNow]:
    return sorted(lanes, key=lambda lane: -np.nan_to_num(getattr(lane, value), nan=-1.0))


def _scores(lanes: list[LaneNow], value: str) -> str:
    return ", ".join(f"{lane.label} {getattr(lane, value):.3f}" for lane in lanes)


def look_for(
    lanes: tuple[LaneNow, ...],
    steps_done: int,
    finished: bool,
    batch_size: int,
    sweep: BatchSweep | None,
    class_names: tuple[str, ...],
    rare_class: int | None,
) -> str:
    """What to look for, in words, from the lanes' numbers (never a claim the numbers do not make).

    The two validation averages, best first, and whether they name the same best lane; how each
    lane's mean per-image IoU compares with its data-set mIoU; the rare class; where this run's
    batch size sits between the per-image average and the data-set mIoU (from ``sweep``).
    """
    lanes = tuple(lane for lane in lanes if not math.isnan(lane.dataset_miou))
    if not lanes or steps_done == 0:
        return ""
    when = "at the end" if finished else "so far"
    parts = []
    by_dataset, by_image = _ranked(lanes, "dataset_miou"), _ranked(lanes, "image_miou")
    parts.append(
        f"Validation {when} (step {steps_done}), best first — **data-set mIoU**: "
        f"{_scores(by_dataset, 'dataset_miou')}; **mean per-image IoU**: {_scores(by_image, 'image_miou')}."
    )
    if len(lanes) > 1:
        spread = by_dataset[0].dataset_miou - by_dataset[-1].dataset_miou
        if spread < LEVEL:
            parts.append(f"The lanes are level on the data-set mIoU (within {LEVEL:g}).")
        elif by_dataset[0].key == by_image[0].key:
            parts.append(f"{by_dataset[0].label} leads on both averages.")
        else:
            parts.append(
                f"The two averages name different leaders: {by_dataset[0].label} on the data-set "
                f"mIoU, {by_image[0].label} on the mean per-image IoU."
            )
    below = [lane for lane in lanes if lane.image_miou < lane.dataset_miou]
    gaps = [lane.dataset_miou - lane.image_miou for lane in lanes]
    if len(below) == len(lanes):
        parts.append(
            f"Every lane scores lower on the mean per-image IoU than on the data-set mIoU "
            f"(by {min(gaps):.3f} to {max(gaps):.3f}): a small object missed in one image costs "
            "that image a whole class."
        )
    elif not below:
        parts.append("Every lane scores at least as high on the mean per-image IoU as on the data-set mIoU.")
    else:
        parts.append(
            f"Mean per-image IoU below the data-set mIoU for {', '.join(lane.label for lane in below)} only."
        )
    if rare_class is not None:
        rare = _ranked(lanes, "rare_iou")
        parts.append(
            f"IoU of the rare class *{class_names[rare_class]}*, best first: {_scores(rare, 'rare_iou')}."
        )
    if sweep is not None and len(sweep.sizes) > 2 and batch_size > 1:
        closed, toward = [], True
        for lane in lanes:
            if lane.key not in sweep.miou:
                continue
            values = sweep.miou[lane.key]
            first, last = values[0], values[-1]
            if abs(last - first) >= LEVEL:
                closed.append((sweep.at(lane.key, batch_size) - first) / (last - first))
            distance = [abs(v - last) for v in values]
            toward &= all(b <= a + LEVEL / 2 for a, b in itertools.pairwise(distance))
        if closed:
            size = max(s for s in sweep.sizes if s <= batch_size)
            parts.append(
                f"On validation batches of {size} images (this run trains on {batch_size}), the "
                f"batch mIoU lies on average {100 * float(np.mean(closed)):.0f} % of the way from "
                f"the per-image average (batches of 1) to the data-set mIoU (one batch of all "
                f"{sweep.sizes[-1]})"
                + (
                    ", and for every lane it gets closer to the data-set mIoU as the batch grows: "
                    "the batch IoU that per_image=False optimises approaches the data-set IoU."
                    if toward
                    else "."
                )
            )
    return "**Look for:** " + " ".join(parts)
