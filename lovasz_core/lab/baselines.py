"""Baseline segmentation losses the app compares with Lovász-Softmax.

All take ``logits [B, C, *spatial]`` and integer ``labels [B, *spatial]`` and return a 0-d tensor.
Region losses (soft-Jaccard, Dice) average over the classes present in the labels, like
``classes="present"`` of the Lovász-Softmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..validation import (
    check_finite,
    check_floating,
    check_ignore_index,
    check_integer_labels,
    check_label_range,
    check_ndim,
    check_same_device,
    check_shape,
    check_tensor,
    valid_mask,
)

__all__ = [
    "check_logits_and_labels",
    "cross_entropy",
    "cross_entropy_unchecked",
    "dice",
    "focal",
    "soft_jaccard",
]


def check_logits_and_labels(logits: Tensor, labels: Tensor, ignore_index: object) -> int | None:
    """Door checks shared by every multi-class loss taking logits; returns ``ignore_index``."""
    check_tensor("logits", logits)
    check_tensor("labels", labels)
    check_floating("logits", logits)
    check_integer_labels("labels", labels)
    check_same_device("logits", logits, "labels", labels)
    ignore_index = check_ignore_index(ignore_index)
    check_ndim("logits", logits, "[B, C, *spatial] with 1 to 3 spatial dims", 3, 5)
    if logits.shape[1] < 2:
        raise ValueError(f"`logits` must have C >= 2 classes along dim 1, got C = {logits.shape[1]}")
    check_shape("labels", labels, (logits.shape[0], *logits.shape[2:]), "[B, *spatial] matching `logits`")
    check_finite("logits", logits)
    valid = valid_mask(labels, ignore_index)
    check_label_range("labels", labels, 0, logits.shape[1] - 1, valid, "class indices")
    return ignore_index


def _one_hot_and_valid(logits: Tensor, labels: Tensor, ignore_index: int | None) -> tuple[Tensor, Tensor]:
    """Float one-hot ``[B, C, N]`` (zero at ignored pixels) and float validity ``[B, 1, N]``."""
    batch, classes = logits.shape[:2]
    flat = labels.reshape(batch, -1).long()
    valid = torch.ones_like(flat, dtype=torch.bool) if ignore_index is None else flat != ignore_index
    safe = torch.where(valid, flat, 0)
    one_hot = F.one_hot(safe, classes).transpose(1, 2).to(logits.dtype)
    valid_f = valid.unsqueeze(1).to(logits.dtype)
    return one_hot * valid_f, valid_f


def cross_entropy(logits: Tensor, labels: Tensor, ignore_index: int | None = None) -> Tensor:
    """Mean pixel-wise cross-entropy −log p_i(y_i) over valid pixels (0 if none is valid).

    Its gradient w.r.t. the logits is ``(p − onehot(y)) / P``: every pixel pushes in proportion
    to its error, whatever the size of its class.
    """
    return cross_entropy_unchecked(logits, labels, check_logits_and_labels(logits, labels, ignore_index))


def cross_entropy_unchecked(logits: Tensor, labels: Tensor, ignore_index: int | None) -> Tensor:
    """:func:`cross_entropy` of inputs already checked by :func:`check_logits_and_labels`."""
    target = labels.long()
    if ignore_index is None:
        return F.cross_entropy(logits, target)
    if not bool((target != ignore_index).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, ignore_index=ignore_index)


def _region_overlaps(
    logits: Tensor, labels: Tensor, ignore_index: int | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    batch, classes = logits.shape[:2]
    probas = torch.softmax(logits, dim=1).reshape(batch, classes, -1)
    one_hot, valid = _one_hot_and_valid(logits, labels, ignore_index)
    probas = probas * valid
    dims = (0, 2)
    intersection = (probas * one_hot).sum(dims)
    predicted = probas.sum(dims)
    truth = one_hot.sum(dims)
    return intersection, predicted, truth, truth > 0


def soft_jaccard(
    logits: Tensor, labels: Tensor, ignore_index: int | None = None, smooth: float = 1.0
) -> Tensor:
    """Soft Jaccard loss 1 − (Σ p·y + s) / (Σ p + Σ y − Σ p·y + s), mean over present classes.

    Sums run over the whole batch; ``smooth`` s keeps the ratio defined.
    """
    ignore_index = check_logits_and_labels(logits, labels, ignore_index)
    intersection, predicted, truth, present = _region_overlaps(logits, labels, ignore_index)
    score = (intersection + smooth) / (predicted + truth - intersection + smooth)
    if not bool(present.any()):
        return logits.sum() * 0.0
    return 1.0 - score[present].mean()


def dice(logits: Tensor, labels: Tensor, ignore_index: int | None = None, smooth: float = 1.0) -> Tensor:
    """Soft Dice loss 1 − (2 Σ p·y + s) / (Σ p + Σ y + s), mean over present classes."""
    ignore_index = check_logits_and_labels(logits, labels, ignore_index)
    intersection, predicted, truth, present = _region_overlaps(logits, labels, ignore_index)
    score = (2.0 * intersection + smooth) / (predicted + truth + smooth)
    if not bool(present.any()):
        return logits.sum() * 0.0
    return 1.0 - score[present].mean()


def focal(logits: Tensor, labels: Tensor, ignore_index: int | None = None, gamma: float = 2.0) -> Tensor:
    """Focal loss (Lin et al. 2017) −(1 − p_t)^γ log p_t, mean over valid pixels."""
    ignore_index = check_logits_and_labels(logits, labels, ignore_index)
    batch, classes = logits.shape[:2]
    log_probas = torch.log_softmax(logits, dim=1).reshape(batch, classes, -1)
    one_hot, valid = _one_hot_and_valid(logits, labels, ignore_index)
    log_pt = (log_probas * one_hot).sum(1)
    pt = log_pt.exp()
    per_pixel = -((1.0 - pt) ** gamma) * log_pt * valid.squeeze(1)
    count = valid.sum()
    if float(count) == 0:
        return logits.sum() * 0.0
    return per_pixel.sum() / count
