"""The batched kernel of the losses equals the readable extension, on every sort path."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lovasz_core import _kernel, lovasz_grad, lovasz_trace

NEVER = 1 << 40
# name: (NumPy self-indexed keys?, torch.sort single-sort limit, rows per cache-sized sort,
#        shortest row sorted on its own as int32 keys, fewest elements sorted as int32 keys,
#        elements per sort of truncated int32 keys)
PATHS = {
    "numpy keys": (True, 1 << 20, 1 << 19, 1 << 15, 1 << 17, 1 << 18),
    "numpy keys, runs of rows on threads": (True, 1 << 20, 8, 1 << 15, 1 << 17, 1 << 18),
    "torch.sort packed keys": (False, 1 << 20, 1 << 19, NEVER, NEVER, 1 << 18),
    "torch.sort chunks of rows": (False, 8, 8, NEVER, NEVER, 1 << 18),
    "torch.sort int32 keys row by row": (False, 1 << 20, 1 << 19, 1, NEVER, 1 << 18),
    "torch.sort truncated int32 keys of all rows": (False, 1 << 20, 1 << 19, NEVER, 1, 1 << 18),
    "torch.sort truncated int32 keys, chunks of rows": (False, 1 << 20, 1 << 19, NEVER, 1, 24),
}


@st.composite
def groups(draw):
    rows = draw(st.integers(1, 5))
    length = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    # Distinct errors (a permutation of a grid, scaled): no ties, so per-element gradients are
    # defined; then some elements are ignored (error 0, not fg) or exactly right (error 0, fg).
    # "near ties" differ only in their last float32 bits, where truncated int32 keys collide.
    scale = draw(st.sampled_from([1.0, 2.5, 1e-3, "near ties"]))
    grid = torch.randperm(rows * length, generator=gen).double() + 1
    near_ties = 0.5 + grid * 2.0**-24  # consecutive float32 values above 0.5
    errors = near_ties if scale == "near ties" else grid / (rows * length) * scale
    errors = errors.view(rows, length)
    fg = (torch.rand(rows, length, generator=gen) < draw(st.sampled_from([0.0, 0.3, 1.0]))).double()
    zero = torch.rand(rows, length, generator=gen) < draw(st.sampled_from([0.0, 0.2]))
    ignored = zero & (torch.rand(rows, length, generator=gen) < 0.5)
    errors[zero] = 0.0
    fg[ignored] = 0.0
    coefficient = torch.rand(rows, generator=gen, dtype=torch.float64) + 0.1
    return errors, fg, coefficient


def _readable(errors: torch.Tensor, fg: torch.Tensor, coefficient: torch.Tensor):
    """Loss [G] and d(Σ coefficient·loss)/d(score) [G, N] from one lovasz_trace per group."""
    losses, grads = [], []
    for row_errors, row_fg, c in zip(errors, fg, coefficient, strict=True):
        trace = lovasz_trace(row_errors, row_fg)
        signs = torch.where(row_fg > 0, -1.0, 1.0).to(trace.weights.dtype)
        losses.append(trace.loss)
        grads.append(c.to(trace.weights.dtype) * trace.weights * signs * (row_errors > 0))
    return torch.stack(losses), torch.stack(grads)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("path", list(PATHS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=groups())
def test_kernel_equals_readable_extension(monkeypatch, path, dtype, problem):
    numpy_keys, single_max, chunk, row_min, int32_min, int32_chunk = PATHS[path]
    monkeypatch.setattr(_kernel, "_numpy_sorts_fast", lambda: numpy_keys)
    monkeypatch.setattr(_kernel, "_ROW_SORT_MIN", row_min)
    monkeypatch.setattr(_kernel, "_INT32_MIN", int32_min)
    monkeypatch.setattr(_kernel, "_INT32_CHUNK", int32_chunk)
    monkeypatch.setattr(_kernel, "_CPU_SINGLE_SORT_MAX", single_max)
    monkeypatch.setattr(_kernel, "_CPU_SORT_CHUNK", chunk)
    monkeypatch.setattr(_kernel, "_PARALLEL_SORT_MIN", 1)
    errors, fg, coefficient = (t.to(dtype) for t in problem)
    expected_loss, expected_grad = _readable(errors, fg, coefficient)
    loss, grad = _kernel.lovasz_kernel([errors.clone(), fg.clone()], coefficient)
    assert loss.dtype == grad.dtype == dtype
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-14}
    torch.testing.assert_close(loss, expected_loss, **tolerance)
    torch.testing.assert_close(grad, expected_grad, **tolerance)


def test_numpy_sort_is_chosen_only_when_clearly_faster():
    """Measured best times of 65,536 keys: NumPy on the AVX-512 machine where it is fast (0.20 ms
    vs torch's 0.29), on this project's machine where it is not (2.3 vs 0.8), and a burst of load
    that slowed torch's threads to about NumPy's time during the timing."""
    assert _kernel._numpy_wins(0.20e-3, 0.29e-3)
    assert not _kernel._numpy_wins(2.3e-3, 0.8e-3)
    assert not _kernel._numpy_wins(2.27e-3, 2.5e-3)


def test_threads_split_rows_like_one_sort(monkeypatch):
    """Rows sorted in runs on several threads give the keys of one sort of the whole array."""
    gen = torch.Generator().manual_seed(0)
    errors = torch.rand(7, 3000, generator=gen)
    fg = (torch.rand(7, 3000, generator=gen) < 0.3).float()
    monkeypatch.setattr(_kernel, "_numpy_sorts_fast", lambda: True)
    one_keys, one_order = _kernel.sort_rows(errors, fg)
    monkeypatch.setattr(_kernel, "_PARALLEL_SORT_MIN", 1)
    monkeypatch.setattr(_kernel, "_CPU_SORT_CHUNK", 2 * 3000)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    assert _kernel.sort_threads(7 * 3000) == min(3, _kernel.os.cpu_count() or 1)
    keys, order = _kernel.sort_rows(errors, fg)
    assert torch.equal(keys, one_keys) and torch.equal(order, one_order)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert _kernel.sort_threads(7 * 3000) == 1


LONG = 2**24 + 16  # float32 counts stop being exact integers above 2²⁴


def test_lovasz_grad_is_exact_on_rows_longer_than_float32_counts():
    # All foreground: I_i = P − i, U_i = P, so g_i = 1/P everywhere.
    g = lovasz_grad(torch.ones(LONG, dtype=torch.bool))
    assert g.dtype == torch.float32
    assert torch.equal(g, torch.full((LONG,), 1.0 / LONG, dtype=torch.float32))
    # One foreground element, last: g_i = 1/(i(i+1)) before it (g_1 = 1/2), and 1/P at it.
    fg = torch.zeros(LONG, dtype=torch.bool)
    fg[-1] = True
    g = lovasz_grad(fg)
    i = torch.arange(1, LONG, dtype=torch.float64)
    expected = torch.cat([1.0 / (i * (i + 1)), torch.tensor([1.0 / LONG], dtype=torch.float64)])
    torch.testing.assert_close(g, expected.float(), rtol=1e-6, atol=0)


def test_lovasz_trace_is_exact_on_rows_longer_than_float32_counts():
    errors = torch.linspace(1.0, 0.5, LONG)
    trace = lovasz_trace(errors, torch.ones(LONG, dtype=torch.bool))
    # Δ of the full foreground is 1 and every g is 1/|F|: the loss is the mean error.
    assert float(trace.jaccard[-1]) == 1.0
    assert float(trace.union[-1]) == LONG  # counts are exact int64, cast to float32 at the end
    assert torch.equal(trace.grad, torch.full((LONG,), 1.0 / LONG, dtype=torch.float32))
    assert float(trace.loss) == pytest.approx(0.75, rel=1e-5)


def test_a_forked_child_sorts_on_its_own_pool(monkeypatch):
    """The pool's threads do not survive fork: the child makes a new pool instead of waiting."""
    import multiprocessing

    monkeypatch.setattr(_kernel, "_PARALLEL_SORT_MIN", 1)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    errors = torch.rand(4, 500)
    fg = (torch.rand(4, 500) < 0.5).float()
    expected = _kernel.sort_rows(errors, fg)  # creates the parent's pool
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        keys, order = pool.apply(_kernel.sort_rows, (errors, fg))
    assert torch.equal(keys, expected[0]) and torch.equal(order, expected[1])
