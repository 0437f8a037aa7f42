"""Minibatch training on the generated data set, several lanes side by side, k steps at a time.

Every lane (:mod:`lovasz_core.lab.lanes`) starts from a deep copy of one seeded model, gets its
own optimizer of the same kind and learning rate, and sees *the same batches in the same order*:
the batch of step t is a pure function of ``(seed, t)`` (:meth:`DatasetTrainingRun.batch_indices`,
one seeded permutation of the training split per epoch, the last partial batch dropped).
``step(k)`` advances every lane by k updates and returns a :class:`StepOutput`; nothing loops
inside, so a page can call it from a timer.

Record convention (as in :mod:`lovasz_core.lab.training`): the record of step t is measured on
the weights after t updates. A :class:`BatchRecord` comes from the forward pass of update t + 1
on its batch: the loss, the **batch mIoU** (one confusion matrix over the batch: what a
``per_image=False`` loss optimises) and the **batch mean per-image IoU** (what a
``per_image=True`` loss optimises). An :class:`EvalRecord` scores the validation split at steps
0, ``eval_every``, 2·``eval_every``… and at the last step: **data-set mIoU** (one confusion
matrix accumulated over the split, the Pascal VOC measure), **mean per-image IoU** and the IoU of
every class (the rare one included). Void pixels (255) are left out of every loss and metric.

A lane whose logits, loss or gradients become NaN/inf stops (status ``"diverged"``, with a
message); the others go on. Runs are deterministic for a config on the CPU.

API:
    * :class:`DatasetTrainingConfig` — frozen, ``validated()`` checks it field by field.
    * :class:`DatasetTrainingRun` ``(config, threads=1)`` — ``step(k) -> StepOutput``,
      ``evaluate(lane, split) -> EvalRecord``, ``scores(lane, split) -> SplitScores``,
      ``predict(lane, split) -> [n, H, W]``, ``batch_indices(step)``, ``batches_per_epoch``,
      ``batch_class_presence(epoch) -> [C]``, ``status()``, ``finished``, ``progress``,
      ``batches``, ``evaluations``.
    * :data:`PRESETS` — named configs with the names and settings of the page's presets: per
      image vs per batch, small and large batches, the void band, ``classes="all"`` vs
      ``"present"``, and the paper's binary demo (Lovász hinge vs BCE vs Lovász sigmoid).

Example:
    >>> run = DatasetTrainingRun(DatasetTrainingConfig(scenes=40, steps=10, eval_every=5))
    >>> out = run.step(5)
    >>> len(out.batches), len(out.evaluations)
    (20, 4)
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..validation import check_choice, is_integer
from .datasets import SPLITS, SceneDataset, make_dataset
from .lanes import BINARY_LANES, CLASS_SELECTIONS, LANES, MULTICLASS_LANES
from .models import MODEL_NAMES, make_model
from .split_scores import SplitScores, _batched_confusion, score_split, scores_from_confusion
from .training import (
    OPTIMIZERS,
    _torch_threads,
    available_devices,
    check_keys,
    check_learning_rate,
    make_optimizer,
)

__all__ = [
    "PRESETS",
    "BatchRecord",
    "DatasetTrainingConfig",
    "DatasetTrainingRun",
    "EvalRecord",
    "StepOutput",
]


@dataclass(frozen=True)
class DatasetTrainingConfig:
    """Everything that defines a run; equal configs give equal runs on the CPU.

    Attributes:
        scenes, size, num_classes, void_width, rare_rate, data_seed: the data set
            (:func:`lovasz_core.lab.datasets.make_dataset`, seeded by ``data_seed``).
        model: key of ``MODEL_NAMES``; lanes: keys of ``LANES`` trained side by side (binary
            lanes need ``num_classes = 2``); classes: ``"present"`` or ``"all"`` for the Lovász lanes;
        batch_size: images per step (at most the training split); optimizer: key of
            ``OPTIMIZERS``; lr: learning rate; steps: updates per lane; eval_every: validate every
            this many steps; seed: initialisation and batch-order seed; device: ``"cpu"``/``"cuda"``.
    """

    scenes: int = 240
    size: int = 32
    num_classes: int = 4
    void_width: int = 0
    rare_rate: float = 0.5
    data_seed: int = 0
    model: str = "tiny_fcn"
    lanes: tuple[str, ...] = MULTICLASS_LANES
    classes: str = "present"
    batch_size: int = 8
    optimizer: str = "adam"
    lr: float = 0.01
    steps: int = 300
    eval_every: int = 25
    seed: int = 0
    device: str = "cpu"

    def validated(self) -> DatasetTrainingConfig:
        """This config checked, with ``lanes`` a tuple and ``lr``/``rare_rate`` floats.

        Raises:
            TypeError / ValueError naming the field, the expected and the received value.
        """
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("classes", self.classes, CLASS_SELECTIONS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("device", self.device, available_devices())
        for name in ("batch_size", "steps", "eval_every", "seed", "data_seed"):
            value = getattr(self, name)
            if not is_integer(value):
                raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
        for name in ("batch_size", "steps", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}")
        for name in ("seed", "data_seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)}")
        check_learning_rate(self.lr)
        lanes = check_keys("lanes", self.lanes, LANES, "lane", "lane keys")
        binary = [key for key in lanes if LANES[key].binary]
        if binary and self.num_classes != 2:
            raise ValueError(
                f"`lanes` {binary} are binary and need `num_classes` = 2, "
                f"got num_classes = {self.num_classes}"
            )
        data = self.dataset()
        if self.batch_size > len(data.train_index):
            raise ValueError(
                f"`batch_size` must be at most the {len(data.train_index)} training scenes, "
                f"got {self.batch_size}"
            )
        return replace(self, lanes=tuple(lanes), lr=float(self.lr), rare_rate=float(self.rare_rate))

    def dataset(self) -> SceneDataset:
        """The (cached) data set of this config; raises like :func:`make_dataset`."""
        return make_dataset(
            scenes=self.scenes,
            size=self.size,
            num_classes=self.num_classes,
            void_width=self.void_width,
            seed=self.data_seed,
            rare_rate=self.rare_rate,
        )


PRESETS: dict[str, DatasetTrainingConfig] = {
    "Per image vs per batch": DatasetTrainingConfig(),
    "Small batches (2)": DatasetTrainingConfig(batch_size=2),
    "Large batches (32)": DatasetTrainingConfig(batch_size=32),
    "Void band on": DatasetTrainingConfig(void_width=1),
    "classes=all vs present": DatasetTrainingConfig(
        lanes=("lovasz_batch", "lovasz_image"), classes="all", rare_rate=0.3
    ),
    "Binary: Lovász hinge vs BCE vs Lovász sigmoid": DatasetTrainingConfig(num_classes=2, lanes=BINARY_LANES),
}


@dataclass(frozen=True)
class BatchRecord:
    """One lane's training batch at one step (weights after ``step`` updates).

    Attributes:
        step: updates done before this forward pass; lane: lane key.
        loss: the lane's loss on the batch.
        batch_miou: mIoU of one confusion matrix over the batch (classes with a defined IoU).
        batch_image_miou: mean over the batch's images of each image's mIoU.
        class_iou: IoU of each class over the batch (NaN where undefined).
        seconds: wall time of the lane's step (forward, backward, update and metrics).
    """

    step: int
    lane: str
    loss: float
    batch_miou: float
    batch_image_miou: float
    class_iou: tuple[float, ...]
    seconds: float


@dataclass(frozen=True)
class EvalRecord:
    """One lane scored on a whole split at one step.

    Attributes:
        step: updates done; lane: lane key; split: ``"train"`` or ``"val"``.
        dataset_miou: mIoU of the confusion matrix accumulated over the split (Pascal VOC).
        image_miou: mean over the split's images of each image's mIoU.
        class_iou: IoU of each class from the accumulated confusion matrix (NaN where undefined).
        pixel_accuracy: share of non-void pixels predicted right.
        seconds: wall time of the evaluation.
    """

    step: int
    lane: str
    split: str
    dataset_miou: float
    image_miou: float
    class_iou: tuple[float, ...]
    pixel_accuracy: float
    seconds: float


@dataclass(frozen=True)
class StepOutput:
    """What one ``step(k)`` call produced: batch records, then the evaluations made meanwhile."""

    batches: tuple[BatchRecord, ...]
    evaluations: tuple[EvalRecord, ...]


@dataclass
class _Lane:
    key: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    status: str = "training"
    message: str = ""
    last_eval_step: int = -1


class DatasetTrainingRun:
    """Several lanes trained on the same minibatches from one initialisation; advance with ``step(k)``."""

    def __init__(self, config: DatasetTrainingConfig, threads: int | None = 1) -> None:
        """Build the lanes of ``config``.

        ``threads``: intra-op CPU threads while stepping (``None`` keeps torch's setting).
        """
        if not isinstance(config, DatasetTrainingConfig):
            raise TypeError(f"`config` must be a DatasetTrainingConfig, got {type(config).__name__}")
        if threads is not None and (not is_integer(threads) or threads < 1):
            raise ValueError(f"`threads` must be None or an int >= 1, got {threads!r}")
        self.config = config.validated()
        cfg = self.config
        self.threads = threads
        self.data = cfg.dataset()
        self.num_classes = self.data.num_classes
        self.class_names = self.data.class_names
        self.ignore_index = self.data.ignore_index
        device = torch.device(cfg.device)
        self._images = {name: torch.from_numpy(self.data.split(name)[0].copy()).to(device) for name in SPLITS}
        self._masks = {name: torch.from_numpy(self.data.split(name)[1].copy()).to(device) for name in SPLITS}
        initial = make_model(cfg.model, 3, self.num_classes, self.data.size, cfg.seed)
        self.lanes: dict[str, _Lane] = {}
        for key in cfg.lanes:
            model = copy.deepcopy(initial).to(device)
            self.lanes[key] = _Lane(key, model, self._make_optimizer(model))
        self.batches: list[BatchRecord] = []
        self.evaluations: list[EvalRecord] = []
        self.steps_done = 0
        self._epoch: tuple[int, np.ndarray] | None = None

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

    @property
    def batches_per_epoch(self) -> int:
        """Full batches in one pass over the training split."""
        return len(self.data.train_index) // self.config.batch_size

    def status(self) -> dict[str, tuple[str, str]]:
        """``{lane: (status, message)}``, status in ``training``/``finished``/``diverged``."""
        return {key: (lane.status, lane.message) for key, lane in self.lanes.items()}

    def batch_indices(self, step: int) -> np.ndarray:
        """Positions in the training split ``[batch_size]`` of the batch of update ``step + 1``.

        Epoch e = step // batches_per_epoch uses ``default_rng([seed, e]).permutation``; the same
        for every lane and every run with this seed.
        """
        if not is_integer(step):
            raise TypeError(f"`step` must be an int, got {type(step).__name__}")
        if step < 0:
            raise ValueError(f"`step` must be >= 0, got {step}")
        epoch, position = divmod(int(step), self.batches_per_epoch)
        if self._epoch is None or self._epoch[0] != epoch:
            order = np.random.default_rng([self.config.seed, epoch]).permutation(len(self.data.train_index))
            self._epoch = (epoch, order)
        size = self.config.batch_size
        return self._epoch[1][position * size : (position + 1) * size]

    def batch_class_presence(self, epoch: int = 0) -> np.ndarray:
        """``[C]`` share of the batches of ``epoch`` holding at least one non-void pixel of each class.

        ``1 − batch_class_presence()[rare_class]`` is how often a batch has no rare pixel at all.
        """
        if not is_integer(epoch):
            raise TypeError(f"`epoch` must be an int, got {type(epoch).__name__}")
        if epoch < 0:
            raise ValueError(f"`epoch` must be >= 0, got {epoch}")
        masks = self.data.split("train")[1]
        first = int(epoch) * self.batches_per_epoch
        present = np.stack(
            [
                np.isin(np.arange(self.num_classes), masks[self.batch_indices(step)])
                for step in range(first, first + self.batches_per_epoch)
            ]
        )
        return present.mean(axis=0)

    # ----------------------------------------------------------------- stepping
    def step(self, k: int = 1) -> StepOutput:
        """Advance every training lane by up to ``k`` updates; return the new records.

        Stops early at ``config.steps``; a finished run returns empty tuples.
        """
        if not is_integer(k):
            raise TypeError(f"`k` must be an int, got {type(k).__name__}")
        if k < 1:
            raise ValueError(f"`k` must be >= 1, got {k}")
        batches: list[BatchRecord] = []
        evaluations: list[EvalRecord] = []
        with _torch_threads(self.threads):
            self._advance(int(k), batches, evaluations)
        self.batches.extend(batches)
        self.evaluations.extend(evaluations)
        return StepOutput(tuple(batches), tuple(evaluations))

    def _advance(self, k: int, batches: list[BatchRecord], evaluations: list[EvalRecord]) -> None:
        for _ in range(min(k, self.config.steps - self.steps_done)):
            if self.steps_done % self.config.eval_every == 0:
                self._evaluate_training_lanes(evaluations)
            index = torch.from_numpy(self.batch_indices(self.steps_done)).to(self._images["train"].device)
            inputs, labels = self._images["train"][index], self._masks["train"][index]
            for lane in self.lanes.values():
                if lane.status == "training":
                    record = self._step_lane(lane, inputs, labels)
                    if record is not None:
                        batches.append(record)
            self.steps_done += 1
            if self.steps_done >= self.config.steps:
                self._evaluate_training_lanes(evaluations)
                for lane in self.lanes.values():
                    if lane.status == "training":
                        lane.status, lane.message = "finished", f"finished {self.steps_done} steps"
            if self.finished:
                break

    def _evaluate_training_lanes(self, evaluations: list[EvalRecord]) -> None:
        for lane in self.lanes.values():
            if lane.status == "training" and lane.last_eval_step != self.steps_done:
                evaluations.append(self.evaluate(lane.key, "val"))
                lane.last_eval_step = self.steps_done

    def _diverge(self, lane: _Lane, what: str) -> None:
        lane.status = "diverged"
        lane.message = (
            f"diverged at step {self.steps_done}: {what} became NaN/inf "
            f"(learning rate {self.config.lr:g} too large for {self.config.optimizer}?); lane stopped"
        )

    def _step_lane(self, lane: _Lane, inputs: torch.Tensor, labels: torch.Tensor) -> BatchRecord | None:
        start = time.perf_counter()
        lane.optimizer.zero_grad(set_to_none=True)
        logits = lane.model(inputs)
        if not bool(torch.isfinite(logits).all()):
            self._diverge(lane, "the logits")
            return None
        loss = LANES[lane.key].loss(logits, labels, self.config.classes, self.ignore_index)
        if not bool(torch.isfinite(loss)):
            self._diverge(lane, "the loss")
            return None
        loss.backward()
        grads = [p.grad.reshape(-1) for p in lane.model.parameters() if p.grad is not None]
        if grads and not bool(torch.isfinite(torch.cat(grads)).all()):
            self._diverge(lane, "the gradient")
            return None
        with torch.no_grad():  # before the update: free logits are a view of the parameter
            prediction = logits.detach().max(1).indices  # = argmax(1), an order faster on the CPU
            counts = _batched_confusion(prediction, labels, self.num_classes, self.ignore_index)
            scores = scores_from_confusion(counts)
        lane.optimizer.step()
        return BatchRecord(
            step=self.steps_done,
            lane=lane.key,
            loss=float(loss.detach()),
            batch_miou=scores.dataset_miou,
            batch_image_miou=scores.image_miou,
            class_iou=scores.class_iou,
            seconds=time.perf_counter() - start,
        )

    # ----------------------------------------------------------------- evaluation
    def predict(self, lane_key: str, split: str = "val") -> np.ndarray:
        """Predicted classes ``[n, H, W]`` int64 of one lane on a whole split (no grad)."""
        check_choice("lane_key", lane_key, self.lanes)
        check_choice("split", split, SPLITS)
        with torch.no_grad(), _torch_threads(self.threads):
            logits = self.lanes[lane_key].model(self._images[split])
        return logits.max(1).indices.cpu().numpy()

    def scores(self, lane_key: str, split: str = "val") -> SplitScores:
        """Every IoU measure of one lane's current weights on ``split``."""
        prediction = torch.from_numpy(self.predict(lane_key, split)).to(self._masks[split].device)
        return score_split(prediction, self._masks[split], self.num_classes, self.ignore_index)

    def evaluate(self, lane_key: str, split: str = "val") -> EvalRecord:
        """An :class:`EvalRecord` of one lane on ``split`` at the current step (not stored)."""
        start = time.perf_counter()
        scores = self.scores(lane_key, split)
        return EvalRecord(
            step=self.steps_done,
            lane=lane_key,
            split=split,
            dataset_miou=scores.dataset_miou,
            image_miou=scores.image_miou,
            class_iou=scores.class_iou,
            pixel_accuracy=scores.pixel_accuracy,
            seconds=time.perf_counter() - start,
        )
