"""Segmentation metrics: confusion matrix, per-class IoU (Jaccard index) and mean IoU.

J_c = |{y=c} ∩ {ŷ=c}| / |{y=c} ∪ {ŷ=c}| (Berman et al. 2018, Eq. 1); a class absent from both
the ground truth and the prediction has no defined IoU (NaN) and is left out of the mean, and so
is a class whose id is ``ignore_index`` (as torchmetrics and the reference code's ``iou`` do).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .validation import (
    check_ignore_index,
    check_integer_labels,
    check_label_range,
    check_same_device,
    check_tensor,
    is_integer,
    valid_mask,
)

__all__ = ["confusion_matrix", "iou_from_confusion", "mean_iou", "per_class_iou"]


MAX_CLASSES = 10_000  # a [C, C] int64 confusion matrix of at most 800 MB


def _check_num_classes(num_classes: object) -> int:
    if not is_integer(num_classes):
        raise TypeError(f"`num_classes` must be an int, got {type(num_classes).__name__}")
    count = int(num_classes)
    if count < 1:
        raise ValueError(f"`num_classes` must be >= 1, got {count}")
    if count > MAX_CLASSES:
        raise ValueError(
            f"`num_classes` must be at most {MAX_CLASSES} (the confusion matrix is [C, C]), got {count}"
        )
    return count


def confusion_matrix(
    prediction: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None
) -> Tensor:
    """Counts of (true class, predicted class) pairs.

    Args:
        prediction: ``[*]`` integer predicted classes (e.g. ``logits.argmax(1)``).
        target: ``[*]`` integer true classes, same shape; ``ignore_index`` pixels are skipped.
        num_classes: C.

    Returns:
        ``[C, C]`` int64 matrix, rows = ground truth, columns = prediction.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), 2)
        tensor([[1, 1],
                [0, 1]])
    """
    check_tensor("prediction", prediction)
    check_tensor("target", target)
    check_integer_labels("prediction", prediction)
    check_integer_labels("target", target)
    check_same_device("prediction", prediction, "target", target)
    num_classes = _check_num_classes(num_classes)
    ignore_index = check_ignore_index(ignore_index)
    if prediction.shape != target.shape:
        raise ValueError(
            f"`prediction` must have the shape of `target` {tuple(target.shape)}, "
            f"got {tuple(prediction.shape)}"
        )
    valid = valid_mask(target, ignore_index)
    check_label_range("target", target, 0, num_classes - 1, valid, "class indices")
    check_label_range("prediction", prediction, 0, num_classes - 1, valid, "class indices")
    truth = target.reshape(-1).long()
    predicted = prediction.reshape(-1).long()
    if valid is not None:
        keep = valid.reshape(-1)
        truth, predicted = truth[keep], predicted[keep]
    pairs = truth * num_classes + predicted
    counts = torch.bincount(pairs, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def iou_from_confusion(confusion: Tensor) -> Tensor:
    """Per-class IoU ``[C]`` (float64) from a ``[C, C]`` confusion matrix; NaN where undefined.

    ``confusion[t, p]`` counts pixels of true class t predicted as p: non-negative and finite
    (integer counts, or accumulated float weights).
    """
    check_tensor("confusion", confusion)
    if confusion.dim() != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"`confusion` must have shape [C, C], got {tuple(confusion.shape)}")
    if confusion.is_complex():
        raise TypeError(f"`confusion` must hold real counts, got dtype {confusion.dtype}")
    counts = confusion.to(torch.float64)
    if not bool(torch.isfinite(counts).all()):
        raise ValueError("`confusion` must be finite, but it contains NaN or inf values")
    if bool((counts < 0).any()):
        raise ValueError(
            f"`confusion` must hold non-negative counts, got a minimum of {float(counts.min()):.4g}"
        )
    intersection = counts.diagonal()
    union = counts.sum(0) + counts.sum(1) - intersection
    return torch.where(union > 0, intersection / union.clamp_min(1), torch.nan)


def per_class_iou(
    prediction: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None
) -> Tensor:
    """IoU of each class, ``[C]`` float64, NaN for a class absent from prediction and target and
    for the class ``ignore_index`` when it is a class id (its pixels are not scored)."""
    iou = iou_from_confusion(confusion_matrix(prediction, target, num_classes, ignore_index))
    if ignore_index is not None and 0 <= ignore_index < num_classes:  # checked by confusion_matrix
        iou[ignore_index] = torch.nan
    return iou


def mean_iou(prediction: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None) -> Tensor:
    """Mean IoU over the classes whose IoU is defined (0-d float64; NaN if none is).

    Example:
        >>> preds, target = torch.tensor([0, 1, 1, 2, 0, 2]), torch.tensor([0, 1, 2, 2, 1, 0])
        >>> round(float(mean_iou(preds, target, 3, ignore_index=0)), 4)  # (1/3 + 1/2) / 2
        0.4167
    """
    return per_class_iou(prediction, target, num_classes, ignore_index).nanmean()
