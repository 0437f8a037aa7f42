"""Tiny seeded segmentation models: free per-pixel logits and a few-thousand-parameter FCN.

``FreeLogits`` optimises the logits themselves (a parameter ``[1, C, H, W]``): training then
follows the loss's own geometry, with no network in between. ``TinyFCN`` is a small fully
convolutional net (3×3 convs, one dilated, ReLU, 1×1 head): it must generalise across pixels,
so it shows how each loss shapes what a real model learns.

Example:
    >>> model = make_model("tiny_fcn", in_channels=1, num_classes=2, size=32, seed=0)
    >>> model(torch.zeros(1, 1, 32, 32)).shape
    torch.Size([1, 2, 32, 32])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..validation import check_choice

__all__ = ["MODEL_NAMES", "FreeLogits", "TinyFCN", "count_parameters", "make_model"]

MODEL_NAMES: dict[str, str] = {
    "tiny_fcn": "Tiny conv net",
    "free_logits": "Free per-pixel logits",
}


class FreeLogits(nn.Module):
    """Logits as free parameters: ``forward(x)`` ignores the pixels of ``x`` and returns them.

    Args:
        num_classes: C.
        size: H = W.
        scale: standard deviation of the seeded normal initialisation.
        shape: ``(H, W)`` of a non-square image (default ``(size, size)``).
    """

    def __init__(
        self, num_classes: int, size: int, scale: float = 0.01, shape: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        height, width = shape if shape is not None else (size, size)
        self.logits = nn.Parameter(scale * torch.randn(1, num_classes, height, width))

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C, H, W]``: the stored logits repeated over the batch of ``x`` ``[B, *, H, W]``."""
        return self.logits.expand(x.shape[0], -1, -1, -1)


class TinyFCN(nn.Module):
    """conv3×3(in→w) · ReLU · conv3×3(w→w, dilation 2) · ReLU · conv3×3(w→w) · ReLU · conv1×1(w→C).

    About ``9·w·(in + 2·w) + w·C`` parameters: width 16, grey input, 2 classes → 4.8 k. Padding
    keeps the spatial size, so logits are ``[B, C, H, W]`` for an input ``[B, in, H, W]``.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=2, dilation=2),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, num_classes, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, C, H, W]`` of an image batch ``[B, in_channels, H, W]``."""
        return self.body(x)


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1, got {value}")
    return value


def make_model(
    kind: str,
    in_channels: int,
    num_classes: int,
    size: int,
    seed: int = 0,
    shape: tuple[int, int] | None = None,
) -> nn.Module:
    """A freshly initialised model of ``kind`` (a key of ``MODEL_NAMES``), seeded by ``seed``.

    ``shape``: ``(H, W)`` of a non-square image (default ``(size, size)``; only the free logits
    depend on it). The same arguments always give the same weights (the global RNG state is left
    untouched).
    """
    check_choice("kind", kind, MODEL_NAMES)
    for name, value in (("in_channels", in_channels), ("num_classes", num_classes), ("size", size)):
        _check_positive_int(name, value)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"`seed` must be an int, got {type(seed).__name__}")
    if num_classes < 2:
        raise ValueError(f"`num_classes` must be >= 2, got {num_classes}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "free_logits":
            if shape is not None:
                for name, value in zip(("shape[0]", "shape[1]"), shape, strict=True):
                    _check_positive_int(name, value)
            return FreeLogits(num_classes, size, shape=shape)
        return TinyFCN(in_channels, num_classes)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
