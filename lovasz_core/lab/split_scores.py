"""IoU over a set of images: the data-set mIoU of Pascal VOC and the mean per-image IoU.

The two measures differ in *where the counts are pooled*:

* **data-set mIoU** — one confusion matrix accumulated over every pixel of the split,
  then ``J_c = TP_c / (TP_c + FP_c + FN_c)`` per class and the mean over the classes with a
  defined IoU. A small object missed in one image costs little; the VOC benchmark measure.
* **mean per-image IoU** — the mIoU of each image (mean over the classes present in its labels
  or its prediction), then the mean over the images. Every image weighs the same, so a missed
  small object costs a whole class of that image.

Void pixels (``ignore_index``) are left out of every count.

API:
    * :func:`batched_confusion` ``(prediction [N, *], target [N, *], C, ignore_index) -> [N, C, C]``.
    * :func:`score_split` ``(prediction, target, C, ignore_index=255) -> SplitScores``.
    * :func:`scores_from_confusion` ``([N, C, C]) -> SplitScores`` (no label checks: the fast path).

Example:
    >>> target = torch.tensor([[[0, 1], [1, 1]], [[0, 0], [0, 2]]])
    >>> scores = score_split(target.clone(), target, 3)
    >>> scores.dataset_miou, scores.image_miou
    (1.0, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..metrics import iou_from_confusion
from ..validation import (
    check_ignore_index,
    check_integer_labels,
    check_label_range,
    check_same_device,
    check_tensor,
    is_integer,
    valid_mask,
)

__all__ = ["SplitScores", "batched_confusion", "score_split", "scores_from_confusion"]


@dataclass(frozen=True, eq=False)
class SplitScores:
    """IoU measures of a set of N images.

    Attributes:
        dataset_miou: mean over classes of the IoU of the pooled confusion matrix (NaN if none defined).
        image_miou: mean over images of each image's mIoU (images with no defined class skipped).
        class_iou: ``(C,)`` IoU per class from the pooled confusion matrix (NaN where undefined).
        image_ious: ``(N,)`` mIoU of each image (NaN where no class is defined, e.g. all void).
        pixel_accuracy: share of the non-void pixels predicted right (NaN if none).
        confusion: ``[C, C]`` int64 pooled counts, rows = truth, columns = prediction.
    """

    dataset_miou: float
    image_miou: float
    class_iou: tuple[float, ...]
    image_ious: tuple[float, ...]
    pixel_accuracy: float
    confusion: Tensor


def _check_inputs(
    prediction: Tensor, target: Tensor, num_classes: int, ignore_index: int | None
) -> int | None:
    check_tensor("prediction", prediction)
    check_tensor("target", target)
    check_integer_labels("prediction", prediction)
    check_integer_labels("target", target)
    check_same_device("prediction", prediction, "target", target)
    if not is_integer(num_classes):
        raise TypeError(f"`num_classes` must be an int, got {type(num_classes).__name__}")
    if num_classes < 2:
        raise ValueError(f"`num_classes` must be >= 2, got {num_classes}")
    if prediction.shape != target.shape or target.dim() < 2:
        raise ValueError(
            f"`prediction` and `target` must have the same shape [N, *spatial], got "
            f"{tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    ignore_index = check_ignore_index(ignore_index)
    valid = valid_mask(target, ignore_index)
    check_label_range("target", target, 0, int(num_classes) - 1, valid, "class indices")
    check_label_range("prediction", prediction, 0, int(num_classes) - 1, valid, "class indices")
    return ignore_index


def batched_confusion(
    prediction: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None
) -> Tensor:
    """One confusion matrix per image, ``[N, C, C]`` int64 (rows = truth), in one ``bincount``.

    ``prediction`` and ``target`` are ``[N, *spatial]`` integer maps; void target pixels are skipped.
    """
    ignore_index = _check_inputs(prediction, target, num_classes, ignore_index)
    return _batched_confusion(prediction, target, int(num_classes), ignore_index)


def _batched_confusion(prediction: Tensor, target: Tensor, classes: int, ignore_index: int | None) -> Tensor:
    images = target.shape[0]
    truth = target.reshape(images, -1).long()
    predicted = prediction.reshape(images, -1).long()
    image_ids = torch.arange(images, device=target.device).unsqueeze(1).expand_as(truth)
    keys = (image_ids * classes + truth) * classes + predicted
    if ignore_index is not None:
        keys = keys[truth != ignore_index]
    counts = torch.bincount(keys.reshape(-1), minlength=images * classes * classes)
    return counts.reshape(images, classes, classes)


def _nanmean(values: Tensor) -> float:
    defined = values[~torch.isnan(values)]
    return float(defined.mean()) if defined.numel() else math.nan


def score_split(
    prediction: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = 255
) -> SplitScores:
    """Data-set mIoU, mean per-image IoU and per-class IoU of ``prediction`` against ``target``.

    Args:
        prediction: ``[N, *spatial]`` integer predicted classes.
        target: ``[N, *spatial]`` integer labels, ``ignore_index`` for void.
        num_classes: C.
        ignore_index: void label (``None``: nothing ignored).
    """
    ignore_index = _check_inputs(prediction, target, num_classes, ignore_index)
    return scores_from_confusion(_batched_confusion(prediction, target, int(num_classes), ignore_index))


def scores_from_confusion(per_image: Tensor) -> SplitScores:
    """:class:`SplitScores` of per-image confusion matrices ``[N, C, C]`` (rows = truth).

    The fast path for callers whose labels are already checked (e.g. by the loss): build
    ``per_image`` with :func:`batched_confusion`, or from counts accumulated elsewhere.
    """
    check_tensor("per_image", per_image)
    if per_image.dim() != 3 or per_image.shape[1] != per_image.shape[2]:
        raise ValueError(f"`per_image` must have shape [N, C, C], got {tuple(per_image.shape)}")
    per_image = per_image.to(torch.float64)
    pooled = per_image.sum(0)
    class_iou = iou_from_confusion(pooled)
    intersection = per_image.diagonal(dim1=1, dim2=2)
    union = per_image.sum(1) + per_image.sum(2) - intersection
    image_class_iou = torch.where(union > 0, intersection / union.clamp_min(1), torch.nan)
    image_ious = torch.nanmean(image_class_iou, dim=1)
    total = float(pooled.sum())
    return SplitScores(
        dataset_miou=_nanmean(class_iou),
        image_miou=_nanmean(image_ious),
        class_iou=tuple(float(v) for v in class_iou.tolist()),
        image_ious=tuple(float(v) for v in image_ious.tolist()),
        pixel_accuracy=float(pooled.diagonal().sum()) / total if total else math.nan,
        confusion=pooled.to(torch.int64),
    )
