"""Page "Gradients: Lovász vs cross-entropy": ∂L/∂z of four losses on one synthetic prediction.

Two norms, each named where it is shown:

- the **push** on a class is an L1 mass, push_c = Σ_{i: y_i = c} ‖∂L/∂z_i‖₁ (sum over pixels and
  classes of |∂L/∂z_ic|), so shares of the push add up to 100 %;
- a pixel's **magnitude** is the L2 norm over the classes, ‖∂L/∂z_i‖₂ (maps' sizes, histograms,
  the clicked pixel's rank).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..gradients import (
    CASE_CLASS_NAMES,
    boundary_mask,
    class_push,
    degraded_logits,
    logit_gradient,
    push_vs_size,
    synthetic_case,
)
from ..registry import LOSSES
from ..void import VOID, add_void_band

__all__ = [
    "LOSS_KEYS",
    "SMALL",
    "SWEEP_KEYS",
    "SWEEP_RADII",
    "GradientsView",
    "LossGradient",
    "MapsView",
    "PixelRow",
    "PixelView",
    "gradients_view",
    "maps_view",
    "mask_gradients_view",
    "pixel_view",
    "sweep_view",
]

LOSS_KEYS: tuple[str, ...] = ("cross_entropy", "lovasz_softmax", "soft_jaccard", "dice")
SWEEP_KEYS: tuple[str, ...] = ("cross_entropy", "lovasz_softmax", "dice")
SWEEP_RADII: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
SMALL = 2  # class index of the small disk


@dataclass(frozen=True)
class LossGradient:
    """One loss on the case: its value, ∂L/∂z ``[C, H, W]``, push per class ``[C]`` (L1) and
    per-pixel magnitude ``[H, W]`` (L2); ``small``: the index of the small (rarest) class."""

    key: str
    label: str
    value: float
    grad: np.ndarray
    push: np.ndarray
    magnitude: np.ndarray
    small: int = SMALL

    @property
    def small_share(self) -> float:
        """Share of the total L1 push that falls on the small class's pixels, in [0, 1]."""
        total = float(self.push.sum())
        return float(self.push[self.small]) / total if total > 0 else 0.0


@dataclass(frozen=True)
class GradientsView:
    """The case (truth, prediction, probabilities ``[C, H, W]``) and every loss's gradient.

    ``pixel_shares`` ``[C]``: share of the labelled pixels per class; ``boundary`` ``[H, W]`` bool;
    ``regions``: foreground / background / boundary masks ``[H, W]`` for the histograms (void
    pixels in none). ``void`` ``[H, W]`` bool: pixels labelled 255 (``mask`` keeps their class);
    ``ignored``: how many the losses left out (``ignore_index=255``), 0 when they were not;
    ``void_error``: why the losses refuse the labels when void pixels are not ignored ("" else);
    ``small``: the index of the small class (the small disk, or an uploaded mask's rarest class);
    ``uploaded``: the case is a given mask (:func:`mask_gradients_view`), not the disks.
    """

    class_names: tuple[str, ...]
    mask: np.ndarray
    prediction: np.ndarray
    probabilities: np.ndarray
    pixel_shares: np.ndarray
    boundary: np.ndarray
    regions: dict[str, np.ndarray]
    losses: tuple[LossGradient, ...]
    void: np.ndarray
    ignored: int
    void_error: str
    small: int = SMALL
    uploaded: bool = False

    def loss(self, key: str) -> LossGradient:
        return next(item for item in self.losses if item.key == key)


def gradients_view(
    size: int,
    radius: float,
    quality: float,
    blur: float,
    seed: int,
    void_band: int = 0,
    ignore_void: bool = True,
) -> GradientsView:
    """The view of ``synthetic_case(size, radius, quality, blur, seed)`` under ``LOSS_KEYS``.

    ``void_band`` > 0 labels a band that many pixels deep around every boundary as void (255).
    With ``ignore_void`` every loss gets ``ignore_index=255``: void pixels count nowhere and get
    zero gradient. Without it the losses refuse such labels (``void_error``), and the maps show the
    gradients without the void band.
    """
    case = synthetic_case(size, radius, quality, blur, seed)
    mask = case.mask.copy()
    labelled = add_void_band(mask, void_band) if void_band > 0 else mask
    return _view(mask, labelled, case.logits, CASE_CLASS_NAMES, ignore_void, SMALL, uploaded=False)


