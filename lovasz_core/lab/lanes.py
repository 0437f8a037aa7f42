"""The lanes of minibatch training: which loss a lane optimises, and how it reduces a batch.

Every lane's loss is called ``loss(logits, labels, classes, ignore_index)`` with ``logits``
``[B, C, H, W]``, ``labels`` ``[B, H, W]`` (``ignore_index`` = void) and ``classes`` the
Lovász-Softmax class selection (``"present"`` or ``"all"``; lanes without a class mean ignore
it). It returns a 0-d tensor.

Multi-class lanes (:data:`MULTICLASS_LANES`):
    ``cross_entropy``, ``lovasz_batch`` (Lovász-Softmax, ``per_image=False``: one Jaccard
    surrogate per class over the pixels of the whole batch), ``lovasz_image`` (``per_image=True``:
    one per image and class, averaged over images) and ``ce_lovasz`` (CE + Lovász per batch).

Binary lanes (:data:`BINARY_LANES`, two classes, as in the paper's binary demo): the model's two
logits give one score ``s = l₁ − l₀`` per pixel (``s > 0`` ⇔ argmax = 1), trained with
``bce`` (binary cross-entropy of σ(s)), ``lovasz_hinge`` (hinge errors, ``per_image=True``, the
reference default) or ``lovasz_sigmoid`` (errors ``|y − σ(s)|``, ``per_image=False``).

Example:
    >>> logits, labels = torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))
    >>> LANES["lovasz_image"].loss(logits, labels, "present", 255).shape
    torch.Size([])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..losses import lovasz_hinge, lovasz_sigmoid, lovasz_softmax
from .baselines import check_logits_and_labels, cross_entropy

__all__ = ["BINARY_LANES", "CLASS_SELECTIONS", "LANES", "MULTICLASS_LANES", "LaneSpec", "binary_score"]

CLASS_SELECTIONS: dict[str, str] = {
    "present": "classes present in the batch (or image)",
    "all": "all classes; an absent class costs its largest probability",
}

LaneLoss = Callable[[Tensor, Tensor, str, "int | None"], Tensor]


@dataclass(frozen=True)
class LaneSpec:
    """A lane: key, display name, loss, whether it needs two classes, one line on what it does."""

    key: str
    label: str
    loss: LaneLoss
    binary: bool
    summary: str


def _cross_entropy(logits: Tensor, labels: Tensor, _classes: str, ignore_index: int | None) -> Tensor:
    return cross_entropy(logits, labels, ignore_index)


def _lovasz(
    logits: Tensor, labels: Tensor, classes: str, ignore_index: int | None, per_image: bool
) -> Tensor:
    probas = torch.softmax(logits, dim=1)
    return lovasz_softmax(probas, labels, classes=classes, per_image=per_image, ignore_index=ignore_index)


def _lovasz_batch(logits: Tensor, labels: Tensor, classes: str, ignore_index: int | None) -> Tensor:
    return _lovasz(logits, labels, classes, ignore_index, per_image=False)


def _lovasz_image(logits: Tensor, labels: Tensor, classes: str, ignore_index: int | None) -> Tensor:
    return _lovasz(logits, labels, classes, ignore_index, per_image=True)


def _ce_lovasz(logits: Tensor, labels: Tensor, classes: str, ignore_index: int | None) -> Tensor:
    return cross_entropy(logits, labels, ignore_index) + _lovasz(
        logits, labels, classes, ignore_index, per_image=False
    )


def binary_score(logits: Tensor) -> Tensor:
    """``[B, H, W]`` foreground score ``s = l₁ − l₀`` of two-class logits ``[B, 2, H, W]``.

    ``σ(s)`` is the softmax probability of class 1, so ``s > 0`` exactly where argmax is 1.
    """
    if logits.dim() < 3 or logits.shape[1] != 2:
        raise ValueError(f"`logits` must have shape [B, 2, *spatial], got {tuple(logits.shape)}")
    return logits[:, 1] - logits[:, 0]


def _bce(logits: Tensor, labels: Tensor, _classes: str, ignore_index: int | None) -> Tensor:
    ignore_index = check_logits_and_labels(logits, labels, ignore_index)
    score = binary_score(logits)
    valid = torch.ones_like(score) if ignore_index is None else (labels != ignore_index).to(score.dtype)
    target = (labels == 1).to(score.dtype)
    total = F.binary_cross_entropy_with_logits(score, target, weight=valid, reduction="sum")
    return total / valid.sum().clamp_min(1.0)


def _lovasz_hinge(logits: Tensor, labels: Tensor, _classes: str, ignore_index: int | None) -> Tensor:
    return lovasz_hinge(binary_score(logits), labels, per_image=True, ignore_index=ignore_index)


def _lovasz_sigmoid(logits: Tensor, labels: Tensor, _classes: str, ignore_index: int | None) -> Tensor:
    score = binary_score(logits).unsqueeze(1)
    return lovasz_sigmoid(score, labels.unsqueeze(1), per_image=False, ignore_index=ignore_index)


LANES: dict[str, LaneSpec] = {
    spec.key: spec
    for spec in (
        LaneSpec(
            "cross_entropy",
            "Cross-entropy",
            _cross_entropy,
            False,
            "Mean −log p(y) over the non-void pixels of the batch.",
        ),
        LaneSpec(
            "lovasz_batch",
            "Lovász per batch",
            _lovasz_batch,
            False,
            "Lovász-Softmax, per_image=False: one IoU surrogate per class over the whole batch.",
        ),
        LaneSpec(
            "lovasz_image",
            "Lovász per image",
            _lovasz_image,
            False,
            "Lovász-Softmax, per_image=True: one IoU surrogate per image and class, then the mean.",
        ),
        LaneSpec(
            "ce_lovasz",
            "CE + Lovász",
            _ce_lovasz,
            False,
            "Cross-entropy plus Lovász-Softmax per batch (λ = 1).",
        ),
        LaneSpec(
            "bce",
            "Binary cross-entropy",
            _bce,
            True,
            "−log σ(±s) per non-void pixel, s = l₁ − l₀.",
        ),
        LaneSpec(
            "lovasz_hinge",
            "Lovász hinge",
            _lovasz_hinge,
            True,
            "Lovász extension of hinge errors max(0, 1 − s·y*), per image.",
        ),
        LaneSpec(
            "lovasz_sigmoid",
            "Lovász sigmoid",
            _lovasz_sigmoid,
            True,
            "Lovász extension of |y − σ(s)|, over the whole batch.",
        ),
    )
}
MULTICLASS_LANES: tuple[str, ...] = tuple(k for k, spec in LANES.items() if not spec.binary)
BINARY_LANES: tuple[str, ...] = tuple(k for k, spec in LANES.items() if spec.binary)
