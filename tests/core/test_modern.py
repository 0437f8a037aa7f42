"""Modern PyTorch: torch.func transforms, torch.compile, autocast and channels_last inputs."""

from __future__ import annotations

import pytest
import torch

from lovasz_core import (
    LovaszHingeLoss,
    LovaszSoftmaxLoss,
    lovasz_hinge,
    lovasz_sigmoid,
    lovasz_softmax,
)

B, C, S = 2, 4, 6


def _inputs(dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, C, S, S, generator=gen, dtype=dtype)
    labels = torch.randint(0, C - 1, (B, S, S), generator=gen)  # class C − 1 absent
    labels[0, 0] = 255
    binary = torch.randint(0, 2, (B, S, S), generator=gen)
    binary[1, :2] = 255
    return logits, labels, binary


def _autograd(fn, x):
    leaf = x.detach().clone().requires_grad_(True)
    value = fn(leaf)
    (grad,) = torch.autograd.grad(value, leaf)
    return value.detach(), grad


def _losses(labels, binary):
    """(name, fn(logits [B, C, S, S]) -> 0-d loss) for every loss and a few options."""
    return {
        "softmax present": lambda x: lovasz_softmax(torch.softmax(x, 1), labels, ignore=255),
        "softmax all per image": lambda x: lovasz_softmax(torch.softmax(x, 1), labels, "all", True, 255),
        "softmax list weighted": lambda x: lovasz_softmax(
            torch.softmax(x, 1), labels, [0, 3], ignore=255, class_weights=[1.0, 2.0, 3.0, 4.0]
        ),
        "hinge": lambda x: lovasz_hinge(x[:, 0], binary, ignore=255),
        "hinge pooled": lambda x: lovasz_hinge(x[:, 0], binary, False, 255),
        "sigmoid": lambda x: lovasz_sigmoid(x, (x.detach() > 0.3).long()),
    }


_, _LABELS, _BINARY = _inputs()
NAMES = list(_losses(_LABELS, _BINARY))


@pytest.mark.parametrize("name", NAMES)
def test_func_grad_equals_autograd(name):
    logits, labels, binary = _inputs()
    fn = _losses(labels, binary)[name]
    value, grad = _autograd(fn, logits)
    torch.testing.assert_close(torch.func.grad(fn)(logits), grad)
    grad_and_value = torch.func.grad_and_value(fn)(logits)
    torch.testing.assert_close(grad_and_value[1], value)


@pytest.mark.parametrize("name", ["softmax present", "softmax all per image", "hinge"])
def test_vmap_over_a_batch_of_losses(name):
    logits, labels, binary = _inputs()
    fn = _losses(labels, binary)[name]
    stack = torch.stack([logits, logits * 2, -logits])
    values = torch.vmap(fn)(stack)
    grads = torch.vmap(torch.func.grad(fn))(stack)
    for k in range(3):
        value, grad = _autograd(fn, stack[k])
        torch.testing.assert_close(values[k], value)
        torch.testing.assert_close(grads[k], grad)


def _compiled_matches_eager(fn, logits, backend):
    compiled = torch.compile(fn, fullgraph=True, backend=backend)
    value, grad = _autograd(fn, logits)
    compiled_value, compiled_grad = _autograd(compiled, logits)
    torch.testing.assert_close(compiled_value, value)
    torch.testing.assert_close(compiled_grad, grad)


@pytest.mark.parametrize("name", ["softmax present", "softmax list weighted", "hinge pooled"])
def test_compile_fullgraph_equals_eager(name):
    torch._dynamo.reset()
    logits, labels, binary = _inputs(torch.float32)
    _compiled_matches_eager(_losses(labels, binary)[name], logits, "aot_eager")


def test_compile_fullgraph_of_modules_in_a_model():
    torch._dynamo.reset()
    logits, labels, binary = _inputs(torch.float32)

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = torch.nn.Conv2d(C, C, 1)
            self.softmax_loss = LovaszSoftmaxLoss(ignore_index=255, per_image=True)
            self.hinge_loss = LovaszHingeLoss(ignore_index=255)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.head(x)
            return self.softmax_loss(out, labels) + self.hinge_loss(out[:, :1], binary)

    model = Model()
    _compiled_matches_eager(model, logits, "aot_eager")


def test_compile_with_the_inductor_backend():
    torch._dynamo.reset()
    logits, labels, _ = _inputs(torch.float32)
    criterion = LovaszSoftmaxLoss(ignore_index=255)
    _compiled_matches_eager(lambda x: criterion(x, labels), logits, "inductor")


def test_autocast_bfloat16_on_the_cpu():
    logits, labels, _ = _inputs(torch.float32)
    criterion = LovaszSoftmaxLoss(ignore_index=255)
    conv = torch.nn.Conv2d(C, C, 1)
    leaf = logits.clone().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        scores = conv(leaf)
        assert scores.dtype == torch.bfloat16
        value = criterion(scores, labels)
    assert value.dtype == torch.float32
    value.backward()
    # The same loss on the same bfloat16 scores outside autocast.
    expected = criterion(scores.detach().float(), labels)
    torch.testing.assert_close(value.detach(), expected, rtol=1e-2, atol=1e-3)
    assert leaf.grad is not None and bool(torch.isfinite(leaf.grad).all())


@pytest.mark.parametrize("per_image", [False, True])
def test_channels_last_inputs(per_image):
    logits, labels, binary = _inputs(torch.float32)
    fast = logits.to(memory_format=torch.channels_last)
    assert not fast.is_contiguous()
    for fn in (
        lambda x: LovaszSoftmaxLoss(ignore_index=255, per_image=per_image)(x, labels),
        lambda x: lovasz_sigmoid(x, (logits > 0).long(), per_image),
        lambda x: lovasz_hinge(x[:, :1], binary, per_image, 255),
    ):
        value, grad = _autograd(fn, fast)
        expected_value, expected_grad = _autograd(fn, logits)
        assert torch.equal(value, expected_value)
        torch.testing.assert_close(grad, expected_grad, rtol=0, atol=0)