def mask_gradients_view(
    labels: np.ndarray, num_classes: int, quality: float, blur: float, seed: int, ignore_void: bool = True
) -> GradientsView:
    """The view of a given ground truth (an uploaded mask) under ``LOSS_KEYS``.

    ``labels`` ``[H, W]`` int: class indices in ``[0, num_classes)`` or 255 (void). The prediction
    is the page's own: :func:`~lovasz_core.lab.gradients.degraded_logits` of the labels with void
    pixels taken as class 0 (quality, blur, seed as for the disks). With ``ignore_void`` every loss
    gets ``ignore_index=255`` (void pixels count nowhere, zero gradient); without it the losses
    refuse the labels (``void_error``) and the maps show the labels with void taken as class 0.
    The small class is the rarest class present (fewest labelled pixels).

    Raises:
        ValueError / TypeError naming the argument (not a 2-D integer mask, values out of range).
    """
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"`labels` must be a numpy array [H, W], got {type(labels).__name__}")
    if labels.ndim != 2 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"`labels` must be a non-empty [H, W] int array, got {labels.dtype} {labels.shape}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an int >= 2, got {num_classes!r}")
    labelled = labels.astype(np.int64)
    void = labelled == VOID
    if not void.all() and (labelled[~void].min() < 0 or labelled[~void].max() >= num_classes):
        raise ValueError(f"`labels` must hold classes in [0, {num_classes - 1}] or 255 (void)")
    mask = np.where(void, 0, labelled)
    logits = degraded_logits(mask, int(num_classes), quality, blur, seed)
    counts = np.bincount(mask[~void].ravel(), minlength=num_classes)
    present = np.flatnonzero(counts)
    small = int(present[counts[present].argmin()]) if present.size else 0
    names = tuple(f"class {c}" for c in range(int(num_classes)))
    return _view(mask, labelled, logits, names, ignore_void, small, uploaded=True)


def _view(
    mask: np.ndarray,
    labelled: np.ndarray,
    logits: torch.Tensor,
    class_names: tuple[str, ...],
    ignore_void: bool,
    small: int,
    uploaded: bool,
) -> GradientsView:
    """Every loss of ``LOSS_KEYS`` on ``logits`` ``[1, C, H, W]``: ``mask`` ``[H, W]`` the classes
    (void pixels given one), ``labelled`` the same with void pixels 255."""
    num_classes = len(class_names)
    void = labelled == VOID
    labels, ignore_index, void_error = torch.from_numpy(mask)[None], None, ""
    if void.any() and ignore_void:
        labels, ignore_index = torch.from_numpy(labelled)[None], VOID
    elif void.any():
        try:
            logit_gradient(LOSS_KEYS[1], logits, torch.from_numpy(labelled)[None])
        except ValueError as error:
            void_error = str(error)
    losses = []
    for key in LOSS_KEYS:
        value, grad = logit_gradient(key, logits, labels, ignore_index)
        losses.append(
            LossGradient(
                key=key,
                label=LOSSES[key].label,
                value=value,
                grad=grad[0].numpy(),
                push=class_push(grad, labels, num_classes).numpy(),
                magnitude=grad[0].norm(dim=0).numpy(),
                small=small,
            )
        )
    boundary = boundary_mask(mask)
    counted = void if ignore_index is not None else np.zeros_like(void)
    counts = np.bincount(mask[~counted].ravel(), minlength=num_classes)
    return GradientsView(
        class_names=class_names,
        mask=mask,
        prediction=logits.argmax(1)[0].numpy(),
        probabilities=torch.softmax(logits, dim=1)[0].numpy(),
        pixel_shares=counts / max(int(counts.sum()), 1),
        boundary=boundary,
        regions={
            "foreground": (mask > 0) & ~boundary & ~counted,
            "background": (mask == 0) & ~boundary & ~counted,
            "boundary": boundary & ~counted,
        },
        losses=tuple(losses),
        void=void,
        ignored=int(counted.sum()),
        void_error=void_error,
        small=small,
        uploaded=uploaded,
    )


