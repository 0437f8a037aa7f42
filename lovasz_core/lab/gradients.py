"""Per-pixel gradients of any registered loss with respect to the logits, and per-class summaries.

For logits z ``[B, C, *spatial]`` and labels y, ``logit_gradient`` returns ∂L/∂z (autograd, same
shape as z). For cross-entropy it is ``(softmax(z) − onehot(y)) / P`` — every pixel pushes in
proportion to its error, whatever its class's size. For Lovász-Softmax the gradient flows only
through the errors m_i(c) = |1[y_i=c] − p_i(c)|, weighted by the Jaccard gradient g of their
sorted position: each class gets the same total budget, so a small class or a thin boundary
pushes as hard as the background.

``synthetic_case`` builds the teaching example of the gradients page: a background, a large
disk and a small disk of adjustable radius, with logits of adjustable quality and boundary blur.

Example:
    >>> case = synthetic_case(size=24, small_radius=3, quality=0.5, blur=1.0, seed=0)
    >>> value, grad = logit_gradient("cross_entropy", case.logits, case.labels)
    >>> grad.shape == case.logits.shape
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..validation import check_choice
from .registry import LOSSES

__all__ = [
    "SyntheticCase",
    "boundary_mask",
    "class_push",
    "degraded_logits",
    "gradient_maps",
    "logit_gradient",
    "pixel_magnitude",
    "push_vs_size",
    "synthetic_case",
]

CASE_CLASS_NAMES: tuple[str, ...] = ("background", "large disk", "small disk")


def logit_gradient(
    loss_key: str, logits: Tensor, labels: Tensor, ignore_index: int | None = None
) -> tuple[float, Tensor]:
    """The loss value and ∂L/∂logits (autograd), ``[B, C, *spatial]`` like ``logits``.

    ``logits`` itself is left untouched (a detached copy is differentiated).
    """
    fn = LOSSES[check_choice("loss_key", loss_key, LOSSES)].fn
    if not isinstance(logits, Tensor):
        raise TypeError(f"`logits` must be a torch.Tensor, got {type(logits).__name__}")
    z = logits.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = fn(z, labels, ignore_index=ignore_index)
        (grad,) = torch.autograd.grad(loss, z)
    return float(loss.detach()), grad


def gradient_maps(
    logits: Tensor, labels: Tensor, loss_keys: Iterable[str], ignore_index: int | None = None
) -> dict[str, tuple[float, Tensor]]:
    """``{loss_key: (value, ∂L/∂logits [B, C, *spatial])}`` for several losses on one prediction."""
    return {key: logit_gradient(key, logits, labels, ignore_index) for key in loss_keys}


def pixel_magnitude(grad: Tensor) -> Tensor:
    """‖∂L/∂z_i‖₂ over the classes: ``[B, C, *spatial]`` → ``[B, *spatial]``."""
    return grad.norm(dim=1)


def class_push(grad: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Total push on the pixels of each true class: ``[C]``, push_c = Σ_{i: y_i = c} ‖∂L/∂z_i‖₁.

    Under cross-entropy push_c grows with the class's pixel count |{y = c}|; under Lovász-Softmax
    each class's term has a bounded budget, so small classes get a far larger share.
    """
    per_pixel = grad.abs().sum(dim=1).reshape(-1).to(torch.float64)
    flat = labels.reshape(-1).long()
    valid = (flat >= 0) & (flat < num_classes)
    return torch.bincount(flat[valid], weights=per_pixel[valid], minlength=num_classes)


def boundary_mask(labels: np.ndarray) -> np.ndarray:
    """Pixels ``[H, W]`` (bool) with a 4-neighbour of another class: the label boundary."""
    labels = np.asarray(labels)
    edge = np.zeros(labels.shape, bool)
    vertical = labels[1:, :] != labels[:-1, :]
    horizontal = labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    return edge


@dataclass(frozen=True, eq=False)
class SyntheticCase:
    """A ground truth and a prediction for the gradients page.

    Attributes:
        labels: ``[1, H, W]`` int64 (0 background, 1 large disk, 2 small disk).
        logits: ``[1, 3, H, W]`` float64 prediction.
        class_names: names of the 3 classes.
    """

    labels: Tensor
    logits: Tensor
    class_names: tuple[str, ...] = CASE_CLASS_NAMES

    @property
    def mask(self) -> np.ndarray:
        """Ground truth ``[H, W]`` as a numpy array."""
        return self.labels[0].numpy()

    @property
    def probabilities(self) -> Tensor:
        """softmax of the logits, ``[1, 3, H, W]``."""
        return torch.softmax(self.logits, dim=1)


