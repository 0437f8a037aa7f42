"""One registry of the losses the app compares, all called ``loss(logits, labels, ignore_index=None)``.

``logits`` is ``[B, C, *spatial]``, ``labels`` ``[B, *spatial]``; every entry returns a 0-d tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from ..losses import lovasz_softmax_unchecked
from ..validation import check_choice
from .baselines import (
    check_logits_and_labels,
    cross_entropy,
    cross_entropy_unchecked,
    dice,
    focal,
    soft_jaccard,
)

__all__ = [
    "LOSSES",
    "LossFn",
    "LossSpec",
    "cross_entropy_plus_lovasz",
    "get_loss",
    "lovasz_softmax_from_logits",
]

LossFn = Callable[..., Tensor]


def lovasz_softmax_from_logits(logits: Tensor, labels: Tensor, ignore_index: int | None = None) -> Tensor:
    """Lovász-Softmax (classes="present", per batch) of ``softmax(logits)``."""
    return lovasz_softmax_unchecked(logits, labels, check_logits_and_labels(logits, labels, ignore_index))


def cross_entropy_plus_lovasz(
    logits: Tensor, labels: Tensor, ignore_index: int | None = None, weight: float = 1.0
) -> Tensor:
    """Cross-entropy + λ·Lovász-Softmax (λ = ``weight``), the combination that trains best.

    The inputs are checked once, then both terms are computed from them.
    """
    ignore_index = check_logits_and_labels(logits, labels, ignore_index)
    cross = cross_entropy_unchecked(logits, labels, ignore_index)
    return cross + weight * lovasz_softmax_unchecked(logits, labels, ignore_index)


@dataclass(frozen=True)
class LossSpec:
    """A registered loss: a key, a display name, the function and one line on what it does."""

    key: str
    label: str
    fn: LossFn
    summary: str


LOSSES: dict[str, LossSpec] = {
    spec.key: spec
    for spec in (
        LossSpec(
            "cross_entropy",
            "Cross-entropy",
            cross_entropy,
            "Pixel-wise −log p(y); every pixel counts the same, whatever its class's size.",
        ),
        LossSpec(
            "lovasz_softmax",
            "Lovász-Softmax",
            lovasz_softmax_from_logits,
            "Convex surrogate of 1 − IoU per class, averaged over present classes.",
        ),
        LossSpec(
            "ce_lovasz",
            "CE + Lovász",
            cross_entropy_plus_lovasz,
            "Cross-entropy plus Lovász-Softmax (λ = 1): CE's steady start, Lovász's IoU focus.",
        ),
        LossSpec(
            "soft_jaccard",
            "Soft Jaccard",
            soft_jaccard,
            "1 − soft IoU with probabilities in place of hard masks.",
        ),
        LossSpec("dice", "Dice", dice, "1 − soft Dice coefficient (F1) per class."),
        LossSpec("focal", "Focal", focal, "Cross-entropy down-weighted on easy pixels, γ = 2."),
    )
}


def get_loss(name: str) -> LossFn:
    """The loss function registered under ``name`` (see ``LOSSES``)."""
    return LOSSES[check_choice("name", name, LOSSES)].fn
