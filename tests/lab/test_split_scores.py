"""Tests of lovasz_core.lab.split_scores: pooled (data-set) and per-image IoU, void excluded."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lovasz_core import per_class_iou
from lovasz_core.lab.split_scores import batched_confusion, score_split

VOID = 255


def _random_pair(seed: int, images: int = 12, classes: int = 4, void_share: float = 0.1):
    generator = torch.Generator().manual_seed(seed)
    target = torch.randint(0, classes, (images, 10, 10), generator=generator)
    # Make some classes absent from some images, as on real data.
    target[: images // 3][target[: images // 3] == classes - 1] = 0
    target[torch.rand(target.shape, generator=generator) < void_share] = VOID
    noise = torch.randint(0, classes, target.shape, generator=generator)
    flip = torch.rand(target.shape, generator=generator) < 0.3
    prediction = torch.where(flip | (target == VOID), noise, target)
    return prediction, target


def _slow_scores(prediction, target, classes):
    """Pixel counting in plain Python loops over images and classes."""
    tp, fp, fn = np.zeros(classes), np.zeros(classes), np.zeros(classes)
    per_image = []
    for p, t in zip(prediction.numpy(), target.numpy(), strict=True):
        keep = t != VOID
        p, t = p[keep], t[keep]
        ious = []
        for c in range(classes):
            i = np.sum((p == c) & (t == c))
            f_p = np.sum((p == c) & (t != c))
            f_n = np.sum((p != c) & (t == c))
            tp[c] += i
            fp[c] += f_p
            fn[c] += f_n
            if i + f_p + f_n:
                ious.append(i / (i + f_p + f_n))
        if ious:
            per_image.append(np.mean(ious))
    pooled = [tp[c] / (tp[c] + fp[c] + fn[c]) for c in range(classes) if tp[c] + fp[c] + fn[c]]
    return float(np.mean(pooled)), float(np.mean(per_image))


@pytest.mark.parametrize("seed", range(5))
def test_dataset_miou_from_one_confusion_matrix_equals_slow_recount(seed):
    prediction, target = _random_pair(seed)
    scores = score_split(prediction, target, 4, VOID)
    dataset_miou, image_miou = _slow_scores(prediction, target, 4)
    assert scores.dataset_miou == pytest.approx(dataset_miou, abs=1e-12)
    assert scores.image_miou == pytest.approx(image_miou, abs=1e-12)


def test_per_image_ious_equal_the_core_metric_image_by_image():
    prediction, target = _random_pair(7)
    scores = score_split(prediction, target, 4, VOID)
    for k in range(len(target)):
        expected = per_class_iou(prediction[k], target[k], 4, VOID).nanmean()
        assert scores.image_ious[k] == pytest.approx(float(expected), abs=1e-12)
    pooled = per_class_iou(prediction, target, 4, VOID)
    np.testing.assert_allclose(scores.class_iou, pooled.numpy())


def test_the_two_measures_differ_when_a_small_object_is_missed():
    target = torch.zeros(2, 10, 10, dtype=torch.long)
    target[0, :5] = 1  # a large object, found
    target[1, 0, 0] = 1  # a one-pixel object, missed
    prediction = target.clone()
    prediction[1, 0, 0] = 0
    scores = score_split(prediction, target, 2, VOID)
    assert scores.class_iou[1] == pytest.approx(50 / 51)
    assert scores.image_ious[1] == pytest.approx((99 / 100 + 0.0) / 2)
    assert scores.image_miou < scores.dataset_miou


def test_void_pixels_count_nowhere():
    prediction, target = _random_pair(3)
    before = score_split(prediction, target, 4, VOID)
    scrambled = prediction.clone()
    scrambled[target == VOID] = (scrambled[target == VOID] + 1) % 4
    after = score_split(scrambled, target, 4, VOID)
    assert after.dataset_miou == before.dataset_miou
    assert after.image_ious == before.image_ious
    assert int(before.confusion.sum()) == int((target != VOID).sum())


def test_batched_confusion_sums_to_the_pooled_matrix():
    prediction, target = _random_pair(4)
    per_image = batched_confusion(prediction, target, 4, VOID)
    assert per_image.shape == (12, 4, 4)
    torch.testing.assert_close(per_image.sum(0), score_split(prediction, target, 4, VOID).confusion)


def test_an_all_void_image_has_no_iou_and_is_skipped():
    target = torch.zeros(2, 4, 4, dtype=torch.long)
    target[1] = VOID
    scores = score_split(torch.zeros_like(target), target, 3, VOID)
    assert math.isnan(scores.image_ious[1]) and scores.image_miou == 1.0


@pytest.mark.parametrize(
    ("prediction", "target", "classes", "error", "text"),
    [
        (
            torch.zeros(2, 3, 3, dtype=torch.long),
            torch.zeros(2, 3, 4, dtype=torch.long),
            2,
            ValueError,
            "shape",
        ),
        (torch.zeros(2, 3, 3), torch.zeros(2, 3, 3, dtype=torch.long), 2, TypeError, "`prediction`"),
        (torch.zeros(2, 3, 3, dtype=torch.long), torch.full((2, 3, 3), 5), 2, ValueError, "`target`"),
        (
            torch.zeros(2, 3, 3, dtype=torch.long),
            torch.zeros(2, 3, 3, dtype=torch.long),
            1,
            ValueError,
            "`num_classes`",
        ),
        (
            torch.zeros(2, 3, 3, dtype=torch.long),
            torch.zeros(2, 3, 3, dtype=torch.long),
            2.0,
            TypeError,
            "`num_classes`",
        ),
    ],
)
def test_bad_input_is_named(prediction, target, classes, error, text):
    with pytest.raises(error, match=text):
        score_split(prediction, target, classes, VOID)
