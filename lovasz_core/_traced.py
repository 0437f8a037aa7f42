"""The losses' path under ``torch.compile`` and ``torch.func`` transforms.

The eager path (:mod:`lovasz_core.losses`) computes the gradient inside a custom
``autograd.Function`` and sorts with NumPy in place, which neither a compiler nor a functorch
transform can look through. Here the errors are computed with ordinary differentiable torch ops
and the per-group extension Σ_i m_π(i) g_i comes from:

* under ``torch.compile``: the custom op ``lovasz_core::lovasz_groups`` (the fast kernel, with a
  fake implementation for tracing and its gradient registered with ``register_autograd``);
* under ``torch.func`` transforms (``grad``, ``vmap``, ...): plain torch ops (sort, gather,
  cumsum), differentiable and batchable like any other.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._kernel import lovasz_kernel
from .extension import _jaccard_differences, _prefix_counts

__all__ = ["is_traced", "lovasz_groups"]


def is_traced(*tensors: Tensor) -> bool:
    """True under ``torch.compile`` tracing or inside a ``torch.func`` transform."""
    if torch.compiler.is_compiling():
        return True
    functorch = torch._C._functorch
    return functorch.maybe_current_level() is not None or any(
        functorch.is_functorch_wrapped_tensor(t) for t in tensors
    )


@torch.library.custom_op("lovasz_core::lovasz_groups", mutates_args=())
def _lovasz_groups_op(errors: Tensor, fg: Tensor) -> tuple[Tensor, Tensor]:
    """Extension of each group ``[G]`` and its gradient w.r.t. the errors ``[G, N]`` (g in place).

    ``errors`` ``[G, N]`` >= 0 and ``fg`` ``[G, N]`` 0/1, float32 or float64, same dtype.
    """
    work_errors = errors.detach().abs().contiguous()  # a copy; abs turns −0.0 into +0.0
    work_fg = fg.detach().to(errors.dtype).contiguous().clone()
    signs = 1.0 - 2.0 * work_fg  # the kernel's gradient carries −1 on fg, +1 on bg
    ones = torch.ones(errors.shape[0], dtype=errors.dtype, device=errors.device)
    loss, grad = lovasz_kernel([work_errors, work_fg], ones)
    return loss, grad.mul_(signs)


@_lovasz_groups_op.register_fake
def _lovasz_groups_fake(errors: Tensor, fg: Tensor) -> tuple[Tensor, Tensor]:  # noqa: ARG001
    return errors.new_empty(errors.shape[:1]), torch.empty_like(errors)


def _setup_context(
    ctx: torch.autograd.function.FunctionCtx,
    inputs: tuple[Tensor, Tensor],  # noqa: ARG001
    output: tuple[Tensor, Tensor],
) -> None:
    ctx.save_for_backward(output[1])


def _backward(
    ctx: torch.autograd.function.FunctionCtx,
    grad_loss: Tensor,
    grad_weights: Tensor,  # noqa: ARG001
) -> tuple[Tensor, None]:
    (weights,) = ctx.saved_tensors  # type: ignore[attr-defined]
    return grad_loss.unsqueeze(1) * weights, None


_lovasz_groups_op.register_autograd(_backward, setup_context=_setup_context)


def _plain_groups(errors: Tensor, fg: Tensor) -> Tensor:
    """Σ_i m_π(i) g_i per row of ``[G, N]`` with torch ops only (differentiable through sort)."""
    errors_sorted, order = torch.sort(errors, dim=-1, descending=True, stable=True)
    fg_sorted = fg.gather(-1, order)
    grad = _jaccard_differences(*_prefix_counts(fg_sorted)).to(errors.dtype)
    return (errors_sorted * grad).sum(-1)


def lovasz_groups(errors: Tensor, fg: Tensor) -> Tensor:
    """Lovász extension of each row of ``errors`` ``[G, N]`` (>= 0) for 0/1 ``fg``: ``[G]``,
    differentiable w.r.t. ``errors`` under ``torch.compile`` and ``torch.func`` alike."""
    if torch.compiler.is_compiling():
        loss: Tensor = _lovasz_groups_op(errors, fg)[0]
        return loss
    return _plain_groups(errors, fg)
