"""Page "IoU and the Jaccard loss": the counts behind IoU_c, Δ_J(M_c), and the staircase.

For the argmax prediction after adding b to class c's logit: ``J_c = |F_c ∩ P_c| / |F_c ∪ P_c|``
with ``F_c = {y = c}``, ``P_c = {ŷ = c}``; the mispredicted set ``M_c = F_c △ P_c`` gives
``Δ_J(M_c) = |M_c| / |F_c ∪ M_c| = 1 − J_c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...extension import jaccard_loss_of_set
from ...metrics import per_class_iou
from ..predictions import PredictionSpec, make_logits
from ..teaching import exact_staircase, offset_sweep
from .home import staircase_polyline

__all__ = ["OFFSET_RANGE", "IouView", "iou_view"]

OFFSET_RANGE = (-6.0, 6.0)
SAMPLES = 481  # b every 0.025: the Lovász curve
FLAT_SAMPLES = 2401  # b every 0.005: where the flatness of the staircase is counted
ZOOM_HALF_WIDTH = 0.25


@dataclass(frozen=True)
class IouView:
    """Everything the page draws for class c at offset b.

    ``predicted [H, W]`` int64; ``ious [C]`` float64 (NaN: class absent from truth and prediction);
    counts are of class c. ``offsets``/``lovasz``/``jaccard_sampled`` ``[K]``: the Lovász curve and
    1 − IoU_c at K evenly spaced b; ``step_x``/``step_y`` ``[J + 2]``: the exact staircase (hv steps).
    """

    predicted: np.ndarray
    ious: np.ndarray
    mean_iou: float
    num_true: int
    num_pred: int
    intersection: int
    union: int
    num_mispredicted: int
    delta: float
    offsets: np.ndarray
    lovasz: np.ndarray
    jaccard_sampled: np.ndarray
    step_x: np.ndarray
    step_y: np.ndarray
    jumps: int
    flat_step: float
    flat_fraction: float
    widest_flat: float
    zoom: tuple[float, float]
    zoom_jumps: int
    zoom_y: tuple[float, float]


def iou_view(labels: np.ndarray, num_classes: int, spec: PredictionSpec, cls: int, offset: float) -> IouView:
    """Prediction at offset b, IoUs, Δ_J(M_c), and both losses of class c over b ∈ [−6, 6].

    ``flat_fraction``: share of the steps between ``FLAT_SAMPLES`` evenly spaced b over which
    1 − IoU_c does not change (no jump inside); ``widest_flat``: the longest interval without a jump.
    ``zoom``: b ± 0.25 (inside the range), with ``zoom_jumps`` jumps and both losses within ``zoom_y``.
    """
    truth = torch.from_numpy(np.asarray(labels))
    logits = make_logits(truth, num_classes, spec)
    shifted = logits.clone()
    shifted[cls] += offset
    predicted = shifted.argmax(0)
    ious = per_class_iou(predicted, truth, num_classes).numpy().astype(np.float64)
    fg, pred_c = truth == cls, predicted == cls
    mispredicted = fg ^ pred_c
    lo, hi = OFFSET_RANGE
    offsets = torch.linspace(lo, hi, SAMPLES, dtype=torch.float64)
    jaccard, lovasz = offset_sweep(logits, truth, cls, offsets)
    jumps, values = exact_staircase(logits, truth, cls, lo, hi)
    step_x, step_y = staircase_polyline(jumps.numpy(), values.numpy(), lo, hi)
    grid = np.linspace(lo, hi, FLAT_SAMPLES)
    jumped = np.unique(np.searchsorted(grid, jumps.numpy()))  # sampled steps that hold a jump
    zoom_lo = min(max(offset - ZOOM_HALF_WIDTH, lo), hi - 2 * ZOOM_HALF_WIDTH)
    zoom = (zoom_lo, zoom_lo + 2 * ZOOM_HALF_WIDTH)
    in_zoom = (step_x[:-1] < zoom[1]) & (step_x[1:] > zoom[0])  # steps visible in the zoom
    curve_in_zoom = (offsets.numpy() >= zoom[0]) & (offsets.numpy() <= zoom[1])
    shown = np.concatenate([step_y[:-1][in_zoom], lovasz.numpy()[curve_in_zoom]])
    pad = max(0.01, 0.08 * float(shown.max() - shown.min()))
    return IouView(
        predicted=predicted.numpy(),
        ious=ious,
        mean_iou=float(np.nanmean(ious)) if not np.isnan(ious).all() else float("nan"),
        num_true=int(fg.sum()),
        num_pred=int(pred_c.sum()),
        intersection=int((fg & pred_c).sum()),
        union=int((fg | pred_c).sum()),
        num_mispredicted=int(mispredicted.sum()),
        delta=float(jaccard_loss_of_set(mispredicted, fg)),
        offsets=offsets.numpy(),
        lovasz=lovasz.numpy(),
        jaccard_sampled=jaccard.numpy(),
        step_x=step_x,
        step_y=step_y,
        jumps=len(jumps),
        flat_step=float(grid[1] - grid[0]),
        flat_fraction=1.0 - len(jumped) / (FLAT_SAMPLES - 1),
        widest_flat=float(np.diff(step_x).max()),
        zoom=zoom,
        zoom_jumps=int(((jumps > zoom[0]) & (jumps < zoom[1])).sum()),
        zoom_y=(float(shown.min()) - pad, float(shown.max()) + pad),
    )
