"""Page "Your data and your model": what Lovász-Softmax and cross-entropy do to one prediction.

:func:`your_data_view` takes a ground truth ``[H, W]`` (class indices, ``255`` = void) and a
model's logits ``[C, H, W]`` and returns every number the page draws:

- ∂L/∂z of cross-entropy and of Lovász-Softmax (autograd, void pixels ignored), the L1 push
  on each true class, push_c = Σ_{i: y_i = c} ‖∂L/∂z_i‖₁, and the largest |∂L/∂z| on a void
  pixel (0: void pixels get no gradient);
- the sort of one class's errors m_i = |1[y_i = c] − p_i(c)| over the non-void pixels (the
  void pixels have no rank), with Δ of every prefix and the Jaccard gradients g;
- the IoU of every class for the argmax prediction, void pixels left out.

:func:`example_case` is the small generated example shown before anything is uploaded;
:func:`generated_logits` degrades a ground truth into a prediction when no logits are given;
:func:`paint` sets chosen pixels of a mask to a class (the in-browser mask editor).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

from ...metrics import per_class_iou
from ..gradients import class_push, logit_gradient
from ..predictions import PredictionSpec, make_logits
from ..registry import LOSSES
from ..shapes import make_scene
from ..void import VOID, add_void_band, void_trace

__all__ = [
    "EXAMPLE_CLASSES",
    "EXAMPLE_SIZE",
    "LOSS_KEYS",
    "THRESHOLD",
    "ClassMaps",
    "LossGradients",
    "SortedErrors",
    "YourDataView",
    "class_maps",
    "example_case",
    "fill_void",
    "generated_logits",
    "npy_bytes",
    "paint",
    "your_data_view",
]

LOSS_KEYS: tuple[str, ...] = ("cross_entropy", "lovasz_softmax")
EXAMPLE_SIZE = 32
EXAMPLE_CLASSES = 3
EXAMPLE_SPEC = PredictionSpec(shift_x=3.0, shift_y=2.0, scale=0.8, noise=1.5, temperature=2.0, seed=0)
THRESHOLD = 0.5  # a softmax error m above it means p(c) is on the wrong side of 1/2


def _check_mask(mask: object) -> np.ndarray:
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"`mask` must be a numpy array [H, W], got {type(mask).__name__}")
    if mask.ndim != 2 or mask.size == 0 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"`mask` must be a non-empty integer array [H, W], got {mask.dtype} {mask.shape}")
    return mask.astype(np.int64)


def _check_logits(logits: object, shape: tuple[int, int]) -> np.ndarray:
    if not isinstance(logits, np.ndarray):
        raise TypeError(f"`logits` must be a numpy array [C, H, W], got {type(logits).__name__}")
    if logits.ndim != 3 or tuple(logits.shape[1:]) != shape or logits.shape[0] < 2:
        raise ValueError(f"`logits` must have shape [C >= 2, {shape[0]}, {shape[1]}], got {logits.shape}")
    if not np.isfinite(logits).all():
        raise ValueError("`logits` must be finite (no NaN or infinity)")
    return logits.astype(np.float32)


# ------------------------------------------------------------------------------------ inputs
def example_case() -> tuple[np.ndarray, np.ndarray]:
    """The built-in example: ``(mask [32, 32] int64 with a void band, logits [3, 32, 32] float32)``.

    Three disks (``make_scene("disks", 32, 3, seed=0)``), a void band one pixel deep on each side
    of every boundary (as Pascal VOC marks its outlines), and the prediction maker's logits of the
    shifted, noisy ground truth.
    """
    labels = make_scene("disks", EXAMPLE_SIZE, EXAMPLE_CLASSES, 0)
    logits = make_logits(labels, EXAMPLE_CLASSES, EXAMPLE_SPEC).numpy()
    return add_void_band(labels.numpy(), 1), logits.astype(np.float32)


def fill_void(mask: np.ndarray, ignore_index: int = VOID) -> np.ndarray:
    """``mask`` with each void pixel given the class of its nearest non-void pixel (Euclidean).

    Used to make a prediction from a mask that has void pixels; a mask with no non-void pixel
    raises ``ValueError``.
    """
    from scipy.ndimage import distance_transform_edt

    labels = _check_mask(mask)
    void = labels == ignore_index
    if void.all():
        raise ValueError("`mask` is void everywhere: no class to fill the void pixels with")
    if not void.any():
        return labels.copy()
    _, (rows, cols) = distance_transform_edt(void, return_indices=True)
    return labels[rows, cols]


def generated_logits(
    mask: np.ndarray, num_classes: int, spec: PredictionSpec, ignore_index: int = VOID
) -> np.ndarray:
    """Logits ``[C, H, W]`` float32 of a degraded copy of ``mask`` (void filled by :func:`fill_void`)."""
    filled = fill_void(mask, ignore_index)
    return make_logits(torch.from_numpy(filled), int(num_classes), spec).numpy().astype(np.float32)


def paint(mask: np.ndarray, indices: np.ndarray | list[int], value: int) -> np.ndarray:
    """A new ``[H, W]`` int64 mask with the pixels at flat ``indices`` set to ``value``.

    ``value`` is a class (0–15) or 255 (void); indices outside the mask raise ``ValueError``.
    """
    labels = _check_mask(mask)
    flat = np.asarray(indices, dtype=np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= labels.size):
        raise ValueError(f"`indices` must lie in [0, {labels.size - 1}], got {flat.min()}..{flat.max()}")
    if not (0 <= int(value) <= 15 or int(value) == VOID):
        raise ValueError(f"`value` must be a class 0–15 or {VOID} (void), got {value}")
    out = labels.copy()
    out.reshape(-1)[flat] = int(value)
    return out


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as the bytes of a ``.npy`` file (what ``np.load`` reads back)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------ the view
@dataclass(frozen=True)
class LossGradients:
    """One loss on the prediction: its value, ∂L/∂z ``[C, H, W]``, the L1 push per true class
    ``[C]`` and the largest |∂L/∂z| over the void pixels (0.0 when there is none)."""

    key: str
    label: str
    value: float
    grad: np.ndarray
    push: np.ndarray
    void_max: float

    @property
    def push_share(self) -> np.ndarray:
        """``[C]`` share of the total L1 push on each true class (sums to 1; zeros if no push)."""
        total = float(self.push.sum())
        return self.push / total if total > 0 else np.zeros_like(self.push)


@dataclass(frozen=True)
class SortedErrors:
    """The Lovász extension of class ``cls`` over the K non-void pixels, in decreasing-error order.

    ``errors_sorted``, ``fg_sorted``, ``jaccard`` (Δ_i), ``grad`` (g_i) are ``[K]``; ``order``
    ``[K]`` holds the flat pixel index at each rank; ``weights`` ``[H, W]`` is g put back at each
    pixel (0 on void pixels). ``k_star`` = #{m > 0.5}; ``loss`` = Σ m·g.
    """

    cls: int
    errors_sorted: np.ndarray
    fg_sorted: np.ndarray
    jaccard: np.ndarray
    grad: np.ndarray
    order: np.ndarray
    weights: np.ndarray
    loss: float
    k_star: int
    kept: int
    ignored: int


@dataclass(frozen=True)
class YourDataView:
    """Every number of the page for a ground truth ``[H, W]`` and logits ``[C, H, W]``.

    ``truth`` keeps 255 on void pixels; ``void`` ``[H, W]`` bool; ``prediction`` the argmax
    ``[H, W]``; ``pixels`` ``[C]`` non-void pixels per class; ``iou`` ``[C]`` (NaN: the class is
    in neither the truth nor the prediction of the non-void pixels).
    """

    truth: np.ndarray
    void: np.ndarray
    void_pixels: int
    num_classes: int
    prediction: np.ndarray
    pixels: np.ndarray
    iou: np.ndarray
    mean_iou: float
    losses: tuple[LossGradients, ...]
    sort: SortedErrors

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        return (int(self.truth.shape[0]), int(self.truth.shape[1]))

    def loss(self, key: str) -> LossGradients:
        """The entry of loss ``key``."""
        return next(item for item in self.losses if item.key == key)


def your_data_view(mask: np.ndarray, logits: np.ndarray, cls: int, ignore_index: int = VOID) -> YourDataView:
    """The page's numbers for ``mask`` ``[H, W]`` (``ignore_index`` = void) under ``logits`` ``[C, H, W]``.

    Raises:
        ValueError: shapes disagree, a class value ≥ C, no non-void pixel, ``cls`` outside 0..C−1.
    """
    labels = _check_mask(mask)
    scores = _check_logits(logits, (int(labels.shape[0]), int(labels.shape[1])))
    num_classes = int(scores.shape[0])
    void = labels == ignore_index
    valid = labels[~void]
    if valid.size == 0:
        raise ValueError("`mask` is void everywhere: nothing to compare")
    if valid.min() < 0 or valid.max() >= num_classes:
        raise ValueError(
            f"`mask` has class values {int(valid.min())}..{int(valid.max())} but the logits have "
            f"C = {num_classes} classes"
        )
    if not 0 <= int(cls) < num_classes:
        raise ValueError(f"`cls` must be in [0, {num_classes - 1}], got {cls}")
    z = torch.from_numpy(scores)[None]
    y = torch.from_numpy(labels)[None]
    keep = torch.from_numpy(~void)[None, None]  # void pixels push no class
    kept_labels = torch.where(y == ignore_index, torch.zeros_like(y), y)
    losses = []
    for key in LOSS_KEYS:
        value, grad = logit_gradient(key, z, y, ignore_index=ignore_index)
        push = class_push(grad * keep, kept_labels, num_classes)
        magnitude = grad[0].abs().amax(0).numpy()
        losses.append(
            LossGradients(
                key=key,
                label=LOSSES[key].label,
                value=value,
                grad=grad[0].numpy(),
                push=push.numpy().astype(np.float64),
                void_max=float(magnitude[void].max()) if void.any() else 0.0,
            )
        )
    probabilities = torch.from_numpy(scores.astype(np.float64)).softmax(0)
    errors = (torch.from_numpy(labels == cls).to(torch.float64) - probabilities[int(cls)]).abs()
    trace = void_trace(errors, torch.from_numpy(labels), int(cls), ignore_index)
    assert trace.trace is not None  # some pixel is not void (checked above)
    errors_sorted = trace.trace.errors_sorted.numpy()
    prediction = scores.argmax(0).astype(np.int64)
    iou = per_class_iou(torch.from_numpy(prediction), torch.from_numpy(labels), num_classes, ignore_index)
    sort = SortedErrors(
        cls=int(cls),
        errors_sorted=errors_sorted,
        fg_sorted=trace.trace.fg_sorted.numpy(),
        jaccard=trace.trace.jaccard.numpy(),
        grad=trace.trace.grad.numpy(),
        order=trace.order.numpy(),
        weights=trace.weights.numpy(),
        loss=float(trace.loss),
        k_star=int((errors_sorted > THRESHOLD).sum()),
        kept=int(trace.kept.numel()),
        ignored=int(trace.ignored),
    )
    iou_values = iou.numpy()
    defined = iou_values[~np.isnan(iou_values)]
    return YourDataView(
        truth=labels,
        void=void,
        void_pixels=int(void.sum()),
        num_classes=num_classes,
        prediction=prediction,
        pixels=np.bincount(valid, minlength=num_classes)[:num_classes].astype(np.int64),
        iou=iou_values,
        mean_iou=float(defined.mean()) if defined.size else float("nan"),
        losses=tuple(losses),
        sort=sort,
    )


@dataclass(frozen=True)
class ClassMaps:
    """∂L/∂z_c of each loss for class ``cls`` and the half-width of each map's colour range.

    ``scales[key]`` is the map's own max |∂L/∂z_c| (its L∞ norm) when ``per_map``, else the
    largest over all maps; ``caption`` says which.
    """

    cls: int
    per_map: bool
    maps: dict[str, np.ndarray]
    scales: dict[str, float]
    caption: str


def class_maps(view: YourDataView, cls: int, per_map: bool) -> ClassMaps:
    """The gradient maps of class ``cls``, each on its own colour scale or on one shared scale."""
    maps = {item.key: item.grad[int(cls)] for item in view.losses}
    peaks = {key: float(np.abs(m).max()) for key, m in maps.items()}
    if per_map:
        scales = {key: peak if peak > 0 else 1.0 for key, peak in peaks.items()}
        caption = (
            "Each map on its own colour scale: ± its largest |∂L/∂z_c| (the map's max norm, given "
            "in its title). Compare where each loss pushes, not how hard."
        )
    else:
        shared = max(peaks.values()) or 1.0
        scales = dict.fromkeys(maps, shared)
        caption = (
            f"Both maps on one colour scale: ± {shared:.2e}, the largest |∂L/∂z_c| of either map "
            "(max norm). A pale map pushes less than the other."
        )
    return ClassMaps(int(cls), per_map, maps, scales, caption)
