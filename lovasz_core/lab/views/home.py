"""Home: a 16×16 disk, a slightly shifted prediction, and its losses as the disk's logit moves.

The live figure of Home is ``1 − IoU`` of the argmax prediction (an exact staircase in the offset
b) next to the Lovász extension at the softmax errors (a curve in b), and the prediction at b.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from ..predictions import PredictionSpec, make_logits
from ..shapes import ground_truth
from ..teaching import exact_staircase, offset_sweep

__all__ = ["HOME_SCENE", "HomeView", "device_line", "home_view"]

HOME_SCENE = ("disks", 16, 2, 3)  # source, size, classes, seed
HOME_SPEC = PredictionSpec(shift_x=1.5, shift_y=1.0, noise=0.0)
HOME_CLASS = 1
OFFSET_RANGE = (-5.0, 5.0)
SAMPLES = 401


@dataclass(frozen=True)
class HomeView:
    """Everything Home draws at offset b.

    ``labels``/``predicted`` ``[H, W]`` int64; ``offsets``/``lovasz`` ``[K]`` the Lovász curve;
    ``step_x``/``step_y`` ``[J + 2]`` the staircase of ``1 − IoU`` drawn with horizontal-then-
    vertical steps (``step_x`` = range start, the J jump offsets, range end). ``best_offset``: the
    middle of the lowest step (value ``best_jaccard``); ``lovasz_best_offset``: the sampled b where
    the Lovász curve is lowest; ``lovasz_convex_in_b``: no negative second difference on the samples.
    """

    labels: np.ndarray
    predicted: np.ndarray
    offset: float
    offsets: np.ndarray
    lovasz: np.ndarray
    step_x: np.ndarray
    step_y: np.ndarray
    jumps: int
    jaccard_at: float
    lovasz_at: float
    best_offset: float
    best_jaccard: float
    lovasz_best_offset: float
    lovasz_convex_in_b: bool
    device: str


def device_line() -> str:
    """Where torch computes: the CUDA device's name, or the CPU with the cores this process may use.

    Reads the hardware (CPU affinity), never torch's process-wide thread setting.
    """
    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return f"CPU ({cores} core{'s' if cores != 1 else ''})"


def staircase_polyline(
    jumps: np.ndarray, values: np.ndarray, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points for a step line ("hv"): x = (lo, jumps.., hi), y = (values.., values[-1])."""
    return np.concatenate([[lo], jumps, [hi]]), np.concatenate([values, values[-1:]])


def home_view(offset: float) -> HomeView:
    """The disk scene, the prediction at ``offset`` and both losses over b ∈ [−5, 5].

    1 − IoU(b) is piecewise constant (exact jumps from :func:`exact_staircase`); the Lovász
    extension is evaluated at ``SAMPLES`` evenly spaced b.
    """
    source, size, classes, seed = HOME_SCENE
    labels, _ = ground_truth(source, size, classes, seed)
    logits = make_logits(labels, classes, HOME_SPEC)
    lo, hi = OFFSET_RANGE
    offsets = torch.linspace(lo, hi, SAMPLES, dtype=torch.float64)
    _, lovasz = offset_sweep(logits, labels, HOME_CLASS, offsets)
    jumps, values = exact_staircase(logits, labels, HOME_CLASS, lo, hi)
    step_x, step_y = staircase_polyline(jumps.numpy(), values.numpy(), lo, hi)
    shifted = logits.clone()
    shifted[HOME_CLASS] += offset
    at = torch.tensor([offset], dtype=torch.float64)
    jaccard_at, lovasz_at = offset_sweep(logits, labels, HOME_CLASS, at)
    best = int(torch.argmin(values))
    best_offset = float((step_x[best] + step_x[best + 1]) / 2)
    curve = lovasz.numpy()
    return HomeView(
        labels=labels.numpy(),
        predicted=shifted.argmax(0).numpy(),
        offset=float(offset),
        offsets=offsets.numpy(),
        lovasz=curve,
        step_x=step_x,
        step_y=step_y,
        jumps=len(jumps),
        jaccard_at=float(jaccard_at[0]),
        lovasz_at=float(lovasz_at[0]),
        best_offset=best_offset,
        best_jaccard=float(values[best]),
        lovasz_best_offset=float(offsets[int(np.argmin(curve))]),
        lovasz_convex_in_b=bool((np.diff(curve, 2) >= -1e-9).all()),
        device=device_line(),
    )
