"""Bad input: every public function raises TypeError/ValueError naming the offending argument.

Mismatched devices are tested with the 'meta' device, so they run everywhere (no GPU needed).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lovasz_core import (
    LovaszHingeLoss,
    LovaszSigmoidLoss,
    LovaszSoftmaxLoss,
    confusion_matrix,
    iou_from_confusion,
    jaccard_loss_of_set,
    lovasz_extension,
    lovasz_grad,
    lovasz_hinge,
    lovasz_sigmoid,
    lovasz_softmax,
    lovasz_trace,
    mean_iou,
    per_class_iou,
)
from lovasz_core.lab import LOSSES, get_loss

B, C, H, W = 2, 3, 4, 5


def _pattern(arg: str, scores_name: str = "", labels_name: str = "") -> str:
    """The message must name the argument in backticks; a device mismatch names both tensors."""
    if arg == "device":
        return f"`{scores_name}` and `{labels_name}` must be on the same device"
    return "`" + {"scores": scores_name, "labels": labels_name}.get(arg, arg) + "`"


def _probas():
    return torch.softmax(torch.randn(B, C, H, W), 1)


def _labels():
    return torch.randint(0, C, (B, H, W))


# ---------------------------------------------------------------------------------------------
# Multi-class losses: (name, call(scores, labels, **kw), scores name, labels name, takes probas)


def _multiclass_callables():
    yield "lovasz_softmax", lambda s, y, **kw: lovasz_softmax(s, y, **kw), "probas", "labels", True
    yield "LovaszSoftmaxLoss", lambda s, y, **kw: LovaszSoftmaxLoss(**kw)(s, y), "input", "target", False
    yield (
        "LovaszSoftmaxLoss(from_logits=False)",
        lambda s, y, **kw: LovaszSoftmaxLoss(from_logits=False, **kw)(s, y),
        "input",
        "target",
        True,
    )
    for key in sorted(LOSSES):
        yield (
            f"LOSSES[{key}]",
            lambda s, y, _k=key, **kw: LOSSES[_k].fn(s, y, **kw),
            "logits",
            "labels",
            False,
        )
        yield (
            f"get_loss({key})",
            lambda s, y, _k=key, **kw: get_loss(_k)(s, y, **kw),
            "logits",
            "labels",
            False,
        )


MULTICLASS = list(_multiclass_callables())
MULTICLASS_IDS = [m[0] for m in MULTICLASS]
TAKES_CLASSES = [m for m in MULTICLASS if m[0].startswith(("lovasz_softmax", "LovaszSoftmaxLoss"))]


def _bad_multiclass_inputs(takes_probas: bool, core: bool):
    """``core``: the core's losses also take whole-number float labels and [B, 1, H, W] labels."""
    p, y = _probas(), _labels()
    nan = p.clone()
    nan[0, 0, 0, 0] = float("nan")
    inf = p.clone()
    inf[1, 2, 3, 4] = float("inf")
    yield "scores not a tensor", p.tolist(), y, {}, TypeError, "scores"
    yield "scores numpy", p.numpy(), y, {}, TypeError, "scores"
    yield "labels not a tensor", p, y.tolist(), {}, TypeError, "labels"
    yield "labels numpy", p, y.numpy(), {}, TypeError, "labels"
    yield "integer scores", (p * 10).long(), y, {}, TypeError, "scores"
    if core:
        yield "fractional float labels", p, y.float() + 0.5, {}, ValueError, "labels"
        yield "NaN float labels", p, y.float().masked_fill(y == 0, float("nan")), {}, ValueError, "labels"
    else:
        yield "float labels", p, y.float(), {}, TypeError, "labels"
    yield "scores 0-d", p[0, 0, 0, 0], y, {}, ValueError, "scores"
    yield "scores 2-D", p[:, :, 0, 0], y[:, 0, 0], {}, ValueError, "scores"
    yield "scores 6-D", p.reshape(B, C, 1, 1, H, W), y.reshape(B, 1, 1, H, W), {}, ValueError, "scores"
    yield "labels wrong spatial", p, y[:, :, :-1], {}, ValueError, "labels"
    yield "labels wrong batch", p, y[:1], {}, ValueError, "labels"
    yield "labels with 2 channels", p, torch.stack([y, y], 1), {}, ValueError, "labels"
    if not core:
        yield "labels with channel dim", p, y.unsqueeze(1), {}, ValueError, "labels"
    yield "label == C", p, y.masked_fill(y == 0, C), {}, ValueError, "labels"
    yield "label < 0", p, y.masked_fill(y == 0, -1), {}, ValueError, "labels"
    yield "label 255 without ignore_index", p, y.masked_fill(y == 0, 255), {}, ValueError, "labels"
    yield (
        "label out of range besides ignore_index",
        p,
        y.masked_fill(y == 0, 7).masked_fill(y == 1, 255),
        {"ignore_index": 255},
        ValueError,
        "labels",
    )
    yield "C = 1", p[:, :1], y.clamp_max(0), {}, ValueError, "scores"
    yield "NaN", nan, y, {}, ValueError, "scores"
    yield "inf", inf, y, {}, ValueError, "scores"
    yield "empty scores", p[:0], y[:0], {}, ValueError, "scores"
    yield "empty spatial", p[:, :, :0], y[:, :0], {}, ValueError, "scores"
    yield "empty labels", p, y[:, :0], {}, ValueError, "labels"
    yield "ignore_index float", p, y, {"ignore_index": 255.0}, TypeError, "ignore_index"
    yield "ignore_index str", p, y, {"ignore_index": "255"}, TypeError, "ignore_index"
    yield "ignore_index bool", p, y, {"ignore_index": True}, TypeError, "ignore_index"
    yield "scores on meta", p.to("meta"), y, {}, ValueError, "scores"
    yield "labels on meta", p, y.to("meta"), {}, ValueError, "labels"
    if takes_probas:
        yield "probas > 1 (logits?)", p * 3, y, {}, ValueError, "scores"
        yield "probas < 0", p - 0.5, y, {}, ValueError, "scores"


