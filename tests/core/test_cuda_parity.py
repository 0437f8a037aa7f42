"""CPU vs CUDA: the same values and gradients for every loss (skipped where CUDA is absent)."""

from __future__ import annotations

import pytest
import torch

from lovasz_core import (
    LovaszHingeLoss,
    LovaszSigmoidLoss,
    LovaszSoftmaxLoss,
    confusion_matrix,
    lovasz_grad,
    lovasz_hinge,
    lovasz_sigmoid,
    lovasz_softmax,
    lovasz_trace,
    per_class_iou,
)
from lovasz_core.lab import LOSSES

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available"),
]


def _problem(dtype, seed=0, batch=2, num_classes=5, spatial=(7, 9)):
    """Small enough that float32 rounding differences between devices are unlikely to swap two
    nearly tied errors (which would legitimately move Jaccard gradients between pixels)."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, num_classes, *spatial, generator=gen, dtype=torch.float64).to(dtype)
    labels = torch.randint(0, num_classes, (batch, *spatial), generator=gen)
    labels[0, :3] = 255
    labels[1] = labels[1].clamp_max(num_classes - 2)  # a class absent from image 1
    return logits, labels


def _softmax_calls():
    yield "softmax", lambda x, y: lovasz_softmax(torch.softmax(x, 1), y, ignore_index=255)
    yield "softmax_all_per_image", lambda x, y: lovasz_softmax(torch.softmax(x, 1), y, "all", True, 255)
    yield (
        "softmax_list_weights",
        lambda x, y: lovasz_softmax(
            torch.softmax(x, 1), y, [0, 2, 4], False, 255, class_weights=[1.0, 2.0, 3.0, 4.0, 0.5]
        ),
    )
    yield "module", lambda x, y: LovaszSoftmaxLoss(ignore_index=255)(x, y)
    yield "hinge", lambda x, y: lovasz_hinge(x[:, 0], y.remainder(2).masked_fill(y == 255, 255), True, 255)
    yield (
        "hinge_batch",
        lambda x, y: LovaszHingeLoss(per_image=False, ignore_index=255)(
            x[:, 0], y.remainder(2).masked_fill(y == 255, 255)
        ),
    )
    yield "sigmoid", lambda x, y: lovasz_sigmoid(x, (x.detach() > 0.3).long(), False)
    yield "sigmoid_module", lambda x, y: LovaszSigmoidLoss(per_image=True)(x, (x.detach() > -0.2).long())
    for key in sorted(LOSSES):
        yield f"registry_{key}", lambda x, y, _k=key: LOSSES[_k].fn(x, y, ignore_index=255)


CALLS = list(_softmax_calls())


def _run(fn, logits, labels, device):
    x = logits.detach().to(device).clone().requires_grad_()
    value = fn(x, labels.to(device))
    value.backward()
    return value.detach().cpu(), x.grad.cpu()


@pytest.mark.parametrize("name,fn", CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_cpu_cuda_parity(name, fn, dtype):
    logits, labels = _problem(dtype)
    cpu_value, cpu_grad = _run(fn, logits, labels, "cpu")
    gpu_value, gpu_grad = _run(fn, logits, labels, "cuda")
    tol = {"rtol": 1e-10, "atol": 1e-10} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-5}
    assert gpu_value.dtype == cpu_value.dtype
    torch.testing.assert_close(gpu_value, cpu_value, **tol)
    torch.testing.assert_close(gpu_grad, cpu_grad, **tol)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cpu_cuda_parity_half(dtype):
    # The same half-precision probabilities on both devices. Half values tie often and the two
    # sorts may break a tie differently, which legitimately moves g between tied pixels: compare
    # the loss (independent of the tie order) and the gradient's dtype, support and finiteness.
    logits, labels = _problem(torch.float32)
    probas = torch.softmax(logits, 1).to(dtype)
    values = {}
    for device in ("cpu", "cuda"):
        x = probas.to(device).requires_grad_()
        value = lovasz_softmax(x, labels.to(device), ignore_index=255)
        value.backward()
        assert value.dtype == torch.float32 and x.grad.dtype == dtype
        grad = x.grad.float().cpu()
        assert bool(torch.isfinite(grad).all())
        assert bool((grad.movedim(1, -1)[labels == 255] == 0).all())
        values[device] = value.detach().cpu()
    torch.testing.assert_close(values["cuda"], values["cpu"], rtol=1e-5, atol=1e-6)


def test_extension_and_metrics_parity():
    gen = torch.Generator().manual_seed(1)
    errors = torch.rand(50, generator=gen, dtype=torch.float64)
    fg = torch.rand(50, generator=gen) < 0.4
    cpu = lovasz_trace(errors, fg)
    gpu = lovasz_trace(errors.cuda(), fg.cuda())
    assert gpu.loss.device.type == "cuda"
    torch.testing.assert_close(gpu.loss.cpu(), cpu.loss)
    torch.testing.assert_close(gpu.weights.cpu(), cpu.weights)
    torch.testing.assert_close(lovasz_grad(fg.cuda()).cpu(), lovasz_grad(fg))
    pred = torch.randint(0, 4, (3, 9, 9), generator=gen)
    true = torch.randint(0, 4, (3, 9, 9), generator=gen)
    torch.testing.assert_close(
        confusion_matrix(pred.cuda(), true.cuda(), 4).cpu(), confusion_matrix(pred, true, 4)
    )
    torch.testing.assert_close(per_class_iou(pred.cuda(), true.cuda(), 4).cpu(), per_class_iou(pred, true, 4))


def test_all_ignored_on_cuda_is_zero():
    logits, labels = _problem(torch.float32)
    labels.fill_(255)
    x = logits.cuda().requires_grad_()
    value = lovasz_softmax(torch.softmax(x, 1), labels.cuda(), ignore_index=255, per_image=True)
    value.backward()
    assert value.device.type == "cuda" and float(value.detach()) == 0.0
    assert bool((x.grad == 0).all())
