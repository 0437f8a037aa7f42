"""Tests of lovasz_core.lab.models: shapes, size, seeding, validation."""

from __future__ import annotations

import pytest
import torch

from lovasz_core.lab.models import MODEL_NAMES, FreeLogits, TinyFCN, count_parameters, make_model


@pytest.mark.parametrize("kind", list(MODEL_NAMES))
def test_output_shape(kind):
    model = make_model(kind, in_channels=3, num_classes=4, size=24, seed=0)
    assert model(torch.rand(1, 3, 24, 24)).shape == (1, 4, 24, 24)


def test_tiny_net_has_a_few_thousand_parameters():
    model = make_model("tiny_fcn", 1, 2, 64)
    assert isinstance(model, TinyFCN)
    assert 1_000 <= count_parameters(model) <= 10_000


def test_free_logits_are_the_parameter():
    model = make_model("free_logits", 1, 3, 16)
    assert isinstance(model, FreeLogits)
    assert count_parameters(model) == 3 * 16 * 16
    torch.testing.assert_close(model(torch.zeros(1, 1, 16, 16)), model.logits)


@pytest.mark.parametrize("kind", list(MODEL_NAMES))
def test_seeded_and_global_rng_untouched(kind):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = make_model(kind, 1, 2, 16, seed=5)
    after = torch.rand(1)
    b = make_model(kind, 1, 2, 16, seed=5)
    c = make_model(kind, 1, 2, 16, seed=6)
    torch.testing.assert_close(before, after)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("resnet", 1, 2, 16), ValueError),
        ((1, 1, 2, 16), TypeError),
        (("tiny_fcn", 0, 2, 16), ValueError),
        (("tiny_fcn", 1, 1, 16), ValueError),
        (("tiny_fcn", 1, 2.0, 16), TypeError),
    ],
)
def test_validation(args, error):
    with pytest.raises(error):
        make_model(*args)
