"""The void label: bands and boxes of ignored pixels, and the Lovász extension without them.

Pascal VOC marks a band of pixels along every object outline as *void* (label 255): those
pixels are left out of the loss and of every metric. With ``ignore_index=255`` the losses of
:mod:`lovasz_core` drop them before the sort, so a void pixel has no rank, no Jaccard gradient
g and therefore zero gradient.

API (all pure, inputs are never modified):
    * :func:`add_void_band` ``(mask [H, W], width, ignore_index=255) -> [H, W]`` — every pixel
      whose ``(2·width + 1)²`` neighbourhood holds another label becomes void (a band
      ``width`` pixels deep on each side of a boundary).
    * :func:`paint_void_box` ``(mask, top, left, height, width, ignore_index=255) -> [H, W]``.
    * :func:`void_trace` ``(errors, labels, cls, ignore_index=255) -> VoidTrace`` — the
      :func:`lovasz_core.lovasz_trace` of the kept pixels of class ``cls``, mapped back to the
      input's positions (void pixels: weight g = 0), and the count of ignored pixels.
    * :class:`VoidSettings`, :data:`VOID_PRESETS` and :func:`void_mask` ``(settings) -> [H, W]`` —
      the scenes a void page shows: a generated scene with a band and an optional void box.

Example:
    >>> mask = np.zeros((6, 6), np.int64); mask[2:4, 2:4] = 1
    >>> int((add_void_band(mask, 1) == 255).sum())
    16
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from skimage.morphology import dilation, footprint_rectangle
from skimage.segmentation import find_boundaries
from torch import Tensor

from ..extension import LovaszTrace, lovasz_trace
from ..validation import check_floating, check_integer_labels, check_tensor, is_integer

__all__ = [
    "VOID",
    "VOID_PRESETS",
    "VoidSettings",
    "VoidTrace",
    "add_void_band",
    "paint_void_box",
    "void_mask",
    "void_trace",
]

VOID = 255


def _check_mask(mask: object) -> np.ndarray:
    if isinstance(mask, Tensor):
        mask = mask.detach().cpu().numpy()
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"`mask` must be a numpy array or tensor [H, W], got {type(mask).__name__}")
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"`mask` must have shape [H, W] (2-D, non-empty), got shape {mask.shape}")
    if not np.issubdtype(mask.dtype, np.integer):
        raise TypeError(f"`mask` must hold integer class indices, got dtype {mask.dtype}")
    return mask


def _check_count(name: str, value: object, low: int) -> int:
    if not is_integer(value):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if int(value) < low:
        raise ValueError(f"`{name}` must be >= {low}, got {value}")
    return int(value)


def _check_void_label(ignore_index: object) -> int:
    if not is_integer(ignore_index):
        raise TypeError(f"`ignore_index` must be an int, got {type(ignore_index).__name__}")
    return int(ignore_index)


def add_void_band(mask: np.ndarray, width: int, ignore_index: int = VOID) -> np.ndarray:
    """``mask`` with a void band of ``width`` pixels on each side of every label boundary.

    A pixel becomes ``ignore_index`` when some pixel within chessboard distance ``width`` has
    another label: the 8-connected ``find_boundaries(mode="thick")`` (distance 1) dilated by a
    ``(2·width − 1)²`` square. The image border is not a boundary. ``width = 0`` returns a copy.

    Args:
        mask: ``[H, W]`` integer labels (numpy or tensor).
        width: band depth per side in pixels, >= 0.
        ignore_index: the void label written into the band.

    Returns:
        ``[H, W]`` int64, a new array.
    """
    labels = _check_mask(mask).astype(np.int64)
    width = _check_count("width", width, 0)
    void = _check_void_label(ignore_index)
    if width == 0:
        return labels.copy()
    band = find_boundaries(labels, connectivity=2, mode="thick")
    if width > 1:
        band = dilation(band, footprint_rectangle((2 * width - 1, 2 * width - 1)))
    return np.where(band, void, labels)


def paint_void_box(
    mask: np.ndarray, top: int, left: int, height: int, width: int, ignore_index: int = VOID
) -> np.ndarray:
    """``mask`` with the box ``[top, top + height) × [left, left + width)`` set to ``ignore_index``.

    The box is clipped to the mask; it must overlap it. Returns a new ``[H, W]`` int64 array.
    """
    labels = _check_mask(mask).astype(np.int64)
    top, left = _check_count("top", top, 0), _check_count("left", left, 0)
    height, width = _check_count("height", height, 1), _check_count("width", width, 1)
    void = _check_void_label(ignore_index)
    rows, cols = labels.shape
    if top >= rows or left >= cols:
        raise ValueError(
            f"the box must overlap the mask [{rows}, {cols}]: got `top` = {top}, `left` = {left}"
        )
    out = labels.copy()
    out[top : top + height, left : left + width] = void
    return out


@dataclass(frozen=True, eq=False)
class VoidTrace:
    """The Lovász extension of one class with the void pixels left out.

    Attributes:
        trace: :class:`lovasz_core.LovaszTrace` of the K kept pixels (its ``order`` indexes them).
        kept: ``[K]`` int64 positions of the kept pixels in the flattened input.
        order: ``[K]`` int64 positions in the flattened input, by decreasing error
            (``kept[trace.order]``); void pixels never appear.
        weights: Jaccard gradient g at every input position (input's shape), 0 at void pixels.
        ignored: number of void pixels.
        loss: 0-d, the extension Σ_i m_π(i) g_i over kept pixels (0 when nothing is kept).
    """

    trace: LovaszTrace | None
    kept: Tensor
    order: Tensor
    weights: Tensor
    ignored: int
    loss: Tensor


def void_trace(errors: Tensor, labels: Tensor, cls: int, ignore_index: int | None = VOID) -> VoidTrace:
    """Trace of the Lovász extension of class ``cls`` over the non-void pixels.

    Args:
        errors: ``[*]`` non-negative float errors of class ``cls`` (e.g. ``|1[y = cls] − p(cls)|``).
        labels: ``[*]`` integer labels, same shape; ``ignore_index`` marks void pixels.
        cls: the class whose foreground is ``labels == cls``.
        ignore_index: void label, or ``None`` (nothing ignored).

    Returns:
        A :class:`VoidTrace`; ``trace`` is ``None`` when every pixel is void.
    """
    check_tensor("errors", errors)
    check_tensor("labels", labels)
    check_floating("errors", errors)
    check_integer_labels("labels", labels)
    if labels.shape != errors.shape:
        raise ValueError(
            f"`labels` must have the shape of `errors` {tuple(errors.shape)}, got {tuple(labels.shape)}"
        )
    cls = _check_count("cls", cls, 0)
    if ignore_index is not None:
        ignore_index = _check_void_label(ignore_index)
    flat_errors, flat_labels = errors.reshape(-1), labels.reshape(-1)
    keep = (
        torch.ones_like(flat_labels, dtype=torch.bool)
        if ignore_index is None
        else flat_labels != ignore_index
    )
    kept = torch.nonzero(keep).reshape(-1)
    weights = torch.zeros(
        flat_errors.shape, dtype=torch.float64 if errors.dtype == torch.float64 else torch.float32
    )
    if kept.numel() == 0:
        empty = torch.zeros(0, dtype=torch.int64)
        zero = flat_errors.sum() * 0.0
        return VoidTrace(None, empty, empty, weights.reshape(errors.shape), int(flat_labels.numel()), zero)
    trace = lovasz_trace(flat_errors[kept], flat_labels[kept] == cls)
    weights[kept] = trace.weights.detach().to(weights.dtype)
    return VoidTrace(
        trace=trace,
        kept=kept,
        order=kept[trace.order],
        weights=weights.reshape(errors.shape),
        ignored=int(flat_labels.numel() - kept.numel()),
        loss=trace.loss,
    )


@dataclass(frozen=True)
class VoidSettings:
    """A scene for a void page: ``make_scene(scene, size, num_classes, seed)``, a band, a box.

    Attributes:
        scene: key of ``lovasz_core.lab.shapes.SCENES``; size, num_classes, seed: its arguments.
        band_width: void band depth per side (0 = none).
        box: ``(top, left, height, width)`` of a void box, or ``None``.
        cls: the class whose errors the page sorts.
    """

    scene: str = "disks"
    size: int = 24
    num_classes: int = 3
    seed: int = 0
    band_width: int = 1
    box: tuple[int, int, int, int] | None = None
    cls: int = 1


VOID_PRESETS: dict[str, VoidSettings] = {
    "Void band": VoidSettings(),
    "Wide band": VoidSettings(band_width=3, size=32),
    "Void box": VoidSettings(band_width=0, box=(3, 15, 6, 6)),
    "Forgot ignore_index": VoidSettings(num_classes=2, band_width=2, size=32),
}


def void_mask(settings: VoidSettings) -> np.ndarray:
    """The ``[size, size]`` int64 labels of ``settings``: the scene, its band, then its box."""
    from .shapes import make_scene

    if not isinstance(settings, VoidSettings):
        raise TypeError(f"`settings` must be a VoidSettings, got {type(settings).__name__}")
    mask = make_scene(settings.scene, settings.size, settings.num_classes, settings.seed).numpy()
    mask = add_void_band(mask, settings.band_width)
    if settings.box is not None:
        if not isinstance(settings.box, tuple) or len(settings.box) != 4:
            raise ValueError(f"`box` must be (top, left, height, width), got {settings.box!r}")
        mask = paint_void_box(mask, *settings.box)
    return mask
