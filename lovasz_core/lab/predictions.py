"""A deterministic "prediction maker": logits from a ground-truth mask, degraded on purpose.

From labels ``[H, W]`` the maker builds logits ``[C, H, W]``:

    z = (confidence · T_{shift, scale}(onehot(y)) ∗ G_blur + noise · ε) / temperature,

where T moves and zooms the masks (bilinear resampling, so boundaries come out soft), G_blur is
a Gaussian blur and ε ~ N(0, 1) is drawn from a generator seeded with ``seed``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..validation import check_integer_labels, check_tensor, is_integer

__all__ = ["PredictionSpec", "class_offset_logits", "hinge_errors", "make_logits", "softmax_errors"]


@dataclass(frozen=True)
class PredictionSpec:
    """How to degrade the ground truth into a prediction (all defaults give a good prediction)."""

    shift_x: float = 0.0  # pixels to the right
    shift_y: float = 0.0  # pixels down
    scale: float = 1.0  # >1 grows the objects (false positives), <1 shrinks them (false negatives)
    noise: float = 0.0  # std of Gaussian noise added to the logits
    temperature: float = 1.0  # logits are divided by it: >1 softer, <1 sharper probabilities
    blur: float = 0.7  # Gaussian blur (std in pixels) of the shifted one-hot masks
    confidence: float = 4.0  # logit margin of a clean interior pixel
    seed: int = 0

    def validate(self) -> None:
        """Raise TypeError (not a number, a seed not an int) or ValueError (out of range) naming
        the first bad field."""
        if not is_integer(self.seed):
            raise TypeError(f"PredictionSpec.seed must be an int, got {type(self.seed).__name__}")
        for name in ("shift_x", "shift_y", "scale", "noise", "temperature", "blur", "confidence"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"PredictionSpec.{name} must be a number, got {type(value).__name__}")
        checks = {
            "scale": 0.05 <= self.scale <= 20,
            "noise": 0 <= self.noise <= 100,
            "temperature": 0.01 <= self.temperature <= 100,
            "blur": 0 <= self.blur <= 20,
            "confidence": 0 <= self.confidence <= 100,
            "seed": self.seed >= 0,
        }
        for name, ok in checks.items():
            if not ok or not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"PredictionSpec.{name} is out of range: got {getattr(self, name)!r}")
        for name in ("shift_x", "shift_y"):
            if not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"PredictionSpec.{name} must be finite, got {getattr(self, name)!r}")


def _gaussian_blur(images: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``[C, H, W]`` with reflect padding (identity when sigma ≈ 0)."""
    if sigma < 1e-3:
        return images
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = images.shape[0]
    out = images.unsqueeze(0)
    pad_h, pad_w = min(radius, images.shape[1] - 1), min(radius, images.shape[2] - 1)
    out = F.pad(out, (pad_w, pad_w, pad_h, pad_h), mode="replicate")
    k_w = kernel[radius - pad_w : radius + pad_w + 1]
    k_h = kernel[radius - pad_h : radius + pad_h + 1]
    out = F.conv2d(out, (k_w / k_w.sum()).view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    out = F.conv2d(out, (k_h / k_h.sum()).view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
    return out.squeeze(0)


def _transform(one_hot: Tensor, spec: PredictionSpec) -> Tensor:
    """Shift and zoom ``[C, H, W]`` masks about the image centre; outside pixels become background."""
    _, height, width = one_hot.shape
    rows = torch.arange(height, dtype=one_hot.dtype)
    cols = torch.arange(width, dtype=one_hot.dtype)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    src_r = cy + (rows - spec.shift_y - cy) / spec.scale
    src_c = cx + (cols - spec.shift_x - cx) / spec.scale
    # grid_sample wants normalized coordinates in [-1, 1] (align_corners=True: −1 ↔ pixel 0).
    norm_r = 2 * src_r / max(height - 1, 1) - 1 if height > 1 else torch.zeros_like(src_r)
    norm_c = 2 * src_c / max(width - 1, 1) - 1 if width > 1 else torch.zeros_like(src_c)
    grid = torch.stack(torch.meshgrid(norm_c, norm_r, indexing="xy"), dim=-1).unsqueeze(0)
    moved = F.grid_sample(
        one_hot.unsqueeze(0), grid, mode="bilinear", padding_mode="zeros", align_corners=True
    ).squeeze(0)
    moved[0] += (1.0 - moved.sum(0)).clamp_min(0)  # what left the frame is background
    return moved


def make_logits(labels: Tensor, num_classes: int, spec: PredictionSpec | None = None) -> Tensor:
    """Logits ``[C, H, W]`` (float32) of a degraded copy of ``labels`` ``[H, W]``.

    Deterministic for a given ``spec`` (its ``seed`` drives the noise).

    Example:
        >>> from lovasz_core.lab.shapes import make_scene
        >>> make_logits(make_scene("disks", 8, 3), 3, PredictionSpec(shift_x=1)).shape
        torch.Size([3, 8, 8])
    """
    check_tensor("labels", labels)
    check_integer_labels("labels", labels)
    if labels.dim() != 2:
        raise ValueError(f"`labels` must have shape [H, W], got {tuple(labels.shape)}")
    if not is_integer(num_classes):
        raise TypeError(f"`num_classes` must be an int, got {type(num_classes).__name__}")
    num_classes = int(num_classes)
    if num_classes < 2:
        raise ValueError(f"`num_classes` must be an int >= 2, got {num_classes!r}")
    if spec is not None and not isinstance(spec, PredictionSpec):
        raise TypeError(f"`spec` must be a PredictionSpec or None, got {type(spec).__name__}")
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"`labels` must hold classes in [0, {num_classes - 1}], got values in [{lo}, {hi}]")
    spec = spec or PredictionSpec()
    spec.validate()
    one_hot = F.one_hot(labels.long(), num_classes).permute(2, 0, 1).to(torch.float32)
    soft = _gaussian_blur(_transform(one_hot, spec), spec.blur)
    generator = torch.Generator().manual_seed(int(spec.seed))
    noise = torch.randn(soft.shape, generator=generator, dtype=torch.float32)
    return (spec.confidence * soft + spec.noise * noise) / spec.temperature


def class_offset_logits(logits: Tensor, cls: int, offsets: Tensor) -> Tensor:
    """Logits ``[K, C, H, W]``: one copy of ``[C, H, W]`` per offset b_k added to class ``cls``."""
    out = logits.unsqueeze(0).repeat(len(offsets), 1, 1, 1)
    out[:, cls] += offsets.to(logits.dtype).view(-1, 1, 1)
    return out


def softmax_errors(probas: Tensor, fg: Tensor) -> Tensor:
    """Softmax errors m_i = |1[y_i = c] − p_i(c)| ∈ [0, 1]; ``probas`` and ``fg`` share a shape."""
    return torch.where(fg, 1.0 - probas, probas)


def hinge_errors(logits: Tensor, cls: int, fg: Tensor) -> Tensor:
    """One-vs-rest hinge errors m_i = max(0, 1 − s_i y*_i) for ``logits [C, H, W]``.

    The score is s_i = z_i(c) − max_{c' ≠ c} z_i(c') (for two classes, the binary logit
    difference) and y*_i = +1 on the class, −1 elsewhere; errors are ≥ 0 and unbounded.
    """
    others = torch.cat([logits[:cls], logits[cls + 1 :]], dim=0)
    score = logits[cls] - others.max(dim=0).values
    sign = fg.to(logits.dtype) * 2 - 1
    return (1.0 - score * sign).clamp_min(0.0)
