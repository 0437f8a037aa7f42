"""Confusion matrix, per-class IoU and mean IoU against plain loops and hand-made masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lovasz_core import confusion_matrix, iou_from_confusion, mean_iou, per_class_iou


def _confusion_loop(prediction, target, num_classes, ignore_index=None):
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    for p, t in zip(np.asarray(prediction).ravel(), np.asarray(target).ravel(), strict=True):
        if ignore_index is not None and t == ignore_index:
            continue
        counts[t, p] += 1
    return counts


def _iou_loop(prediction, target, num_classes, ignore_index=None):
    pred = np.asarray(prediction).ravel()
    true = np.asarray(target).ravel()
    keep = np.ones_like(true, dtype=bool) if ignore_index is None else true != ignore_index
    result = []
    for c in range(num_classes):
        if c == ignore_index:  # an ignored class id is not scored (torchmetrics, the reference's iou)
            result.append(float("nan"))
            continue
        a = (pred == c) & keep
        b = (true == c) & keep
        union = int((a | b).sum())
        result.append(float("nan") if union == 0 else int((a & b).sum()) / union)
    return result


@st.composite
def label_maps(draw):
    num_classes = draw(st.integers(1, 6))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    size = math.prod(shape)
    target = draw(st.lists(st.integers(0, num_classes - 1), min_size=size, max_size=size))
    prediction = draw(st.lists(st.integers(0, num_classes - 1), min_size=size, max_size=size))
    ignore_index = draw(st.sampled_from([None, 255, num_classes - 1]))
    if ignore_index is not None:
        ignored = draw(st.lists(st.booleans(), min_size=size, max_size=size))
        target = [ignore_index if i else t for t, i in zip(target, ignored, strict=True)]
    return (
        torch.tensor(prediction).reshape(shape),
        torch.tensor(target).reshape(shape),
        num_classes,
        ignore_index,
    )


@settings(max_examples=60, deadline=None)
@given(label_maps())
def test_confusion_and_iou_match_loops(case):
    prediction, target, num_classes, ignore_index = case
    confusion = confusion_matrix(prediction, target, num_classes, ignore_index)
    assert confusion.dtype == torch.int64
    np.testing.assert_array_equal(
        confusion.numpy(), _confusion_loop(prediction.numpy(), target.numpy(), num_classes, ignore_index)
    )
    iou = per_class_iou(prediction, target, num_classes, ignore_index)
    expected = _iou_loop(prediction.numpy(), target.numpy(), num_classes, ignore_index)
    assert iou.dtype == torch.float64 and iou.shape == (num_classes,)
    np.testing.assert_allclose(iou.numpy(), np.array(expected), equal_nan=True)
    defined = [v for v in expected if not math.isnan(v)]
    m = float(mean_iou(prediction, target, num_classes, ignore_index))
    if defined:
        assert m == pytest.approx(sum(defined) / len(defined))
    else:
        assert math.isnan(m)


def test_confusion_docstring_example_by_hand():
    # rows = truth, columns = prediction: (t=0, p=0), (t=1, p=1), (t=0, p=1)
    confusion = confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), 2)
    assert confusion.tolist() == [[1, 1], [0, 1]]


def test_iou_of_known_masks():
    target = torch.zeros(10, 10, dtype=torch.long)
    target[2:6, 2:6] = 1  # 16 pixels
    prediction = torch.zeros(10, 10, dtype=torch.long)
    prediction[4:8, 4:8] = 1  # 16 pixels, overlap 2×2 = 4
    iou = per_class_iou(prediction, target, 3)
    assert float(iou[1]) == pytest.approx(4 / (16 + 16 - 4))
    # background: ∩ = pixels fg in neither (100 − 28), ∪ = pixels not fg in both (100 − 4)
    assert float(iou[0]) == pytest.approx((100 - 28) / (100 - 4))
    assert math.isnan(float(iou[2]))  # absent from both
    assert float(mean_iou(prediction, target, 3)) == pytest.approx((float(iou[0]) + float(iou[1])) / 2)


def test_class_only_predicted_has_zero_iou_not_nan():
    target = torch.tensor([0, 0, 0, 0])
    prediction = torch.tensor([0, 0, 2, 2])
    iou = per_class_iou(prediction, target, 3)
    assert iou.tolist()[0] == pytest.approx(0.5)
    assert math.isnan(iou.tolist()[1])
    assert iou.tolist()[2] == 0.0


def test_ignore_index_pixels_do_not_count_even_with_any_prediction():
    target = torch.tensor([[0, 1, 255], [255, 1, 0]], dtype=torch.uint8)
    prediction = torch.tensor([[0, 1, 1], [0, 0, 0]])
    confusion = confusion_matrix(prediction, target, 2, ignore_index=255)
    assert confusion.tolist() == [[2, 0], [1, 1]]
    assert confusion.sum() == 4
    # An ignore_index inside [0, C) drops that class's pixels too.
    assert confusion_matrix(prediction, target.long().clamp_max(1), 2, ignore_index=1).tolist() == [
        [2, 0],
        [0, 0],
    ]


def test_all_ignored_gives_zero_matrix_and_nan_iou():
    target = torch.full((3, 3), 255)
    prediction = torch.zeros(3, 3, dtype=torch.long)
    assert confusion_matrix(prediction, target, 2, ignore_index=255).sum() == 0
    assert bool(per_class_iou(prediction, target, 2, ignore_index=255).isnan().all())
    assert math.isnan(float(mean_iou(prediction, target, 2, ignore_index=255)))


def test_iou_from_confusion_formula():
    confusion = torch.tensor([[5, 1, 0], [2, 3, 0], [0, 0, 0]])
    iou = iou_from_confusion(confusion)
    assert iou[0] == pytest.approx(5 / (5 + 1 + 2))
    assert iou[1] == pytest.approx(3 / (3 + 2 + 1))
    assert math.isnan(float(iou[2]))


def test_perfect_prediction_has_iou_one():
    target = torch.randint(0, 4, (2, 7, 7), generator=torch.Generator().manual_seed(0))
    iou = per_class_iou(target, target, 5)
    present = torch.bincount(target.reshape(-1), minlength=5) > 0
    assert bool((iou[present] == 1).all()) and bool(iou[~present].isnan().all())
    assert float(mean_iou(target, target, 5)) == 1.0


def test_bool_masks_are_accepted():
    target = torch.tensor([True, True, False, False])
    prediction = torch.tensor([True, False, False, True])
    assert per_class_iou(prediction, target, 2).tolist() == pytest.approx([1 / 3, 1 / 3])


@pytest.mark.parametrize(
    ("confusion", "error", "message"),
    [
        (torch.tensor([[3, -1], [0, 2]]), ValueError, "non-negative"),
        (torch.tensor([[1.0, float("nan")], [0.0, 2.0]]), ValueError, "finite"),
        (torch.tensor([[1.0, float("inf")], [0.0, 2.0]]), ValueError, "finite"),
        (torch.ones(2, 2, dtype=torch.complex64), TypeError, "real counts"),
    ],
)
def test_iou_from_confusion_rejects_impossible_counts(confusion, error, message):
    with pytest.raises(error, match=message):
        iou_from_confusion(confusion)


def test_iou_from_confusion_accepts_float_weights():
    iou = iou_from_confusion(torch.tensor([[1.5, 0.5], [0.0, 2.0]]))
    torch.testing.assert_close(iou, torch.tensor([1.5 / 2.0, 2.0 / 2.5], dtype=torch.float64))