@dataclass(frozen=True)
class MapsView:
    """The maps of ∂L/∂z_c for one class c, and the colour scale they are drawn on.

    ``maps[key]`` ``[H, W]`` signed; ``scales[key]`` the half-width of that map's colour range:
    max |∂L/∂z_c| of the map itself (``per_map``) or of all maps (one shared scale). ``caption``
    says which.
    """

    class_name: str
    per_map: bool
    maps: dict[str, np.ndarray]
    scales: dict[str, float]
    caption: str


def maps_view(view: GradientsView, class_name: str, per_map: bool) -> MapsView:
    """∂L/∂z_c of every loss for class ``class_name``, per-map or on one shared scale."""
    c = view.class_names.index(class_name)
    maps = {item.key: item.grad[c] for item in view.losses}
    peaks = {key: float(np.abs(m).max()) for key, m in maps.items()}
    if per_map:
        scales = {key: peak if peak > 0 else 1.0 for key, peak in peaks.items()}
        caption = (
            "Each map on **its own colour scale** (±its largest |∂L/∂z_c|, given in its title): "
            "compare where each loss pushes, not how hard."
        )
    else:
        shared = max(peaks.values()) or 1.0
        scales = dict.fromkeys(maps, shared)
        caption = (
            f"All maps on **one shared colour scale** (±{shared:.2e}, the largest |∂L/∂z_c| of any "
            "map): a map that looks empty pushes far less than the strongest one."
        )
    return MapsView(class_name, per_map, maps, scales, caption)


@dataclass(frozen=True)
class PixelRow:
    """One loss at the selected pixel: ∂L/∂z per class, its L2 norm, rank and ratio to the median."""

    label: str
    grad: tuple[float, ...]
    norm: float
    rank: int
    pixels: int
    times_median: float


@dataclass(frozen=True)
class PixelView:
    """The selected pixel: its classes, p(true class), whether it is on the boundary, one row per loss."""

    row: int
    col: int
    true_class: str
    predicted_class: str
    p_true: float
    on_boundary: bool
    rows: tuple[PixelRow, ...]


def pixel_view(view: GradientsView, row: int, col: int) -> PixelView | None:
    """The numbers of pixel (row, col); None if it lies outside the image (or is unset, −1)."""
    height, width = view.mask.shape
    if not (0 <= row < height and 0 <= col < width):
        return None
    label = int(view.mask[row, col])
    rows = []
    for item in view.losses:
        value = float(item.magnitude[row, col])
        rows.append(
            PixelRow(
                label=item.label,
                grad=tuple(float(v) for v in item.grad[:, row, col]),
                norm=value,
                rank=int((item.magnitude > value).sum()) + 1,
                pixels=int(item.magnitude.size),
                times_median=value / max(float(np.median(item.magnitude)), 1e-30),
            )
        )
    return PixelView(
        row=row,
        col=col,
        true_class="void (255)" if view.ignored and view.void[row, col] else view.class_names[label],
        predicted_class=view.class_names[int(view.prediction[row, col])],
        p_true=float(view.probabilities[label, row, col]),
        on_boundary=bool(view.boundary[row, col]),
        rows=tuple(rows),
    )


def sweep_view(size: int, quality: float, blur: float, seed: int) -> dict[str, np.ndarray]:
    """The small disk's share of the L1 push for each radius of ``SWEEP_RADII`` that fits (≤ size/5).

    ``{"radius": [R], "fraction": [R] share of the pixels, "<loss>": [R] share of the push}``.
    """
    radii = [r for r in SWEEP_RADII if r <= size / 5]
    return push_vs_size(radii, list(SWEEP_KEYS), size, quality, blur, seed)
