"""Baseline losses and the registry: formulas written out directly, gradients, edge cases."""

from __future__ import annotations

import pytest
import torch

from lovasz_core import lovasz_softmax
from lovasz_core.lab import LOSSES, get_loss
from lovasz_core.lab.baselines import cross_entropy, dice, focal, soft_jaccard
from lovasz_core.lab.registry import cross_entropy_plus_lovasz, lovasz_softmax_from_logits


def _problem(batch=2, num_classes=4, spatial=(5, 6), seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, num_classes, *spatial, generator=gen, dtype=dtype)
    labels = torch.randint(0, num_classes, (batch, *spatial), generator=gen)
    return logits, labels


def _pixels(logits, labels, ignore_index=None):
    """Probabilities [P, C] and labels [P] of the valid pixels, pixel by pixel."""
    num_classes = logits.shape[1]
    probas = torch.softmax(logits, 1).movedim(1, -1).reshape(-1, num_classes)
    flat = labels.reshape(-1)
    keep = torch.ones_like(flat, dtype=torch.bool) if ignore_index is None else flat != ignore_index
    return probas[keep], flat[keep]


def test_registry_keys_and_get_loss():
    assert set(LOSSES) == {"cross_entropy", "lovasz_softmax", "ce_lovasz", "soft_jaccard", "dice", "focal"}
    for key, spec in LOSSES.items():
        assert spec.key == key and spec.label and spec.summary
        assert get_loss(key) is spec.fn


@pytest.mark.parametrize("key", sorted(LOSSES))
@pytest.mark.parametrize("ignore_index", [None, 255])
@pytest.mark.parametrize("spatial", [(7,), (4, 5), (2, 3, 4)])
def test_every_loss_is_a_finite_scalar_with_finite_gradients(key, ignore_index, spatial):
    logits, labels = _problem(spatial=spatial, dtype=torch.float32)
    if ignore_index is not None:
        labels.view(-1)[::3] = ignore_index
    logits.requires_grad_()
    value = get_loss(key)(logits, labels, ignore_index=ignore_index)
    assert value.dim() == 0 and bool(torch.isfinite(value))
    assert float(value.detach()) >= 0.0
    value.backward()
    assert logits.grad is not None and bool(torch.isfinite(logits.grad).all())
    assert bool((logits.grad != 0).any())
    if ignore_index is not None:  # ignored pixels get no gradient
        assert bool((logits.grad.movedim(1, -1)[labels == ignore_index] == 0).all())


@pytest.mark.parametrize("key", sorted(LOSSES))
def test_every_loss_with_all_pixels_ignored_is_zero(key):
    logits, labels = _problem()
    labels.fill_(255)
    logits.requires_grad_()
    value = get_loss(key)(logits, labels, ignore_index=255)
    assert value.dim() == 0 and float(value.detach()) == 0.0
    value.backward()
    assert bool((logits.grad == 0).all())


@pytest.mark.parametrize("ignore_index", [None, 255, 1])
def test_cross_entropy_is_mean_negative_log_probability(ignore_index):
    logits, labels = _problem()
    if ignore_index == 255:
        labels[0, :2] = 255
    probas, kept = _pixels(logits, labels, ignore_index)
    expected = -torch.log(probas[torch.arange(len(kept)), kept]).mean()
    torch.testing.assert_close(cross_entropy(logits, labels, ignore_index), expected)


@pytest.mark.parametrize("ignore_index", [None, 255])
def test_cross_entropy_gradient_is_p_minus_onehot_over_p(ignore_index):
    logits, labels = _problem(num_classes=3)
    if ignore_index is not None:
        labels[1, 1:3] = 255
    logits.requires_grad_()
    cross_entropy(logits, labels, ignore_index).backward()
    valid = labels != 255
    count = int(valid.sum())
    probas = torch.softmax(logits.detach(), 1)
    onehot = torch.nn.functional.one_hot(labels.clamp_max(2), 3).movedim(-1, 1).to(probas.dtype)
    expected = (probas - onehot) / count * valid.unsqueeze(1)
    torch.testing.assert_close(logits.grad, expected)


def test_lovasz_entry_is_lovasz_softmax_of_softmax():
    logits, labels = _problem()
    labels[0, 0] = 255
    for ignore_index in (None, 255):
        lab = labels if ignore_index else labels.clamp_max(3)
        expected = lovasz_softmax(torch.softmax(logits, 1), lab, ignore_index=ignore_index)
        torch.testing.assert_close(
            LOSSES["lovasz_softmax"].fn(logits, lab, ignore_index=ignore_index), expected
        )
        torch.testing.assert_close(lovasz_softmax_from_logits(logits, lab, ignore_index), expected)


def test_ce_lovasz_is_the_sum_and_weight_scales_lovasz():
    logits, labels = _problem()
    logits.requires_grad_()
    total = get_loss("ce_lovasz")(logits, labels)
    (g_total,) = torch.autograd.grad(total, logits)
    ce = cross_entropy(logits, labels)
    lov = lovasz_softmax_from_logits(logits, labels)
    (g_ce,) = torch.autograd.grad(ce, logits)
    (g_lov,) = torch.autograd.grad(lov, logits)
    torch.testing.assert_close(total, ce + lov)
    torch.testing.assert_close(g_total, g_ce + g_lov)
    torch.testing.assert_close(cross_entropy_plus_lovasz(logits, labels, weight=0.25), ce + 0.25 * lov)


def _region_terms(logits, labels, ignore_index=None):
    probas, kept = _pixels(logits, labels, ignore_index)
    num_classes = logits.shape[1]
    terms = []
    for c in range(num_classes):
        y = (kept == c).to(probas.dtype)
        if y.sum() == 0:
            continue
        p = probas[:, c]
        terms.append(((p * y).sum(), p.sum(), y.sum()))
    return terms


@pytest.mark.parametrize("ignore_index", [None, 255])
def test_soft_jaccard_and_dice_against_direct_formulas(ignore_index):
    logits, labels = _problem(num_classes=5)
    labels = labels.clamp_max(3)  # class 4 absent: left out of the mean
    if ignore_index is not None:
        labels[:, 0] = 255
    terms = _region_terms(logits, labels, ignore_index)
    s = 1.0
    jaccard = torch.stack([1 - (i + s) / (p + y - i + s) for i, p, y in terms]).mean()
    dice_ = torch.stack([1 - (2 * i + s) / (p + y + s) for i, p, y in terms]).mean()
    torch.testing.assert_close(soft_jaccard(logits, labels, ignore_index), jaccard)
    torch.testing.assert_close(dice(logits, labels, ignore_index), dice_)


def test_focal_against_direct_formula_and_gamma_zero_is_cross_entropy():
    logits, labels = _problem()
    labels[0, 0, :3] = 255
    probas, kept = _pixels(logits, labels, 255)
    pt = probas[torch.arange(len(kept)), kept]
    expected = (-((1 - pt) ** 2) * torch.log(pt)).mean()
    torch.testing.assert_close(focal(logits, labels, 255), expected)
    torch.testing.assert_close(focal(logits, labels, 255, gamma=0.0), cross_entropy(logits, labels, 255))


def test_perfect_confident_prediction_costs_almost_nothing():
    labels = torch.randint(0, 3, (2, 6, 6), generator=torch.Generator().manual_seed(1))
    logits = torch.nn.functional.one_hot(labels, 3).movedim(-1, 1).double() * 50.0
    for key in LOSSES:
        value = float(get_loss(key)(logits, labels))
        assert value < 0.05, key  # soft Jaccard/Dice keep a small smoothing term
