"""The batched Lovász kernel behind the losses: many groups, one sort, gradient in the forward.

It computes exactly what :mod:`lovasz_core.extension` writes out in the paper's terms, for
``[G, N]`` independent groups at once, and also returns the gradient. What makes it fast
(gains measured on this project's 2-core AVX-512 CPU, torch 2.13, NumPy 2.4):

====================================================  ==================================================
trick                                                 measured gain
====================================================  ==================================================
one 1-D sort of int64 keys ``row·2³² + 2·bits + fg``  2–3× over sorting the [G, N] rows; no gather
  (a non-negative float sorts like its bit pattern)     of fg or errors afterwards
NumPy's SIMD sort of self-indexed keys, in place      1.5–5× over ``torch.sort`` (65,536 keys:
  (the flat index in the low bits: no payload)          0.20 ms vs 0.29–0.91 ms; 688K: 2.9 vs 5–11 ms)
rows sorted on several threads (NumPy frees the GIL)  2.75M keys: 6.6 ms on 2 threads vs 13.7 ms
ascending order, so I and U are plain cumsums         no flip copies of [G, N]
g = (I + fg·i) / (U·U_prev), a ratio of integers      exact in float32 up to N = 2²⁴ (Δ_i − Δ_(i−1)
                                                        loses ~3 digits at N = 10⁴)
gradient computed in the forward and saved once       backward is one multiply; 4 bytes per element,
                                                        no autograd graph through sort/cumsum/gather
0/1 float masks instead of bool ``where``             5–20× cheaper per element on the CPU
buffers reused instead of allocated                   B16 C4 32²: 1.5–1.8× → 2.0–2.3× over kornia
                                                        (each fresh large CPU allocation page-faults)
sorts of ≤ 2¹⁹ keys (cache-sized) above 2²⁰ elements  ~2× per element over one 20 MB sort
rows of ≥ 2¹⁵ errors < 2 sorted one by one as int32   B2 C21 256² (torch.sort machine, 2 threads):
  keys ``2·bits + fg``, each row differentiated in      109 → 43 ms fwd+bwd; peak memory 0.51 →
  row-sized buffers (4 radix passes, not 8)             0.27 of kornia's
shorter rows 2¹⁸ elements at a time as truncated      B8 C21 64² fwd+bwd: 12.2 → 9.9 ms (2 threads),
  int32 keys ``row·2^(31−b) + bits >> (b−1)``, then     23.5 → 15.4 ms (1 thread); peak memory 0.58 →
  runs of equal keys sorted by their full keys          0.44 of kornia's; the fix-up is ~15 % of it
====================================================  ==================================================

On CUDA, ``torch.sort`` sorts the packed int64 keys; on a CPU where NumPy's sort is not the faster,
errors below 2 are sorted as int32 keys and larger ones (hinge) as int64 keys. float64 input
sorts its rows with ``torch.sort`` (its bits leave no room for a row in 64).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from torch import Tensor

__all__ = ["lovasz_kernel"]

_ERROR_BITS_MAX = 0x7FFFFFFF  # largest int32: errors are non-negative float32 bit patterns
_CPU_SINGLE_SORT_MAX = 1 << 20  # torch.sort path: up to this many elements, one 1-D sort
_CPU_SORT_CHUNK = 1 << 19  # else sorts of whole rows of at most this many: cache-sized keys
_PARALLEL_SORT_MIN = 1 << 18  # fewer keys (a sort under ~1 ms) are sorted on the calling thread only
_MAX_SORT_THREADS = 8
_SORT_TIMING_ROUNDS = 9  # NumPy's and torch's sorts timed in turns, once per process
_NUMPY_SORT_MARGIN = 1.25  # NumPy's best must beat torch's by this factor (0.20 vs 0.29 ms where it does)
# torch sorts 1-D integer tensors of at least this many elements (ATen's GRAIN_SIZE) with its
# parallel radix sort: rows this long are sorted one by one as int32 keys (4 passes, not 8).
_ROW_SORT_MIN = 1 << 15
_INT32_MIN = 1 << 17  # shorter rows, this many elements in all: chunks of rows as truncated int32 keys
_INT32_CHUNK = 1 << 18  # elements per sort of truncated int32 keys

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: start a new pool there if needed."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _sort_pool() -> ThreadPoolExecutor:
    """A small persistent pool, created on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = max(1, min(_MAX_SORT_THREADS, os.cpu_count() or 1) - 1)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lovasz-sort")
        return _pool