@pytest.mark.parametrize("name,call,scores_name,labels_name,takes_probas", MULTICLASS, ids=MULTICLASS_IDS)
def test_multiclass_bad_inputs(name, call, scores_name, labels_name, takes_probas):
    core = not name.startswith(("LOSSES", "get_loss"))
    for case, scores, labels, kwargs, error, arg in _bad_multiclass_inputs(takes_probas, core):
        with pytest.raises(error, match=_pattern(arg, scores_name, labels_name)):
            call(scores, labels, **kwargs)
            pytest.fail(f"{name}: no error for {case}")


@pytest.mark.parametrize("name,call,scores_name,labels_name,takes_probas", MULTICLASS, ids=MULTICLASS_IDS)
def test_multiclass_good_inputs_pass_the_checks(name, call, scores_name, labels_name, takes_probas):
    p, y = _probas(), _labels()
    scores = p if takes_probas else p.log()
    assert call(scores, y).dim() == 0
    assert call(scores, y.masked_fill(y == 0, 255), ignore_index=255).dim() == 0  # 255 allowed
    assert call(scores, y, ignore_index=1).dim() == 0  # ignore_index inside [0, C)
    assert call(scores, y.to(torch.uint8), ignore_index=255).dim() == 0
    assert call(scores.double(), y.int()).dtype == torch.float64
    assert call(scores[:, :2], y.clamp_max(1).bool()).dim() == 0  # bool labels with C = 2


