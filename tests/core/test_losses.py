"""lovasz_softmax / lovasz_hinge / lovasz_sigmoid and the Modules against the slow reference."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lovasz_core import (
    LovaszHingeLoss,
    LovaszSigmoidLoss,
    LovaszSoftmaxLoss,
    lovasz_hinge,
    lovasz_sigmoid,
    lovasz_softmax,
    per_class_iou,
)
from tests.core.reference import lovasz_hinge_ref, lovasz_sigmoid_ref, lovasz_softmax_ref

SETTINGS = settings(max_examples=40, deadline=None)
TOL = {"rtol": 1e-6, "atol": 1e-6}
TOL32 = {"rtol": 1e-4, "atol": 2e-6}

# Spatial shapes: 1-D, 2-D and 3-D, small enough for the O(P²) reference.
_SPATIAL = st.one_of(
    st.tuples(st.integers(1, 9)),
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
    st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(1, 3)),
)


def _numel(shape) -> int:
    return math.prod(shape)


def _value_and_grad(fn, x: torch.Tensor):
    leaf = x.detach().clone().requires_grad_(True)
    value = fn(leaf)
    (grad,) = torch.autograd.grad(value, leaf, allow_unused=True)
    return value.detach(), torch.zeros_like(leaf) if grad is None else grad


def _assert_same_value_and_grad(ours, ref, x):
    """Our loss on ``x`` (float32 or float64) against the reference on the same values in float64."""
    value, grad = _value_and_grad(ours, x)
    ref_value, ref_grad = _value_and_grad(ref, x.double())
    assert value.dim() == 0
    assert value.dtype == x.dtype and grad.dtype == x.dtype
    tol = TOL if x.dtype == torch.float64 else TOL32
    torch.testing.assert_close(value.double(), ref_value, **tol)
    torch.testing.assert_close(grad.double(), ref_grad, **tol)


@st.composite
def softmax_cases(draw):
    batch = draw(st.integers(1, 4))
    num_classes = draw(st.integers(2, 6))
    spatial = draw(_SPATIAL)
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    scale = draw(st.sampled_from([0.5, 2.0, 6.0]))
    logits = torch.randn(batch, num_classes, *spatial, generator=gen, dtype=torch.float64) * scale
    probas = torch.softmax(logits, dim=1)

    absent = draw(st.sets(st.integers(0, num_classes - 1), max_size=num_classes - 1))
    ignore_kind = draw(st.sampled_from(["none", "void", "inside"]))
    ignore_index = {"none": None, "void": 255, "inside": draw(st.integers(0, num_classes - 1))}[ignore_kind]
    allowed = [c for c in range(num_classes) if c not in absent and c != ignore_index] or [
        c for c in range(num_classes) if c != ignore_index
    ]
    pick = torch.randint(0, len(allowed), (batch, *spatial), generator=gen)
    labels = torch.tensor(allowed)[pick]
    if ignore_index is not None:
        size = batch * _numel(spatial)
        mask = draw(st.lists(st.booleans(), min_size=size, max_size=size))
        ignored = torch.tensor(mask).reshape(batch, *spatial)
        labels = labels.masked_fill(ignored, ignore_index)

    mode = draw(st.sampled_from(["present", "all", "list"]))
    if mode == "list":
        classes = draw(
            st.lists(st.integers(0, num_classes - 1), min_size=1, max_size=num_classes, unique=True)
        )
    else:
        classes = mode
    per_image = draw(st.booleans())
    class_weights = None
    if draw(st.booleans()):
        class_weights = draw(
            st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=num_classes, max_size=num_classes)
        )
    return probas, labels, classes, per_image, ignore_index, class_weights


@SETTINGS
@given(softmax_cases())
def test_softmax_matches_reference(case):
    probas, labels, classes, per_image, ignore_index, class_weights = case
    _assert_same_value_and_grad(
        lambda p: lovasz_softmax(p, labels, classes, per_image, ignore_index, class_weights=class_weights),
        lambda p: lovasz_softmax_ref(p, labels, classes, per_image, ignore_index, class_weights),
        probas,
    )


def _float32_error_ties(probas: torch.Tensor, labels: torch.Tensor, ignore_index) -> bool:
    """Whether two valid pixels of a class have the same non-zero float32 error.

    At such a tie the sort order is arbitrary and so is the subgradient each pixel gets (the
    value is not): a float64 sample can round to ties in float32 (e.g. p = 1 − 1e-5 and 1e-5).
    """
    valid = torch.ones_like(labels, dtype=torch.bool) if ignore_index is None else labels != ignore_index
    for c in range(probas.shape[1]):
        fg = (labels == c) & valid
        errors = (fg.float() - probas[:, c]).abs()[valid]
        nonzero = errors[errors > 0]
        if nonzero.unique().numel() < nonzero.numel():
            return True
    return False


@SETTINGS
@given(softmax_cases())
def test_softmax_float32_matches_reference(case):
    probas, labels, classes, per_image, ignore_index, class_weights = case
    probas32 = probas.float()
    ours = lambda p: lovasz_softmax(p, labels, classes, per_image, ignore_index, class_weights=class_weights)  # noqa: E731
    ref = lambda p: lovasz_softmax_ref(p, labels, classes, per_image, ignore_index, class_weights)  # noqa: E731
    if _float32_error_ties(probas32, labels, ignore_index):
        # Ties: only the value is defined; the gradient is one of several valid subgradients.
        value, _ = _value_and_grad(ours, probas32)
        ref_value, _ = _value_and_grad(ref, probas32.double())
        torch.testing.assert_close(value.double(), ref_value, **TOL32)
        return
    _assert_same_value_and_grad(ours, ref, probas32)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("per_image", [False, True])
def test_medium_problem_matches_reference(dtype, per_image):
    # More elements per group than the hypothesis cases, many groups, voids and an absent class.
    gen = torch.Generator().manual_seed(11)
    logits = torch.randn(3, 5, 6, 7, generator=gen, dtype=torch.float64) * 3
    labels = torch.randint(0, 4, (3, 6, 7), generator=gen)
    labels[torch.rand(3, 6, 7, generator=gen) < 0.2] = 255
    probas = torch.softmax(logits, 1).to(dtype)
    for classes in ("present", "all"):
        _assert_same_value_and_grad(
            lambda p, c=classes: lovasz_softmax(p, labels, c, per_image, 255),
            lambda p, c=classes: lovasz_softmax_ref(p, labels, c, per_image, 255),
            probas,
        )
    binary = labels.remainder(2).masked_fill(labels == 255, 255)
    _assert_same_value_and_grad(
        lambda s: lovasz_hinge(s, binary, per_image, 255),
        lambda s: lovasz_hinge_ref(s, binary, per_image, 255),
        logits[:, 0].to(dtype),
    )
    multi = (torch.rand(3, 5, 6, 7, generator=gen) < 0.3).long()
    _assert_same_value_and_grad(
        lambda s: lovasz_sigmoid(s, multi, per_image),
        lambda s: lovasz_sigmoid_ref(s, multi, per_image),
        logits.to(dtype),
    )


@SETTINGS
@given(softmax_cases())
def test_softmax_through_softmax_matches_reference_in_logit_space(case):
    probas, labels, classes, per_image, ignore_index, class_weights = case
    logits = probas.log()
    _assert_same_value_and_grad(
        lambda x: lovasz_softmax(
            torch.softmax(x, 1), labels, classes, per_image, ignore_index, class_weights=class_weights
        ),
        lambda x: lovasz_softmax_ref(
            torch.softmax(x, 1), labels, classes, per_image, ignore_index, class_weights
        ),
        logits,
    )


@st.composite
def binary_cases(draw, multilabel: bool):
    batch = draw(st.integers(1, 4))
    spatial = draw(_SPATIAL)
    channels = (draw(st.integers(1, 4)),) if multilabel else ()
    shape = (batch, *channels, *spatial)
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(*shape, generator=gen, dtype=torch.float64) * draw(st.sampled_from([0.5, 2.0]))
    fg_rate = draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    labels = (torch.rand(*shape, generator=gen) < fg_rate).long()
    ignore_index = draw(st.sampled_from([None, 255, 0, 1, -1]))
    if ignore_index is not None:
        mask = draw(st.lists(st.booleans(), min_size=_numel(shape), max_size=_numel(shape)))
        labels = labels.masked_fill(torch.tensor(mask).reshape(shape), ignore_index)
    return logits, labels, draw(st.booleans()), ignore_index


@SETTINGS
@given(binary_cases(multilabel=False))
def test_hinge_matches_reference(case):
    logits, labels, per_image, ignore_index = case
    for x in (logits, logits.float()):
        _assert_same_value_and_grad(
            lambda s: lovasz_hinge(s, labels, per_image, ignore_index),
            lambda s: lovasz_hinge_ref(s, labels, per_image, ignore_index),
            x,
        )
    # [B, 1, *spatial] scores are the same problem.
    _assert_same_value_and_grad(
        lambda s: lovasz_hinge(s, labels, per_image, ignore_index),
        lambda s: lovasz_hinge_ref(s.squeeze(1), labels, per_image, ignore_index),
        logits.unsqueeze(1),
    )


@SETTINGS
@given(binary_cases(multilabel=True))
def test_sigmoid_matches_reference(case):
    logits, labels, per_image, ignore_index = case
    for x in (logits, logits.float()):
        _assert_same_value_and_grad(
            lambda s: lovasz_sigmoid(s, labels, per_image, ignore_index),
            lambda s: lovasz_sigmoid_ref(s, labels, per_image, ignore_index),
            x,
        )


# ---------------------------------------------------------------------------------------------
# Hand-checkable facts.


def _random_problem(batch=2, num_classes=4, spatial=(5, 6), seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, num_classes, *spatial, generator=gen, dtype=dtype)
    labels = torch.randint(0, num_classes, (batch, *spatial), generator=gen)
    return logits, labels


@pytest.mark.parametrize("per_image", [False, True])
def test_one_hot_prediction_gives_one_minus_iou(per_image):
    # At a hard (one-hot) prediction the errors are binary, so the extension equals Δ_J = 1 − IoU.
    logits, labels = _random_problem(batch=1, num_classes=4, spatial=(7, 7))
    prediction = logits.argmax(1)
    probas = torch.nn.functional.one_hot(prediction, 4).movedim(-1, 1).double()
    iou = per_class_iou(prediction, labels, 4)
    present = torch.bincount(labels.reshape(-1), minlength=4) > 0
    expected = (1 - iou[present]).mean()
    assert float(lovasz_softmax(probas, labels, per_image=per_image)) == pytest.approx(float(expected))
    # A perfect prediction costs nothing.
    perfect = torch.nn.functional.one_hot(labels, 4).movedim(-1, 1).double()
    assert float(lovasz_softmax(perfect, labels, classes="all")) == 0.0


def test_absent_class_costs_its_largest_probability():
    logits, labels = _random_problem(num_classes=3)
    labels = labels.clamp_max(1)  # class 2 absent
    probas = torch.softmax(logits, 1)
    value = lovasz_softmax(probas, labels, classes=[2])
    assert float(value) == pytest.approx(float(probas[:, 2].max()))
    # Under "all" the absent class enters the mean, under "present" it does not.
    per_class = [float(lovasz_softmax(probas, labels, classes=[c])) for c in range(3)]
    assert float(lovasz_softmax(probas, labels, classes="all")) == pytest.approx(sum(per_class) / 3)
    assert float(lovasz_softmax(probas, labels, classes="present")) == pytest.approx(sum(per_class[:2]) / 2)


def test_class_weights_are_a_weighted_mean_of_class_losses():
    logits, labels = _random_problem(num_classes=3)
    probas = torch.softmax(logits, 1)
    per_class = torch.stack([lovasz_softmax(probas, labels, classes=[c]) for c in range(3)])
    weights = torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64)
    value = lovasz_softmax(probas, labels, class_weights=weights)
    torch.testing.assert_close(value, (weights * per_class).sum() / weights.sum())
    equal = lovasz_softmax(probas, labels, class_weights=[2.0, 2.0, 2.0])
    torch.testing.assert_close(equal, lovasz_softmax(probas, labels))


def test_per_image_is_the_mean_of_single_image_losses():
    logits, labels = _random_problem(batch=3)
    probas = torch.softmax(logits, 1)
    singles = [lovasz_softmax(probas[b : b + 1], labels[b : b + 1]) for b in range(3)]
    torch.testing.assert_close(lovasz_softmax(probas, labels, per_image=True), sum(singles) / 3)
    hinge_singles = [lovasz_hinge(logits[b : b + 1, 0], labels[b : b + 1] % 2) for b in range(3)]
    torch.testing.assert_close(lovasz_hinge(logits[:, 0], labels % 2, per_image=True), sum(hinge_singles) / 3)


def test_ignoring_pixels_equals_dropping_them():
    logits, labels = _random_problem(batch=2, num_classes=3, spatial=(6, 6))
    probas = torch.softmax(logits, 1)
    ignored = torch.rand(labels.shape, generator=torch.Generator().manual_seed(3)) < 0.4
    with_void = labels.masked_fill(ignored, 255)
    kept_probas = probas.movedim(1, -1)[~ignored].T.unsqueeze(0)  # [1, C, P_kept]
    kept_labels = labels[~ignored].unsqueeze(0)
    for classes in ("present", "all"):
        torch.testing.assert_close(
            lovasz_softmax(probas, with_void, classes, ignore_index=255),
            lovasz_softmax(kept_probas, kept_labels, classes),
        )
    # Ignored pixels get no gradient.
    _, grad = _value_and_grad(lambda p: lovasz_softmax(p, with_void, ignore_index=255), probas)
    assert bool((grad.movedim(1, -1)[ignored] == 0).all())
    assert bool((grad.movedim(1, -1)[~ignored] != 0).any())


# ---------------------------------------------------------------------------------------------
# gradcheck in float64 (random inputs: no ties, no error exactly at a kink).


def test_gradcheck_softmax_through_softmax():
    logits, labels = _random_problem(batch=2, num_classes=3, spatial=(3, 4), seed=4)
    labels[0, 0, 0] = 255
    for per_image in (False, True):
        for classes in ("present", "all", [0, 2]):
            assert torch.autograd.gradcheck(
                lambda x, c=classes, p=per_image: lovasz_softmax(torch.softmax(x, 1), labels, c, p, 255),
                (logits.clone().requires_grad_(),),
            )


def test_gradcheck_hinge_and_sigmoid():
    gen = torch.Generator().manual_seed(5)
    scores = torch.randn(2, 4, 5, generator=gen, dtype=torch.float64)
    binary = torch.randint(0, 2, (2, 4, 5), generator=gen)
    binary[1, 0, 0] = 255
    for per_image in (False, True):
        assert torch.autograd.gradcheck(
            lambda x, p=per_image: lovasz_hinge(x, binary, p, 255), (scores.clone().requires_grad_(),)
        )
        assert torch.autograd.gradcheck(
            lambda x, p=per_image: lovasz_sigmoid(x, binary, p, 255), (scores.clone().requires_grad_(),)
        )


def test_gradcheck_modules():
    logits, labels = _random_problem(batch=2, num_classes=3, spatial=(3, 3), seed=6)
    gen = torch.Generator().manual_seed(7)
    binary = torch.randint(0, 2, (2, 3, 3, 3), generator=gen)
    modules = [
        (LovaszSoftmaxLoss(), logits, labels),
        (LovaszSoftmaxLoss(classes="all", per_image=True, class_weights=[1.0, 2.0, 0.5]), logits, labels),
        (LovaszHingeLoss(), logits[:, 0], labels % 2),
        (LovaszSigmoidLoss(per_image=True), logits, binary),
    ]
    for module, x, y in modules:
        assert torch.autograd.gradcheck(lambda t, m=module, y=y: m(t, y), (x.clone().requires_grad_(),))
    probas = torch.sigmoid(logits)
    assert torch.autograd.gradcheck(
        lambda t: LovaszSigmoidLoss(from_logits=False)(t, binary), (probas.clone().requires_grad_(),)
    )


# ---------------------------------------------------------------------------------------------
# Modules are thin wrappers.


def test_modules_equal_functions():
    logits, labels = _random_problem(num_classes=4)
    probas = torch.softmax(logits, 1)
    torch.testing.assert_close(LovaszSoftmaxLoss()(logits, labels), lovasz_softmax(probas, labels))
    torch.testing.assert_close(
        LovaszSoftmaxLoss(classes="all", per_image=True, ignore_index=0, from_logits=False)(probas, labels),
        lovasz_softmax(probas, labels, "all", True, 0),
    )
    torch.testing.assert_close(
        LovaszHingeLoss(per_image=False)(logits[:, 0], labels % 2),
        lovasz_hinge(logits[:, 0], labels % 2, False),
    )
    binary = labels.unsqueeze(1).expand_as(logits) % 2
    torch.testing.assert_close(LovaszSigmoidLoss()(logits, binary), lovasz_sigmoid(logits, binary))
    torch.testing.assert_close(
        LovaszSigmoidLoss(from_logits=False)(torch.sigmoid(logits), binary), lovasz_sigmoid(logits, binary)
    )


# ---------------------------------------------------------------------------------------------
# Known failures of the paper's reference code, fixed here.


def test_float64_input_gives_float64_loss_and_grad():
    logits, labels = _random_problem()
    probas = torch.softmax(logits, 1).requires_grad_()
    value = lovasz_softmax(probas, labels)
    value.backward()
    assert value.dtype == torch.float64 and probas.grad.dtype == torch.float64


def _all_ignored_cases():
    labels = torch.full((2, 3, 4), 255)
    binary_multi = torch.full((2, 3, 3, 4), 255)
    logits = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    for per_image in (False, True):
        yield (
            "softmax",
            lambda x, p=per_image: lovasz_softmax(torch.softmax(x, 1), labels, "present", p, 255),
            logits,
        )
        yield (
            "softmax_all",
            lambda x, p=per_image: lovasz_softmax(torch.softmax(x, 1), labels, "all", p, 255),
            logits,
        )
        yield (
            "softmax_list",
            lambda x, p=per_image: lovasz_softmax(torch.softmax(x, 1), labels, [1], p, 255),
            logits,
        )
        yield "hinge", lambda x, p=per_image: lovasz_hinge(x, labels, p, 255), logits[:, 0]
        yield "sigmoid", lambda x, p=per_image: lovasz_sigmoid(x, binary_multi, p, 255), logits
        yield (
            "module",
            lambda x, p=per_image: LovaszSoftmaxLoss(per_image=p, ignore_index=255)(x, labels),
            logits,
        )


ALL_IGNORED = list(_all_ignored_cases())


@pytest.mark.parametrize(
    "name,fn,x",
    ALL_IGNORED,
    ids=[
        f"{c[0]}-{'per_image' if 2 * i >= len(ALL_IGNORED) else 'batch'}" for i, c in enumerate(ALL_IGNORED)
    ],
)
def test_all_pixels_ignored_gives_zero_with_zero_grad(name, fn, x):
    leaf = x.clone().requires_grad_()
    value = fn(leaf)
    assert value.dim() == 0 and float(value.detach()) == 0.0
    value.backward()
    assert leaf.grad is not None and bool((leaf.grad == 0).all())


def test_some_images_fully_ignored_count_as_zero_in_per_image_mean():
    logits, labels = _random_problem(batch=3)
    labels[1] = 255
    probas = torch.softmax(logits, 1)
    expected = (lovasz_softmax(probas[:1], labels[:1]) + lovasz_softmax(probas[2:], labels[2:])) / 3
    torch.testing.assert_close(lovasz_softmax(probas, labels, per_image=True, ignore_index=255), expected)


def test_exactly_one_valid_pixel():
    logits, labels = _random_problem(batch=2, num_classes=3, spatial=(3, 3))
    probas = torch.softmax(logits, 1)
    only = torch.full_like(labels, 255)
    only[1, 2, 0] = 2
    for classes in ("present", "all"):
        for per_image in (False, True):
            _assert_same_value_and_grad(
                lambda p, c=classes, i=per_image: lovasz_softmax(p, only, c, i, 255),
                lambda p, c=classes, i=per_image: lovasz_softmax_ref(p, only, c, i, 255),
                probas,
            )
    # One pixel of class 2 with probability q: error 1 − q, Δ({pixel}) = 1.
    q = float(probas[1, 2, 2, 0])
    assert float(lovasz_softmax(probas, only, ignore_index=255)) == pytest.approx(1 - q)
    binary = only.remainder(2).masked_fill(only == 255, 255)
    multi = torch.full((2, 3, 3, 3), 255)
    multi[0, 1, 2, 2] = 1
    for per_image in (False, True):
        _assert_same_value_and_grad(
            lambda s, i=per_image: lovasz_hinge(s, binary, i, 255),
            lambda s, i=per_image: lovasz_hinge_ref(s, binary, i, 255),
            logits[:, 0],
        )
        _assert_same_value_and_grad(
            lambda s, i=per_image: lovasz_sigmoid(s, multi, i, 255),
            lambda s, i=per_image: lovasz_sigmoid_ref(s, multi, i, 255),
            logits,
        )
    # A single pixel in total (1 × 1 image).
    _assert_same_value_and_grad(
        lambda p: lovasz_softmax(p, labels[:1, :1, :1]),
        lambda p: lovasz_softmax_ref(p, labels[:1, :1, :1]),
        probas[:1, :, :1, :1],
    )


def test_non_interned_present_string():
    logits, labels = _random_problem(num_classes=4)
    labels = labels.clamp_max(2)
    probas = torch.softmax(logits, 1)
    present = "".join(["pre", "sent"])
    all_ = "".join(["a", "ll"])
    literal = "present"
    assert present == literal and present is not literal  # a different object: `is` would fail
    torch.testing.assert_close(
        lovasz_softmax(probas, labels, present), lovasz_softmax(probas, labels, "present")
    )
    torch.testing.assert_close(lovasz_softmax(probas, labels, all_), lovasz_softmax(probas, labels, "all"))
    torch.testing.assert_close(
        lovasz_softmax(probas, labels, present), lovasz_softmax(probas, labels, [0, 1, 2])
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_returns_float32_loss_and_input_dtype_grad(dtype):
    logits, labels = _random_problem(batch=2, num_classes=4, spatial=(16, 16), dtype=torch.float32)
    binary = (labels % 2).unsqueeze(1).expand_as(logits).contiguous()
    cases = [
        (lambda x: lovasz_softmax(torch.softmax(x, 1), labels), logits),
        (lambda x: lovasz_softmax(torch.softmax(x, 1), labels, "all", True), logits),
        (lambda x: lovasz_hinge(x, labels % 2), logits[:, 0]),
        (lambda x: lovasz_sigmoid(x, binary), logits),
        (lambda x: LovaszSoftmaxLoss()(x, labels), logits),
    ]
    tolerance = 2e-2 if dtype == torch.bfloat16 else 2e-3
    for fn, x in cases:
        half = x.to(dtype).requires_grad_()
        value = fn(half)
        assert value.dtype == torch.float32
        value.backward()
        assert half.grad.dtype == dtype
        assert bool(torch.isfinite(half.grad).all())
        full = x.to(dtype).float().requires_grad_()
        full_value = fn(full)
        full_value.backward()
        assert float(value.detach()) == pytest.approx(float(full_value.detach()), abs=tolerance)
        torch.testing.assert_close(half.grad.float(), full.grad, atol=tolerance, rtol=0.1)


def test_probabilities_a_rounding_step_outside_unit_interval():
    # probas within the accepted tolerance of [0, 1] (e.g. -0.0, 1 + 1e-4): errors are |1[y=c] − p|.
    logits, labels = _random_problem(batch=2, num_classes=3, spatial=(4, 4), seed=8)
    probas = torch.softmax(logits, 1)
    labels[0, 0, :2] = 255
    probas[0, 1, 1, 1] = -0.0
    probas[0, 2, 1, 2] = -4e-4  # background of class 2 (label set below)...
    labels[0, 1, 2] = 0
    labels[0, 3, 0] = 2  # ...ranked before a foreground pixel of class 2 with a smaller error,
    probas[0, 2, 3, 0] = 1 - 1e-4  # so that its Jaccard gradient is not 0
    probas[1, 0, 2, 2] = 1 + 3e-4
    probas[1, labels[1, 3, 3], 3, 3] = 1 + 2e-4
    for per_image in (False, True):
        _assert_same_value_and_grad(
            lambda p, i=per_image: lovasz_softmax(p, labels, "all", i, 255),
            lambda p, i=per_image: lovasz_softmax_ref(p, labels, "all", i, 255),
            probas,
        )


def test_loss_is_finite_and_bounded_on_extreme_logits():
    gen = torch.Generator().manual_seed(9)
    logits = torch.randn(2, 5, 8, 8, generator=gen) * 1e4
    labels = torch.randint(0, 5, (2, 8, 8), generator=gen)
    value = LovaszSoftmaxLoss(classes="all")(logits.requires_grad_(), labels)
    value.backward()
    assert 0.0 <= float(value.detach()) <= 1.0
    assert bool(torch.isfinite(logits.grad).all())


def _subgradient_gap(fn, x, grad, direction, step):
    """f(x + t·d) − f(x) − t·⟨grad, d⟩: never negative for a subgradient of a convex f."""
    with torch.no_grad():
        return float(fn(x + step * direction) - fn(x) - step * (grad * direction).sum())


def test_ties_give_the_reference_value_and_a_valid_subgradient():
    # All errors tied (uniform probabilities, zero logits): the value does not depend on the tie
    # order, and whatever order breaks the ties, the gradient is a subgradient of the convex loss
    # (in the interior of [0, 1] the errors are affine in p).
    gen = torch.Generator().manual_seed(12)
    labels = torch.randint(0, 3, (2, 4, 5), generator=gen)
    labels[0, 0] = 255
    uniform = torch.full((2, 3, 4, 5), 1 / 3, dtype=torch.float64)
    zeros = torch.zeros(2, 4, 5, dtype=torch.float64)
    binary = labels.remainder(2).masked_fill(labels == 255, 255)
    cases = [
        (
            lambda p: lovasz_softmax(p, labels, "all", False, 255),
            lambda p: lovasz_softmax_ref(p, labels, "all", False, 255),
            uniform,
        ),
        (
            lambda p: lovasz_softmax(p, labels, "present", True, 255),
            lambda p: lovasz_softmax_ref(p, labels, "present", True, 255),
            uniform,
        ),
        (
            lambda s: lovasz_hinge(s, binary, True, 255),
            lambda s: lovasz_hinge_ref(s, binary, True, 255),
            zeros,
        ),
        (
            lambda s: lovasz_hinge(s, binary, False, 255),
            lambda s: lovasz_hinge_ref(s, binary, False, 255),
            zeros,
        ),
    ]
    for ours, ref, x in cases:
        value, grad = _value_and_grad(ours, x)
        torch.testing.assert_close(value, ref(x), **TOL)
        for _ in range(20):
            direction = torch.randn(x.shape, generator=gen, dtype=torch.float64)
            assert _subgradient_gap(ours, x, grad, direction, 1e-3) >= -1e-12


def _layouts():
    """(name, scores, labels) in memory layouts other than contiguous, and a multi-label flag."""
    gen = torch.Generator().manual_seed(13)
    x = torch.randn(4, 3, 5, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (4, 5, 6), generator=gen)
    multi = (torch.rand(4, 3, 5, 6, generator=gen) < 0.4).long()
    big = torch.randn(8, 3, 5, 6, generator=gen, dtype=torch.float64)
    big_y = torch.randint(0, 3, (8, 5, 6), generator=gen)
    batch_last = torch.randint(0, 3, (5, 6, 4), generator=gen).permute(2, 0, 1)
    cl = torch.channels_last
    yield "channels_last", x.contiguous(memory_format=cl), y, False
    yield "batch_slice", big[::2], big_y[::2], False
    yield "transposed", x.transpose(2, 3), y.transpose(1, 2), False
    yield "labels_batch_innermost", x, batch_last, False
    yield "multilabel_channels_last", x.contiguous(memory_format=cl), multi.contiguous(memory_format=cl), True
    yield "multilabel_permuted", x, multi.permute(2, 3, 0, 1).contiguous().permute(2, 3, 0, 1), True


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("name,x,y,multilabel", list(_layouts()), ids=[c[0] for c in _layouts()])
def test_memory_layout_does_not_matter(name, x, y, multilabel, per_image):
    if multilabel:
        calls = [
            lambda s, t: lovasz_sigmoid(s, t, per_image),
            lambda s, t: LovaszSigmoidLoss(per_image, from_logits=False)(torch.sigmoid(s), t),
        ]
    else:
        calls = [
            lambda s, t: lovasz_softmax(torch.softmax(s, 1), t, "all", per_image),
            lambda s, t: LovaszSoftmaxLoss(per_image=per_image)(s, t),
            lambda s, t: lovasz_hinge(s[:, 0], t.remainder(2), per_image),
        ]
    for fn in calls:
        value, grad = _value_and_grad(lambda s, fn=fn: fn(s, y), x)
        expected, expected_grad = _value_and_grad(lambda s, fn=fn: fn(s, y.contiguous()), x.contiguous())
        torch.testing.assert_close(value, expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-12)
