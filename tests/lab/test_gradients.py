"""Tests of lovasz_core.lab.gradients: autograd maps, the CE closed form, per-class push, the sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lovasz_core.lab.gradients import (
    boundary_mask,
    class_push,
    gradient_maps,
    logit_gradient,
    pixel_magnitude,
    push_vs_size,
    synthetic_case,
)
from lovasz_core.lab.registry import LOSSES


def test_cross_entropy_gradient_is_p_minus_onehot_over_P():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    labels = torch.randint(0, 3, (2, 5, 4))
    value, grad = logit_gradient("cross_entropy", logits, labels)
    pixels = labels.numel()
    one_hot = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).to(torch.float64)
    expected = (torch.softmax(logits, 1) - one_hot) / pixels
    torch.testing.assert_close(grad, expected)
    assert value == pytest.approx(float(torch.nn.functional.cross_entropy(logits, labels)))


@pytest.mark.parametrize("key", list(LOSSES))
def test_maps_equal_autograd_of_the_registered_loss(key):
    case = synthetic_case(size=16, small_radius=2.0, quality=0.4, blur=1.0, seed=1)
    value, grad = logit_gradient(key, case.logits, case.labels)
    z = case.logits.clone().requires_grad_(True)
    LOSSES[key].fn(z, case.labels).backward()
    torch.testing.assert_close(grad, z.grad)
    assert grad.shape == case.logits.shape and not case.logits.requires_grad
    assert value == pytest.approx(float(LOSSES[key].fn(case.logits, case.labels)))


def test_lovasz_gradient_passes_gradcheck_direction():
    """A small step against the Lovász gradient lowers the loss (the map points the right way)."""
    case = synthetic_case(size=16, small_radius=2.0, quality=0.3, blur=1.0, seed=2)
    value, grad = logit_gradient("lovasz_softmax", case.logits, case.labels)
    lower, _ = logit_gradient("lovasz_softmax", case.logits - 1e-2 * grad / grad.norm(), case.labels)
    assert lower < value


def test_softmax_gradients_sum_to_zero_over_classes():
    case = synthetic_case(size=16, small_radius=2.0, seed=3)
    for _, grad in gradient_maps(case.logits, case.labels, ["cross_entropy", "lovasz_softmax"]).values():
        torch.testing.assert_close(grad.sum(1), torch.zeros_like(grad.sum(1)), atol=1e-12, rtol=0)


def test_class_push_and_magnitude():
    grad = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
    grad[0, :, 0, 0] = torch.tensor([0.3, -0.3])
    grad[0, :, 1, 1] = torch.tensor([-0.1, 0.1])
    labels = torch.tensor([[[0, 1], [1, 1]]])
    torch.testing.assert_close(class_push(grad, labels, 2), torch.tensor([0.6, 0.2], dtype=torch.float64))
    mags = pixel_magnitude(grad)
    assert mags.shape == (1, 2, 2)
    assert float(mags[0, 0, 0]) == pytest.approx(0.3 * 2**0.5)


def test_boundary_mask():
    labels = np.zeros((5, 5), np.int64)
    labels[2, 2] = 1
    edge = boundary_mask(labels)
    assert edge.sum() == 5 and edge[2, 2] and edge[1, 2] and not edge[0, 0]


def test_small_class_gets_a_bigger_share_under_lovasz():
    sweep = push_vs_size([0.5, 1.0, 2.0, 4.0, 8.0], ["cross_entropy", "lovasz_softmax"], size=40)
    assert list(sweep["radius"]) == [1.0, 2.0, 4.0, 8.0], "a disk covering no pixel is skipped"
    assert np.all(np.diff(sweep["fraction"]) > 0)
    # CE: the share tracks the class's pixel fraction; Lovász: far larger for small objects
    assert np.all(sweep["lovasz_softmax"][:2] > 3 * sweep["cross_entropy"][:2])
    assert sweep["cross_entropy"][-1] > 5 * sweep["cross_entropy"][0]


def test_synthetic_case_quality_and_validation():
    good = synthetic_case(size=32, quality=1.0, blur=0.0)
    poor = synthetic_case(size=32, quality=0.0, blur=3.0)
    accuracy = [float((c.logits.argmax(1) == c.labels).double().mean()) for c in (good, poor)]
    assert accuracy[0] == 1.0 > accuracy[1]
    assert set(np.unique(good.mask)) == {0, 1, 2}
    with pytest.raises(ValueError, match="`small_radius`"):
        synthetic_case(size=16, small_radius=10)
    with pytest.raises(ValueError, match="`quality`"):
        synthetic_case(quality=2.0)
    with pytest.raises(ValueError, match="`loss_key`"):
        logit_gradient("hinge", good.logits, good.labels)
    with pytest.raises(TypeError, match="`logits`"):
        logit_gradient("dice", good.logits.numpy(), good.labels)
