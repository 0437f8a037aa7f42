"""Drop-in use in real training code: the reference code's names and the inputs users pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lovasz_core import (
    LovaszHingeLoss,
    LovaszSoftmaxLoss,
    lovasz_hinge,
    lovasz_hinge_flat,
    lovasz_sigmoid,
    lovasz_softmax,
    lovasz_softmax_flat,
    mean_iou,
    per_class_iou,
)
from tests.core.reference import lovasz_hinge_ref, lovasz_softmax_ref


def _problem(batch=2, classes=4, side=5, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    probas = torch.softmax(torch.randn(batch, classes, side, side, generator=gen, dtype=dtype), 1)
    labels = torch.randint(0, classes, (batch, side, side), generator=gen)
    labels[0, 0] = 255
    return probas, labels


def _value_and_grad(fn, x):
    leaf = x.detach().clone().requires_grad_(True)
    value = fn(leaf)
    (grad,) = torch.autograd.grad(value, leaf)
    return value.detach(), grad


def test_ignore_is_the_reference_name_of_ignore_index():
    probas, labels = _problem()
    expected = lovasz_softmax(probas, labels, ignore_index=255)
    assert torch.equal(lovasz_softmax(probas, labels, ignore=255), expected)
    logits = torch.randn(2, 5, 5, dtype=torch.float64)
    binary = (labels % 2).masked_fill(labels == 255, 255)
    assert torch.equal(lovasz_hinge(logits, binary, ignore=255), lovasz_hinge(logits, binary, True, 255))
    multilabel = torch.randint(0, 2, (2, 3, 4, 4))
    multilabel[0, 0, 0] = 255
    scores = torch.randn(2, 3, 4, 4)
    assert torch.equal(
        lovasz_sigmoid(scores, multilabel, ignore=255), lovasz_sigmoid(scores, multilabel, False, 255)
    )
    for call in (
        lambda: lovasz_softmax(probas, labels, ignore_index=255, ignore=255),
        lambda: lovasz_softmax(probas, labels, "present", False, 255, ignore=0),
        lambda: lovasz_hinge(logits, binary, ignore_index=255, ignore=255),
        lambda: lovasz_sigmoid(scores, multilabel, ignore_index=255, ignore=255),
    ):
        with pytest.raises(TypeError, match="`ignore_index` or `ignore`"):
            call()


@settings(max_examples=30, deadline=None)
@given(
    pixels=st.integers(1, 30),
    classes=st.integers(2, 5),
    mode=st.sampled_from(["present", "all", "list"]),
    seed=st.integers(0, 10_000),
)
def test_softmax_flat_is_the_reference_flat_loss(pixels, classes, mode, seed):
    gen = torch.Generator().manual_seed(seed)
    probas = torch.softmax(torch.randn(pixels, classes, generator=gen, dtype=torch.float64), 1)
    labels = torch.randint(0, classes, (pixels,), generator=gen)
    chosen = torch.randint(0, classes, (3,), generator=gen).tolist() if mode == "list" else mode
    value, grad = _value_and_grad(lambda p: lovasz_softmax_flat(p, labels, chosen), probas)

    def reference(p):  # the reference loop over a list: a class listed k times is averaged k times
        pooled = (p.t()[None], labels[None])
        if mode != "list":
            return lovasz_softmax_ref(*pooled, chosen)
        return sum(lovasz_softmax_ref(*pooled, [c]) for c in chosen) / len(chosen)

    ref_value, ref_grad = _value_and_grad(reference, probas)
    torch.testing.assert_close(value, ref_value)
    torch.testing.assert_close(grad, ref_grad)


def test_flat_losses_of_no_pixel_are_zero_with_zero_gradient():
    probas = torch.zeros(0, 3, requires_grad=True)
    value = lovasz_softmax_flat(probas, torch.zeros(0, dtype=torch.long))
    value.backward()
    assert value.dim() == 0 and float(value.detach()) == 0.0
    logits = torch.zeros(0, requires_grad=True)
    value = lovasz_hinge_flat(logits, torch.zeros(0, dtype=torch.long))
    value.backward()
    assert value.dim() == 0 and float(value.detach()) == 0.0


def test_hinge_flat_is_the_reference_flat_loss():
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(40, generator=gen, dtype=torch.float64) * 2
    labels = torch.randint(0, 2, (40,), generator=gen)
    value, grad = _value_and_grad(lambda x: lovasz_hinge_flat(x, labels), logits)
    ref_value, ref_grad = _value_and_grad(lambda x: lovasz_hinge_ref(x[None], labels[None], False), logits)
    torch.testing.assert_close(value, ref_value)
    torch.testing.assert_close(grad, ref_grad)


def test_flat_losses_check_their_shapes():
    with pytest.raises(ValueError, match="`probas`"):
        lovasz_softmax_flat(torch.rand(2, 3, 4), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="`labels`"):
        lovasz_softmax_flat(torch.rand(5, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="`logits`"):
        lovasz_hinge_flat(torch.rand(5, 1), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="`labels`"):
        lovasz_hinge_flat(torch.rand(5), torch.zeros(4, dtype=torch.long))


def test_softmax_labels_with_a_channel_of_one_and_whole_float_labels():
    probas, labels = _problem()
    expected = lovasz_softmax(probas, labels, ignore_index=255)
    assert torch.equal(lovasz_softmax(probas, labels.unsqueeze(1), ignore_index=255), expected)
    assert torch.equal(lovasz_softmax(probas, labels.float(), ignore_index=255), expected)
    assert torch.equal(lovasz_softmax(probas, labels.double().unsqueeze(1), ignore_index=255), expected)
    logits = torch.randn(2, 4, 5, 5)
    criterion = LovaszSoftmaxLoss(ignore_index=255)
    assert torch.equal(criterion(logits, labels.unsqueeze(1).float()), criterion(logits, labels))
    binary = (labels % 2).masked_fill(labels == 255, 255)
    assert torch.equal(
        LovaszHingeLoss(ignore_index=255)(logits[:, 0], binary.float()),
        lovasz_hinge(logits[:, 0], binary, ignore=255),
    )
    with pytest.raises(ValueError, match="`labels` must hold class indices"):
        lovasz_softmax(probas, labels.float() + 0.5, ignore_index=255)
    with pytest.raises(ValueError, match="`labels`"):
        lovasz_softmax(probas, labels.float().masked_fill(labels == 1, float("inf")), ignore_index=255)


def test_repeated_class_counts_once_and_class_weights_are_the_other_way():
    probas, labels = _problem()
    once = lovasz_softmax(probas, labels, [0, 1], ignore_index=255)
    assert torch.equal(lovasz_softmax(probas, labels, [0, 0, 1], ignore_index=255), once)
    # The reference loop averages over the list as given: [0, 0, 1] weighs class 0 twice.
    twice = lovasz_softmax(probas, labels, [0, 1], ignore_index=255, class_weights=[2.0, 1.0, 0.0, 0.0])
    flat_probas = probas.movedim(1, -1)[labels != 255]
    flat_labels = labels[labels != 255]
    torch.testing.assert_close(lovasz_softmax_flat(flat_probas, flat_labels, [0, 0, 1]), twice)


@pytest.mark.parametrize("size", [1e-31, 1e-20, 1.0, 7.0, 1e20, 3e38])
def test_equal_class_weights_of_any_size_give_the_plain_mean(size):
    probas, labels = _problem(dtype=torch.float32)
    plain = lovasz_softmax(probas, labels, "all", ignore_index=255)
    weighted = lovasz_softmax(probas, labels, "all", ignore_index=255, class_weights=[size] * 4)
    assert float(weighted) == float(plain)


@pytest.mark.parametrize(
    "labels_dtype,ignore_index",
    [(torch.uint8, 256), (torch.uint8, -1), (torch.int32, 2**32), (torch.int8, 255), (torch.int64, 2**70)],
)
def test_an_ignore_index_the_labels_cannot_hold_ignores_nothing(labels_dtype, ignore_index):
    probas, labels = _problem(dtype=torch.float32)
    labels = labels.clamp_max(3)
    expected = lovasz_softmax(probas, labels)
    assert float(lovasz_softmax(probas, labels.to(labels_dtype), ignore_index=ignore_index)) == float(
        expected
    )


def test_int8_minus_one_is_not_ignored_under_255():
    probas, labels = _problem(dtype=torch.float32)
    labels = labels.clamp_max(3).to(torch.int8)
    labels[0, 0, 0] = -1
    with pytest.raises(ValueError, match=r"`labels` must hold class indices in \[0, 3\]"):
        lovasz_softmax(probas, labels, ignore_index=255)


def _layouts():
    gen = torch.Generator().manual_seed(7)
    yield "transposed 2-D", torch.randn(4, 6, generator=gen).t(), torch.randint(0, 2, (6, 4), generator=gen)
    batch_last = torch.randn(5, 5, 3, generator=gen).permute(2, 0, 1)
    yield "batch-last permute", batch_last, torch.randint(0, 2, (3, 5, 5), generator=gen)
    yield "strided slice", torch.randn(3, 10, 10, generator=gen)[:, ::2, ::3], torch.randint(0, 2, (3, 5, 4))


@pytest.mark.parametrize("name,logits,labels", list(_layouts()), ids=[n for n, *_ in _layouts()])
@pytest.mark.parametrize("per_image", [True, False])
def test_hinge_takes_any_strides(name, logits, labels, per_image):
    value, grad = _value_and_grad(lambda x: lovasz_hinge(x, labels, per_image), logits)
    ref_value, ref_grad = _value_and_grad(lambda x: lovasz_hinge(x, labels, per_image), logits.contiguous())
    assert torch.equal(value, ref_value) and torch.equal(grad, ref_grad)
    expected = lovasz_hinge_ref(logits.double(), labels, per_image)
    torch.testing.assert_close(value.double(), expected, rtol=1e-5, atol=1e-6)


def test_per_image_accepts_numpy_bools():
    probas, labels = _problem()
    assert torch.equal(
        lovasz_softmax(probas, labels, "present", np.bool_(True), 255),
        lovasz_softmax(probas, labels, "present", True, 255),
    )


def test_mean_iou_leaves_out_the_ignored_class():
    preds = torch.tensor([0, 1, 1, 2, 0, 2])
    target = torch.tensor([0, 1, 2, 2, 1, 0])
    iou = per_class_iou(preds, target, 3, ignore_index=0)
    assert torch.isnan(iou[0]) and iou[1:].tolist() == pytest.approx([1 / 3, 1 / 2])
    assert float(mean_iou(preds, target, 3, ignore_index=0)) == pytest.approx(5 / 12)
    # An ignore index outside [0, C) only drops pixels.
    assert not torch.isnan(per_class_iou(preds, target.masked_fill(target == 0, 255), 3, 255)[0])
