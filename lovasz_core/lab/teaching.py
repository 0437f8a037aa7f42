"""Small computations the teaching pages draw: sweeps of one logit, and the Lovász extension of a
few pixels as a function on the cube [0, 1]^n.

For n pixels with ground truth ``fg``, each sort order π of the errors gives one linear piece
``m ↦ Σ_i g_i(π) m_{π(i)}``; the extension is that piece on the region where π sorts m, and
(because Δ_J is submodular) also the maximum over all pieces — hence convex.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from ..extension import jaccard_loss_of_set, lovasz_grad

__all__ = [
    "class_thresholds",
    "cube_corners",
    "exact_staircase",
    "extension_at",
    "grid_convexity_witness",
    "midpoint_convexity_gap",
    "offset_sweep",
    "permutation_weights",
    "soft_jaccard_at",
]


def offset_sweep(logits: Tensor, labels: Tensor, cls: int, offsets: Tensor) -> tuple[Tensor, Tensor]:
    """For each offset b added to class ``cls``'s logits ``[C, H, W]``: ``(1 − IoU_c, Lovász_c)``.

    ``1 − IoU_c`` uses the argmax prediction (a staircase in b; 0 where class c is absent from
    both); ``Lovász_c`` is the extension at the softmax errors of class c (piecewise smooth in b).
    Both ``[K]`` float64, computed for all K offsets at once (one batched sort).
    """
    fg = (labels == cls).reshape(1, -1)
    shifted = logits.unsqueeze(0).repeat(len(offsets), 1, 1, 1).to(torch.float32)
    shifted[:, cls] += offsets.to(torch.float32).view(-1, 1, 1)
    probas = shifted.softmax(1).reshape(len(offsets), logits.shape[0], -1)
    predicted = probas.argmax(1) == cls  # [K, P]
    intersection = (predicted & fg).sum(1).to(torch.float64)
    union = (predicted | fg).sum(1).to(torch.float64)
    jaccard = torch.where(union > 0, 1.0 - intersection / union.clamp_min(1), torch.zeros_like(union))
    errors = torch.where(fg, 1.0 - probas[:, cls], probas[:, cls])
    errors_sorted, order = torch.sort(errors, dim=1, descending=True, stable=True)
    grad = lovasz_grad(fg.expand_as(errors).gather(1, order))
    return jaccard, (errors_sorted * grad).sum(1).to(torch.float64)


def class_thresholds(logits: Tensor, cls: int) -> Tensor:
    """``[P]`` float64: the offset b beyond which class ``cls`` wins the argmax at each pixel.

    ``t_p = max_{k ≠ c} z_k(p) − z_c(p)`` for logits ``[C, H, W]``: pixel p is predicted c exactly
    when ``b > t_p`` (ties, a set of measure zero, aside).
    """
    z = logits.to(torch.float64).reshape(logits.shape[0], -1)
    others = torch.cat([z[:cls], z[cls + 1 :]]).max(0).values
    return others - z[cls]


def exact_staircase(
    logits: Tensor, labels: Tensor, cls: int, lo: float, hi: float, tie: float = 1e-6
) -> tuple[Tensor, Tensor]:
    """``1 − IoU_c`` of the argmax prediction as an exact step function of the offset b on [lo, hi].

    Returns ``(jumps [J], values [J + 1])``, float64: the distinct thresholds
    (:func:`class_thresholds`) inside (lo, hi), ascending, and the value on each open interval
    between them (``values[0]`` on (lo, jumps[0]), ...); thresholds closer than ``tie`` (float32
    rounding of the logits) count as one jump. With the pixels p where ``t_p < b``
    predicted c: ``I(b) = #{p ∈ F: t_p < b}``, ``U(b) = |F| + #{p ∉ F: t_p < b}``; 0 where U = 0.
    """
    thresholds = class_thresholds(logits, cls)
    fg = (labels == cls).reshape(-1)
    inside = torch.sort(thresholds[(thresholds > lo) & (thresholds < hi)]).values
    jumps = inside[torch.cat([torch.tensor([True]), torch.diff(inside) > tie])]
    right_ends = torch.cat([jumps, torch.tensor([hi], dtype=torch.float64)])
    below = thresholds.unsqueeze(0) < right_ends.unsqueeze(1)  # [J + 1, P]: predicted c on interval
    intersection = (below & fg).sum(1).to(torch.float64)
    union = fg.sum().to(torch.float64) + (below & ~fg).sum(1).to(torch.float64)
    values = torch.where(union > 0, 1.0 - intersection / union.clamp_min(1), torch.zeros_like(union))
    return jumps, values


def permutation_weights(fg: Tensor) -> tuple[list[tuple[int, ...]], Tensor]:
    """All n! sort orders of n pixels and, for each, g put back at the pixels' positions.

    Returns ``(perms, G)`` with ``G [n!, n]`` float64: ``G[p] · m`` is the linear piece of
    order ``perms[p]`` (pixel ``perms[p][0]`` has the largest error).
    """
    n = fg.numel()
    if not 1 <= n <= 6:
        raise ValueError(f"`fg` must have 1 to 6 pixels for the permutation view, got {n}")
    perms = list(itertools.permutations(range(n)))
    fg = fg.reshape(-1).bool()
    rows = []
    for perm in perms:
        order = torch.tensor(perm)
        g = lovasz_grad(fg[order].to(torch.float64))
        rows.append(torch.zeros(n, dtype=torch.float64).scatter_(0, order, g))
    return perms, torch.stack(rows)


def extension_at(points: Tensor, fg: Tensor) -> tuple[Tensor, Tensor]:
    """Lovász extension at many error vectors ``points [N, n]``; returns ``(values [N], region [N])``.

    ``region`` indexes :func:`permutation_weights`' list: the order that sorts each point
    (stable: ties go to the lower pixel index, as ``torch.sort(stable=True)``).
    """
    perms, weights = permutation_weights(fg)
    index = {perm: i for i, perm in enumerate(perms)}
    orders = torch.sort(points.to(torch.float64), dim=1, descending=True, stable=True).indices
    region = torch.tensor([index[tuple(o)] for o in orders.tolist()], dtype=torch.long)
    values = (weights[region] * points.to(torch.float64)).sum(1)
    return values, region


def soft_jaccard_at(points: Tensor, fg: Tensor) -> Tensor:
    """Naive soft-Jaccard loss of errors ``points [N, n]``: 1 − (|F| − Σ_F m) / (|F| + Σ_{not F} m).

    It is what ``1 − Σ p·y / Σ (p + y − p·y)`` becomes with p = 1 − m on F and p = m elsewhere;
    it matches Δ_J at the corners but is neither piecewise linear nor (in general) convex.
    Defined as 0 where the denominator is 0.
    """
    points = points.to(torch.float64)
    f = fg.reshape(1, -1).to(torch.float64)
    inter = (f * (1 - points)).sum(1)
    union = f.sum() + ((1 - f) * points).sum(1)
    return torch.where(union > 0, 1 - inter / union.clamp_min(1e-12), torch.zeros_like(union))


def cube_corners(fg: Tensor) -> tuple[Tensor, Tensor]:
    """The 2^n binary error vectors ``[2^n, n]`` and the set function Δ_J at each ``[2^n]``."""
    n = fg.numel()
    corners = torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)
    values = torch.stack([jaccard_loss_of_set(c.bool(), fg.reshape(-1)) for c in corners])
    return corners, values


def midpoint_convexity_gap(values_of, n: int, samples: int = 2000, seed: int = 0) -> float:
    """max over random pairs (a, b) in [0, 1]^n of f((a+b)/2) − (f(a) + f(b))/2.

    ≤ 0 (up to rounding) for a convex f; a positive value is a witnessed violation of convexity.
    ``values_of`` maps ``[N, n]`` points to ``[N]`` values.
    """
    generator = torch.Generator().manual_seed(seed)
    a = torch.rand(samples, n, generator=generator, dtype=torch.float64)
    b = torch.rand(samples, n, generator=generator, dtype=torch.float64)
    gap = values_of((a + b) / 2) - (values_of(a) + values_of(b)) / 2
    return float(gap.max())


def grid_convexity_witness(values_of, n: int, steps: int = 5) -> tuple[float, Tensor, Tensor]:
    """The midpoint test of convexity on every pair of points of the grid ``{0, 1/(s−1), .., 1}^n``.

    Returns ``(gap, a [n], b [n])`` for the pair with the largest
    ``gap = f((a+b)/2) − (f(a) + f(b))/2`` (the longest such pair on ties): ≤ 0 (up to rounding)
    on every pair for a convex f, and a positive gap is a witnessed violation. ``values_of`` maps
    ``[N, n]`` points to ``[N]`` values.
    """
    axis = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    points = torch.cartesian_prod(*([axis] * n)).reshape(-1, n)
    first, second = torch.triu_indices(len(points), len(points), offset=1)
    ends = values_of(points).to(torch.float64)
    gaps = values_of((points[first] + points[second]) / 2) - (ends[first] + ends[second]) / 2
    near_best = gaps >= gaps.max() - 1e-9  # among equal gaps, the longest segment is the clearest
    length = (points[first] - points[second]).norm(dim=1)
    best = int(torch.argmax(torch.where(near_best, length, torch.full_like(length, -1.0))))
    return float(gaps[best]), points[first[best]], points[second[best]]
