"""The Lovász extension of the Jaccard loss, its gradient and a step-by-step trace.

Berman, Rannen Triki, Blaschko, "The Lovász-Softmax loss", CVPR 2018, §3.1 and Eq. (8)-(9):
sort the errors m in decreasing order (permutation π); with the ground truth sorted the same way,

    I_i = |F| − cumsum(fg)_i,   U_i = |F| + cumsum(1 − fg)_i,   Δ_i = 1 − I_i / U_i,
    g_i = Δ_i − Δ_{i−1}  (Δ_0 = 0),      loss = Σ_i m_{π(i)} g_i.

``g`` is the gradient of the extension with respect to the sorted errors (almost everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .validation import check_same_device, check_tensor

__all__ = ["LovaszTrace", "lovasz_grad", "lovasz_extension", "lovasz_trace", "jaccard_loss_of_set"]


def _accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; every other dtype (half, bfloat16, float32, ints) uses float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _prefix_jaccard(fg_sorted: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    """Intersection, union and Δ of every prefix; ``fg_sorted`` is [..., P] (bool/int/float)."""
    fg = fg_sorted.to(dtype)
    fg_cumsum = fg.cumsum(-1)
    total_fg = fg_cumsum[..., -1:]
    ranks = torch.arange(1, fg.shape[-1] + 1, device=fg.device, dtype=dtype)
    intersection = total_fg - fg_cumsum
    union = total_fg + ranks - fg_cumsum  # |F| + cumsum(1 − fg), from the one cumsum
    jaccard = 1.0 - intersection / union
    return intersection, union, jaccard


def _differences(prefix: Tensor) -> Tensor:
    """g_1 = Δ_1, g_i = Δ_i − Δ_{i−1} along the last dimension."""
    grad = prefix.clone()
    grad[..., 1:] -= prefix[..., :-1]
    return grad


def lovasz_grad(fg_sorted: Tensor) -> Tensor:
    """Jaccard gradients g of Berman et al. (2018), Eq. (9), for ground truth sorted by decreasing error.

    Args:
        fg_sorted: ``[..., P]`` with 1/True where the pixel belongs to the class, ordered by
            decreasing error. Leading dimensions are independent groups.

    Returns:
        ``[..., P]`` float tensor ``g`` with ``g_i = Δ({π1..πi}) − Δ({π1..π(i−1)})``;
        ``cumsum(g)_k`` is the Jaccard loss if exactly the k worst pixels were wrong.

    Example:
        >>> lovasz_grad(torch.tensor([1, 0, 1, 0]))
        tensor([0.5000, 0.1667, 0.3333, 0.0000])
    """
    check_tensor("fg_sorted", fg_sorted)
    dtype = _accumulation_dtype(fg_sorted.dtype)
    _, _, jaccard = _prefix_jaccard(fg_sorted, dtype)
    return _differences(jaccard)


def jaccard_loss_of_set(mispredicted: Tensor, fg: Tensor) -> Tensor:
    """The set function Δ_J(M) = |M| / |F ∪ M| for a boolean set ``mispredicted`` (0 if F ∪ M = ∅).

    Here F is the set of ``fg`` pixels and M the mispredicted ones, any same shape.
    """
    check_tensor("mispredicted", mispredicted)
    check_tensor("fg", fg)
    m = mispredicted.bool()
    f = fg.bool()
    union = (f | m).sum()
    if int(union) == 0:
        return torch.zeros((), dtype=torch.float64)
    return m.sum().to(torch.float64) / union.to(torch.float64)


@dataclass(frozen=True)
class LovaszTrace:
    """Every intermediate of the Lovász extension, as drawn by the teaching pages.

    All sorted fields are 1-D of length P (the number of elements), in decreasing-error order.
    """

    order: Tensor  # [P] int64: position (in the flattened input) of the i-th largest error
    errors_sorted: Tensor  # [P] errors m_{π(i)}
    fg_sorted: Tensor  # [P] bool ground truth in sorted order
    intersection: Tensor  # [P] I_i = |F| − (#fg among the i worst)
    union: Tensor  # [P] U_i = |F| + (#bg among the i worst)
    jaccard: Tensor  # [P] Δ_i = 1 − I_i / U_i, the Jaccard loss of the prefix set
    grad: Tensor  # [P] g_i = Δ_i − Δ_{i−1}
    contributions: Tensor  # [P] m_{π(i)} g_i
    loss: Tensor  # 0-d, Σ_i m_{π(i)} g_i, differentiable w.r.t. the errors
    weights: Tensor  # same shape as the errors: g put back at each element's position


def lovasz_trace(errors: Tensor, fg: Tensor) -> LovaszTrace:
    """Compute the Lovász extension of the Jaccard loss step by step, keeping every intermediate.

    Args:
        errors: any shape, non-negative errors (softmax ``|1[y=c] − p(c)|`` or hinge errors).
        fg: same shape, boolean ground truth of the class (True = foreground).

    Returns:
        A :class:`LovaszTrace`; ``trace.loss`` equals :func:`lovasz_extension` and is
        differentiable with respect to ``errors`` (its gradient is ``trace.weights``).

    Example:
        >>> t = lovasz_trace(torch.tensor([0.9, 0.2, 0.6]), torch.tensor([True, False, True]))
        >>> t.order.tolist(), round(float(t.loss), 4)
        ([0, 2, 1], 0.75)
    """
    check_tensor("errors", errors)
    check_tensor("fg", fg)
    check_same_device("errors", errors, "fg", fg)
    if not errors.is_floating_point():
        raise TypeError(f"`errors` must be a floating-point tensor, got dtype {errors.dtype}")
    if fg.shape != errors.shape:
        raise ValueError(
            f"`fg` must have the shape of `errors` {tuple(errors.shape)}, got {tuple(fg.shape)}"
        )
    if not bool(torch.isfinite(errors).all()):
        raise ValueError("`errors` must be finite, but it contains NaN or inf values")
    if bool((errors < 0).any()):
        raise ValueError(f"`errors` must be non-negative, got a minimum of {float(errors.min()):.4g}")
    dtype = _accumulation_dtype(errors.dtype)
    flat = errors.reshape(-1).to(dtype)
    errors_sorted, order = torch.sort(flat, descending=True, stable=True)
    fg_sorted = fg.reshape(-1).bool()[order]
    intersection, union, jaccard = _prefix_jaccard(fg_sorted, dtype)
    grad = _differences(jaccard)
    contributions = errors_sorted * grad
    weights = torch.empty_like(grad).scatter_(0, order, grad).reshape(errors.shape)
    return LovaszTrace(
        order=order,
        errors_sorted=errors_sorted,
        fg_sorted=fg_sorted,
        intersection=intersection,
        union=union,
        jaccard=jaccard,
        grad=grad,
        contributions=contributions,
        loss=contributions.sum(),
        weights=weights,
    )


def lovasz_extension(errors: Tensor, fg: Tensor) -> Tensor:
    """The Lovász extension of the Jaccard loss at ``errors``: Σ_i m_{π(i)} g_i (0-d tensor)."""
    return lovasz_trace(errors, fg).loss


# ----------------------------------------------------------------------------------------------
# The batched kernel used by the losses: one sort over all groups, no Python loop.


def sorted_jaccard_weights(
    errors: Tensor, fg: Tensor, valid: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Loss and Jaccard gradient of many independent groups at once (internal, no checks).

    Args:
        errors: ``[G, N]`` non-negative float32/float64 errors, contiguous.
        fg: ``[G, N]`` bool ground truth (False where ignored).
        valid: ``[G, N]`` bool or ``None``; invalid elements are sorted last and get g = 0.

    Returns:
        ``(loss [G], weights [G, N])``: the extension per group, and g at original positions.
    """
    dtype = errors.dtype
    # Errors are >= 0, so their IEEE bit patterns read as signed ints sort in the same order
    # (and sorting ints is measurably faster than sorting floats on the CPU).
    int_dtype = torch.int64 if dtype == torch.float64 else torch.int32
    keys = errors.view(int_dtype)
    if valid is not None:
        keys = keys.masked_fill(~valid, -1)  # after every valid error
    keys_sorted, order = torch.sort(keys, dim=-1, descending=True)
    errors_sorted = keys_sorted.clamp_min_(0).view(dtype)
    del keys_sorted
    fg_sorted = fg.gather(-1, order)
    _, _, jaccard = _prefix_jaccard(fg_sorted, dtype)
    del fg_sorted
    grad = _differences(jaccard)
    del jaccard
    if valid is not None:
        n_valid = valid.sum(-1, keepdim=True)
        ranks = torch.arange(grad.shape[-1], device=grad.device)
        grad.masked_fill_(ranks >= n_valid, 0.0)
    loss = (errors_sorted * grad).sum(-1)
    weights = torch.empty_like(grad).scatter_(-1, order, grad)
    return loss, weights