def _class_options():
    yield "unknown string", {"classes": "presnt"}, ValueError, "classes"
    yield "empty list", {"classes": []}, ValueError, "classes"
    yield "index == C", {"classes": [0, C]}, ValueError, "classes"
    yield "negative index", {"classes": [-1]}, ValueError, "classes"
    yield "float entry", {"classes": [0, 1.0]}, TypeError, "classes"
    yield "str entry", {"classes": ["0"]}, TypeError, "classes"
    yield "bool entry", {"classes": [True]}, TypeError, "classes"
    yield "None", {"classes": None}, ValueError, "classes"
    yield "int", {"classes": 1}, ValueError, "classes"
    yield "per_image str", {"per_image": "yes"}, TypeError, "per_image"
    yield "per_image int", {"per_image": 1}, TypeError, "per_image"
    yield "weights wrong length", {"class_weights": [1.0, 2.0]}, ValueError, "class_weights"
    yield "weights negative", {"class_weights": [1.0, -1.0, 1.0]}, ValueError, "class_weights"
    yield "weights NaN", {"class_weights": [1.0, float("nan"), 1.0]}, ValueError, "class_weights"
    yield "weights not numbers", {"class_weights": ["a", "b", "c"]}, TypeError, "class_weights"


@pytest.mark.parametrize(
    "name,call,scores_name,labels_name,takes_probas", TAKES_CLASSES, ids=[m[0] for m in TAKES_CLASSES]
)
def test_class_selection_bad_inputs(name, call, scores_name, labels_name, takes_probas):
    p, y = _probas(), _labels()
    scores = p if takes_probas else p.log()
    for case, kwargs, error, arg in _class_options():
        with pytest.raises(error, match=f"`{arg}`"):
            call(scores, y, **kwargs)
            pytest.fail(f"{name}: no error for {case}")
    # Good selections pass: a tuple, a tensor of indices, an absent class.
    for classes in ((0, 2), torch.tensor([1]), [2], "all", "present"):
        assert call(scores, y.clamp_max(1), classes=classes).dim() == 0


# ---------------------------------------------------------------------------------------------
# Binary (hinge) and multi-label (sigmoid) losses.

BINARY = [
    ("lovasz_hinge", lambda s, y, **kw: lovasz_hinge(s, y, **kw), "logits", "labels"),
    ("LovaszHingeLoss", lambda s, y, **kw: LovaszHingeLoss(**kw)(s, y), "input", "target"),
]


def _bad_binary_inputs():
    s, y = torch.randn(B, H, W), torch.randint(0, 2, (B, H, W))
    nan = s.clone()
    nan[0, 0, 0] = float("nan")
    yield "scores not a tensor", s.tolist(), y, {}, TypeError, "scores"
    yield "labels not a tensor", s, y.tolist(), {}, TypeError, "labels"
    yield "integer scores", s.long(), y, {}, TypeError, "scores"
    yield "fractional float labels", s, y.float() + 0.5, {}, ValueError, "labels"
    yield "shape mismatch", s, y[:, :-1], {}, ValueError, "scores"
    yield "two channels", s.unsqueeze(1).expand(B, 2, H, W), y, {}, ValueError, "scores"
    yield "1-D labels", s[:, 0, 0], y[:, 0, 0], {}, ValueError, "labels"
    yield "label 2", s, y.masked_fill(y == 0, 2), {}, ValueError, "labels"
    yield "label -1", s, y.masked_fill(y == 0, -1), {}, ValueError, "labels"
    yield "label 2 besides ignore", s, y.masked_fill(y == 0, 2), {"ignore_index": 255}, ValueError, "labels"
    yield "NaN", nan, y, {}, ValueError, "scores"
    yield "inf", s.masked_fill(y == 1, -float("inf")), y, {}, ValueError, "scores"
    yield "empty", s[:0], y[:0], {}, ValueError, "scores"
    yield "ignore_index float", s, y, {"ignore_index": 0.5}, TypeError, "ignore_index"
    yield "per_image None", s, y, {"per_image": None}, TypeError, "per_image"
    yield "meta scores", s.to("meta"), y, {}, ValueError, "scores"


@pytest.mark.parametrize("name,call,scores_name,labels_name", BINARY, ids=[b[0] for b in BINARY])
def test_binary_bad_inputs(name, call, scores_name, labels_name):
    for case, scores, labels, kwargs, error, arg in _bad_binary_inputs():
        with pytest.raises(error, match=_pattern(arg, scores_name, labels_name)):
            call(scores, labels, **kwargs)
            pytest.fail(f"{name}: no error for {case}")
    y = torch.randint(0, 2, (B, H, W))
    assert call(torch.randn(B, 1, H, W), y).dim() == 0
    assert call(torch.randn(B, H, W), y.masked_fill(y == 0, 255), ignore_index=255).dim() == 0


