"""The Lovász extension of the Jaccard loss, its gradient and a step-by-step trace.

Berman, Rannen Triki, Blaschko, "The Lovász-Softmax loss", CVPR 2018, §3.1 and Eq. (8)-(9):
sort the errors m in decreasing order (permutation π); with the ground truth sorted the same way,

    I_i = |F| − cumsum(fg)_i,   U_i = |F| + cumsum(1 − fg)_i,   Δ_i = 1 − I_i / U_i,
    g_i = Δ_i − Δ_{i−1}  (Δ_0 = 0),      loss = Σ_i m_{π(i)} g_i.

``g`` is the gradient of the extension with respect to the sorted errors (almost everywhere).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
from torch import Tensor

from .validation import check_same_device, check_tensor

_MEMBERSHIP_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)

__all__ = ["LovaszTrace", "jaccard_loss_of_set", "lovasz_extension", "lovasz_grad", "lovasz_trace"]


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
        ``[..., P]`` float tensor ``g`` with ``g_i = Δ({π1..πi}) − Δ({π1..π(i−1)})``;
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
    dtype = _accumulation_dtype(fg_sorted.dtype)
    flat = fg_sorted.reshape(-1, fg_sorted.shape[-1]).bool()
    return _jaccard_gradients(flat, dtype).reshape(fg_sorted.shape)


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
        raise ValueError(
            f"`fg` must have the shape of `errors` {tuple(errors.shape)}, got {tuple(fg.shape)}"
        )
    _check_membership("fg", fg)
    if not bool(torch.isfinite(errors).all()):
        raise ValueError("`errors` must be finite, but it contains NaN or inf values")
    if bool((errors < 0).any()):
        raise ValueError(f"`errors` must be non-negative, got a minimum of {float(errors.min()):.4g}")
    dtype = _accumulation_dtype(errors.dtype)
    flat = errors.reshape(-1).to(dtype)
    errors_sorted, order = torch.sort(flat, descending=True, stable=True)
    fg_sorted = fg.reshape(-1).bool()[order]
    intersection, union, jaccard = _prefix_jaccard(fg_sorted, dtype)
    grad = _jaccard_gradients(fg_sorted.unsqueeze(0), dtype).squeeze(0)  # = Δ_i − Δ_(i−1)
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

_ERROR_BITS_MAX = 0x7FFFFFFF  # largest int32: errors are non-negative float32 bit patterns
_LOW_WORD = 0xFFFFFFFF


_CPU_SINGLE_SORT_MAX = 1 << 20  # up to this many elements, one 1-D sort on the CPU
_CPU_SORT_CHUNK = 1 << 19  # else chunks of whole rows of at most this many: cache-sized keys


def _low_words(keys: Tensor, rows: int, length: int) -> Tensor:
    """The low 32 bits of int64 ``keys`` as an int32 [rows, length] tensor (a view if possible)."""
    if sys.byteorder == "little":
        return keys.view(torch.int32).view(rows, length, 2)[..., 0]
    return keys.bitwise_and(_LOW_WORD).view(rows, length)


def _sort_groups(buffers: list[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """Sort each row of ``errors`` [G, N] (>= 0) by decreasing value, carrying ``fg`` along.

    ``buffers`` is ``[errors, fg]`` and is emptied, so that their memory can be freed early (or
    reused: with several chunks, the sorted rows overwrite the input rows).
    Returns ``(errors_sorted [G, N], fg_sorted [G, N] bool, order [G·N])``, ``order`` indexing the
    flattened rows.

    float32: a non-negative float's bit pattern, read as an int32, sorts like the float. Each
    element gets one int64 key ``row·2³² + 2·(2³¹ − 1 − bits) + fg``; an ascending 1-D sort of the
    keys orders every row by decreasing error and keeps the rows contiguous, and the sorted keys
    give back both the errors and the ground truth, with no gather. On the CPU a 1-D int64 sort is
    a radix sort, 2–3× faster than sorting rows; above ``_CPU_SINGLE_SORT_MAX`` elements it runs
    over chunks of whole rows (a cache-sized sort is ~2× faster per element than a 20 MB one).
    float64 sorts row-wise.
    """
    fg = buffers.pop()
    errors = buffers.pop()
    rows, length = errors.shape
    device = errors.device
    if errors.dtype == torch.float64:
        sorted_bits, order = torch.sort(errors.view(torch.int64), dim=-1, descending=True)
        del errors
        offsets = torch.arange(rows, device=device).mul_(length).unsqueeze(1)
        order = order.add_(offsets).reshape(-1)
        fg_sorted = fg.reshape(-1).take(order).view(rows, length)
        return sorted_bits.view(torch.float64), fg_sorted, order
    single = device.type != "cpu" or rows * length <= _CPU_SINGLE_SORT_MAX or rows == 1
    if single:  # one sort; the inputs are freed before it
        keys = _packed_keys(errors, fg, 0, rows)
        del errors, fg
        keys, order = torch.sort(keys)
        low = _low_words(keys, rows, length)
        fg_sorted = low.bitwise_and(1).bool()
        bits = _decoded_error_bits(low)
        del keys, low
        return bits.view(torch.float32), fg_sorted, order
    # Chunks of whole rows; each chunk's sorted errors and fg overwrite its own input rows.
    error_bits = errors.view(torch.int32)
    order = torch.empty(rows * length, dtype=torch.int64, device=device)
    per_chunk = max(1, _CPU_SORT_CHUNK // length)
    for start in range(0, rows, per_chunk):
        stop = min(rows, start + per_chunk)
        keys, chunk_order = torch.sort(_packed_keys(errors, fg, start, stop))
        low = _low_words(keys, stop - start, length)
        fg[start:stop] = low.bitwise_and(1)
        error_bits[start:stop] = _decoded_error_bits(low)
        order[start * length : stop * length] = chunk_order.add_(start * length)
        del keys, chunk_order, low
    return errors, fg, order


def _packed_keys(errors: Tensor, fg: Tensor, start: int, stop: int) -> Tensor:
    """int64 keys ``(row − start)·2³² + 2·(2³¹ − 1 − bits) + fg`` of rows ``start:stop``, flattened."""
    offsets = torch.arange(stop - start, device=errors.device, dtype=torch.int64)
    offsets = offsets.bitwise_left_shift_(32).add_(2 * _ERROR_BITS_MAX).unsqueeze(1)
    bits = errors[start:stop].view(torch.int32)
    return torch.sub(offsets, bits, alpha=2).add_(fg[start:stop]).reshape(-1)


def _decoded_error_bits(low: Tensor) -> Tensor:
    """Error bits 2³¹ − 1 − (low >>> 1) from the keys' low words (the mask makes >> logical)."""
    return low.bitwise_right_shift(1).bitwise_and_(_ERROR_BITS_MAX).neg_().add_(_ERROR_BITS_MAX)


