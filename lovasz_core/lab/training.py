"""One engine that trains several losses side by side, k steps at a time.

Every loss gets a *lane*: a copy of the same initial model (one seeded initialisation, deep-copied),
its own optimizer of the same kind and learning rate, the same image and labels. ``step(k)``
advances every lane by k full-image gradient steps and returns one ``StepRecord`` per lane and
step, so a UI can call it from a timer without blocking (a resumable object, no loop inside).

Record convention: the record of step t is measured at the forward pass that *starts* update
t + 1, i.e. on the weights after t updates (t = 0 is the initial model). Its loss is the loss
being optimised at that step, its IoU that of ``argmax`` of the same logits.

Modes:
    * ``"scratch"`` — each lane optimises its own loss from step 0.
    * ``"finetune"`` — every lane first optimises cross-entropy for ``warmup_steps`` steps (all
      lanes stay identical), then switches to its own loss with the same optimizer state. This
      is how the paper trained: Lovász-Softmax alone from scratch learns slower, because its
      gradient only flows through the errors that currently hurt the IoU; starting it from a CE
      solution, or adding it to CE, gives the best IoU.

A lane whose logits, loss or gradients become NaN/inf stops itself (status ``"diverged"``)
with a message saying where; the other lanes go on. Runs are deterministic for a seed on the
CPU: no data sampling, a seeded initialisation, full-batch steps.

Example:
    >>> run = TrainingRun(TrainingConfig(image="horse", size=32, steps=20))
    >>> records = run.step(5)
    >>> len(records), run.steps_done
    (15, 5)
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import math
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
import torch
from torch import Tensor, nn

from ..metrics import per_class_iou
from ..validation import check_choice
from . import images
from .images import IMAGE_NAMES, MAX_SIZE, SegmentationImage, load_image
from .models import MODEL_NAMES, make_model
from .registry import LOSSES
from .void import VOID

__all__ = [
    "MODES",
    "OPTIMIZERS",
    "StepRecord",
    "TrainingConfig",
    "TrainingRun",
    "TrainingSample",
    "available_devices",
]

MODES: dict[str, str] = {"scratch": "From scratch", "finetune": "Fine-tune after CE"}
OPTIMIZERS: dict[str, str] = {"adam": "Adam", "sgd": "SGD (momentum 0.9)"}
WARMUP_LOSS = "cross_entropy"


_THREADS_LOCK = threading.Lock()
_THREADS_USERS = 0  # blocks inside _torch_threads now, in any thread
_THREADS_SAVED = 0  # the thread count before the first of them entered


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, then restore the process's setting.

    torch keeps the count per OS thread and copies a process-wide value into each new thread, so
    overlapping blocks in two threads (two sessions training) must not save each other's value:
    the first block in saves it and every block restores it, so new threads get it back.
    """
    global _THREADS_USERS, _THREADS_SAVED
    if threads is None:
        yield
        return
    with _THREADS_LOCK:
        if _THREADS_USERS == 0:
            _THREADS_SAVED = torch.get_num_threads()
        _THREADS_USERS += 1
        saved = _THREADS_SAVED
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_USERS -= 1
            torch.set_num_threads(saved)


def available_devices() -> list[str]:
    """``["cpu"]``, plus ``"cuda"`` when a CUDA device is present."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def check_learning_rate(lr: object) -> None:
    """``lr`` must be a finite number > 0 (``TypeError``/``ValueError`` naming it otherwise)."""
    if isinstance(lr, bool) or not isinstance(lr, int | float):
        raise TypeError(f"`lr` must be a float, got {type(lr).__name__}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"`lr` must be a finite number > 0, got {lr}")


def check_keys(name: str, keys: object, known: Mapping[str, object], noun: str, kind: str) -> tuple[str, ...]:
    """``keys``: a non-empty tuple or list of distinct keys of ``known``; returned as a tuple."""
    if isinstance(keys, str) or not isinstance(keys, tuple | list):
        raise TypeError(f"`{name}` must be a tuple of {kind}, got {type(keys).__name__}")
    if not keys:
        raise ValueError(f"`{name}` must name at least one {noun}, got none")
    for key in keys:
        check_choice(name, key, known)
    if len(set(keys)) != len(keys):
        raise ValueError(f"`{name}` must not repeat a {noun}, got {list(keys)}")
    return tuple(keys)


def make_optimizer(name: str, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """The optimizer ``name`` (a key of :data:`OPTIMIZERS`) over ``model``'s parameters:
    Adam, or SGD with momentum 0.9."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=lr)