MULTILABEL = [
    ("lovasz_sigmoid", lambda s, y, **kw: lovasz_sigmoid(s, y, **kw), "logits", "labels", False),
    ("LovaszSigmoidLoss", lambda s, y, **kw: LovaszSigmoidLoss(**kw)(s, y), "input", "target", False),
    (
        "LovaszSigmoidLoss(from_logits=False)",
        lambda s, y, **kw: LovaszSigmoidLoss(from_logits=False, **kw)(s, y),
        "input",
        "target",
        True,
    ),
]


def _bad_multilabel_inputs(takes_probas: bool):
    s, y = torch.rand(B, C, H, W), torch.randint(0, 2, (B, C, H, W))
    nan = s.clone()
    nan[0, 0, 0, 0] = float("nan")
    yield "scores not a tensor", s.tolist(), y, {}, TypeError, "scores"
    yield "labels not a tensor", s, y.numpy(), {}, TypeError, "labels"
    yield "integer scores", s.long(), y, {}, TypeError, "scores"
    yield "fractional float labels", s, y.float() - 0.25, {}, ValueError, "labels"
    yield "2-D scores", s[:, :, 0, 0], y[:, :, 0, 0], {}, ValueError, "scores"
    yield "labels without channel dim", s, y[:, 0], {}, ValueError, "labels"
    yield "labels wrong spatial", s, y[..., :-1], {}, ValueError, "labels"
    yield "label 2", s, y.masked_fill(y == 0, 2), {}, ValueError, "labels"
    yield "NaN", nan, y, {}, ValueError, "scores"
    yield "empty", s[:, :, :0], y[:, :, :0], {}, ValueError, "scores"
    yield "ignore_index str", s, y, {"ignore_index": "x"}, TypeError, "ignore_index"
    yield "per_image str", s, y, {"per_image": "no"}, TypeError, "per_image"
    yield "meta labels", s, y.to("meta"), {}, ValueError, "labels"
    if takes_probas:
        yield "probas > 1", s + 1, y, {}, ValueError, "scores"


@pytest.mark.parametrize(
    "name,call,scores_name,labels_name,takes_probas", MULTILABEL, ids=[m[0] for m in MULTILABEL]
)
def test_multilabel_bad_inputs(name, call, scores_name, labels_name, takes_probas):
    for case, scores, labels, kwargs, error, arg in _bad_multilabel_inputs(takes_probas):
        with pytest.raises(error, match=_pattern(arg, scores_name, labels_name)):
            call(scores, labels, **kwargs)
            pytest.fail(f"{name}: no error for {case}")
    y = torch.randint(0, 2, (B, C, H, W))
    assert call(torch.rand(B, C, H, W), y.masked_fill(y == 0, 255), ignore_index=255).dim() == 0


# ---------------------------------------------------------------------------------------------
# Extension functions.


@pytest.mark.parametrize(
    "value,error",
    [
        ([1, 0, 1], TypeError),
        (np.array([1, 0]), TypeError),
        (torch.tensor(1), ValueError),
        (torch.zeros(0), ValueError),
        (torch.zeros(2, 0), ValueError),
        (torch.tensor([1, 2, 0]), ValueError),
        (torch.tensor([0.5, 1.0]), ValueError),
        (torch.tensor([1.0, float("nan")]), ValueError),
        (torch.tensor([1, 0], dtype=torch.complex64), TypeError),
    ],
    ids=["list", "numpy", "0-d", "empty", "empty rows", "label 2", "float 0.5", "NaN", "complex"],
)
def test_lovasz_grad_bad_inputs(value, error):
    with pytest.raises(error, match="`fg_sorted`"):
        lovasz_grad(value)


