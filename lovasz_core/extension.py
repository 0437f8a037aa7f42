"""The Lovász extension of the Jaccard loss, its gradient and a step-by-step trace.

Berman, Rannen Triki, Blaschko, "The Lovász-Softmax loss", CVPR 2018, §3.1 and Eq. (8)-(9):
sort the errors m in decreasing order (permutation π); with the ground truth sorted the same way,

    I_i = |F| − cumsum(fg)_i,   U_i = |F| + cumsum(1 − fg)_i,   Δ_i = 1 − I_i / U_i,
    g_i = Δ_i − Δ_{i−1}  (Δ_0 = 0),      loss = Σ_i m_{π(i)} g_i.

``g`` is the gradient of the extension with respect to the sorted errors (almost everywhere).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
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
        raise ValueError(f"`fg` must have the shape of `errors` {tuple(errors.shape)}, got {tuple(fg.shape)}")
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
#
# It works in *ascending* error order: position j = 0 … N−1 of a sorted row is the pixel of
# descending rank i = N − j, so the prefix counts of Eq. (9) become plain cumulative sums
# (no flip). Everything after the sort is contiguous float arithmetic (mul, addcmul, div), which
# vectorizes; boolean masks (where, masked_fill) are 5–20× slower per element on the CPU.

_ERROR_BITS_MAX = 0x7FFFFFFF  # largest int32: errors are non-negative float32 bit patterns
_CPU_SINGLE_SORT_MAX = 1 << 20  # up to this many elements, one 1-D sort on the CPU
_CPU_SORT_CHUNK = 1 << 19  # else chunks of whole rows of at most this many: cache-sized keys


def _jaccard_gradients(fg_sorted: Tensor, dtype: torch.dtype) -> Tensor:
    """g = Δ_i − Δ_(i−1) for [G, N] ground truth sorted by *decreasing* error (see below)."""
    fg_ascending = fg_sorted.flip(-1).to(dtype)
    grad, _ = _ascending_jaccard_gradients(fg_ascending, dtype)
    return grad.flip(-1)


def _ascending_jaccard_gradients(
    fg: Tensor, dtype: torch.dtype, workspace: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, Tensor]:
    """g for [G, N] 0/1 ground truth sorted by *increasing* error (column j has rank i = N − j).

    With I = |F| − #fg among the i worst (= #fg before column j) and U = I + i, Eq. (9) is
    g = 1/U on a foreground pixel and I/(U(U − 1)) on a background one. Both are
    (I + fg·i) / (U · U_prev) with U_prev = U − 1 + fg the union one rank earlier: a ratio of exact
    integers, free of the cancellation of Δ_i − Δ_(i−1) (which loses ~3 float32 digits once N
    reaches 10⁴). At rank 1 (last column) g = 1/U, also when the group has no foreground.

    ``workspace``: two free [G, N] ``dtype`` buffers to compute in (else they are allocated).
    Returns ``(g, spare)``: g lives in the first buffer; the second is free again.
    """
    length = fg.shape[-1]
    counts = fg if fg.dtype == dtype else fg.to(dtype)
    first, second = workspace if workspace is not None else (None, None)
    ranks_minus_one = torch.arange(length - 1, -1, -1, device=fg.device, dtype=dtype)  # i − 1
    cumulative = torch.cumsum(counts, -1, out=first)  # #fg up to and including column j
    last_union = cumulative[:, -1:] - counts[:, -1:] + 1.0  # U at rank 1: |F| − fg + 1
    denominator = torch.sub(cumulative, counts, out=second).add_(ranks_minus_one).add_(1.0)  # U
    previous_union = cumulative.add_(ranks_minus_one)  # U_prev = #fg up to j + i − 1
    denominator.mul_(previous_union)
    numerator = previous_union.sub_(ranks_minus_one).addcmul_(counts, ranks_minus_one)  # I + fg·i
    grad = numerator.div_(denominator)
    grad[:, -1:] = last_union.reciprocal_()
    return grad, denominator


def _packed_keys(errors: Tensor, fg: Tensor) -> Tensor:
    """int64 keys ``row·2³² + 2·bits + fg`` of float32 errors [R, N] >= 0 and 0/1 fg, flattened.

    A non-negative float's bit pattern, read as an int32, sorts like the float, and
    ``2·bits + fg`` < 2³² (bits <= 2³¹ − 1) fills the low word without reaching the row: one
    ascending 1-D sort of the keys orders every row by increasing error and keeps rows contiguous.
    """
    offsets = torch.arange(errors.shape[0], device=errors.device, dtype=torch.int64)
    offsets = offsets.bitwise_left_shift_(32).unsqueeze(1)
    keys = errors.view(torch.int32).to(torch.int64).mul_(2).add_(offsets)
    return keys.add_(fg.to(torch.int64)).view(-1)


@functools.cache
def _numpy_sorts_fast() -> bool:
    """True where NumPy (≥ 2) sorts 64-bit integers with SIMD: x86-simd-sort on AVX2/AVX-512,
    Highway VQSort on ARM. There, sorting keys in place with NumPy is 1.5–5× faster than
    ``torch.sort`` on the CPU (65,536 keys: 0.20 ms vs 0.29–0.9 ms) and single-threaded, so its
    speed does not depend on how the OpenMP threads are scheduled."""
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        return False
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features

        torch.zeros(1).numpy()  # torch may be built without its NumPy bridge
    except (ImportError, RuntimeError):
        return False
    return bool(features.get("AVX2") or features.get("ASIMD"))


def _self_indexed_key_bits(rows: int, length: int) -> int | None:
    """Bits F of the flat index in a key ``row·2^(32+F) + (2·bits + fg)·2^F + index``, or None
    when such a key does not fit in a non-negative int64."""
    index_bits = max(1, (rows * length - 1).bit_length())
    row_bits = (rows - 1).bit_length()
    return index_bits if row_bits + 32 + index_bits <= 63 else None


def _self_indexed_keys(errors: Tensor, fg: Tensor, index_bits: int) -> Tensor:
    """int64 keys ``row·2^(32+F) + (2·bits + fg)·2^F + flat index`` of float32 errors [R, N] >= 0
    and 0/1 fg: sorting the keys alone (no index payload) orders every row by increasing error,
    and each sorted key still says where its element came from."""
    rows, length = errors.shape
    keys = errors.view(torch.int32).to(torch.int64).mul_(1 << (index_bits + 1))
    keys.add_(fg.to(torch.int64), alpha=1 << index_bits)
    row_offsets = torch.arange(rows, dtype=torch.int64, device=errors.device).mul_(1 << (32 + index_bits))
    index = torch.arange(rows * length, dtype=torch.int64, device=errors.device).view(rows, length)
    return keys.add_(index.add_(row_offsets.unsqueeze(1))).view(-1)


def _numpy_sort_applies(device: torch.device, rows: int, length: int) -> bool:
    return device.type == "cpu" and _self_indexed_key_bits(rows, length) is not None and _numpy_sorts_fast()


def _sort_rows(errors: Tensor, fg: Tensor) -> tuple[Tensor, Tensor]:
    """Sort the rows of float32 errors [R, N] >= 0 by increasing value, carrying 0/1 ``fg``.

    Returns the sorted keys ``row·2³² + 2·bits + fg`` [R·N] and the flat order [R·N]: from NumPy's
    in-place SIMD sort of self-indexed keys where it applies, else from ``torch.sort``.
    """
    rows, length = errors.shape
    if _numpy_sort_applies(errors.device, rows, length):
        index_bits = _self_indexed_key_bits(rows, length)
        keys = _self_indexed_keys(errors, fg, index_bits)
        keys.numpy().sort()  # in place: no index payload to carry
        order = keys.bitwise_and((1 << index_bits) - 1)
        return keys.bitwise_right_shift_(index_bits), order
    return torch.sort(_packed_keys(errors, fg))


def _decode_keys(sorted_keys: Tensor, error_bits: Tensor, fg: Tensor) -> None:
    """Write the error bits and the float 0/1 fg of int64 [R, N] keys into int32 [R, N] buffers."""
    error_bits.copy_(sorted_keys)  # int64 → int32 keeps the low word: 2·bits + fg
    torch.bitwise_and(error_bits, 1, out=fg)
    fg.view(torch.float32).copy_(fg)  # 0/1 as int32 → 0.0/1.0 in place
    error_bits.bitwise_right_shift_(1).bitwise_and_(_ERROR_BITS_MAX)  # the mask makes >> logical


def _sorted_losses_and_gradients(
    errors: Tensor, fg: Tensor, scale: Tensor, workspace: tuple[Tensor, Tensor] | None
) -> tuple[Tensor, Tensor]:
    """Group losses [R] and scaled signed gradients [R, N] of rows sorted by increasing error.

    ``errors`` is consumed (overwritten). ``scale`` is [R, 1]; the gradient at each sorted
    element is ``scale · g · (−1 on fg, +1 on bg)`` and 0 where the error is 0, as autograd gives
    for ``|1[fg] − p|`` and ``max(0, 1 − s·y*)``. It lives in ``workspace[0]`` when given.
    """
    dtype = errors.dtype
    if errors.shape[-1] < 2**24:  # counts stay exact integers in float32
        grad, spare = _ascending_jaccard_gradients(fg, dtype, workspace)
    else:
        grad, spare = _ascending_jaccard_gradients(fg, torch.float64)
        grad, spare = grad.to(dtype), None
    grad.mul_(torch.sign(errors, out=spare))  # 0 at a zero error (and so at an ignored pixel)
    loss = errors.mul_(grad).sum(-1)  # cascade summation: accurate for long rows
    grad.addcmul_(grad, fg, value=-2.0).mul_(scale)  # −g on fg, +g on bg
    return loss, grad


def lovasz_kernel(buffers: list[Tensor], coefficient: Tensor) -> tuple[Tensor, Tensor]:
    """Lovász extension of many independent groups and the gradient w.r.t. the scores (internal).

    Args:
        buffers: ``[errors, fg]``, emptied by this function (their memory is reused or freed):
            ``errors`` ``[G, N]`` contiguous float32/float64 errors >= 0 (0 where ignored);
            ``fg`` ``[G, N]`` contiguous ground truth as 0/1 in the dtype of ``errors`` (0 where
            ignored).
        coefficient: ``[G]`` d(total loss)/d(group loss).

    Returns:
        ``(loss [G], grad [G, N])``: the extension Σ_i m_π(i) g_i of each group, and at each
        element ``coefficient · g · (−1 on fg, +1 on bg)``, 0 where the error is 0: the gradient
        w.r.t. a score whose error is ``|1[fg] − p|`` or ``max(0, 1 − s·y*)``, as autograd gives.
        An ignored element (error 0, not fg) sorts among the zero errors and changes nothing.

    float32 packs each element into one int64 key and sorts them all at once. On the CPU, where
    NumPy sorts with SIMD (:func:`_numpy_sorts_fast`), the key also holds the element's flat
    index (:func:`_self_indexed_keys`) and NumPy sorts the keys in place; elsewhere (CUDA, or
    keys too wide) ``torch.sort`` sorts :func:`_packed_keys` and returns the order, which on the
    CPU is a radix sort, 2–3× faster than sorting rows, run over chunks of whole rows above
    ``_CPU_SINGLE_SORT_MAX`` elements (a cache-sized sort is ~2× faster per element than a 20 MB
    one). Buffers are reused rather than allocated where possible: on the CPU every fresh large
    allocation costs page faults. float64 sorts row-wise.
    """
    fg = buffers.pop()
    errors = buffers.pop()
    rows, length = errors.shape
    scale = coefficient.to(errors.dtype).unsqueeze(1)
    if errors.dtype == torch.float64:
        sorted_bits, order = torch.sort(errors.view(torch.int64), dim=-1)
        del errors
        order = order.add_(torch.arange(rows, device=order.device).mul_(length).unsqueeze(1)).view(-1)
        fg_sorted = fg.view(-1).index_select(0, order).view(rows, length)
        errors_sorted = sorted_bits.view(torch.float64)
        loss, grad = _sorted_losses_and_gradients(errors_sorted, fg_sorted, scale, None)
        return loss, errors_sorted.view(-1).scatter_(0, order, grad.view(-1)).view(rows, length)
    single = errors.device.type != "cpu" or rows * length <= _CPU_SINGLE_SORT_MAX or rows == 1
    if single and _numpy_sort_applies(errors.device, rows, length):
        keys, order = _sort_rows(errors, fg)  # sorted in place: errors and fg receive the rows
        _decode_keys(keys.view(rows, length), errors.view(torch.int32), fg.view(torch.int32))
        spare = keys.view(torch.float32).view(2, rows, length)  # the keys' slots: the workspace
        loss, grad = _sorted_losses_and_gradients(errors, fg, scale, (spare[0], spare[1]))
        return loss, errors.view(-1).scatter_(0, order, grad.view(-1)).view(rows, length)
    if single:
        keys = _packed_keys(errors, fg)
        del errors, fg  # freed before the sort
        sorted_keys, order = torch.sort(keys)
        # Each 8-byte key slot is reused: the input keys for (errors, fg), the sorted keys for
        # the two buffers of the Jaccard gradients.
        slots = keys.view(torch.int32).view(2, rows, length)
        _decode_keys(sorted_keys.view(rows, length), slots[0], slots[1])
        spare = sorted_keys.view(torch.float32).view(2, rows, length)
        errors_sorted, fg_sorted = slots.view(torch.float32)
        loss, grad = _sorted_losses_and_gradients(errors_sorted, fg_sorted, scale, (spare[0], spare[1]))
        # order is a permutation: every element of the spent errors buffer is overwritten
        return loss, errors_sorted.view(-1).scatter_(0, order, grad.view(-1)).view(rows, length)
    # Chunks of whole rows, each sorted and differentiated on its own; the chunk's gradient
    # overwrites its consumed error rows, and fg (consumed too) receives the unsorted result.
    order = torch.empty(rows * length, dtype=torch.int64, device=errors.device)
    loss = torch.empty(rows, dtype=errors.dtype, device=errors.device)
    per_chunk = max(1, _CPU_SORT_CHUNK // length)
    for start in range(0, rows, per_chunk):
        stop = min(rows, start + per_chunk)
        chunk_errors, chunk_fg = errors[start:stop], fg[start:stop]
        sorted_keys, chunk_order = _sort_rows(chunk_errors, chunk_fg)
        _decode_keys(
            sorted_keys.view(stop - start, length), chunk_errors.view(torch.int32), chunk_fg.view(torch.int32)
        )
        spare = sorted_keys.view(torch.float32).view(2, stop - start, length)
        loss[start:stop], grad = _sorted_losses_and_gradients(
            chunk_errors, chunk_fg, scale[start:stop], (spare[0], spare[1])
        )
        chunk_errors.copy_(grad)
        order[start * length : stop * length] = chunk_order.add_(start * length)
        del sorted_keys, chunk_order, spare, grad
    return loss, fg.view(-1).scatter_(0, order, errors.view(-1)).view(rows, length)