def _disk_labels(size: int, small_radius: float) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    mask = np.zeros((size, size), np.int64)
    mask[(rows - 0.58 * size) ** 2 + (cols - 0.58 * size) ** 2 < (0.3 * size) ** 2] = 1
    center = 0.2 * size
    mask[(rows - center) ** 2 + (cols - center) ** 2 < small_radius**2] = 2
    return mask


def synthetic_case(
    size: int = 40, small_radius: float = 3.0, quality: float = 0.5, blur: float = 1.5, seed: int = 0
) -> SyntheticCase:
    """Ground truth with a large and a small disk, and logits of a given quality.

    logits = (1 + 5q) · (G_blur * onehot(y)) + 2.5 (1 − q) · n, with n a smooth seeded noise
    (unit variance) and G_blur a Gaussian blur of width ``blur`` pixels: blur rounds the
    boundaries (and shrinks small objects), low quality q adds confident mistakes.

    Args:
        size: H = W, 8 to 128. small_radius: radius of the small disk in pixels, 0.5 to size/5.
        quality: q in [0, 1]. blur: σ in pixels, 0 to 8. seed: noise seed.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"`size` must be an int, got {type(size).__name__}")
    if not 8 <= size <= 128:
        raise ValueError(f"`size` must be in [8, 128], got {size}")
    if not 0.5 <= small_radius <= size / 5:
        raise ValueError(f"`small_radius` must be in [0.5, size/5 = {size / 5:g}], got {small_radius}")
    if not 0.0 <= quality <= 1.0:
        raise ValueError(f"`quality` must be in [0, 1], got {quality}")
    if not 0.0 <= blur <= 8.0:
        raise ValueError(f"`blur` must be in [0, 8], got {blur}")
    mask = _disk_labels(size, small_radius)
    return SyntheticCase(torch.from_numpy(mask)[None], degraded_logits(mask, 3, quality, blur, seed))


def degraded_logits(mask: np.ndarray, num_classes: int, quality: float, blur: float, seed: int) -> Tensor:
    """The prediction of :func:`synthetic_case` for any ground truth: ``[1, C, H, W]`` float64.

    logits = (1 + 5q) · (G_blur * onehot(y)) + 2.5 (1 − q) · n, n a smooth seeded noise of unit
    variance. ``mask`` ``[H, W]`` holds class indices in ``[0, C)``; map void pixels (255) to a
    class first (they get no gradient when the loss ignores them).
    """
    from skimage.filters import gaussian

    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"`mask` must be a non-empty [H, W] integer array, got {mask.dtype} {mask.shape}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an int >= 2, got {num_classes!r}")
    if mask.min() < 0 or mask.max() >= num_classes:
        raise ValueError(f"`mask` values must lie in [0, {num_classes - 1}], got {mask.min()}..{mask.max()}")
    if not 0.0 <= quality <= 1.0:
        raise ValueError(f"`quality` must be in [0, 1], got {quality}")
    if not 0.0 <= blur <= 8.0:
        raise ValueError(f"`blur` must be in [0, 8], got {blur}")
    one_hot = np.eye(num_classes)[mask]  # [H, W, C]
    smooth = gaussian(one_hot, sigma=blur, channel_axis=-1) if blur > 0 else one_hot
    rng = np.random.default_rng(seed)
    noise = gaussian(rng.standard_normal((*mask.shape, num_classes)), sigma=1.5, channel_axis=-1)
    noise /= noise.std() + 1e-12
    logits = (1.0 + 5.0 * quality) * smooth + 2.5 * (1.0 - quality) * noise
    return torch.from_numpy(logits.transpose(2, 0, 1).copy())[None]


def push_vs_size(
    radii: Sequence[float],
    loss_keys: Sequence[str],
    size: int = 40,
    quality: float = 0.5,
    blur: float = 1.5,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """How the small class's share of the total push scales with its size, per loss.

    Returns ``{"radius": [R], "fraction": [R] share of pixels in the small class, "<loss>": [R]
    share of the total gradient mass Σ_i ‖∂L/∂z_i‖₁ that falls on small-class pixels}``; radii
    too small to cover a pixel centre are skipped. Under CE the share tracks the pixel fraction;
    under Lovász-Softmax it stays large even for tiny objects.
    """
    out: dict[str, list[float]] = {"radius": [], "fraction": [], **{k: [] for k in loss_keys}}
    for radius in radii:
        case = synthetic_case(size, float(radius), quality, blur, seed)
        fraction = float((case.mask == 2).mean())
        if fraction == 0.0:
            continue
        out["radius"].append(float(radius))
        out["fraction"].append(fraction)
        for key in loss_keys:
            _, grad = logit_gradient(key, case.logits, case.labels)
            push = class_push(grad, case.labels, 3)
            total = float(push.sum())
            out[key].append(float(push[2]) / total if total > 0 else 0.0)
    return {k: np.asarray(v) for k, v in out.items()}
