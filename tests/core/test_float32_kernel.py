"""The float32 fast path (one radix sort of packed int64 keys) against the float64 reference.

float64 inputs take a row-wise sort; float32 inputs pack (row, error bits, fg) into one int64
key per element. These tests make sure both paths agree with the slow reference and each other.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lovasz_core import lovasz_hinge, lovasz_sigmoid, lovasz_softmax
from tests.core.reference import lovasz_hinge_ref, lovasz_sigmoid_ref, lovasz_softmax_ref

TOL = {"rtol": 1e-4, "atol": 2e-6}


def _grad(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    leaf = x.detach().clone().requires_grad_(True)
    value = fn(leaf)
    (grad,) = torch.autograd.grad(value, leaf)
    return value.detach(), grad


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 3),
    classes=st.integers(2, 5),
    side=st.integers(1, 6),
    per_image=st.booleans(),
    mode=st.sampled_from(["present", "all"]),
    ignore_fraction=st.sampled_from([0.0, 0.3, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_softmax_float32_matches_float64_reference(
    batch, classes, side, per_image, mode, ignore_fraction, seed
):
    gen = torch.Generator().manual_seed(seed)
    probas = torch.softmax(torch.randn(batch, classes, side, side, generator=gen) * 3, dim=1)
    labels = torch.randint(0, classes, (batch, side, side), generator=gen)
    labels[torch.rand(labels.shape, generator=gen) < ignore_fraction] = 255
    value, grad = _grad(lambda p: lovasz_softmax(p, labels, mode, per_image, 255), probas)
    ref_value, ref_grad = _grad(
        lambda p: lovasz_softmax_ref(p, labels, mode, per_image, 255), probas.double()
    )
    assert value.dtype == torch.float32
    torch.testing.assert_close(value.double(), ref_value, **TOL)
    torch.testing.assert_close(grad.double(), ref_grad, **TOL)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 3), side=st.integers(1, 7), per_image=st.booleans(), seed=st.integers(0, 10_000))
def test_hinge_float32_matches_float64_reference(batch, side, per_image, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, side, side, generator=gen) * 2  # many inactive hinges (m < 0)
    labels = torch.randint(0, 2, (batch, side, side), generator=gen)
    labels[torch.rand(labels.shape, generator=gen) < 0.2] = 255
    value, grad = _grad(lambda x: lovasz_hinge(x, labels, per_image, 255), logits)
    ref_value, ref_grad = _grad(lambda x: lovasz_hinge_ref(x, labels, per_image, 255), logits.double())
    torch.testing.assert_close(value.double(), ref_value, **TOL)
    torch.testing.assert_close(grad.double(), ref_grad, **TOL)


@settings(max_examples=20, deadline=None)
@given(
    batch=st.integers(1, 2),
    channels=st.integers(1, 4),
    side=st.integers(1, 5),
    per_image=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_sigmoid_float32_matches_float64_reference(batch, channels, side, per_image, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, channels, side, side, generator=gen)
    labels = torch.randint(0, 2, (batch, channels, side, side), generator=gen)
    value, grad = _grad(lambda x: lovasz_sigmoid(x, labels, per_image), logits)
    ref_value, ref_grad = _grad(lambda x: lovasz_sigmoid_ref(x, labels, per_image), logits.double())
    torch.testing.assert_close(value.double(), ref_value, **TOL)
    torch.testing.assert_close(grad.double(), ref_grad, **TOL)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", ["present", "all"])
def test_float32_and_float64_paths_agree_on_large_images(per_image, classes):
    """Rows of 2·128² elements: many radix-sort passes, offsets across rows, ignored pixels."""
    gen = torch.Generator().manual_seed(1)
    probas = torch.softmax(torch.randn(2, 6, 128, 128, generator=gen), dim=1)
    labels = torch.randint(0, 5, (2, 128, 128), generator=gen)  # class 5 absent
    labels[:, :10] = 255
    value32, grad32 = _grad(lambda p: lovasz_softmax(p, labels, classes, per_image, 255), probas)
    value64, grad64 = _grad(lambda p: lovasz_softmax(p, labels, classes, per_image, 255), probas.double())
    torch.testing.assert_close(value32.double(), value64, rtol=1e-5, atol=1e-6)
    # g ~ 1/(C·N) ~ 1e-6 here; an exact tie that float32 orders differently moves ~1e-9.
    torch.testing.assert_close(grad32.double(), grad64, rtol=1e-3, atol=2e-8)


def test_exact_ties_give_the_tie_independent_value():
    """With quantized probabilities (many equal errors) the value does not depend on tie order."""
    gen = torch.Generator().manual_seed(3)
    raw = torch.randint(1, 5, (2, 3, 6, 6), generator=gen).float()
    probas = raw / raw.sum(1, keepdim=True)
    labels = torch.randint(0, 3, (2, 6, 6), generator=gen)
    for per_image in (False, True):
        value = lovasz_softmax(probas, labels, "all", per_image)
        reference = lovasz_softmax_ref(probas.double(), labels, "all", per_image)
        assert float(value) == pytest.approx(float(reference), abs=1e-6)


@pytest.mark.parametrize("numpy_sort", [True, False])
@pytest.mark.parametrize("chunk", [1, 50, 1 << 20])
def test_chunked_sort_gives_the_same_result(monkeypatch, chunk, numpy_sort):
    """Sorting in chunks of rows (as large inputs do on the CPU) changes nothing."""
    from lovasz_core import _kernel

    gen = torch.Generator().manual_seed(5)
    probas = torch.softmax(torch.randn(3, 4, 9, 11, generator=gen), dim=1)
    labels = torch.randint(0, 4, (3, 9, 11), generator=gen)
    labels[0, :2] = 255
    expected = _grad(lambda p: lovasz_softmax(p, labels, "all", True, 255), probas.double())
    monkeypatch.setattr(_kernel, "_numpy_sorts_fast", lambda: numpy_sort)  # else torch.sort
    monkeypatch.setattr(_kernel, "_CPU_SORT_CHUNK", chunk)
    monkeypatch.setattr(_kernel, "_CPU_SINGLE_SORT_MAX", min(chunk, 1 << 20))
    value, grad = _grad(lambda p: lovasz_softmax(p, labels, "all", True, 255), probas)
    torch.testing.assert_close(value.double(), expected[0], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad.double(), expected[1], rtol=1e-4, atol=1e-8)
    hinge_logits = torch.randn(3, 9, 11, generator=gen)
    hinge_labels = torch.randint(0, 2, (3, 9, 11), generator=gen)
    expected = _grad(lambda x: lovasz_hinge(x, hinge_labels), hinge_logits.double())
    value, grad = _grad(lambda x: lovasz_hinge(x, hinge_labels), hinge_logits)
    torch.testing.assert_close(value.double(), expected[0], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad.double(), expected[1], rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("numpy_sort", [True, False])
@pytest.mark.parametrize("per_image", [False, True])
def test_numpy_and_torch_sort_paths_agree(monkeypatch, numpy_sort, per_image):
    """The CPU sorts with NumPy where it has a SIMD sort, else with torch.sort: same results."""
    from lovasz_core import _kernel

    monkeypatch.setattr(_kernel, "_numpy_sorts_fast", lambda: numpy_sort)
    gen = torch.Generator().manual_seed(11)
    probas = torch.softmax(torch.randn(2, 5, 17, 13, generator=gen) * 2, dim=1)
    labels = torch.randint(0, 4, (2, 17, 13), generator=gen)  # class 4 absent
    labels[1, :3] = 255
    value, grad = _grad(lambda p: lovasz_softmax(p, labels, "all", per_image, 255), probas)
    ref_value, ref_grad = _grad(
        lambda p: lovasz_softmax_ref(p, labels, "all", per_image, 255), probas.double()
    )
    torch.testing.assert_close(value.double(), ref_value, **TOL)
    torch.testing.assert_close(grad.double(), ref_grad, **TOL)
    logits = torch.randn(3, 8, 8, generator=gen) * 3  # hinge errors above 2: the widest bits
    hinge_labels = torch.randint(0, 2, (3, 8, 8), generator=gen)
    value, grad = _grad(lambda x: lovasz_hinge(x, hinge_labels, per_image), logits)
    ref_value, ref_grad = _grad(lambda x: lovasz_hinge_ref(x, hinge_labels, per_image), logits.double())
    torch.testing.assert_close(value.double(), ref_value, **TOL)
    torch.testing.assert_close(grad.double(), ref_grad, **TOL)


def test_self_indexed_keys_fall_back_when_too_wide():
    from lovasz_core._kernel import _self_indexed_key_bits

    assert _self_indexed_key_bits(64, 1024) == 16  # 6 row bits + 32 + 16 <= 63
    assert _self_indexed_key_bits(1, 1) == 1
    assert _self_indexed_key_bits(42, 65536) == 22
    assert _self_indexed_key_bits(1 << 10, 1 << 21) is None  # 10 + 32 + 31 > 63


def _count_int32_chunks(monkeypatch) -> list[tuple[int, int]]:
    """Record the [rows, N] shape of every chunk the int32 kernel sorts."""
    from lovasz_core import _kernel

    monkeypatch.setattr(_kernel, "_numpy_sorts_fast", lambda: False)
    chunks: list[tuple[int, int]] = []
    sort_chunk = _kernel._sort_int32_chunk

    def counting(full, *args):
        chunks.append(tuple(full.shape))
        return sort_chunk(full, *args)

    monkeypatch.setattr(_kernel, "_sort_int32_chunk", counting)
    return chunks


@pytest.mark.parametrize("per_image", [True, False])
def test_long_rows_sorted_one_by_one_as_int32_keys(monkeypatch, per_image):
    """Rows of at least 2¹⁵ pixels take the int32 row-by-row sort (softmax errors are below 2);
    hinge errors of 2 or more fall back to the int64 keys. Both equal the float64 path (a row
    sort of float64 errors, itself checked against the slow reference above)."""
    from lovasz_core import _kernel

    chunks = _count_int32_chunks(monkeypatch)
    row_sort_min, int32_min = _kernel._ROW_SORT_MIN, _kernel._INT32_MIN
    gen = torch.Generator().manual_seed(21)
    probas = torch.softmax(torch.randn(2, 3, 190, 190, generator=gen) * 3, dim=1)
    labels = torch.randint(0, 3, (2, 190, 190), generator=gen)
    labels[1, :5] = 255
    loss = lambda p: lovasz_softmax(p, labels, "all", per_image, 255)  # noqa: E731
    value, grad = _grad(loss, probas)
    row = 190 * 190 * (1 if per_image else 2)
    assert chunks == [(1, row)] * (6 if per_image else 3)
    ref_value, ref_grad = _grad(loss, probas.double())
    torch.testing.assert_close(value.double(), ref_value, **TOL)
    torch.testing.assert_close(grad.double(), ref_grad, **TOL)
    monkeypatch.setattr(_kernel, "_ROW_SORT_MIN", 1 << 40)  # the same float32 errors, int64 keys
    monkeypatch.setattr(_kernel, "_INT32_MIN", 1 << 40)
    int64_value, int64_grad = _grad(loss, probas)
    torch.testing.assert_close(value, int64_value, rtol=1e-6, atol=0.0)
    torch.testing.assert_close(grad, int64_grad, rtol=1e-6, atol=1e-12)
    chunks.clear()
    monkeypatch.setattr(_kernel, "_ROW_SORT_MIN", row_sort_min)
    monkeypatch.setattr(_kernel, "_INT32_MIN", int32_min)
    logits = torch.randn(2, 190, 190, generator=gen) * 3  # errors up to ~10: no int32 key
    hinge_labels = torch.randint(0, 2, (2, 190, 190), generator=gen)
    value, grad = _grad(lambda x: lovasz_hinge(x, hinge_labels, per_image), logits)
    ref_value, ref_grad = _grad(lambda x: lovasz_hinge(x, hinge_labels, per_image), logits.double())
    assert chunks == []
    torch.testing.assert_close(value.double(), ref_value, **TOL)
    torch.testing.assert_close(grad.double(), ref_grad, **TOL)


@pytest.mark.parametrize("logits", ["random", "zero", "quantized"])
def test_short_rows_sorted_in_chunks_by_truncated_int32_keys(monkeypatch, logits):
    """B8 C21 64²: rows of 4,096 errors below 2 are sorted in chunks of rows by truncated int32
    keys, then by their full keys where those collide. Exactly the results of the int64 keys
    (same order, ties in index order), and the float64 reference's within rounding, also when
    predictions are constant (every error tied) or take a few values (long runs of ties)."""
    from lovasz_core import _kernel

    chunks = _count_int32_chunks(monkeypatch)
    gen = torch.Generator().manual_seed(4)
    scores = {
        "random": torch.randn(8, 21, 64, 64, generator=gen) * 2,
        "zero": torch.zeros(8, 21, 64, 64),
        "quantized": torch.randint(0, 3, (8, 21, 64, 64), generator=gen).float(),
    }[logits]
    labels = torch.randint(0, 21, (8, 64, 64), generator=gen)
    labels[0, :3] = 255
    loss = lambda x: lovasz_softmax(torch.softmax(x, 1), labels, "all", True, 255)  # noqa: E731
    value, grad = _grad(loss, scores)
    per_chunk = _kernel._INT32_CHUNK // 4096
    expected_chunks = [(min(per_chunk, 168 - start), 4096) for start in range(0, 168, per_chunk)]
    assert len(expected_chunks) > 1 and chunks == expected_chunks
    monkeypatch.setattr(_kernel, "_INT32_MIN", 1 << 40)
    int64_value, int64_grad = _grad(loss, scores)
    assert chunks == expected_chunks  # the int64 keys: no int32 chunk
    assert torch.equal(grad, int64_grad)
    torch.testing.assert_close(value, int64_value, rtol=1e-6, atol=0.0)
    ref_value, ref_grad = _grad(loss, scores.double())
    torch.testing.assert_close(value.double(), ref_value, **TOL)
    torch.testing.assert_close(grad.double(), ref_grad, **TOL)


@pytest.mark.parametrize("ties", ["few", "many"])
def test_runs_of_equal_truncated_keys_are_ordered_by_full_keys(ties):
    """The fix-up after a sort by truncated keys equals one stable sort by (truncated, full) key:
    with few collisions (only elements with an equal neighbour are sorted again) and with many
    (only the runs that are out of order)."""
    from lovasz_core._kernel import _order_runs_of_equal_keys

    gen = torch.Generator().manual_seed(8)
    size = 5000
    distinct = 4000 if ties == "few" else 40
    truncated = torch.randint(0, distinct, (size,), generator=gen, dtype=torch.int32)
    full = truncated * 8 + torch.randint(0, 8, (size,), generator=gen, dtype=torch.int32)
    sorted_keys, order = torch.sort(truncated, stable=True)
    full_sorted = full[order]
    _order_runs_of_equal_keys(sorted_keys, order, full_sorted)
    expected_order = torch.sort(truncated.to(torch.int64) * 2**31 + full, stable=True).indices
    assert torch.equal(order, expected_order)
    assert torch.equal(full_sorted, full[expected_order])