def sort_threads(elements: int) -> int:
    """Threads to sort ``elements`` keys on: torch's intra-op thread count, capped."""
    if elements < _PARALLEL_SORT_MIN:
        return 1
    return max(1, min(torch.get_num_threads(), _MAX_SORT_THREADS, os.cpu_count() or 1))


def _ascending_jaccard_gradients(
    fg: Tensor, dtype: torch.dtype, workspace: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, Tensor]:
    """g for [G, N] 0/1 ground truth sorted by *increasing* error (column j has rank i = N − j).

    With I = |F| − #fg among the i worst (= #fg before column j) and U = I + i, Eq. (9) is
    g = 1/U on a foreground pixel and I/(U(U − 1)) on a background one. Both are
    (I + fg·i) / (U · U_prev) with U_prev = U − 1 + fg the union one rank earlier: a ratio of exact
    integers. At rank 1 (last column) g = 1/U, also when the group has no foreground.

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
    """True where NumPy (≥ 2, with SIMD: x86-simd-sort on AVX2/AVX-512, Highway VQSort on ARM)
    sorts 64-bit keys faster than ``torch.sort`` on this machine, measured once per process.

    The SIMD sort is not fast everywhere it exists (65,536 keys: 0.20 ms on one AVX-512 machine,
    2.3 ms on another where ``torch.sort`` took 0.8 ms), so both are timed on 2¹⁶ random keys, in
    turns (best of nine each, about 30 ms in all), and NumPy is used from then on if it was
    faster by a margin: a burst of load that slows ``torch.sort``'s threads during the timing
    must not send a machine to a sort that is 3× slower there on larger inputs.
    """
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        return False
    try:
        from numpy._core._multiarray_umath import (  # type: ignore[import-not-found]
            __cpu_features__ as features,
        )

        torch.zeros(1).numpy()  # torch may be built without its NumPy bridge
    except (ImportError, RuntimeError):
        return False
    if not (features.get("AVX2") or features.get("ASIMD")):
        return False
    keys = np.random.default_rng(0).integers(0, 1 << 62, 1 << 16, dtype=np.int64)
    tensor = torch.from_numpy(keys)

    def numpy_seconds() -> float:
        copy = keys.copy()
        start = time.perf_counter()
        copy.sort()
        return time.perf_counter() - start

    def torch_seconds() -> float:
        start = time.perf_counter()
        torch.sort(tensor)
        return time.perf_counter() - start

    numpy_best = torch_best = float("inf")
    for _ in range(_SORT_TIMING_ROUNDS):
        numpy_best = min(numpy_best, numpy_seconds())
        torch_best = min(torch_best, torch_seconds())
    return _numpy_wins(numpy_best, torch_best)


def _numpy_wins(numpy_seconds: float, torch_seconds: float) -> bool:
    """NumPy's best time beats torch's by ``_NUMPY_SORT_MARGIN``."""
    return numpy_seconds * _NUMPY_SORT_MARGIN < torch_seconds


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


def _sort_row_range(keys: np.ndarray, length: int, first: int, stop: int) -> None:
    """Sort rows ``first … stop − 1`` of the flat keys in place, in cache-sized runs of whole rows."""
    per_run = max(1, _CPU_SORT_CHUNK // length)
    for start in range(first, stop, per_run):
        keys[start * length : min(stop, start + per_run) * length].sort()


def _sort_keys_in_place(keys: Tensor, rows: int, length: int) -> None:
    """Sort row-grouped keys [R·N] in place with NumPy: the rows split among :func:`sort_threads`
    threads (this one and pool workers), each sorting its rows in cache-sized runs. Keys hold
    their row in the high bits, so sorting runs of whole rows equals sorting the whole array."""
    array = keys.numpy()
    threads = min(rows, sort_threads(rows * length))
    if threads == 1:
        _sort_row_range(array, length, 0, rows)
        return
    bounds = [rows * t // threads for t in range(threads + 1)]
    pool = _sort_pool()
    futures: list[Future[None]] = [
        pool.submit(_sort_row_range, array, length, bounds[t], bounds[t + 1]) for t in range(1, threads)
    ]
    _sort_row_range(array, length, bounds[0], bounds[1])
    for future in futures:
        future.result()


def sort_rows(errors: Tensor, fg: Tensor) -> tuple[Tensor, Tensor]:
    """Sort the rows of float32 errors [R, N] >= 0 by increasing value, carrying 0/1 ``fg``.

    Returns the sorted keys ``row·2³² + 2·bits + fg`` [R·N] and the flat order [R·N]: from NumPy's
    in-place SIMD sort of self-indexed keys where it applies, else from ``torch.sort``.
    """
    rows, length = errors.shape
    index_bits = _self_indexed_key_bits(rows, length)
    if index_bits is not None and _numpy_sort_applies(errors.device, rows, length):
        keys = _self_indexed_keys(errors, fg, index_bits)
        _sort_keys_in_place(keys, rows, length)
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
    spare: Tensor | None
    if errors.shape[-1] < 2**24:  # counts stay exact integers in float32
        grad, spare = _ascending_jaccard_gradients(fg, dtype, workspace)
    else:
        grad, spare = _ascending_jaccard_gradients(fg, torch.float64)
        grad, spare = grad.to(dtype), None
    grad.mul_(torch.sign(errors, out=spare))  # 0 at a zero error (and so at an ignored pixel)
    loss = errors.mul_(grad).sum(-1)  # cascade summation: accurate for long rows
    grad.addcmul_(grad, fg, value=-2.0).mul_(scale)  # −g on fg, +g on bg
    return loss, grad


def _kernel_float64(errors: Tensor, fg: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
    rows, length = errors.shape
    sorted_bits, order = torch.sort(errors.view(torch.int64), dim=-1)
    del errors
    order = order.add_(torch.arange(rows, device=order.device).mul_(length).unsqueeze(1)).view(-1)
    fg_sorted = fg.view(-1).index_select(0, order).view(rows, length)
    errors_sorted = sorted_bits.view(torch.float64)
    loss, grad = _sorted_losses_and_gradients(errors_sorted, fg_sorted, scale, None)
    return loss, errors_sorted.view(-1).scatter_(0, order, grad.view(-1)).view(rows, length)


def _order_runs_of_equal_keys(sorted_keys: Tensor, order: Tensor, full_sorted: Tensor) -> None:
    """Sort every run of equal truncated keys by its full keys, in place (both sorts are stable).

    ``sorted_keys`` [M] int32 ascending; ``order`` [M] int64 and ``full_sorted`` [M] int32 (the
    exact keys ``2·bits + fg``) in that order. A truncated key drops the lowest error bits and fg,
    so elements that differ only there share a key; afterwards ``full_sorted`` is ascending
    within every row, equal full keys still in index order. Usually a few runs are out of order
    and only the elements with an equal neighbour are sorted again; when those are many
    (saturated or constant predictions), only the runs that are out of order.
    """
    size = sorted_keys.shape[0]
    equal_next = sorted_keys[1:] == sorted_keys[:-1]
    out_of_order = equal_next & (full_sorted[1:] < full_sorted[:-1])
    if not bool(out_of_order.any()):
        return
    in_run = torch.zeros(size, dtype=torch.bool, device=sorted_keys.device)
    in_run[1:] = equal_next
    in_run[:-1] |= equal_next
    positions = in_run.nonzero().squeeze(1)
    if positions.shape[0] > size // 8:
        run_starts = torch.ones(size, dtype=torch.int64, device=sorted_keys.device)
        run_starts[1:] = equal_next.logical_not_()
        run = run_starts.cumsum_(0).sub_(1)  # run index of every element
        flagged = torch.zeros(int(run[-1]) + 1, dtype=torch.bool, device=sorted_keys.device)
        flagged.index_fill_(0, run[1:].masked_select(out_of_order), True)
        positions = flagged.index_select(0, run).nonzero().squeeze(1)
    keys = sorted_keys.index_select(0, positions).to(torch.int64).bitwise_left_shift_(31)
    keys.add_(full_sorted.index_select(0, positions))  # < 2⁶²: the run, then the full key
    moved = positions.index_select(0, torch.sort(keys, stable=True).indices)
    order.index_copy_(0, positions, order.index_select(0, moved))
    full_sorted.index_copy_(0, positions, full_sorted.index_select(0, moved))


def _sort_int32_chunk(
    full: Tensor, keys_out: Tensor, sorted_out: Tensor, order_out: Tensor
) -> tuple[Tensor, Tensor]:
    """Sort the rows of one chunk of exact int32 keys ``full`` [r, N] = ``2·bits + fg``.

    One row is sorted by its keys. Several rows are sorted together by truncated keys
    ``row·2^(31−b) + (bits >> (b − 1))`` (b = bits of r − 1; bits < 2³⁰ as errors < 2), which
    keep rows apart in one positive int32, and then every run of equal truncated keys by its
    full keys. Writes the flat order into ``order_out`` and returns ``(full keys in sorted
    order, free buffer)``: ``sorted_out`` and ``keys_out`` ([r·N] int32), in some order.
    """
    rows, length = full.shape
    if rows == 1:
        torch.sort(full.view(-1), stable=True, out=(sorted_out, order_out))
        return sorted_out, keys_out
    shift = (rows - 1).bit_length()
    keys = torch.bitwise_right_shift(full, shift, out=keys_out.view(rows, length))
    row_offsets = torch.arange(rows, dtype=torch.int32, device=full.device).bitwise_left_shift_(31 - shift)
    keys.add_(row_offsets.unsqueeze(1))
    torch.sort(keys.view(-1), stable=True, out=(sorted_out, order_out))
    full_sorted = torch.index_select(full.view(-1), 0, order_out, out=keys_out)  # keys are spent
    _order_runs_of_equal_keys(sorted_out, order_out, full_sorted)
    return full_sorted, sorted_out


def _int32_chunks(errors: Tensor, full: Tensor, scale: Tensor, loss: Tensor, per_chunk: int) -> None:
    """The chunks of ``per_chunk`` rows of :func:`_kernel_int32`, one at a time.

    A chunk's errors (spent once ``full`` holds the keys) take its keys, then its sorted errors
    or fg, then its result; its slice of ``full`` (spent after the sort) is a workspace. Beyond
    the inputs, 16 bytes per element of one chunk: sorted keys, order, one workspace.
    """
    rows, length = errors.shape
    size = min(rows, per_chunk) * length
    device = errors.device
    sorted_buffer = torch.empty(size, dtype=torch.int32, device=device)
    order_buffer = torch.empty(size, dtype=torch.int64, device=device)
    spare_buffer = torch.empty(size, dtype=errors.dtype, device=device)
    for start in range(0, rows, per_chunk):
        stop = min(rows, start + per_chunk)
        chunk = (stop - start, length)
        count = chunk[0] * length
        chunk_errors, chunk_full, order = errors[start:stop].view(-1), full[start:stop], order_buffer[:count]
        full_sorted, free = _sort_int32_chunk(
            chunk_full, chunk_errors.view(torch.int32), sorted_buffer[:count], order
        )
        fg_sorted = torch.bitwise_and(full_sorted, 1, out=free)
        fg_sorted = fg_sorted.view(torch.float32).copy_(fg_sorted).view(chunk)  # 0/1 → 0.0/1.0 in place
        errors_sorted = full_sorted.bitwise_right_shift_(1).view(torch.float32).view(chunk)  # keys >= 0
        workspace = (chunk_full.view(torch.float32), spare_buffer[:count].view(chunk))
        loss[start:stop], grad = _sorted_losses_and_gradients(
            errors_sorted, fg_sorted, scale[start:stop], workspace
        )
        chunk_errors.scatter_(0, order, grad.view(-1))  # a permutation: the whole chunk is the result


def int32_rows_per_chunk(device: torch.device, rows: int, length: int) -> int | None:
    """Rows per sort of the CPU's int32 path for ``[rows, length]`` float32 errors below 2 (1 for
    rows of at least ``_ROW_SORT_MIN``), or None where that path does not apply."""
    if device.type != "cpu" or (length < _ROW_SORT_MIN and rows * length < _INT32_MIN):
        return None
    return 1 if length >= _ROW_SORT_MIN else max(1, _INT32_CHUNK // length)


def _kernel_int32(errors: Tensor, fg: Tensor, scale: Tensor, per_chunk: int) -> tuple[Tensor, Tensor]:
    """float32 errors below 2 (every softmax error is) sorted as int32 keys on the CPU, in chunks.

    The exact key ``2·bits + fg`` of an error below 2 fits in a positive int32: torch's radix sort
    then makes 4 passes over 12 bytes per element, against 8 passes over 16 bytes for int64 keys
    that also carry the row. Rows of at least ``_ROW_SORT_MIN`` are sorted one by one; shorter
    ones ``_INT32_CHUNK // N`` rows at a time by truncated keys (see :func:`_sort_int32_chunk`).
    Each chunk is differentiated in chunk-sized buffers and its gradient scattered into its spent
    errors: no [G, N] buffer beyond the inputs.
    """
    rows = errors.shape[0]
    full = fg.view(torch.int32)
    full.copy_(fg)  # 0.0/1.0 → 0/1 in place
    full.add_(errors.view(torch.int32), alpha=2)
    loss = torch.empty(rows, dtype=errors.dtype, device=errors.device)
    _int32_chunks(errors, full, scale, loss, per_chunk)
    return loss, errors


def _kernel_chunked(errors: Tensor, fg: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
    """torch.sort on the CPU above ``_CPU_SINGLE_SORT_MAX``: chunks of whole rows, each sorted
    and differentiated on its own; the chunk's gradient overwrites its consumed error rows, and
    fg (consumed too) receives the unsorted result."""
    rows, length = errors.shape
    order = torch.empty(rows * length, dtype=torch.int64, device=errors.device)
    loss = torch.empty(rows, dtype=errors.dtype, device=errors.device)
    per_chunk = max(1, _CPU_SORT_CHUNK // length)
    for start in range(0, rows, per_chunk):
        stop = min(rows, start + per_chunk)
        chunk_errors, chunk_fg = errors[start:stop], fg[start:stop]
        sorted_keys, chunk_order = torch.sort(_packed_keys(chunk_errors, chunk_fg))
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


def lovasz_kernel(buffers: list[Tensor], coefficient: Tensor) -> tuple[Tensor, Tensor]:
    """Lovász extension of many independent groups and the gradient w.r.t. the scores.

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
    """
    fg = buffers.pop()
    errors = buffers.pop()
    rows, length = errors.shape
    scale = coefficient.to(errors.dtype).unsqueeze(1)
    if errors.dtype == torch.float64:
        return _kernel_float64(errors, fg, scale)
    on_cpu = errors.device.type == "cpu"
    if _numpy_sort_applies(errors.device, rows, length):
        keys, order = sort_rows(errors, fg)  # sorted in place: errors and fg receive the rows
        _decode_keys(keys.view(rows, length), errors.view(torch.int32), fg.view(torch.int32))
        spare = keys.view(torch.float32).view(2, rows, length)  # the keys' slots: the workspace
        loss, grad = _sorted_losses_and_gradients(errors, fg, scale, (spare[0], spare[1]))
        return loss, errors.view(-1).scatter_(0, order, grad.view(-1)).view(rows, length)
    per_chunk = int32_rows_per_chunk(errors.device, rows, length)
    if per_chunk is not None and bool(errors.amax() < 2.0):
        return _kernel_int32(errors, fg, scale, per_chunk)
    if on_cpu and rows > 1 and rows * length > _CPU_SINGLE_SORT_MAX:
        return _kernel_chunked(errors, fg, scale)
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
