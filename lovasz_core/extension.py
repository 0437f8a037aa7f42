"""The Lovász extension of the Jaccard loss, its gradient and a step-by-step trace.

Berman, Rannen Triki, Blaschko, "The Lovász-Softmax loss", CVPR 2018, §3.1 and Eq. (8)-(9):
sort the errors m in decreasing order (permutation π); with the ground truth sorted the same way,

    I_i = |F| − cumsum(fg)_i,   U_i = |F| + cumsum(1 − fg)_i,   Δ_i = 1 − I_i / U_i,
    g_i = Δ_i − Δ_{i−1}  (Δ_0 = 0),      loss = Σ_i m_{π(i)} g_i.

``g`` is the gradient of the extension with respect to the sorted errors (almost everywhere).
These functions follow the formulas line by line (they are what the teaching pages draw); the
losses run the same arithmetic batched and in place (:mod:`lovasz_core._kernel`). Counts are
int64 and ratios float64, so they are exact for rows of any length; results are cast at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .validation import check_same_device, check_tensor

_MEMBERSHIP_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)

__all__ = ["LovaszTrace", "jaccard_loss_of_set", "lovasz_extension", "lovasz_grad", "lovasz_trace"]


def _accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype results are given in: float64 stays float64, every other dtype gives float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _prefix_counts(fg_sorted: Tensor) -> tuple[Tensor, Tensor]:
    """I_i and U_i (int64, ``[..., P]``) of every prefix of ground truth in decreasing-error order."""
    fg = fg_sorted.to(torch.int64)
    fg_seen = fg.cumsum(-1)  # cumsum(fg)_i
    total = fg_seen[..., -1:]  # |F|
    ranks = torch.arange(1, fg.shape[-1] + 1, device=fg.device)  # i
    intersection = total - fg_seen
    union = total + (ranks - fg_seen)  # |F| + cumsum(1 − fg)_i
    return intersection, union


def _jaccard_differences(intersection: Tensor, union: Tensor) -> Tensor:
    """g_i = Δ_i − Δ_{i−1} = I_{i−1}/U_{i−1} − I_i/U_i (float64), with I_0 = U_0 (Δ_0 = 0).

    The two fractions are put over one denominator, I_{i−1}·U_i − I_i·U_{i−1}, an exact int64
    (for U < 2³¹), so a tiny g is not lost to the cancellation of two nearly equal Δ.
    """
    start = union[..., :1].clamp_min(1)  # I_0 = U_0 = max(|F|, 1): Δ_0 = 0
    previous_intersection = torch.cat([start, intersection[..., :-1]], -1)
    previous_union = torch.cat([start, union[..., :-1]], -1)
    numerator = previous_intersection * union - intersection * previous_union
    return numerator.to(torch.float64) / (union.to(torch.float64) * previous_union.to(torch.float64))


def _check_membership(name: str, value: Tensor) -> None:
    """A 0/1 ground-truth indicator: bool, integer, or floating point holding only 0 and 1."""
    if value.dtype not in _MEMBERSHIP_DTYPES and not value.is_floating_point():
        raise TypeError(
            f"`{name}` must be a bool, integer or floating-point tensor of 0/1 values, "
            f"got dtype {value.dtype}"
        )
    if value.dtype != torch.bool and not bool(((value == 0) | (value == 1)).all()):
        raise ValueError(f"`{name}` must hold only 0/1 (or False/True) values")


def lovasz_grad(fg_sorted: Tensor) -> Tensor:
    """Jaccard gradients g of Berman et al. (2018), Eq. (9), for ground truth sorted by decreasing error.

    Args:
        fg_sorted: ``[..., P]`` with 1/True where the pixel belongs to the class, ordered by
            decreasing error. Leading dimensions are independent groups.

    Returns:
        ``[..., P]`` tensor ``g`` with ``g_i = Δ({π1..πi}) − Δ({π1..π(i−1)})``, float64 for
        float64 input and float32 otherwise (computed exactly, then rounded once);
        ``cumsum(g)_k`` is the Jaccard loss if exactly the k worst pixels were wrong.

    Example:
        >>> lovasz_grad(torch.tensor([1, 0, 1, 0]))
        tensor([0.5000, 0.1667, 0.3333, 0.0000])
    """
    check_tensor("fg_sorted", fg_sorted)
    if fg_sorted.dim() < 1:
        raise ValueError(
            f"`fg_sorted` must have shape [..., P] with at least 1 dim, got shape {tuple(fg_sorted.shape)}"
        )
    _check_membership("fg_sorted", fg_sorted)
    intersection, union = _prefix_counts(fg_sorted)
    return _jaccard_differences(intersection, union).to(_accumulation_dtype(fg_sorted.dtype))


def jaccard_loss_of_set(mispredicted: Tensor, fg: Tensor) -> Tensor:
    """The set function Δ_J(M) = |M| / |F ∪ M| for a boolean set ``mispredicted`` (0 if F ∪ M = ∅).

    Here F is the set of ``fg`` pixels and M the mispredicted ones, any same shape; both are
    0/1 indicators (bool, integer or floating point). The result is a 0-d float64 tensor.
    """
    check_tensor("mispredicted", mispredicted)
    check_tensor("fg", fg)
    check_same_device("mispredicted", mispredicted, "fg", fg)
    if fg.shape != mispredicted.shape:
        raise ValueError(
            f"`fg` must have the shape of `mispredicted` {tuple(mispredicted.shape)}, got {tuple(fg.shape)}"
        )
    _check_membership("mispredicted", mispredicted)
    _check_membership("fg", fg)
    m = mispredicted.bool()
    f = fg.bool()
    union = (f | m).sum()
    if int(union) == 0:
        return torch.zeros((), dtype=torch.float64, device=fg.device)
    return m.sum().to(torch.float64) / union.to(torch.float64)


@dataclass(frozen=True)
class LovaszTrace:
    """Every intermediate of the Lovász extension, as drawn by the teaching pages.

    All sorted fields are 1-D of length P (the number of elements), in decreasing-error order;
    the float fields are float64 for float64 errors and float32 otherwise.
    """

    order: Tensor  # [P] int64: position (in the flattened input) of the i-th largest error
    errors_sorted: Tensor  # [P] errors m_{π(i)}
    fg_sorted: Tensor  # [P] bool ground truth in sorted order
    intersection: Tensor  # [P] I_i = |F| − (#fg among the i worst), counted in int64 then cast
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
        fg: same shape, ground truth of the class (True/1 = foreground): bool, integer, or
            floating point holding only 0 and 1.

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
        raise ValueError(f"`fg` must have the shape of `errors` {tuple(errors.shape)}, got {tuple(fg.shape)}")
    _check_membership("fg", fg)
    if not bool(torch.isfinite(errors).all()):
        raise ValueError("`errors` must be finite, but it contains NaN or inf values")
    if bool((errors < 0).any()):
        raise ValueError(f"`errors` must be non-negative, got a minimum of {float(errors.min()):.4g}")
    dtype = _accumulation_dtype(errors.dtype)
    errors_sorted, order = torch.sort(errors.reshape(-1).to(dtype), descending=True, stable=True)
    fg_sorted = fg.reshape(-1).bool()[order]
    intersection, union = _prefix_counts(fg_sorted)
    jaccard = 1.0 - intersection.to(torch.float64) / union.to(torch.float64)
    grad = _jaccard_differences(intersection, union).to(dtype)
    contributions = errors_sorted * grad
    weights = torch.empty_like(grad).scatter_(0, order, grad).reshape(errors.shape)
    return LovaszTrace(
        order=order,
        errors_sorted=errors_sorted,
        fg_sorted=fg_sorted,
        intersection=intersection.to(dtype),
        union=union.to(dtype),
        jaccard=jaccard.to(dtype),
        grad=grad,
        contributions=contributions,
        loss=contributions.sum(),
        weights=weights,
    )


def lovasz_extension(errors: Tensor, fg: Tensor) -> Tensor:
    """The Lovász extension of the Jaccard loss at ``errors``: Σ_i m_{π(i)} g_i (0-d tensor)."""
    return lovasz_trace(errors, fg).loss