def _input_from_mask(mask: np.ndarray, num_classes: int) -> np.ndarray:
    """A network input made from labels alone, as the built-in *Horse* is made from its silhouette:
    class c at grey level 0.2 + 0.6·c/(C − 1) (void 0.5), blurred (σ = 1 px), seeded noise (σ 0.12).
    ``[H, W]`` float32 in [0, 1]."""
    from skimage.filters import gaussian

    levels = np.where(mask == VOID, 0.5, 0.2 + 0.6 * np.clip(mask, 0, num_classes - 1) / (num_classes - 1))
    noisy = gaussian(levels, sigma=1.0) + 0.12 * np.random.default_rng(0).standard_normal(mask.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class TrainingSample:
    """Arrays to train on instead of a built-in image: the user's image and mask.

    Compared and hashed by ``name``, ``num_classes`` and ``digest`` (a SHA-256 of the arrays), so
    a :class:`TrainingConfig` holding one stays hashable and equal arrays give equal configs.

    Attributes:
        name: what to call it (e.g. the mask's file name); shown as text.
        mask: ``[H, W]`` int64 class indices in ``[0, num_classes)``, or 255 = void (ignored by
            every loss and metric).
        num_classes: C ≥ 2, at least the largest class value + 1.
        image: ``[H, W]`` or ``[H, W, 3]`` float32 in [0, 1], the network's input.
        generated: ``image`` was made from the mask (:meth:`from_arrays` without an image).
        digest: SHA-256 of the mask and the image, and C (computed).

    Build one with :meth:`from_arrays`.
    """

    name: str
    mask: np.ndarray = field(compare=False, repr=False)
    num_classes: int
    image: np.ndarray = field(compare=False, repr=False)
    generated: bool = False
    digest: str = field(default="", init=False)

    @classmethod
    def from_arrays(
        cls, mask: np.ndarray, num_classes: int, image: np.ndarray | None = None, name: str = "your upload"
    ) -> TrainingSample:
        """A sample of ``mask`` ``[H, W]`` (255 = void) and ``image`` ``[H, W(, 3)]`` in [0, 1]; without
        an image, the input is made from the mask (each class a grey level, blurred, seeded noise)."""
        if image is None:
            if not isinstance(mask, np.ndarray) or mask.ndim != 2:
                raise TypeError("`mask` must be an [H, W] integer numpy array")
            if not np.issubdtype(mask.dtype, np.integer):
                raise TypeError("`mask` must be an [H, W] integer numpy array")
            _check_int("num_classes", num_classes)
            if num_classes < 2:
                raise ValueError(f"`num_classes` must be >= 2, got {num_classes}")
            return cls(name, mask, num_classes, _input_from_mask(mask.astype(np.int64), num_classes), True)
        return cls(name, mask, num_classes, image)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"`name` must be a str, got {type(self.name).__name__}")
        _check_int("num_classes", self.num_classes)
        if self.num_classes < 2:
            raise ValueError(f"`num_classes` must be >= 2, got {self.num_classes}")
        mask = self.mask
        if not isinstance(mask, np.ndarray):
            raise TypeError(f"`mask` must be a numpy array [H, W], got {type(mask).__name__}")
        if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
            raise ValueError(f"`mask` must be an [H, W] integer array, got {mask.dtype} {mask.shape}")
        if not 1 <= max(mask.shape) <= MAX_SIZE or min(mask.shape) < 1:
            raise ValueError(f"`mask` must be at most {MAX_SIZE} pixels a side, got shape {mask.shape}")
        mask = mask.astype(np.int64)
        void = mask == VOID
        if void.all():
            raise ValueError("`mask` must label at least one pixel: every pixel is void (255)")
        if mask[~void].min() < 0 or mask[~void].max() >= self.num_classes:
            raise ValueError(
                f"`mask` values must be classes in [0, {self.num_classes - 1}] or 255 (void), "
                f"got {mask[~void].min()}..{mask[~void].max()}"
            )
        image = self.image
        if not isinstance(image, np.ndarray):
            raise TypeError(f"`image` must be a numpy array [H, W(, 3)], got {type(image).__name__}")
        if image.shape[:2] != mask.shape or image.ndim not in (2, 3) or image.shape[2:] not in ((), (3,)):
            raise ValueError(f"`image` must be [H, W] or [H, W, 3], (H, W) = {mask.shape}: got {image.shape}")
        image = np.asarray(image, dtype=np.float32)
        if not (np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1):
            raise ValueError("`image` values must be finite and in [0, 1]")
        image, mask = image.copy(), mask.copy()
        image.setflags(write=False)
        mask.setflags(write=False)
        digest = hashlib.sha256()
        for array in (mask, image):
            digest.update(repr((array.shape, array.dtype.str)).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "generated", bool(self.generated))
        object.__setattr__(self, "digest", f"{digest.hexdigest()}:{self.num_classes}")

    @property
    def class_names(self) -> tuple[str, ...]:
        """``("class 0", …, "class C−1")``."""
        return tuple(f"class {c}" for c in range(self.num_classes))

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        return (int(self.mask.shape[0]), int(self.mask.shape[1]))

    @property
    def void_pixels(self) -> int:
        """How many pixels are void (255)."""
        return int((self.mask == VOID).sum())

    def class_fractions(self) -> np.ndarray:
        """Share of the labelled (non-void) pixels in each class, ``[C]`` float64 summing to 1."""
        return images.class_fractions(self.mask, self.num_classes, ignore_index=VOID)

    def input_tensor(self, device: str | torch.device = "cpu") -> Tensor:
        """The image as a network input ``[1, channels, H, W]`` float32 (channels 1 or 3)."""
        return images.input_tensor(self.image, device)

    def label_tensor(self, device: str | torch.device = "cpu") -> Tensor:
        """The mask as labels ``[1, H, W]`` int64 (255 = void)."""
        return images.label_tensor(self.mask, device)

    def summary(self) -> dict:
        """A JSON-friendly description (no arrays): name, shape, classes, void pixels, digest."""
        return {
            "name": self.name,
            "shape": list(self.shape),
            "num_classes": self.num_classes,
            "void_pixels": self.void_pixels,
            "generated_input": self.generated,
            "digest": self.digest,
        }


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that defines a run; equal configs give equal runs on the CPU.

    Attributes:
        image: key of ``lovasz_core.lab.images.IMAGE_NAMES``; size: side in pixels (16–128);
        num_classes: C (``None``: the image's default); model: key of ``MODEL_NAMES``;
        losses: registry keys trained side by side; mode: key of ``MODES``; warmup_steps: CE
        steps before the switch in ``"finetune"`` mode; optimizer: key of ``OPTIMIZERS``;
        lr: learning rate; steps: total gradient steps per lane; seed: initialisation and
        image-noise seed; device: ``"cpu"`` or ``"cuda"``; snapshot_every: keep the predicted
        mask every this many steps; data: a :class:`TrainingSample` (an upload) to train on
        instead of ``image`` — ``size`` and ``num_classes`` then come from it (the longer side,
        its C), and every loss and metric ignores its void pixels (``ignore_index=255``).
    """

    image: str = "horse"
    size: int = 64
    num_classes: int | None = None
    model: str = "tiny_fcn"
    losses: tuple[str, ...] = ("cross_entropy", "lovasz_softmax", "ce_lovasz")
    mode: str = "scratch"
    warmup_steps: int = 100
    optimizer: str = "adam"
    lr: float = 0.01
    steps: int = 300
    seed: int = 0
    device: str = "cpu"
    snapshot_every: int = 10
    data: TrainingSample | None = None

    def validated(self) -> TrainingConfig:
        """This config checked, with ``num_classes`` resolved and ``losses`` a tuple.

        Raises:
            TypeError / ValueError naming the field, the expected and the received value.
        """
        check_choice("image", self.image, IMAGE_NAMES)
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("mode", self.mode, MODES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("device", self.device, available_devices())
        for name in ("size", "steps", "seed", "warmup_steps", "snapshot_every"):
            _check_int(name, getattr(self, name))
        if self.steps < 1:
            raise ValueError(f"`steps` must be >= 1, got {self.steps}")
        if self.seed < 0:
            raise ValueError(f"`seed` must be >= 0, got {self.seed}")
        if self.snapshot_every < 1:
            raise ValueError(f"`snapshot_every` must be >= 1, got {self.snapshot_every}")
        if self.mode == "finetune" and not 1 <= self.warmup_steps < self.steps:
            raise ValueError(
                f"`warmup_steps` must be in [1, steps − 1] = [1, {self.steps - 1}] in fine-tune mode, "
                f"got {self.warmup_steps}"
            )
        check_learning_rate(self.lr)
        losses = check_keys("losses", self.losses, LOSSES, "loss", "registry keys")
        if self.data is not None:
            if not isinstance(self.data, TrainingSample):
                raise TypeError(f"`data` must be a TrainingSample or None, got {type(self.data).__name__}")
            size, classes = max(self.data.shape), self.data.num_classes
            return replace(self, losses=tuple(losses), size=size, num_classes=classes, lr=float(self.lr))
        sample = load_image(self.image, self.size, self.num_classes, self.seed)
        return replace(self, losses=tuple(losses), num_classes=sample.num_classes, lr=float(self.lr))

    @property
    def ignore_index(self) -> int | None:
        """255 when training on ``data`` (its void pixels are ignored), else ``None``."""
        return VOID if self.data is not None else None

    def sample(self) -> SegmentationImage | TrainingSample:
        """What a run of this config trains on: ``data``, or the built-in image."""
        if self.data is not None:
            return self.data
        return load_image(self.image, self.size, self.num_classes, self.seed)

    def to_dict(self) -> dict:
        """A JSON-friendly dict (``losses`` as a list; ``data`` as its summary, without arrays)."""
        data = asdict(replace(self, data=None))
        data["losses"] = list(self.losses)
        data["data"] = None if self.data is None else self.data.summary()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainingConfig:
        """The config of ``to_dict`` output (unknown keys raise ``ValueError``; so does a config of
        uploaded data, whose arrays are not in the dict)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}; expected some of {sorted(known)}")
        if data.get("data") is not None:
            raise ValueError("`data`: a run on uploaded arrays cannot be rebuilt from its settings alone")
        values = {key: value for key, value in data.items() if key != "data"}
        if "losses" in values:
            values["losses"] = tuple(values["losses"])
        return cls(**values)


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")