@pytest.mark.parametrize("fn", [lovasz_trace, lovasz_extension], ids=["lovasz_trace", "lovasz_extension"])
def test_trace_bad_inputs(fn):
    m = torch.rand(6)
    fg = torch.rand(6) < 0.5
    cases = [
        (m.tolist(), fg, TypeError, "errors"),
        (m, fg.tolist(), TypeError, "fg"),
        (m.long(), fg, TypeError, "errors"),
        (m, fg.float() * 0.5 + 0.25, ValueError, "fg"),
        (m, torch.tensor([0, 1, 2, 0, 1, 0]), ValueError, "fg"),
        (m, fg[:5], ValueError, "fg"),
        (m.reshape(2, 3), fg, ValueError, "fg"),
        (m.masked_fill(fg, float("nan")), fg, ValueError, "errors"),
        (m.masked_fill(fg, float("inf")), fg, ValueError, "errors"),
        (m - 2, fg, ValueError, "errors"),
        (m[:0], fg[:0], ValueError, "errors"),
        (m.to("meta"), fg, ValueError, "errors"),
    ]
    for errors, labels, error, arg in cases:
        with pytest.raises(error, match=_pattern(arg, "errors", "fg")):
            fn(errors, labels)


def test_jaccard_loss_of_set_bad_inputs():
    fg = torch.tensor([True, False, True])
    cases = [
        ([True, False, True], fg, TypeError, "mispredicted"),
        (fg, [True], TypeError, "fg"),
        (fg, fg[:2], ValueError, "fg"),
        (fg.float() / 2, fg, ValueError, "mispredicted"),
        (fg, torch.tensor([0, 3, 1]), ValueError, "fg"),
        (fg[:0], fg[:0], ValueError, "mispredicted"),
        (fg.to("meta"), fg, ValueError, "mispredicted"),
    ]
    for mis, labels, error, arg in cases:
        with pytest.raises(error, match=_pattern(arg, "mispredicted", "fg")):
            jaccard_loss_of_set(mis, labels)


# ---------------------------------------------------------------------------------------------
# Metrics and the registry.

METRICS = [confusion_matrix, per_class_iou, mean_iou]


@pytest.mark.parametrize("fn", METRICS, ids=[f.__name__ for f in METRICS])
def test_metrics_bad_inputs(fn):
    p = torch.randint(0, 3, (2, 4, 4))
    t = torch.randint(0, 3, (2, 4, 4))
    cases = [
        ((p.tolist(), t, 3), {}, TypeError, "prediction"),
        ((p, t.numpy(), 3), {}, TypeError, "target"),
        ((p.float(), t, 3), {}, TypeError, "prediction"),
        ((p, t.float(), 3), {}, TypeError, "target"),
        ((p[:, :-1], t, 3), {}, ValueError, "prediction"),
        ((p, t.masked_fill(t == 0, 3), 3), {}, ValueError, "target"),
        ((p, t.masked_fill(t == 0, -1), 3), {}, ValueError, "target"),
        ((p.masked_fill(p == 0, 5), t, 3), {}, ValueError, "prediction"),
        (
            (p, t.masked_fill(t == 0, 7).masked_fill(t == 1, 255), 3),
            {"ignore_index": 255},
            ValueError,
            "target",
        ),
        ((p, t, 0), {}, ValueError, "num_classes"),
        ((p, t, 3.0), {}, TypeError, "num_classes"),
        ((p, t, True), {}, TypeError, "num_classes"),
        ((p[:0], t[:0], 3), {}, ValueError, "prediction"),
        ((p, t, 3), {"ignore_index": "255"}, TypeError, "ignore_index"),
        ((p.to("meta"), t, 3), {}, ValueError, "prediction"),
    ]
    for args, kwargs, error, arg in cases:
        with pytest.raises(error, match=_pattern(arg, "prediction", "target")):
            fn(*args, **kwargs)
    # Predictions at ignored pixels may be anything (and do not count).
    void = t.masked_fill(t == 0, 255)
    torch.testing.assert_close(
        fn(p.masked_fill(t == 0, 99), void, 3, ignore_index=255),
        fn(p, void, 3, ignore_index=255),
        equal_nan=True,
    )


