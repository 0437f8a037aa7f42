"""Lovász-Softmax, Lovász hinge and Lovász sigmoid losses (Berman et al., CVPR 2018).

Same argument names, order and defaults as the paper's reference code, so the functions are a
drop-in replacement; the work is vectorized: one sort over every (image × class) group, ignored
pixels masked instead of removed, and a custom autograd function whose backward only scales the
Jaccard gradient g computed in the forward pass (no graph through sort, cumsum and gather).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from ._kernel import lovasz_kernel
from .extension import _accumulation_dtype
from .validation import (
    check_bool_flag,
    check_finite,
    check_floating,
    check_ignore_index,
    check_integer_labels,
    check_label_range,
    check_ndim,
    check_probability_range,
    check_same_device,
    check_shape,
    check_tensor,
    is_integer,
    valid_mask,
)

__all__ = [
    "LovaszHingeLoss",
    "LovaszSigmoidLoss",
    "LovaszSoftmaxLoss",
    "lovasz_hinge",
    "lovasz_sigmoid",
    "lovasz_softmax",
]

ClassSelection = str | Sequence[int]


class _PrecomputedGradient(torch.autograd.Function):
    """Returns ``value`` and, in backward, ``grad_output * gradient`` for ``inputs``.

    The losses compute their exact gradient during the forward pass (it falls out of the sort
    for free), so the backward pass is one multiplication and only ``gradient`` is saved.
    """

    @staticmethod
    def forward(ctx, inputs: Tensor, value: Tensor, gradient: Tensor) -> Tensor:  # noqa: ARG004
        ctx.save_for_backward(gradient)
        return value.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor) -> tuple[Tensor, None, None]:
        (gradient,) = ctx.saved_tensors
        return grad_output.to(gradient.dtype) * gradient, None, None


def _check_scores_and_labels(
    scores_name: str,
    scores: Tensor,
    labels_name: str,
    labels: Tensor,
    ignore_index: object,
    channel_dim: bool,
) -> int | None:
    """Shared door checks: tensors, dtypes, device, finiteness and matching shapes."""
    check_tensor(scores_name, scores)
    check_tensor(labels_name, labels)
    check_floating(scores_name, scores)
    check_integer_labels(labels_name, labels)
    check_same_device(scores_name, scores, labels_name, labels)
    ignore_index = check_ignore_index(ignore_index)
    if channel_dim:
        check_ndim(scores_name, scores, "[B, C, *spatial] with 1 to 3 spatial dims", 3, 5)
        expected = (scores.shape[0], *scores.shape[2:])
        check_shape(labels_name, labels, expected, f"[B, *spatial] matching `{scores_name}`")
    check_finite(scores_name, scores)
    return ignore_index


def _check_classes(classes: object, num_classes: int) -> str | list[int]:
    """``"present"``, ``"all"`` or a non-empty list of distinct-or-not indices in ``[0, C)``."""
    if isinstance(classes, str):
        if classes in ("present", "all"):  # ``==``, not ``is``: any equal string works
            return classes
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


def _class_selection(classes: str | list[int], num_classes: int, fg: Tensor, has_valid: Tensor) -> Tensor:
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
    class_weights: object, num_classes: int, dtype: torch.dtype, device: torch.device
) -> Tensor:
    if class_weights is None:
        return torch.ones(num_classes, dtype=dtype, device=device)
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
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError("`class_weights` must be finite and non-negative")
    return weights


def _mean_coefficients(selected: Tensor, class_weights: Tensor) -> Tensor:
    """d loss / d group_loss for a weighted mean over selected classes, then a mean over images.

    ``selected`` is [B', C] bool; an image with nothing selected contributes 0 but still counts
    in the mean over images (the reference code's convention).
    """
    coefficient = selected.to(class_weights.dtype) * class_weights
    denominator = coefficient.sum(-1, keepdim=True)
    coefficient = torch.where(denominator > 0, coefficient / denominator.clamp_min(1e-30), 0.0)
    return coefficient / selected.shape[0]


def _indicator(
    values: Tensor, target: float | Tensor, dtype: torch.dtype, shape: tuple[int, ...] | None = None
) -> Tensor:
    """``values == target`` as 0/1 in ``dtype``, compared as floats; ``shape`` is the broadcast
    shape when ``target`` is a tensor (default: the shape of ``values``).

    The losses keep masks as 0/1 floats: float arithmetic vectorizes on the CPU, boolean masks
    (``where``, ``masked_fill``) are 5–20× slower per element, and a comparison writing floats
    directly is ~4× faster than one producing bools. Labels are small integers (or the ignore
    index), exact in float32.
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


def _check_softmax_inputs(
    scores_name: str,
    scores: Tensor,
    labels_name: str,
    labels: Tensor,
    classes: object,
    per_image: object,
    ignore_index: object,
    class_weights: object,
) -> tuple[str | list[int], bool, Tensor | None, Tensor]:
    """Every check of the multi-class losses; returns (classes, per_image, valid mask, class weights)."""
    ignore_index = _check_scores_and_labels(scores_name, scores, labels_name, labels, ignore_index, True)
    per_image = check_bool_flag("per_image", per_image)
    num_classes = scores.shape[1]
    if num_classes < 2:
        raise ValueError(
            f"`{scores_name}` must have C >= 2 classes along dim 1, got C = {num_classes}; "
            "for a single foreground channel use lovasz_hinge or lovasz_sigmoid"
        )
    valid = valid_mask(labels, ignore_index)
    check_label_range(labels_name, labels, 0, num_classes - 1, valid, "class indices")
    classes = _check_classes(classes, num_classes)
    weights = _class_weight_vector(
        class_weights, num_classes, _accumulation_dtype(scores.dtype), scores.device
    )
    return classes, per_image, valid, weights


def lovasz_softmax(
    probas: Tensor,
    labels: Tensor,
    classes: ClassSelection = "present",
    per_image: bool = False,
    ignore_index: int | None = None,
    *,
    class_weights: Sequence[float] | Tensor | None = None,
) -> Tensor:
    """Multi-class Lovász-Softmax loss (Berman et al., CVPR 2018, Eq. 12).

    For each class c, the errors ``m_i(c) = |1[y_i = c] − p_i(c)|`` are sorted and fed to the
    Lovász extension of the Jaccard loss; the loss is the mean over the chosen classes.

    Args:
        probas: ``[B, C, *spatial]`` class probabilities (softmax output), 1 to 3 spatial dims.
        labels: ``[B, *spatial]`` integer labels in ``[0, C)``, or ``ignore_index``.
        classes: ``"present"`` (classes present in the labels), ``"all"`` (an absent class costs
            its largest probability), or a list of class indices (a repeated index counts once).
        per_image: compute the loss per image and average, instead of over the whole batch.
        ignore_index: label of void pixels (e.g. 255), left out of every class.
        class_weights: optional ``[C]`` non-negative weights of the mean over classes.

    Returns:
        0-d tensor (float32 for half-precision input). An image with no valid pixel, or no
        selected class, contributes 0.

    Example:
        >>> probas = torch.softmax(torch.randn(2, 3, 8, 8), dim=1)
        >>> labels = torch.randint(0, 3, (2, 8, 8))
        >>> loss = lovasz_softmax(probas, labels)
    """
    classes, per_image, valid, weight_vector = _check_softmax_inputs(
        "probas", probas, "labels", labels, classes, per_image, ignore_index, class_weights
    )
    check_probability_range("probas", probas)
    return _lovasz_softmax_probas(probas, labels, classes, per_image, valid, weight_vector)


def _lovasz_softmax_probas(
    probas: Tensor,
    labels: Tensor,
    classes: str | list[int],
    per_image: bool,
    valid: Tensor | None,
    weight_vector: Tensor,
) -> Tensor:
    """The Lovász-Softmax of checked inputs (see :func:`lovasz_softmax`)."""
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
    return _PrecomputedGradient.apply(probas, value, gradient)


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
) -> Tensor:
    """Binary Lovász hinge loss (Berman et al., CVPR 2018, Eq. 10).

    Hinge errors ``m_i = max(0, 1 − s_i y*_i)`` with signs ``y* = 2·label − 1`` go through the
    Lovász extension of the Jaccard loss of the foreground class.

    Args:
        logits: ``[B, *spatial]`` (or ``[B, 1, *spatial]``) real scores, foreground if > 0.
        labels: ``[B, *spatial]`` in {0, 1}, or ``ignore_index``.
        per_image: average per-image losses (default, as in the reference code) or pool the batch.
        ignore_index: label of void pixels.

    Returns:
        0-d tensor (float32 for half-precision input); an image with no valid pixel contributes 0.

    Example:
        >>> loss = lovasz_hinge(torch.randn(2, 8, 8), torch.randint(0, 2, (2, 8, 8)))
    """
    return _lovasz_hinge(logits, labels, per_image, ignore_index, "logits", "labels")


def _lovasz_hinge(
    logits: Tensor,
    labels: Tensor,
    per_image: object,
    ignore_index: object,
    logits_name: str,
    labels_name: str,
) -> Tensor:
    ignore_index = _check_scores_and_labels(logits_name, logits, labels_name, labels, ignore_index, False)
    per_image = check_bool_flag("per_image", per_image)
    if labels.dim() < 2:
        raise ValueError(f"`{labels_name}` must have shape [B, *spatial], got {tuple(labels.shape)}")
    scores = _binary_scores(logits, labels, logits_name, labels_name)
    valid = valid_mask(labels, ignore_index)
    check_label_range(labels_name, labels, 0, 1, valid, "binary labels")

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
        # Hinge errors m = max(0, 1 − s·y*) with signs y* = 2·fg − 1.
        signs = fg.mul(2.0).sub_(1.0)
        errors = torch.addcmul(torch.ones((), dtype=dtype, device=s.device), s, signs, value=-1.0)
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
    return _PrecomputedGradient.apply(logits, value, gradient)


def _lovasz_sigmoid_probas(
    probas: Tensor, labels: Tensor, per_image: bool, ignore_index: int | None, labels_name: str
) -> Tensor:
    """Lovász loss of per-channel probabilities ``probas`` [B, C, *spatial] against 0/1 labels."""
    valid = valid_mask(labels, ignore_index)
    check_label_range(labels_name, labels, 0, 1, valid, "binary labels")
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


def _check_multilabel(
    scores_name: str,
    scores: Tensor,
    labels_name: str,
    labels: Tensor,
    ignore_index: object,
    per_image: object,
) -> tuple[int | None, bool]:
    ignore_index = _check_scores_and_labels(scores_name, scores, labels_name, labels, ignore_index, False)
    per_image = check_bool_flag("per_image", per_image)
    check_ndim(scores_name, scores, "[B, C, *spatial] with 1 to 3 spatial dims", 3, 5)
    check_shape(labels_name, labels, scores.shape, f"[B, C, *spatial] matching `{scores_name}`")
    return ignore_index, per_image


def lovasz_sigmoid(
    logits: Tensor,
    labels: Tensor,
    per_image: bool = False,
    ignore_index: int | None = None,
) -> Tensor:
    """Multi-label Lovász loss with sigmoid errors: one Jaccard per channel, averaged over channels.

    Each channel c is its own binary problem with errors ``|label_c − σ(logit_c)|``; the Lovász
    extension of its Jaccard loss is computed and the channels are averaged (a channel with no
    foreground costs its largest probability, as under ``classes="all"``).

    Args:
        logits: ``[B, C, *spatial]`` independent per-channel scores.
        labels: ``[B, C, *spatial]`` in {0, 1}, or ``ignore_index``.
        per_image: average per-image losses instead of pooling the batch.
        ignore_index: label value of void elements.

    Example:
        >>> loss = lovasz_sigmoid(torch.randn(2, 3, 8, 8), torch.randint(0, 2, (2, 3, 8, 8)))
    """
    ignore_index, per_image = _check_multilabel("logits", logits, "labels", labels, ignore_index, per_image)
    return _lovasz_sigmoid_probas(torch.sigmoid(logits), labels, per_image, ignore_index, "labels")


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
        classes, per_image, valid, weight_vector = _check_softmax_inputs(
            "input",
            input,
            "target",
            target,
            self.classes,
            self.per_image,
            self.ignore_index,
            self.class_weights,
        )
        if self.from_logits:
            input = torch.softmax(input, dim=1)
        else:
            check_probability_range("input", input)
        return _lovasz_softmax_probas(input, target, classes, per_image, valid, weight_vector)


class LovaszHingeLoss(nn.Module):
    """Module form of :func:`lovasz_hinge` (binary; input is always real-valued logits)."""

    def __init__(self, per_image: bool = True, ignore_index: int | None = None) -> None:
        super().__init__()
        self.per_image = per_image
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _lovasz_hinge(input, target, self.per_image, self.ignore_index, "input", "target")


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
        ignore_index, per_image = _check_multilabel(
            "input", input, "target", target, self.ignore_index, self.per_image
        )
        if self.from_logits:
            input = torch.sigmoid(input)
        else:
            check_probability_range("input", input)
        return _lovasz_sigmoid_probas(input, target, per_image, ignore_index, "target")