@dataclass(frozen=True)
class StepRecord:
    """One lane at one step.

    Attributes:
        step: updates done before this measurement (0 = initial model).
        loss_key: the lane (registry key of its loss).
        objective: the loss optimised at this step (``cross_entropy`` during a warm-up).
        loss: value of ``objective`` on the image.
        mean_iou: mean IoU of ``argmax`` over the classes with a defined IoU.
        class_iou: IoU per class (NaN where undefined).
        seconds: wall time of this lane's step (forward, backward, update and metrics).
    """

    step: int
    loss_key: str
    objective: str
    loss: float
    mean_iou: float
    class_iou: tuple[float, ...]
    seconds: float


@dataclass
class _Lane:
    key: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    status: str = "training"
    message: str = ""
    latest_mask: np.ndarray | None = None
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)


class TrainingRun:
    """Several losses trained side by side from one initialisation; advance with ``step(k)``."""

    def __init__(self, config: TrainingConfig, threads: int | None = 1) -> None:
        """Build the lanes of ``config``.

        ``threads``: intra-op CPU threads used while stepping (``None`` keeps torch's setting).
        One is fastest for these tiny tensors and immune to the spin-waiting that makes
        multi-threaded kernels crawl when another process holds a core.
        """
        if not isinstance(config, TrainingConfig):
            raise TypeError(f"`config` must be a TrainingConfig, got {type(config).__name__}")
        if threads is not None:
            _check_int("threads", threads)
            if threads < 1:
                raise ValueError(f"`threads` must be None or an int >= 1, got {threads}")
        self.config = config.validated()
        cfg = self.config
        self.sample = cfg.sample()
        self.class_names = self.sample.class_names
        self.num_classes = self.sample.num_classes
        self.ignore_index = cfg.ignore_index
        self._inputs = self.sample.input_tensor(cfg.device)
        self._labels = self.sample.label_tensor(cfg.device)
        shape = (int(self._labels.shape[1]), int(self._labels.shape[2]))
        channels = int(self._inputs.shape[1])
        initial = make_model(cfg.model, channels, self.num_classes, cfg.size, cfg.seed, shape=shape)
        self.lanes: dict[str, _Lane] = {}
        for key in cfg.losses:
            model = copy.deepcopy(initial).to(cfg.device)
            self.lanes[key] = _Lane(key, model, self._make_optimizer(model))
        self.records: list[StepRecord] = []
        self.steps_done = 0
        self.threads = threads

    def _make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return make_optimizer(self.config.optimizer, model, self.config.lr)

    # ----------------------------------------------------------------- state
    @property
    def finished(self) -> bool:
        """True when every lane has done all its steps or diverged."""
        return all(lane.status != "training" for lane in self.lanes.values())

    @property
    def progress(self) -> float:
        """Share of the planned steps done, in [0, 1]."""
        return self.steps_done / self.config.steps

    def objective_at(self, lane_key: str, step: int) -> str:
        """The loss lane ``lane_key`` optimises at ``step`` (CE during a fine-tune warm-up)."""
        if self.config.mode == "finetune" and step < self.config.warmup_steps:
            return WARMUP_LOSS
        return lane_key

    def status(self) -> dict[str, tuple[str, str]]:
        """``{lane: (status, message)}``, status in ``training``/``finished``/``diverged``."""
        return {key: (lane.status, lane.message) for key, lane in self.lanes.items()}

    def latest_masks(self) -> dict[str, np.ndarray]:
        """The last predicted mask ``[H, W]`` (int64) of each lane that has taken a step."""
        return {k: lane.latest_mask for k, lane in self.lanes.items() if lane.latest_mask is not None}

    def snapshots(self, lane_key: str) -> list[tuple[int, np.ndarray]]:
        """``[(step, mask [H, W])]`` kept every ``snapshot_every`` steps for one lane."""
        return list(self.lanes[check_choice("lane_key", lane_key, self.lanes)].snapshots)

    def seconds_per_step(self, last: int = 20) -> dict[str, float]:
        """Median wall time of one step per lane over its last ``last`` records."""
        out: dict[str, list[float]] = {key: [] for key in self.lanes}
        for record in reversed(self.records[-last * len(self.lanes) :]):
            out[record.loss_key].append(record.seconds)
        return {key: float(np.median(v)) for key, v in out.items() if v}

    # ----------------------------------------------------------------- stepping
    def step(self, k: int = 1) -> list[StepRecord]:
        """Advance every training lane by up to ``k`` steps; return the new records.

        Stops early at ``config.steps``; a finished run returns ``[]``.
        """
        _check_int("k", k)
        if k < 1:
            raise ValueError(f"`k` must be >= 1, got {k}")
        new: list[StepRecord] = []
        with _torch_threads(self.threads):
            self._advance(k, new)
        self.records.extend(new)
        return new

    def _advance(self, k: int, new: list[StepRecord]) -> None:
        for _ in range(min(k, self.config.steps - self.steps_done)):
            for lane in self.lanes.values():
                if lane.status == "training":
                    record = self._step_lane(lane)
                    if record is not None:
                        new.append(record)
            self.steps_done += 1
            if self.steps_done >= self.config.steps:
                for lane in self.lanes.values():
                    if lane.status == "training":
                        lane.status, lane.message = "finished", f"finished {self.steps_done} steps"
            if self.finished:
                break

    def _diverge(self, lane: _Lane, what: str) -> None:
        lane.status = "diverged"
        lane.message = (
            f"diverged at step {self.steps_done}: {what} became NaN/inf "
            f"(learning rate {self.config.lr:g} too large for {self.config.optimizer}?); lane stopped"
        )

    def _step_lane(self, lane: _Lane) -> StepRecord | None:
        start = time.perf_counter()
        objective = self.objective_at(lane.key, self.steps_done)
        lane.optimizer.zero_grad(set_to_none=True)
        logits = lane.model(self._inputs)
        if not bool(torch.isfinite(logits).all()):
            self._diverge(lane, "the logits")
            return None
        loss = LOSSES[objective].fn(logits, self._labels, ignore_index=self.ignore_index)
        if not bool(torch.isfinite(loss)):
            self._diverge(lane, "the loss")
            return None
        loss.backward()
        grads = [p.grad for p in lane.model.parameters() if p.grad is not None]
        if not all(bool(torch.isfinite(g).all()) for g in grads):
            self._diverge(lane, "the gradient")
            return None
        with torch.no_grad():  # before the update: free logits are a view of the parameter
            prediction = logits.detach().argmax(1)
            ious = per_class_iou(prediction, self._labels, self.num_classes, self.ignore_index)
            mask = prediction[0].to("cpu").numpy()
        lane.optimizer.step()
        lane.latest_mask = mask
        if self.steps_done % self.config.snapshot_every == 0:
            lane.snapshots.append((self.steps_done, mask))
        class_iou = tuple(float(v) for v in ious.tolist())
        defined = [v for v in class_iou if not math.isnan(v)]
        return StepRecord(
            step=self.steps_done,
            loss_key=lane.key,
            objective=objective,
            loss=float(loss.detach()),
            mean_iou=float(np.mean(defined)) if defined else math.nan,
            class_iou=class_iou,
            seconds=time.perf_counter() - start,
        )

    # ----------------------------------------------------------------- export
    def predicted_logits(self, lane_key: str) -> Tensor:
        """Current logits ``[1, C, H, W]`` of one lane (no grad, on the CPU)."""
        with torch.no_grad():
            return self.lanes[lane_key].model(self._inputs).cpu()

    def record_rows(self) -> list[dict]:
        """Records as flat dicts: step, loss_key, objective, loss, mean_iou, iou_<class>, seconds."""
        rows = []
        for r in self.records:
            row = {
                "step": r.step,
                "loss_key": r.loss_key,
                "objective": r.objective,
                "loss": r.loss,
                "mean_iou": r.mean_iou,
            }
            row.update({f"iou_{name}": v for name, v in zip(self.class_names, r.class_iou, strict=True)})
            row["seconds"] = r.seconds
            rows.append(row)
        return rows

    def records_csv(self) -> str:
        """All records as CSV text (header + one line per lane and step)."""
        buffer = io.StringIO()
        header = [
            "step",
            "loss_key",
            "objective",
            "loss",
            "mean_iou",
            *[f"iou_{name}" for name in self.class_names],
            "seconds",
        ]
        writer = csv.DictWriter(buffer, fieldnames=header)
        writer.writeheader()
        writer.writerows(self.record_rows())
        return buffer.getvalue()

    def settings_json(self) -> str:
        """The config, the class names and each lane's status as JSON text."""
        payload = {
            "config": self.config.to_dict(),
            "class_names": list(self.class_names),
            "steps_done": self.steps_done,
            "lanes": {k: {"status": s, "message": m} for k, (s, m) in self.status().items()},
        }
        return json.dumps(payload, indent=2)