def _jaccard_gradients(fg_sorted: Tensor, dtype: torch.dtype) -> Tensor:
    """g = Δ_i − Δ_(i−1) for [G, N] sorted ground truth, without the cancellation of a difference.

    With I_i = |F| − cumsum(fg)_i and U_i = I_i + i: g_i = 1/U_i on a foreground pixel and
    I_i / (U_i (U_i − 1)) on a background one (i > 1); g_1 = 1 − I_1/U_1. Taking Δ_i − Δ_(i−1) in
    float32 loses ~3 digits once N reaches 10⁴ (Δ ≈ 1, g ≈ 1/N); this stays at float precision.
    """
    length = fg_sorted.shape[-1]
    ranks = torch.arange(1, length + 1, device=fg_sorted.device, dtype=dtype)
    intersection = fg_sorted.cumsum(-1, dtype=dtype)
    total_fg = intersection[:, -1:].clone()
    intersection.neg_().add_(total_fg)  # I_i
    first_intersection = intersection[:, :1].clone()
    union = intersection + ranks  # U_i
    grad = intersection.masked_fill_(fg_sorted, 1.0).div_(union)  # 1/U on fg, I/U on bg
    grad.div_(union.sub_(1.0).masked_fill_(fg_sorted, 1.0))  # … / (U − 1) on bg
    grad[:, :1] = 1.0 - first_intersection / (first_intersection + 1.0)
    return grad


def lovasz_kernel(buffers: list[Tensor], coefficient: Tensor) -> tuple[Tensor, Tensor]:
    """Lovász extension of many independent groups and the gradient w.r.t. the scores (internal).

    Args:
        buffers: ``[errors, fg]``, emptied by this function so that their memory is freed as soon
            as it is no longer needed: ``errors`` ``[G, N]`` contiguous float32/float64 errors
            >= 0 (0 where ignored); ``fg`` ``[G, N]`` bool ground truth (False where ignored).
        coefficient: ``[G]`` d(total loss)/d(group loss).

    Returns:
        ``(loss [G], grad [G, N])``: the extension Σ_i m_π(i) g_i of each group, and at each
        element ``coefficient · g · (−1 on fg, +1 on bg)``, 0 where the error is 0: the gradient
        w.r.t. a score whose error is ``|1[fg] − p|`` or ``max(0, 1 − s·y*)``, as autograd gives.
        An ignored element (error 0, not fg) sorts among the zero errors and changes nothing.
    """
    rows, length = buffers[0].shape
    dtype = buffers[0].dtype
    errors_sorted, fg_sorted, order = _sort_groups(buffers)
    count_dtype = dtype if length < 2**24 else torch.float64  # counts stay exact integers
    grad = _jaccard_gradients(fg_sorted, count_dtype).to(dtype)
    loss = (errors_sorted * grad).sum(-1)  # cascade summation: accurate for long rows
    scale = coefficient.to(dtype).unsqueeze(1)
    factor = torch.where(fg_sorted, -scale, scale)
    del fg_sorted
    factor.masked_fill_(errors_sorted == 0, 0.0)
    del errors_sorted
    grad.mul_(factor)
    del factor
    out = torch.empty_like(grad).view(-1).index_copy_(0, order, grad.view(-1))  # order: a permutation
    return loss, out.view(rows, length)

