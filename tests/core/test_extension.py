"""The Lovász extension, the Jaccard gradients and the trace, against their set definitions."""

from __future__ import annotations

import doctest
import importlib
import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lovasz_core import jaccard_loss_of_set, lovasz_extension, lovasz_grad, lovasz_trace
from tests.core.reference import (
    decreasing_order,
    extension_by_permutations,
    jaccard_gradients_ref,
    jaccard_set_loss,
    lovasz_extension_ref,
)

SETTINGS = settings(max_examples=60, deadline=None)

# Errors with many ties (values from a small grid) or none (distinct random floats).
_grid = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])
_float = st.floats(0.0, 1.0, allow_nan=False, width=64)


@st.composite
def small_problem(draw, max_size: int = 7, ties: bool | None = None):
    size = draw(st.integers(1, max_size))
    use_grid = draw(st.booleans()) if ties is None else ties
    element = _grid if use_grid else _float
    if use_grid:
        errors = draw(st.lists(element, min_size=size, max_size=size))
    else:
        errors = draw(st.lists(element, min_size=size, max_size=size, unique=True))
    fg = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    return errors, fg


def _sets(fg):
    return {i for i, f in enumerate(fg) if f}


@SETTINGS
@given(small_problem())
def test_extension_is_max_over_permutations(problem):
    errors, fg = problem
    expected = extension_by_permutations(errors, fg)
    value = lovasz_extension(torch.tensor(errors, dtype=torch.float64), torch.tensor(fg))
    assert float(value) == pytest.approx(expected, abs=1e-12)


@SETTINGS
@given(small_problem(max_size=12))
def test_extension_matches_set_based_reference(problem):
    errors, fg = problem
    m = torch.tensor(errors, dtype=torch.float64)
    expected = lovasz_extension_ref(m, fg)
    assert float(lovasz_extension(m, torch.tensor(fg))) == pytest.approx(float(expected), abs=1e-12)


