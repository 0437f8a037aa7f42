"""Lovász-Softmax, Lovász hinge and Lovász sigmoid losses (Berman et al., CVPR 2018).

Same argument names, order and defaults as the paper's reference code, so the functions are a
drop-in replacement (``ignore`` or ``ignore_index``; ``lovasz_softmax_flat``, ``lovasz_hinge_flat``).
Eagerly the work is vectorized: one sort over every (image × class) group, ignored pixels masked
instead of removed, and a custom autograd function whose backward only scales the Jaccard
gradient g computed in the forward pass. Under ``torch.compile`` and ``torch.func`` transforms
the same loss is built from differentiable ops (:mod:`lovasz_core._traced`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.autograd.function import FunctionCtx, once_differentiable

from ._kernel import lovasz_kernel
from ._traced import is_traced, lovasz_groups
from .extension import _accumulation_dtype
from .validation import (
    check_bool_flag,
    check_finite,
    check_floating,
    check_ignore_index,
    check_label_range,
    check_ndim,
    check_probability_range,
    check_same_device,
    check_shape,
    check_tensor,
    integer_labels,
    is_integer,
    valid_mask,
)

__all__ = [
    "LovaszHingeLoss",
    "LovaszSigmoidLoss",
    "LovaszSoftmaxLoss",
    "lovasz_hinge",
    "lovasz_hinge_flat",
    "lovasz_sigmoid",
    "lovasz_softmax",
    "lovasz_softmax_flat",
]

ClassSelection = str | Sequence[int]
Classes = str | list[int]


class _PrecomputedGradient(torch.autograd.Function):
    """Returns ``value`` and, in backward, ``grad_output * gradient`` for ``inputs``.

    The losses compute their exact gradient during the forward pass (it falls out of the sort
    for free), so the backward pass is one multiplication and only ``gradient`` is saved.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, inputs: Tensor, value: Tensor, gradient: Tensor) -> Tensor:  # noqa: ARG004
        ctx.save_for_backward(gradient)
        return value.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_output: Tensor) -> tuple[Tensor, None, None]:
        (gradient,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad_output.to(gradient.dtype) * gradient, None, None


def _one_ignore(ignore_index: object, ignore: object) -> object:
    """``ignore`` is the reference code's name for ``ignore_index``: one of them, not both."""
    if ignore is None:
        return ignore_index
    if ignore_index is not None:
        raise TypeError(
            "pass `ignore_index` or `ignore` (the same argument), not both: "
            f"got {ignore_index!r} and {ignore!r}"
        )
    return ignore


def _check_scores_and_labels(
    scores_name: str, scores: object, labels_name: str, labels: object, traced: bool
) -> tuple[Tensor, Tensor]:
    """Shared door checks: tensors, dtypes, device, finiteness; float labels become int64."""
    scores = check_tensor(scores_name, scores)
    labels = check_tensor(labels_name, labels)
    check_floating(scores_name, scores)
    check_same_device(scores_name, scores, labels_name, labels)
    labels = integer_labels(labels_name, labels, check_values=not traced)
    if not traced:
        check_finite(scores_name, scores)
    return scores, labels


def _check_classes(classes: object, num_classes: int) -> Classes:
    """``"present"``, ``"all"`` or a non-empty list of indices in ``[0, C)`` (repeats allowed)."""
    if isinstance(classes, str):
        if classes in ("present", "all"):  # ``==``, not ``is``: any equal string works
            return "present" if classes == "present" else "all"
        raise ValueError(f"`classes` must be 'present', 'all' or a list of class indices, got {classes!r}")
    if isinstance(classes, Tensor):
        classes = classes.tolist()
    if not isinstance(classes, Sequence) or len(classes) == 0:
        raise ValueError(
            f"`classes` must be 'present', 'all' or a non-empty list of class indices, got {classes!r}"
        )
    for c in classes:
        if not is_integer(c):
            raise TypeError(f"`classes` must contain ints, got {c!r} ({type(c).__name__})")
        if not 0 <= c < num_classes:
            raise ValueError(f"`classes` must contain indices in [0, {num_classes - 1}], got {c}")
    return [int(c) for c in classes]


def _class_selection(classes: Classes, num_classes: int, fg: Tensor, has_valid: Tensor) -> Tensor:
    """Boolean [B', C]: which (image, class) terms enter the mean (``classes`` already checked).

    ``fg`` is the [B', C, N] 0/1 ground truth; it is only scanned for ``classes="present"``.
    """
    if classes == "present":
        return fg.amax(-1) > 0
    if classes == "all":
        return has_valid.expand(-1, num_classes).clone()
    chosen = torch.zeros(num_classes, dtype=torch.bool, device=fg.device)
    chosen[list(classes)] = True
    return chosen & has_valid


def _class_weight_vector(
    class_weights: object, num_classes: int, dtype: torch.dtype, device: torch.device, traced: bool
) -> Tensor:
    """``[C]`` non-negative finite weights (all ones when ``class_weights`` is None)."""
    if class_weights is None:
        return torch.ones(num_classes, dtype=dtype, device=device)
    if isinstance(class_weights, Sequence) and not isinstance(class_weights, str):
        for w in class_weights:  # checked here, so also under torch.compile
            if isinstance(w, bool) or not isinstance(w, numbers.Real):
                raise TypeError(f"`class_weights` must contain numbers, got {w!r} ({type(w).__name__})")
            if not (math.isfinite(float(w)) and float(w) >= 0):
                raise ValueError(f"`class_weights` must be finite and non-negative, got {w!r}")
    try:
        weights = torch.as_tensor(class_weights, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"`class_weights` must be a sequence of C = {num_classes} numbers or a tensor, "
            f"got {class_weights!r}"
        ) from error
    if weights.shape != (num_classes,):
        raise ValueError(
            f"`class_weights` must have shape [C] = ({num_classes},), got {tuple(weights.shape)}"
        )
    if not traced and (not bool(torch.isfinite(weights).all()) or bool((weights < 0).any())):
        raise ValueError("`class_weights` must be finite and non-negative")
    return weights


def _mean_coefficients(selected: Tensor, class_weights: Tensor) -> Tensor:
    """d loss / d group_loss for a weighted mean over selected classes, then a mean over images.

    ``selected`` is [B', C] bool; an image with nothing selected contributes 0 but still counts
    in the mean over images (the reference code's convention). The weights are first divided by
    the largest (the mean does not change): equal weights of any size give exactly the plain mean.
    """
    largest = class_weights.amax()
    weights = torch.where(largest > 0, class_weights / largest, class_weights)
    coefficient = selected.to(weights.dtype) * weights
    denominator = coefficient.sum(-1, keepdim=True)
    coefficient = coefficient / torch.where(denominator > 0, denominator, 1.0)
    return coefficient / selected.shape[0]


def _indicator(
    values: Tensor, target: float | Tensor, dtype: torch.dtype, shape: tuple[int, ...] | None = None
) -> Tensor:
    """``values == target`` as 0/1 in ``dtype``, compared as floats; ``shape`` is the broadcast
    shape when ``target`` is a tensor (default: the shape of ``values``).

    The losses keep masks as 0/1 floats: float arithmetic vectorizes on the CPU, boolean masks
    (``where``, ``masked_fill``) are 5–20× slower per element, and a comparison writing floats
    directly is ~4× faster than one producing bools. Labels are small integers, exact in float32
    (a label ≥ 2²⁴ never reaches here: the door checks keep them in [0, C)).
    """
    values = values.to(dtype)
    if isinstance(target, Tensor):
        target = target.to(dtype)
    out = torch.empty(values.shape if shape is None else shape, dtype=dtype, device=values.device)
    return torch.eq(values, target, out=out)


def _probability_errors(probs: Tensor, fg: Tensor, valid: Tensor | None) -> Tensor:
    """Errors ``|p − fg|`` for 0/1 ``fg``, 0 where the 0/1 ``valid`` is 0.

    ``abs`` keeps them >= +0.0 even for -0.0 or probabilities a rounding step outside [0, 1].
    """
    errors = torch.sub(probs, fg).abs_()
    if valid is not None:
        errors.mul_(valid)
    return errors


def _fix_signs_outside_unit_interval(gradient: Tensor, probs: Tensor, fg: Tensor) -> Tensor:
    """The kernel's d|p − fg|/dp is −1 on fg and +1 elsewhere, true for p in [0, 1]; flip it
    where a probability lies a rounding step outside (p > 1 on fg, p < 0 elsewhere)."""
    wrong = torch.where(fg > 0, probs > 1, probs < 0)
    return torch.where(wrong, -gradient, gradient)


def _inside_unit_interval(probs: Tensor) -> bool:
    lo, hi = torch.aminmax(probs)
    return float(lo) >= 0.0 and float(hi) <= 1.0


def _softmax_labels(scores: Tensor, labels: Tensor) -> Tensor:
    """``[B, 1, *spatial]`` labels (a channel of one) lose the channel."""
    if labels.dim() == scores.dim() and labels.dim() >= 3 and labels.shape[1] == 1:
        return labels.squeeze(1)
    return labels


class _SoftmaxInputs:
    """Checked arguments of a multi-class loss."""

    def __init__(
        self, labels: Tensor, classes: Classes, per_image: bool, ignore_index: int | None, weights: Tensor
    ) -> None:
        self.labels = labels
        self.classes = classes
        self.per_image = per_image
        self.ignore_index = ignore_index
        self.weights = weights


def _check_softmax_inputs(
    scores_name: str,
    scores: object,
    labels_name: str,
    labels: object,
    classes: object,
    per_image: object,
    ignore_index: object,
    class_weights: object,
    traced: bool,
) -> tuple[Tensor, _SoftmaxInputs]:
    """Every check of the multi-class losses, run once per call."""
    scores, labels = _check_scores_and_labels(scores_name, scores, labels_name, labels, traced)
    check_ndim(scores_name, scores, "[B, C, *spatial] with 1 to 3 spatial dims", 3, 5)
    labels = _softmax_labels(scores, labels)
    expected = (scores.shape[0], *scores.shape[2:])
    check_shape(
        labels_name, labels, expected, f"[B, *spatial] (or [B, 1, *spatial]) matching `{scores_name}`"
    )
    index = check_ignore_index(ignore_index)
    flag = check_bool_flag("per_image", per_image)
    num_classes = scores.shape[1]
    if num_classes < 2:
        raise ValueError(
            f"`{scores_name}` must have C >= 2 classes along dim 1, got C = {num_classes}; "
            "for a single foreground channel use lovasz_hinge or lovasz_sigmoid"
        )
    if not traced:
        check_label_range(labels_name, labels, 0, num_classes - 1, valid_mask(labels, index), "class indices")
    chosen = _check_classes(classes, num_classes)
    dtype = _accumulation_dtype(scores.dtype)
    weights = _class_weight_vector(class_weights, num_classes, dtype, scores.device, traced)
    return scores, _SoftmaxInputs(labels, chosen, flag, index, weights)


def _softmax_loss(
    scores_name: str,
    scores: object,
    labels_name: str,
    labels: object,
    classes: object,
    per_image: object,
    ignore_index: object,
    class_weights: object,
    from_logits: bool,
) -> Tensor:
    """Check once, then the Lovász-Softmax of ``softmax(scores)`` or of probabilities ``scores``."""
    traced = is_traced(scores, labels) if isinstance(scores, Tensor) and isinstance(labels, Tensor) else False
    probas, inputs = _check_softmax_inputs(
        scores_name, scores, labels_name, labels, classes, per_image, ignore_index, class_weights, traced
    )
    if from_logits:
        probas = torch.softmax(probas, dim=1)
    elif not traced:
        check_probability_range(scores_name, probas)
    return _softmax_of_checked(probas, inputs, traced)


def _softmax_of_checked(probas: Tensor, inputs: _SoftmaxInputs, traced: bool) -> Tensor:
    if traced:
        return _softmax_traced(probas, inputs)
    valid = valid_mask(inputs.labels, inputs.ignore_index)
    return _lovasz_softmax_probas(
        probas, inputs.labels, inputs.classes, inputs.per_image, valid, inputs.weights
    )


def lovasz_softmax_unchecked(logits: Tensor, labels: Tensor, ignore_index: int | None) -> Tensor:
    """Lovász-Softmax (``classes="present"``, per batch) of ``softmax(logits)`` for inputs that
    the caller has already checked like :func:`lovasz_softmax` does (the lab's registry)."""
    dtype = _accumulation_dtype(logits.dtype)
    weights = torch.ones(logits.shape[1], dtype=dtype, device=logits.device)
    inputs = _SoftmaxInputs(labels, "present", False, ignore_index, weights)
    return _softmax_of_checked(torch.softmax(logits, dim=1), inputs, is_traced(logits, labels))


def _softmax_traced(probas: Tensor, inputs: _SoftmaxInputs) -> Tensor:
    """The Lovász-Softmax from differentiable ops, for ``torch.compile`` and ``torch.func``."""
    batch, num_classes = probas.shape[:2]
    dtype = _accumulation_dtype(probas.dtype)
    probs = probas.reshape(batch, num_classes, -1).to(dtype)
    labels = inputs.labels.reshape(batch, 1, -1)
    class_ids = torch.arange(num_classes, device=probas.device).view(1, -1, 1)
    fg = (labels.to(torch.int64) == class_ids).to(dtype)  # [B, C, N]
    valid = _traced_valid(labels, inputs.ignore_index, dtype)  # [B, 1, N]
    fg = fg * valid
    errors = (fg - probs).abs() * valid
    if not inputs.per_image:
        errors = errors.transpose(0, 1).reshape(1, num_classes, -1)
        fg = fg.transpose(0, 1).reshape(1, num_classes, -1)
        valid = valid.transpose(0, 1).reshape(1, 1, -1)
    has_valid = valid.amax(-1) > 0  # [B', 1]
    selected = _class_selection(inputs.classes, num_classes, fg, has_valid)
    coefficient = _mean_coefficients(selected, inputs.weights.to(dtype))
    length = errors.shape[-1]
    group_loss = lovasz_groups(errors.reshape(-1, length), fg.reshape(-1, length))
    return (coefficient.reshape(-1) * group_loss).sum()


def _traced_valid(labels: Tensor, ignore_index: int | None, dtype: torch.dtype) -> Tensor:
    """0/1 validity in ``dtype``, compared in int64 (the ignore index never wraps)."""
    if ignore_index is None:
        return torch.ones_like(labels, dtype=dtype)
    return (labels.to(torch.int64) != ignore_index).to(dtype)


def lovasz_softmax(
    probas: Tensor,
    labels: Tensor,
    classes: ClassSelection = "present",
    per_image: bool = False,
    ignore_index: int | None = None,
    *,
    ignore: int | None = None,
    class_weights: Sequence[float] | Tensor | None = None,
) -> Tensor:
    """Multi-class Lovász-Softmax loss (Berman et al., CVPR 2018, Eq. 12).

    For each class c, the errors ``m_i(c) = |1[y_i = c] − p_i(c)|`` are sorted and fed to the
    Lovász extension of the Jaccard loss; the loss is the mean over the chosen classes.

    Args:
        probas: ``[B, C, *spatial]`` class probabilities (softmax output), 1 to 3 spatial dims.
        labels: ``[B, *spatial]`` or ``[B, 1, *spatial]`` class indices in ``[0, C)`` (integer,
            or floating point holding whole numbers), or ``ignore_index``.
        classes: ``"present"`` (classes present in the labels), ``"all"`` (an absent class costs
            its largest probability), or a list of class indices (a repeated index counts once).
        per_image: compute the loss per image and average, instead of over the whole batch.
        ignore_index: label of void pixels (e.g. 255), left out of every class; ``ignore`` is
            the reference code's name for it (give one of the two).
        class_weights: optional ``[C]`` non-negative weights of the mean over classes.

    Returns:
        0-d tensor (float32 for half-precision input). An image with no valid pixel, or no
        selected class, contributes 0.

    Example:
        >>> probas = torch.softmax(torch.randn(2, 3, 8, 8), dim=1)
        >>> labels = torch.randint(0, 3, (2, 8, 8))
        >>> loss = lovasz_softmax(probas, labels, ignore=255)
    """
    index = _one_ignore(ignore_index, ignore)
    return _softmax_loss("probas", probas, "labels", labels, classes, per_image, index, class_weights, False)


def lovasz_softmax_flat(probas: Tensor, labels: Tensor, classes: ClassSelection = "present") -> Tensor:
    """The reference code's ``lovasz_softmax_flat``: Lovász-Softmax of flattened pixels.

    Args:
        probas: ``[P, C]`` class probabilities of P pixels (void pixels already removed).
        labels: ``[P]`` class indices in ``[0, C)``.
        classes: ``"present"``, ``"all"`` or a list of class indices, averaged as the reference
            loop does: a class listed k times counts k times.

    Returns:
        0-d tensor; 0 (with a zero gradient) when P = 0.

    Example:
        >>> p = torch.softmax(torch.randn(10, 3), dim=1)
        >>> loss = lovasz_softmax_flat(p, torch.randint(0, 3, (10,)))
    """
    if _empty_pair(probas, labels):
        return probas.sum() * 0.0
    check_tensor("probas", probas)
    check_tensor("labels", labels)
    check_ndim("probas", probas, "[P, C]", 2, 2)
    check_shape("labels", labels, probas.shape[:1], "[P] matching `probas`")
    weights: list[float] | None = None
    if not isinstance(classes, str):
        listed = _check_classes(classes, probas.shape[1])
        assert isinstance(listed, list)
        classes = sorted(set(listed))
        weights = [0.0] * probas.shape[1]
        for c in listed:
            weights[c] += 1.0
    return _softmax_loss(
        "probas", probas.t().unsqueeze(0), "labels", labels.unsqueeze(0), classes, False, None, weights, False
    )


def _empty_pair(scores: object, labels: object) -> bool:
    return isinstance(scores, Tensor) and isinstance(labels, Tensor) and scores.numel() == labels.numel() == 0


def _lovasz_softmax_probas(
    probas: Tensor,
    labels: Tensor,
    classes: Classes,
    per_image: bool,
    valid: Tensor | None,
    weight_vector: Tensor,
) -> Tensor:
    """The Lovász-Softmax of checked inputs, eagerly (see :func:`lovasz_softmax`)."""
    batch, num_classes = probas.shape[:2]
    dtype = _accumulation_dtype(probas.dtype)
    with torch.no_grad():
        probs = probas.detach().reshape(batch, num_classes, -1).to(dtype).contiguous()
        flat_labels = labels.reshape(batch, -1)
        flat_valid = None if valid is None else valid.reshape(batch, -1)
        if not per_image:  # one group per class over all pixels of the batch
            probs = probs.transpose(0, 1).reshape(1, num_classes, -1).contiguous()
            flat_labels = flat_labels.reshape(1, -1)
            flat_valid = None if flat_valid is None else flat_valid.reshape(1, -1)
        images = probs.shape[0]
        class_ids = torch.arange(num_classes, device=probas.device).view(1, -1, 1)
        fg_shape = (images, num_classes, flat_labels.shape[-1])
        fg = _indicator(flat_labels.unsqueeze(1), class_ids, dtype, fg_shape)  # [B', C, N] 0/1
        valid_3d = None if flat_valid is None else flat_valid.to(dtype).unsqueeze(1)
        if valid_3d is not None:
            fg.mul_(valid_3d)  # ignore_index may equal a class index
        has_valid = (
            torch.ones(images, 1, dtype=torch.bool, device=probas.device)
            if flat_valid is None
            else flat_valid.any(-1, keepdim=True)
        )
        selected = _class_selection(classes, num_classes, fg, has_valid)
        coefficient = _mean_coefficients(selected, weight_vector).reshape(-1)
    work = [probs, fg, valid_3d]
    del probs, fg, valid_3d
    return _lovasz_of_probabilities(probas, work, coefficient, per_image)


def _lovasz_of_probabilities(
    probas: Tensor, work: list[Tensor | None], coefficient: Tensor, per_image: bool
) -> Tensor:
    """Shared tail of the softmax and sigmoid losses.

    ``work`` is ``[probs, fg, valid]``: ``probs`` [B', K, N] accumulation-dtype probabilities,
    ``fg`` [B', K, N] and ``valid`` (broadcastable, or None) 0/1 in that dtype; it is emptied so
    that memory can be freed as soon as possible. ``coefficient`` is [B'·K]. Returns the loss
    with its gradient attached to ``probas`` (B' = 1 with the batch folded into N when not
    ``per_image``).
    """
    with torch.no_grad():
        valid = work.pop()
        fg = work.pop()
        probs = work.pop()
        assert fg is not None and probs is not None
        groups, channels, length = probs.shape
        batch = probas.shape[0]
        in_range = _inside_unit_interval(probs)
        errors = _probability_errors(probs, fg, valid).reshape(-1, length)
        del valid
        # The kernel overwrites fg; outside [0, 1] the signs are fixed afterwards from fg, so then
        # the kernel gets its own copy.
        buffers = [errors, (fg if in_range else fg.clone()).reshape(-1, length)]
        del errors
        if in_range:
            del fg, probs
        group_loss, gradient = lovasz_kernel(buffers, coefficient)
        value = (coefficient * group_loss).sum()
        gradient = gradient.view(groups, channels, length)
        if not in_range:
            gradient = _fix_signs_outside_unit_interval(gradient, probs, fg)
        if not per_image:
            gradient = gradient.view(channels, batch, -1).transpose(0, 1)
        gradient = gradient.reshape(probas.shape).to(probas.dtype)
    return _attach(probas, value, gradient)


def _attach(inputs: Tensor, value: Tensor, gradient: Tensor) -> Tensor:
    result: Tensor = _PrecomputedGradient.apply(inputs, value, gradient)  # type: ignore[no-untyped-call]
    return result


def _binary_scores(scores: Tensor, labels: Tensor, name: str, labels_name: str) -> Tensor:
    """Accept ``[B, *spatial]`` or ``[B, 1, *spatial]`` scores for ``[B, *spatial]`` labels."""
    if scores.dim() == labels.dim() + 1 and scores.shape[1] == 1:
        scores = scores.squeeze(1)
    if scores.shape != labels.shape:
        raise ValueError(
            f"`{name}` must have shape [B, *spatial] (or [B, 1, *spatial]) matching `{labels_name}` "
            f"{tuple(labels.shape)}, got {tuple(scores.shape)}"
        )
    return scores


def lovasz_hinge(
    logits: Tensor,
    labels: Tensor,
    per_image: bool = True,
    ignore_index: int | None = None,
    *,
    ignore: int | None = None,
) -> Tensor:
    """Binary Lovász hinge loss (Berman et al., CVPR 2018, Eq. 10).

    Hinge errors ``m_i = max(0, 1 − s_i y*_i)`` with signs ``y* = 2·label − 1`` go through the
    Lovász extension of the Jaccard loss of the foreground class.

    Args:
        logits: ``[B, *spatial]`` (or ``[B, 1, *spatial]``) real scores, foreground if > 0.
        labels: ``[B, *spatial]`` in {0, 1} (integer, bool or whole floats), or ``ignore_index``.
        per_image: average per-image losses (default, as in the reference code) or pool the batch.
        ignore_index: label of void pixels; ``ignore`` is the reference code's name for it.

    Returns:
        0-d tensor (float32 for half-precision input); an image with no valid pixel contributes 0.

    Example:
        >>> loss = lovasz_hinge(torch.randn(2, 8, 8), torch.randint(0, 2, (2, 8, 8)))
    """
    index = _one_ignore(ignore_index, ignore)
    return _hinge_loss("logits", logits, "labels", labels, per_image, index)


def lovasz_hinge_flat(logits: Tensor, labels: Tensor) -> Tensor:
    """The reference code's ``lovasz_hinge_flat``: binary Lovász hinge of ``logits [P]`` and
    0/1 ``labels [P]`` (void pixels already removed); 0 with a zero gradient when P = 0.

    Example:
        >>> loss = lovasz_hinge_flat(torch.randn(10), torch.randint(0, 2, (10,)))
    """
    if _empty_pair(logits, labels):
        return logits.sum() * 0.0
    check_tensor("logits", logits)
    check_tensor("labels", labels)
    check_ndim("logits", logits, "[P]", 1, 1)
    check_shape("labels", labels, logits.shape, "[P] matching `logits`")
    return _hinge_loss("logits", logits.unsqueeze(0), "labels", labels.unsqueeze(0), False, None)


def _hinge_loss(
    logits_name: str,
    logits: object,
    labels_name: str,
    labels: object,
    per_image: object,
    ignore_index: object,
) -> Tensor:
    traced = is_traced(logits, labels) if isinstance(logits, Tensor) and isinstance(labels, Tensor) else False
    logits, labels = _check_scores_and_labels(logits_name, logits, labels_name, labels, traced)
    index = check_ignore_index(ignore_index)
    flag = check_bool_flag("per_image", per_image)
    if labels.dim() < 2:
        raise ValueError(f"`{labels_name}` must have shape [B, *spatial], got {tuple(labels.shape)}")
    scores = _binary_scores(logits, labels, logits_name, labels_name)
    if traced:
        return _hinge_traced(scores, labels, flag, index)
    valid = valid_mask(labels, index)
    check_label_range(labels_name, labels, 0, 1, valid, "binary labels")
    return _hinge_eager(logits, scores, labels, flag, valid)


def _hinge_traced(scores: Tensor, labels: Tensor, per_image: bool, ignore_index: int | None) -> Tensor:
    groups = labels.shape[0] if per_image else 1
    dtype = _accumulation_dtype(scores.dtype)
    s = scores.reshape(groups, -1).to(dtype)
    flat_labels = labels.reshape(groups, -1)
    valid = _traced_valid(flat_labels, ignore_index, dtype)
    fg = (flat_labels.to(torch.int64) == 1).to(dtype) * valid
    errors = torch.relu(1.0 - s * (2.0 * fg - 1.0)) * valid
    coefficient = (valid.amax(-1) > 0).to(dtype) / groups
    return (coefficient * lovasz_groups(errors, fg)).sum()


def _hinge_eager(
    logits: Tensor, scores: Tensor, labels: Tensor, per_image: bool, valid: Tensor | None
) -> Tensor:
    batch = labels.shape[0]
    dtype = _accumulation_dtype(logits.dtype)
    with torch.no_grad():
        groups = batch if per_image else 1
        s = scores.detach().reshape(groups, -1).to(dtype)
        fg = _indicator(labels.reshape(groups, -1), 1.0, dtype)
        flat_valid = None if valid is None else valid.reshape(groups, -1)
        valid_float = None if flat_valid is None else flat_valid.to(dtype)
        if valid_float is not None:
            fg.mul_(valid_float)
        # Hinge errors m = max(0, 1 − s·y*) with signs y* = 2·fg − 1, written to a fresh
        # contiguous buffer whatever the strides of the logits.
        signs = fg.mul(2.0).sub_(1.0)
        errors = torch.empty_like(fg)
        torch.addcmul(torch.ones((), dtype=dtype, device=s.device), s, signs, value=-1.0, out=errors)
        del signs
        # ReLU on the bit pattern: negative floats (and −0.0) read as negative int32/int64.
        int_dtype = torch.int64 if dtype == torch.float64 else torch.int32
        errors.view(int_dtype).clamp_min_(0)
        if valid_float is not None:
            errors.mul_(valid_float)
        has_valid = (
            torch.ones(groups, dtype=torch.bool, device=labels.device)
            if flat_valid is None
            else flat_valid.any(-1)
        )
        coefficient = has_valid.to(dtype) / groups
        group_loss, gradient = lovasz_kernel([errors, fg], coefficient)
        value = (coefficient * group_loss).sum()
        gradient = gradient.reshape(scores.shape).to(logits.dtype).reshape(logits.shape)
    return _attach(logits, value, gradient)


def _sigmoid_loss(
    scores_name: str,
    scores: object,
    labels_name: str,
    labels: object,
    per_image: object,
    ignore_index: object,
    from_logits: bool,
) -> Tensor:
    traced = is_traced(scores, labels) if isinstance(scores, Tensor) and isinstance(labels, Tensor) else False
    scores, labels = _check_scores_and_labels(scores_name, scores, labels_name, labels, traced)
    index = check_ignore_index(ignore_index)
    flag = check_bool_flag("per_image", per_image)
    check_ndim(scores_name, scores, "[B, C, *spatial] with 1 to 3 spatial dims", 3, 5)
    check_shape(labels_name, labels, scores.shape, f"[B, C, *spatial] matching `{scores_name}`")
    if from_logits:
        probas = torch.sigmoid(scores)
    else:
        probas = scores
        if not traced:
            check_probability_range(scores_name, probas)
    if traced:
        return _sigmoid_traced(probas, labels, flag, index)
    valid = valid_mask(labels, index)
    check_label_range(labels_name, labels, 0, 1, valid, "binary labels")
    return _sigmoid_eager(probas, labels, flag, valid)


def _sigmoid_traced(probas: Tensor, labels: Tensor, per_image: bool, ignore_index: int | None) -> Tensor:
    batch, channels = probas.shape[:2]
    dtype = _accumulation_dtype(probas.dtype)
    probs = probas.reshape(batch, channels, -1).to(dtype)
    flat_labels = labels.reshape(batch, channels, -1)
    valid = _traced_valid(flat_labels, ignore_index, dtype)
    fg = (flat_labels.to(torch.int64) == 1).to(dtype) * valid
    errors = (fg - probs).abs() * valid
    if not per_image:
        errors, fg, valid = (t.transpose(0, 1).reshape(1, channels, -1) for t in (errors, fg, valid))
    ones = torch.ones(channels, dtype=dtype, device=probas.device)
    coefficient = _mean_coefficients(valid.amax(-1) > 0, ones).reshape(-1)
    length = errors.shape[-1]
    return (coefficient * lovasz_groups(errors.reshape(-1, length), fg.reshape(-1, length))).sum()


def _sigmoid_eager(probas: Tensor, labels: Tensor, per_image: bool, valid: Tensor | None) -> Tensor:
    """Lovász loss of per-channel probabilities ``probas`` [B, C, *spatial] against 0/1 labels."""
    batch, channels = probas.shape[:2]
    dtype = _accumulation_dtype(probas.dtype)
    with torch.no_grad():
        probs = probas.detach().reshape(batch, channels, -1).to(dtype).contiguous()
        flat_labels = labels.reshape(batch, channels, -1)
        flat_valid = None if valid is None else valid.reshape(batch, channels, -1)
        if not per_image:
            probs = probs.transpose(0, 1).reshape(1, channels, -1).contiguous()
            flat_labels = flat_labels.transpose(0, 1).reshape(1, channels, -1).contiguous()
            if flat_valid is not None:
                flat_valid = flat_valid.transpose(0, 1).reshape(1, channels, -1)
        images = probs.shape[0]
        fg = _indicator(flat_labels, 1.0, dtype)
        valid_float = None if flat_valid is None else flat_valid.to(dtype)
        if valid_float is not None:
            fg.mul_(valid_float)
        has_valid = (
            torch.ones(images, channels, dtype=torch.bool, device=probas.device)
            if flat_valid is None
            else flat_valid.any(-1)
        )
        coefficient = _mean_coefficients(has_valid, torch.ones(channels, dtype=dtype, device=probas.device))
        coefficient = coefficient.reshape(-1)
    work = [probs, fg, valid_float]
    del probs, fg, valid_float
    return _lovasz_of_probabilities(probas, work, coefficient, per_image)


def lovasz_sigmoid(
    logits: Tensor,
    labels: Tensor,
    per_image: bool = False,
    ignore_index: int | None = None,
    *,
    ignore: int | None = None,
) -> Tensor:
    """Multi-label Lovász loss with sigmoid errors: one Jaccard per channel, averaged over channels.

    Each channel c is its own binary problem with errors ``|label_c − σ(logit_c)|``; the Lovász
    extension of its Jaccard loss is computed and the channels are averaged (a channel with no
    foreground costs its largest probability, as under ``classes="all"``).

    Args:
        logits: ``[B, C, *spatial]`` independent per-channel scores.
        labels: ``[B, C, *spatial]`` in {0, 1}, or ``ignore_index``.
        per_image: average per-image losses instead of pooling the batch.
        ignore_index: label value of void elements; ``ignore`` is another name for it.

    Example:
        >>> loss = lovasz_sigmoid(torch.randn(2, 3, 8, 8), torch.randint(0, 2, (2, 3, 8, 8)))
    """
    index = _one_ignore(ignore_index, ignore)
    return _sigmoid_loss("logits", logits, "labels", labels, per_image, index, True)


class LovaszSoftmaxLoss(nn.Module):
    """Module form of :func:`lovasz_softmax`; takes logits by default (``from_logits=True``).

    Example:
        >>> criterion = LovaszSoftmaxLoss(ignore_index=255)
        >>> loss = criterion(torch.randn(2, 4, 16, 16), torch.randint(0, 4, (2, 16, 16)))
    """

    def __init__(
        self,
        classes: ClassSelection = "present",
        per_image: bool = False,
        ignore_index: int | None = None,
        class_weights: Sequence[float] | Tensor | None = None,
        from_logits: bool = True,
    ) -> None:
        super().__init__()
        self.classes = classes
        self.per_image = per_image
        self.ignore_index = ignore_index
        self.class_weights = class_weights
        self.from_logits = from_logits

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _softmax_loss(
            "input",
            input,
            "target",
            target,
            self.classes,
            self.per_image,
            self.ignore_index,
            self.class_weights,
            bool(self.from_logits),
        )


class LovaszHingeLoss(nn.Module):
    """Module form of :func:`lovasz_hinge` (binary; input is always real-valued logits)."""

    def __init__(self, per_image: bool = True, ignore_index: int | None = None) -> None:
        super().__init__()
        self.per_image = per_image
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _hinge_loss("input", input, "target", target, self.per_image, self.ignore_index)


class LovaszSigmoidLoss(nn.Module):
    """Module form of :func:`lovasz_sigmoid`; ``from_logits=False`` takes probabilities instead."""

    def __init__(
        self, per_image: bool = False, ignore_index: int | None = None, from_logits: bool = True
    ) -> None:
        super().__init__()
        self.per_image = per_image
        self.ignore_index = ignore_index
        self.from_logits = from_logits

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _sigmoid_loss(
            "input", input, "target", target, self.per_image, self.ignore_index, bool(self.from_logits)
        )
