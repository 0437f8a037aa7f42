"""A slow, obviously correct Lovász-Softmax / hinge / sigmoid, written from the paper's definitions.

Independent of ``lovasz_core``: no cumsum trick, no batching, no custom backward. Every loss is a
Python loop over images and classes; the Jaccard loss is the set function

    Δ_J(M) = |M| / |F ∪ M|        (0 when F ∪ M is empty)

evaluated on Python sets, and the Lovász extension is

    Δ̄(m) = Σ_i m_{π(i)} (Δ({π1..πi}) − Δ({π1..π(i−1)})),   π sorting m in decreasing order,

built from ordinary differentiable torch ops on the individual errors, so autograd gives the
reference gradient. Use float64 tensors.

Conventions (those of the paper's reference code, made explicit):
- ``ignore_index`` drops pixels before anything else;
- an image with no valid pixel, or with no selected class, contributes 0 to the per-image mean
  but is still counted in its denominator (the batch size B);
- if nothing at all is valid the loss is ``0 * sum(input)``: a 0-d zero with a zero gradient;
- under ``classes="all"`` or a list, a class absent from the labels is kept (it costs its
  largest error, since Δ of any non-empty set is then 1);
- ``class_weights`` turn the mean over the selected classes into a weighted mean.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor


def jaccard_set_loss(mispredicted: set[int], foreground: set[int]) -> float:
    """Δ_J(M) = |M| / |F ∪ M|, directly on sets."""
    union = foreground | mispredicted
    if not union:
        return 0.0
    return len(mispredicted) / len(union)


def decreasing_order(values: Sequence[float]) -> list[int]:
    """Indices of ``values`` sorted by decreasing value (Python's stable sort)."""
    return sorted(range(len(values)), key=lambda i: -values[i])


def lovasz_extension_ref(errors: Tensor, fg: Sequence[bool]) -> Tensor:
    """Δ̄(m) for a 1-D tensor of errors and a list of booleans (True = foreground)."""
    values = errors.detach().tolist()
    foreground = {i for i, f in enumerate(fg) if f}
    prefix: set[int] = set()
    previous = 0.0
    total = errors.sum() * 0.0
    for i in decreasing_order(values):
        prefix.add(i)
        current = jaccard_set_loss(prefix, foreground)
        total = total + errors[i] * (current - previous)
        previous = current
    return total


def jaccard_gradients_ref(order: Sequence[int], fg: Sequence[bool]) -> list[float]:
    """g_k = Δ({π1..πk}) − Δ({π1..π(k−1)}) for the permutation ``order``."""
    foreground = {i for i, f in enumerate(fg) if f}
    prefix: set[int] = set()
    previous = 0.0
    grads = []
    for i in order:
        prefix.add(i)
        current = jaccard_set_loss(prefix, foreground)
        grads.append(current - previous)
        previous = current
    return grads


def extension_by_permutations(errors: Sequence[float], fg: Sequence[bool]) -> float:
    """max over all permutations π of Σ_i m_{π(i)} (Δ(π1..πi) − Δ(π1..π(i−1))): the support
    function of the base polytope of the submodular Δ, equal to the Lovász extension."""
    best = -float("inf")
    for order in itertools.permutations(range(len(errors))):
        grads = jaccard_gradients_ref(order, fg)
        best = max(best, sum(errors[i] * g for i, g in zip(order, grads, strict=True)))
    return best


def _weighted_mean(losses: list[Tensor], weights: list[float], zero: Tensor) -> Tensor:
    if not losses or sum(weights) == 0:
        return zero
    return sum(w * loss for w, loss in zip(weights, losses, strict=True)) / sum(weights)


def _softmax_flat(
    probas: Tensor,
    labels: Tensor,
    classes: str | Sequence[int],
    ignore_index: int | None,
    class_weights: Sequence[float] | None,
) -> Tensor:
    """Lovász-Softmax of probas [b, C, *spatial] and labels [b, *spatial] pooled together."""
    num_classes = probas.shape[1]
    pixels = probas.movedim(1, -1).reshape(-1, num_classes)  # [P, C]
    flat_labels = [int(v) for v in labels.reshape(-1)]
    kept = [i for i, y in enumerate(flat_labels) if ignore_index is None or y != ignore_index]
    zero = probas.sum() * 0.0
    if not kept:
        return zero
    class_list = list(range(num_classes)) if classes in ("all", "present") else list(classes)
    losses, weights = [], []
    for c in class_list:
        fg = [flat_labels[i] == c for i in kept]
        if classes == "present" and not any(fg):
            continue
        errors = torch.stack([(float(f) - pixels[i, c]).abs() for i, f in zip(kept, fg, strict=True)])
        losses.append(lovasz_extension_ref(errors, fg))
        weights.append(1.0 if class_weights is None else float(class_weights[c]))
    return _weighted_mean(losses, weights, zero)


def lovasz_softmax_ref(
    probas: Tensor,
    labels: Tensor,
    classes: str | Sequence[int] = "present",
    per_image: bool = False,
    ignore_index: int | None = None,
    class_weights: Sequence[float] | None = None,
) -> Tensor:
    """probas [B, C, *spatial] (float64, may require grad), labels [B, *spatial]."""
    if per_image:
        terms = [
            _softmax_flat(probas[b : b + 1], labels[b : b + 1], classes, ignore_index, class_weights)
            for b in range(probas.shape[0])
        ]
        return sum(terms) / len(terms)
    return _softmax_flat(probas, labels, classes, ignore_index, class_weights)


def _hinge_flat(logits: Tensor, labels: Tensor, ignore_index: int | None) -> Tensor:
    scores = logits.reshape(-1)
    flat_labels = [int(v) for v in labels.reshape(-1)]
    kept = [i for i, y in enumerate(flat_labels) if ignore_index is None or y != ignore_index]
    if not kept:
        return logits.sum() * 0.0
    fg = [flat_labels[i] == 1 for i in kept]
    signs = [2.0 * flat_labels[i] - 1.0 for i in kept]
    errors = torch.stack([torch.relu(1.0 - scores[i] * s) for i, s in zip(kept, signs, strict=True)])
    return lovasz_extension_ref(errors, fg)


def lovasz_hinge_ref(
    logits: Tensor, labels: Tensor, per_image: bool = True, ignore_index: int | None = None
) -> Tensor:
    """logits [B, *spatial], labels [B, *spatial] in {0, 1} (or ignore_index)."""
    if per_image:
        terms = [_hinge_flat(logits[b], labels[b], ignore_index) for b in range(logits.shape[0])]
        return sum(terms) / len(terms)
    return _hinge_flat(logits, labels, ignore_index)


def _sigmoid_flat(logits: Tensor, labels: Tensor, ignore_index: int | None) -> Tensor:
    """logits/labels [b, C, *spatial] pooled over b; mean over channels with a valid element."""
    zero = logits.sum() * 0.0
    losses = []
    for c in range(logits.shape[1]):
        scores = logits[:, c].reshape(-1)
        flat_labels = [int(v) for v in labels[:, c].reshape(-1)]
        kept = [i for i, y in enumerate(flat_labels) if ignore_index is None or y != ignore_index]
        if not kept:
            continue
        fg = [flat_labels[i] == 1 for i in kept]
        errors = torch.stack(
            [(float(f) - torch.sigmoid(scores[i])).abs() for i, f in zip(kept, fg, strict=True)]
        )
        losses.append(lovasz_extension_ref(errors, fg))
    return _weighted_mean(losses, [1.0] * len(losses), zero)


def lovasz_sigmoid_ref(
    logits: Tensor, labels: Tensor, per_image: bool = False, ignore_index: int | None = None
) -> Tensor:
    """Multi-label: logits and labels [B, C, *spatial], labels in {0, 1} (or ignore_index)."""
    if per_image:
        terms = [
            _sigmoid_flat(logits[b : b + 1], labels[b : b + 1], ignore_index) for b in range(logits.shape[0])
        ]
        return sum(terms) / len(terms)
    return _sigmoid_flat(logits, labels, ignore_index)