@SETTINGS
@given(small_problem(max_size=12))
def test_trace_prefixes_are_set_function_values(problem):
    errors, fg = problem
    trace = lovasz_trace(torch.tensor(errors, dtype=torch.float64), torch.tensor(fg))
    order = trace.order.tolist()
    foreground = _sets(fg)
    # The order sorts the errors in decreasing order and is a permutation.
    assert sorted(order) == list(range(len(errors)))
    assert [errors[i] for i in order] == sorted(errors, reverse=True)
    assert trace.errors_sorted.tolist() == [errors[i] for i in order]
    assert trace.fg_sorted.tolist() == [fg[i] for i in order]
    prefix_sums = trace.grad.cumsum(0).tolist()
    for k in range(1, len(order) + 1):
        prefix = set(order[:k])
        delta = jaccard_set_loss(prefix, foreground)
        assert float(trace.jaccard[k - 1]) == pytest.approx(delta, abs=1e-12)
        assert prefix_sums[k - 1] == pytest.approx(delta, abs=1e-12)
        assert float(trace.intersection[k - 1]) == len(foreground - prefix)
        assert float(trace.union[k - 1]) == len(foreground | prefix)
    expected_g = jaccard_gradients_ref(order, fg)
    torch.testing.assert_close(trace.grad, torch.tensor(expected_g, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(trace.contributions, trace.errors_sorted * trace.grad)
    assert float(trace.loss) == pytest.approx(
        sum(errors[i] * g for i, g in zip(order, expected_g, strict=True)), abs=1e-12
    )


@SETTINGS
@given(small_problem(max_size=12))
def test_trace_weights_are_g_at_original_positions_and_the_gradient(problem):
    errors, fg = problem
    m = torch.tensor(errors, dtype=torch.float64, requires_grad=True)
    trace = lovasz_trace(m, torch.tensor(fg))
    for rank, position in enumerate(trace.order.tolist()):
        assert float(trace.weights[position]) == float(trace.grad[rank])
    trace.loss.backward()
    torch.testing.assert_close(m.grad, trace.weights, rtol=0, atol=0)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_extension_equals_set_function_on_cube_corners(size):
    for fg in itertools.product([False, True], repeat=size):
        for corner in itertools.product([0.0, 1.0], repeat=size):
            mispredicted = {i for i, v in enumerate(corner) if v == 1.0}
            expected = jaccard_set_loss(mispredicted, _sets(fg))
            value = lovasz_extension(torch.tensor(corner, dtype=torch.float64), torch.tensor(fg))
            assert float(value) == pytest.approx(expected, abs=1e-12), (fg, corner)


def test_extension_is_convex_and_positively_homogeneous():
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        size = int(torch.randint(1, 9, (1,), generator=gen))
        fg = torch.rand(size, generator=gen) < 0.4
        a = torch.rand(size, generator=gen, dtype=torch.float64)
        b = torch.rand(size, generator=gen, dtype=torch.float64)
        t = float(torch.rand((), generator=gen, dtype=torch.float64))
        f = lambda m, fg=fg: float(lovasz_extension(m, fg))  # noqa: E731
        assert f(t * a + (1 - t) * b) <= t * f(a) + (1 - t) * f(b) + 1e-12
        assert f(3.0 * a) == pytest.approx(3.0 * f(a), abs=1e-12)


def test_trace_example_by_hand():
    # F = {0, 2}; order 0, 2, 1; Δ({0}) = 1/2, Δ({0, 2}) = 2/2, Δ({0, 2, 1}) = 3/3.
    trace = lovasz_trace(torch.tensor([0.9, 0.2, 0.6]), torch.tensor([True, False, True]))
    assert trace.order.tolist() == [0, 2, 1]
    torch.testing.assert_close(trace.jaccard, torch.tensor([0.5, 1.0, 1.0]))
    torch.testing.assert_close(trace.grad, torch.tensor([0.5, 0.5, 0.0]))
    torch.testing.assert_close(trace.weights, torch.tensor([0.5, 0.0, 0.5]))
    assert float(trace.loss) == pytest.approx(0.9 * 0.5 + 0.6 * 0.5)


def test_trace_threshold_half_is_one_minus_iou():
    # The k-th prefix Δ, k = #{m > 0.5}, is 1 − IoU of the prediction thresholded at 0.5.
    gen = torch.Generator().manual_seed(1)
    for _ in range(50):
        fg = torch.rand(20, generator=gen) < 0.5
        prob_fg = torch.rand(20, generator=gen, dtype=torch.float64)
        errors = torch.where(fg, 1 - prob_fg, prob_fg)
        k = int((errors > 0.5).sum())
        if k == 0:
            continue
        predicted = prob_fg > 0.5
        inter = int((predicted & fg).sum())
        union = int((predicted | fg).sum())
        trace = lovasz_trace(errors, fg)
        assert float(trace.jaccard[k - 1]) == pytest.approx(1 - inter / union, abs=1e-12)


def test_trace_keeps_shape_of_weights_and_accepts_any_shape():
    errors = torch.rand(2, 3, 4, dtype=torch.float64)
    fg = torch.rand(2, 3, 4) < 0.5
    trace = lovasz_trace(errors, fg)
    assert trace.weights.shape == errors.shape
    flat = lovasz_trace(errors.reshape(-1), fg.reshape(-1))
    torch.testing.assert_close(trace.weights.reshape(-1), flat.weights)
    assert float(trace.loss) == pytest.approx(float(flat.loss))


@pytest.mark.parametrize("fg_dtype", [torch.bool, torch.int64, torch.uint8, torch.float32])
def test_trace_and_grad_accept_integer_and_float_indicators(fg_dtype):
    fg = torch.tensor([1, 0, 1, 0]).to(fg_dtype)
    errors = torch.tensor([0.9, 0.8, 0.3, 0.1])
    expected = lovasz_trace(errors, fg.bool())
    torch.testing.assert_close(lovasz_trace(errors, fg).weights, expected.weights)
    torch.testing.assert_close(lovasz_grad(fg), lovasz_grad(fg.bool()))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_trace_of_half_precision_accumulates_in_float32(dtype):
    errors = torch.rand(50)
    fg = torch.rand(50) < 0.3
    trace = lovasz_trace(errors.to(dtype), fg)
    assert trace.loss.dtype == torch.float32
    reference = lovasz_trace(errors.to(dtype).float(), fg)
    torch.testing.assert_close(trace.loss, reference.loss)


@SETTINGS
@given(st.lists(st.lists(st.booleans(), min_size=6, max_size=6), min_size=1, max_size=4))
def test_lovasz_grad_is_set_function_differences(rows):
    fg_sorted = torch.tensor(rows)
    g = lovasz_grad(fg_sorted)
    assert g.shape == fg_sorted.shape
    assert g.dtype == torch.float32
    for row, fg in zip(g, rows, strict=True):
        expected = jaccard_gradients_ref(range(len(fg)), fg)
        torch.testing.assert_close(row, torch.tensor(expected, dtype=torch.float32))


def test_lovasz_grad_float64_and_leading_dims():
    fg = torch.rand(2, 3, 7) < 0.5
    g = lovasz_grad(fg.double())
    assert g.dtype == torch.float64
    for idx in itertools.product(range(2), range(3)):
        expected = jaccard_gradients_ref(range(7), fg[idx].tolist())
        torch.testing.assert_close(g[idx], torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-15)


def test_lovasz_grad_docstring_example_by_hand():
    # F = {0, 2}: Δ prefixes 1/2, 2/3, 1, 1.
    torch.testing.assert_close(
        lovasz_grad(torch.tensor([1, 0, 1, 0])), torch.tensor([0.5, 2 / 3 - 0.5, 1 / 3, 0.0])
    )


def test_jaccard_loss_of_set_matches_set_definition():
    for size in (1, 3, 4):
        for fg in itertools.product([False, True], repeat=size):
            for mis in itertools.product([False, True], repeat=size):
                expected = jaccard_set_loss(_sets(mis), _sets(fg))
                value = jaccard_loss_of_set(torch.tensor(mis), torch.tensor(fg))
                assert value.dtype == torch.float64 and value.dim() == 0
                assert float(value) == pytest.approx(expected)


def test_reference_helpers_agree_with_each_other():
    """The slow reference is itself checked: sort-based extension == max over permutations."""
    gen = torch.Generator().manual_seed(2)
    for _ in range(20):
        size = int(torch.randint(1, 7, (1,), generator=gen))
        m = torch.rand(size, generator=gen, dtype=torch.float64)
        fg = (torch.rand(size, generator=gen) < 0.5).tolist()
        assert float(lovasz_extension_ref(m, fg)) == pytest.approx(
            extension_by_permutations(m.tolist(), fg), abs=1e-12
        )
        order = decreasing_order(m.tolist())
        assert all(m[order[k]] >= m[order[k + 1]] for k in range(size - 1))


_CORE_MODULES = [
    "lovasz_core.extension",
    "lovasz_core.losses",
    "lovasz_core.metrics",
    "lovasz_core.lab.baselines",
    "lovasz_core.lab.registry",
    "lovasz_core.validation",
]


@pytest.mark.parametrize("name", _CORE_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    torch.manual_seed(0)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_docstring_examples_exist_for_the_main_functions():
    finder = doctest.DocTestFinder()
    examples = {
        test.name.rsplit(".", 1)[-1]
        for name in _CORE_MODULES
        for test in finder.find(importlib.import_module(name))
        if test.examples
    }
    for public in (
        "lovasz_grad",
        "lovasz_trace",
        "lovasz_softmax",
        "lovasz_hinge",
        "lovasz_sigmoid",
        "LovaszSoftmaxLoss",
        "confusion_matrix",
    ):
        assert public in examples