def test_iou_from_confusion_bad_inputs():
    with pytest.raises(TypeError, match="`confusion`"):
        iou_from_confusion([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="`confusion`"):
        iou_from_confusion(torch.ones(3))
    with pytest.raises(ValueError, match="`confusion`"):
        iou_from_confusion(torch.ones(2, 3))
    with pytest.raises(ValueError, match="`confusion`"):
        iou_from_confusion(torch.ones(0, 0))


def test_get_loss_bad_names():
    with pytest.raises(TypeError, match="`name`"):
        get_loss(3)
    with pytest.raises(ValueError, match="`name`"):
        get_loss("lovasz")
    with pytest.raises(ValueError, match="`name`"):
        get_loss("Cross_Entropy")


# ---------------------------------------------------------------------------------------------
# Errors of the promised kind, not torch's (found by fuzzing).


def test_tensors_without_dense_data_are_rejected_by_name():
    probas, labels = _probas(), _labels()
    with pytest.raises(TypeError, match="`probas` must be a dense"):
        lovasz_softmax(probas.to_sparse(), labels)
    with pytest.raises(TypeError, match="`labels` must be a dense"):
        lovasz_softmax(probas, labels.to_sparse())
    nested = torch.nested.nested_tensor([torch.rand(3, 4), torch.rand(5, 4)], layout=torch.jagged)
    with pytest.raises(TypeError, match="`logits` must be a dense"):
        lovasz_hinge(nested, labels)
    with pytest.raises(ValueError, match="`probas` must be on a device that holds data"):
        lovasz_softmax(probas.to("meta"), labels.to("meta"))


def test_confusion_matrix_caps_num_classes():
    p = torch.tensor([0, 1, 1])
    with pytest.raises(ValueError, match="`num_classes` must be at most 10000"):
        confusion_matrix(p, p, 10**6)
    assert confusion_matrix(p, p, 10_000).shape == (10_000, 10_000)


def test_lab_arguments_are_checked_by_name():
    from lovasz_core.lab.predictions import PredictionSpec, make_logits
    from lovasz_core.lab.training import TrainingConfig, TrainingRun

    labels = torch.randint(0, 3, (6, 6))
    with pytest.raises(TypeError, match="`spec` must be a PredictionSpec"):
        make_logits(labels, 3, {"scale": 1})
    with pytest.raises(TypeError, match=r"PredictionSpec\.seed must be an int"):
        make_logits(labels, 3, PredictionSpec(seed=1.5))
    with pytest.raises(TypeError, match="`num_classes` must be an int"):
        make_logits(labels, 3.0)
    torch.testing.assert_close(make_logits(labels, np.int64(3)), make_logits(labels, 3))
    torch.testing.assert_close(
        make_logits(labels, 3, PredictionSpec(seed=np.int32(2), noise=1.0)),
        make_logits(labels, 3, PredictionSpec(seed=2, noise=1.0)),
    )
    config = TrainingConfig(image="horse", size=16, steps=2)
    for threads, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="`threads`"):
            TrainingRun(config, threads=threads)
    run = TrainingRun(config)
    with pytest.raises(ValueError, match="`lane_key` must be one of"):
        run.snapshots("bogus")


def test_each_registry_loss_checks_its_inputs_once(monkeypatch):
    from lovasz_core import losses
    from lovasz_core.lab import baselines

    calls = []

    def counting(name, value):
        calls.append(name)

    monkeypatch.setattr(baselines, "check_finite", counting)
    monkeypatch.setattr(losses, "check_finite", counting)
    logits, labels = torch.randn(B, C, H, W), _labels()
    for key, spec in LOSSES.items():
        calls.clear()
        spec.fn(logits, labels)
        assert calls == ["logits"], key
    calls.clear()
    lovasz_softmax(_probas(), labels)
    assert calls == ["probas"]
