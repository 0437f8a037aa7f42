"""Page "Sorting errors": the Lovász extension of one class computed step by step.

:func:`sorting_view` turns a ground truth and logits into every number the page draws: the error
map, the sort order, I, U and Δ of every prefix, the Jaccard gradients g, the contributions m·g,
and the facts the page proves on them. :func:`prefix_numbers` gives the running numbers at a
step k of the walk through the sort order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...extension import jaccard_loss_of_set, lovasz_extension, lovasz_trace
from ...losses import lovasz_softmax
from ..predictions import hinge_errors, softmax_errors
from ..void import VOID, add_void_band

ERROR_KINDS = ("softmax", "hinge")
THRESHOLDS = {"softmax": 0.5, "hinge": 1.0}  # m above it: the pixel is wrong (s·y* < 0 for hinge)


@dataclass(frozen=True)
class SortingView:
    """Every number of the page, for one class c of one image ``[H, W]`` with P = H·W pixels.

    Sorted arrays are ``[P]`` in decreasing-error order over the P pixels in the sort (rank
    i = 1..P; void pixels are left out when they are ignored); maps are ``[H, W]``.
    """

    truth: np.ndarray  # [H, W] int64 ground truth (class c removed when it is made absent)
    fg: np.ndarray  # [H, W] bool, pixel in class c
    errors: np.ndarray  # [H, W] float64 errors m
    weights: np.ndarray  # [H, W] g put back at each pixel
    contributions_map: np.ndarray  # [H, W] m·g
    ranks: np.ndarray  # [H, W] rank of each pixel in the sort (1 = largest error; 0 = void, not sorted)
    void: np.ndarray  # [H, W] bool, void pixels (label 255)
    ignored: int  # void pixels left out of the sort (0 when ignore_index is off)
    loss_error: str  # why lovasz_softmax refuses these labels ("" when it accepts them)
    order: np.ndarray  # [P] flat index of the pixel at rank i
    errors_sorted: np.ndarray  # [P] m_π(i)
    fg_sorted: np.ndarray  # [P] bool
    intersection: np.ndarray  # [P] I_i = |F| − #fg among the i worst
    union: np.ndarray  # [P] U_i = |F| + #bg among the i worst
    jaccard: np.ndarray  # [P] Δ_i = 1 − I_i / U_i
    grad: np.ndarray  # [P] g_i = Δ_i − Δ_(i−1)
    contributions: np.ndarray  # [P] m_π(i) g_i
    loss: float  # Σ_i m_π(i) g_i, the Lovász extension
    kind: str  # "softmax" or "hinge"
    threshold: float  # m above it means wrong
    k_star: int  # #{m > threshold}: how many pixels the thresholded prediction gets wrong
    prefix_sum_at_k_star: float  # Σ_{i ≤ k*} g_i (= Δ_{k*})
    iou_threshold: float  # IoU of class c at the thresholded prediction (NaN if F ∪ predicted = ∅)
    binary_extension: float  # the extension at the binarized errors 1[m > threshold]
    binary_delta: float  # Δ_J(M) = |M| / |F ∪ M| for M = {m > threshold}
    num_fg: int  # |F|
    max_error: float
    softmax_errors: np.ndarray  # [H, W] both kinds of errors, for the comparison tab
    hinge_errors: np.ndarray  # [H, W]
    softmax_loss: float  # the extension with softmax errors
    hinge_loss: float  # the extension with hinge errors
    loss_all: float  # lovasz_softmax(classes="all") of the whole image
    loss_present: float  # lovasz_softmax(classes="present")
    num_classes: int

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.errors.shape[0]), int(self.errors.shape[1]))

    @property
    def size(self) -> int:
        """P: the number of pixels in the sort."""
        return len(self.order)


@dataclass(frozen=True)
class PrefixNumbers:
    """The walk through the sort order at step k: the k worst pixels form the prefix set."""

    k: int
    intersection: int  # I_k
    union: int  # U_k
    jaccard: float  # Δ_k, the Jaccard loss if exactly these k pixels were wrong
    loss_so_far: float  # Σ_{i ≤ k} m_π(i) g_i


def sorting_view(
    labels: np.ndarray,
    logits: np.ndarray,
    cls: int,
    kind: str = "softmax",
    absent: bool = False,
    void_band: int = 0,
    ignore_void: bool = True,
) -> SortingView:
    """Every number of the page for class ``cls`` of ``labels`` ``[H, W]`` under ``logits`` ``[C, H, W]``.

    ``kind`` picks the errors: softmax m = |1[y=c] − p(c)| or hinge m = max(0, 1 − s·y*) with
    s = z(c) − max_{c'≠c} z(c'). With ``absent`` class c is removed from the ground truth
    (its pixels become background, or class 1 when c = 0) while the prediction stays.
    ``void_band`` > 0 marks a band that many pixels deep around every object boundary as void
    (label 255, as Pascal VOC does); with ``ignore_void`` (``ignore_index=255``) those pixels are
    left out of the sort and get no gradient, without it they count as "not c" in the trace and
    ``lovasz_softmax`` refuses the labels (``loss_error`` says why).
    """
    if kind not in ERROR_KINDS:
        raise ValueError(f"`kind` must be one of {ERROR_KINDS}, got {kind!r}")
    if labels.ndim != 2 or logits.ndim != 3 or logits.shape[1:] != labels.shape:
        raise ValueError(
            f"`labels` must be [H, W] and `logits` [C, H, W] of the same H, W; got {labels.shape} and "
            f"{logits.shape}"
        )
    num_classes = int(logits.shape[0])
    if not 0 <= cls < num_classes:
        raise ValueError(f"`cls` must be in [0, {num_classes - 1}], got {cls}")
    scores = torch.from_numpy(np.asarray(logits, dtype=np.float64))
    truth_np = np.asarray(labels, dtype=np.int64)
    if void_band > 0:
        truth_np = add_void_band(truth_np, void_band)
    truth = torch.from_numpy(truth_np).clone()
    if absent:
        truth[truth == cls] = 1 if cls == 0 else 0
    probas = scores.softmax(0)
    void = truth == VOID
    fg = truth == cls
    both = {"softmax": softmax_errors(probas[cls], fg), "hinge": hinge_errors(scores, cls, fg)}
    errors, threshold = both[kind], THRESHOLDS[kind]
    kept = ~void if ignore_void else torch.ones_like(void)
    kept_index = torch.nonzero(kept.reshape(-1)).reshape(-1)
    if len(kept_index) == 0:
        raise ValueError("every pixel is void (label 255): nothing is left to sort; narrow the void band")
    trace = lovasz_trace(errors.reshape(-1)[kept_index], fg.reshape(-1)[kept_index])
    order = kept_index[trace.order]
    ranks = torch.zeros(fg.numel(), dtype=torch.int64).scatter_(0, order, torch.arange(1, len(order) + 1))
    weights = torch.zeros(fg.numel(), dtype=torch.float64).scatter_(0, kept_index, trace.weights)
    weights = weights.reshape(fg.shape)
    wrong = (errors > threshold) & kept
    predicted = (wrong ^ fg) & kept  # predicted as c: c and right, or not c and wrong
    union = int((fg | predicted).sum())
    k_star = int(wrong.sum())
    grad = trace.grad.numpy()
    ignore_index = VOID if ignore_void else None
    loss_error = ""
    try:
        loss_all = float(lovasz_softmax(probas[None], truth[None], classes="all", ignore_index=ignore_index))
        loss_present = float(lovasz_softmax(probas[None], truth[None], ignore_index=ignore_index))
    except ValueError as error:
        loss_error, loss_all, loss_present = str(error), float("nan"), float("nan")
    both_kept = {name: values.reshape(-1)[kept_index] for name, values in both.items()}
    fg_kept = fg.reshape(-1)[kept_index]
    return SortingView(
        truth=truth.numpy(),
        fg=fg.numpy(),
        errors=errors.numpy(),
        weights=weights.numpy(),
        contributions_map=(errors * weights).numpy(),
        ranks=ranks.numpy().reshape(labels.shape),
        void=void.numpy(),
        ignored=int(void.sum()) if ignore_void else 0,
        loss_error=loss_error,
        order=order.numpy(),
        errors_sorted=trace.errors_sorted.numpy(),
        fg_sorted=trace.fg_sorted.numpy(),
        intersection=trace.intersection.numpy(),
        union=trace.union.numpy(),
        jaccard=trace.jaccard.numpy(),
        grad=grad,
        contributions=trace.contributions.detach().numpy(),
        loss=float(trace.loss),
        kind=kind,
        threshold=threshold,
        k_star=k_star,
        prefix_sum_at_k_star=float(grad[:k_star].sum()),
        iou_threshold=float((fg & predicted).sum()) / union if union else float("nan"),
        binary_extension=float(lovasz_extension(wrong.reshape(-1)[kept_index].to(torch.float64), fg_kept)),
        binary_delta=float(jaccard_loss_of_set(wrong.reshape(-1)[kept_index], fg_kept)),
        num_fg=int(fg_kept.sum()),
        max_error=float(trace.errors_sorted[0]) if len(order) else 0.0,
        softmax_errors=both["softmax"].numpy(),
        hinge_errors=both["hinge"].numpy(),
        softmax_loss=float(lovasz_extension(both_kept["softmax"], fg_kept)),
        hinge_loss=float(lovasz_extension(both_kept["hinge"], fg_kept)),
        loss_all=loss_all,
        loss_present=loss_present,
        num_classes=num_classes,
    )


def prefix_numbers(view: SortingView, k: int) -> PrefixNumbers:
    """I_k, U_k, Δ_k and the loss so far after the k worst pixels (k = 0: nothing is wrong yet)."""
    if not 0 <= k <= view.size:
        raise ValueError(f"`k` must be in [0, {view.size}], got {k}")
    if k == 0:
        return PrefixNumbers(0, view.num_fg, view.num_fg, 0.0, 0.0)
    return PrefixNumbers(
        k=k,
        intersection=round(float(view.intersection[k - 1])),
        union=round(float(view.union[k - 1])),
        jaccard=float(view.jaccard[k - 1]),
        loss_so_far=float(view.contributions[:k].sum()),
    )
