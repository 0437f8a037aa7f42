"""Page "IoU and the Jaccard loss": intersection, union and IoU per class, the Jaccard loss as a
set function of the mispredicted pixels, and why it cannot be trained on directly (a staircase).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
import torch

from app import presentation, state, widgets
from app.figures import common as common_figures
from app.figures import iou as iou_figures
from lovasz_core import jaccard_loss_of_set, per_class_iou
from lovasz_core.lab.predictions import PredictionSpec
from lovasz_core.lab.teaching import offset_sweep

PAGE = "iou_jaccard"
OFFSETS = np.round(np.linspace(-6.0, 6.0, 121), 6)


@st.cache_data(max_entries=64, show_spinner=False)
def compute(
    labels: np.ndarray, num_classes: int, spec: PredictionSpec, cls: int, offset: float
) -> dict[str, Any]:
    """Prediction (argmax after adding ``offset`` to class c's logit), IoUs, Δ_J and the b-sweep."""
    logits = torch.from_numpy(widgets.load_logits(labels, num_classes, spec))
    truth = torch.from_numpy(labels)
    shifted = logits.clone()
    shifted[cls] += offset
    predicted = shifted.argmax(0)
    ious = per_class_iou(predicted, truth, num_classes)
    fg, pred_c = truth == cls, predicted == cls
    mispredicted = fg ^ pred_c
    return {
        "predicted": predicted.numpy(),
        "ious": ious.numpy(),
        "mean_iou": float(np.nanmean(ious.numpy())) if not np.isnan(ious.numpy()).all() else float("nan"),
        "intersection": int((fg & pred_c).sum()),
        "union": int((fg | pred_c).sum()),
        "num_fg": int(fg.sum()),
        "num_pred": int(pred_c.sum()),
        "num_mispredicted": int(mispredicted.sum()),
        "delta": float(jaccard_loss_of_set(mispredicted, fg)),
    }


@st.cache_data(max_entries=64, show_spinner=False)
def sweep(labels: np.ndarray, num_classes: int, spec: PredictionSpec, cls: int) -> dict[str, Any]:
    """1 − IoU_c (staircase) and the Lovász extension of class c for every offset b in OFFSETS."""
    logits = torch.from_numpy(widgets.load_logits(labels, num_classes, spec))
    jaccard, lovasz = offset_sweep(logits, torch.from_numpy(labels), cls, torch.from_numpy(OFFSETS))
    return {
        "jaccard": jaccard.numpy(),
        "lovasz": lovasz.numpy(),
        "jumps": int((np.abs(np.diff(jaccard.numpy())) > 1e-12).sum()),
    }


def fmt(value: float) -> str:
    return "undefined" if np.isnan(value) else f"{value:.3f}"


def main() -> None:
    widgets.page_header(
        PAGE,
        "IoU and the Jaccard loss",
        "IoU asks how much the predicted region and the true region overlap, relative to "
        "everything either of them covers.",
    )
    st.latex(
        r"J_c = \frac{|\{y = c\} \cap \{\hat y = c\}|}{|\{y = c\} \cup \{\hat y = c\}|}, \qquad "
        r"\Delta_J(M_c) = \frac{|M_c|}{|\{y = c\} \cup M_c|} = 1 - J_c"
    )
    sidebar = st.sidebar
    labels, num_classes, spec = widgets.scene_sidebar(PAGE)
    cls = int(widgets.control(PAGE, "cls", sidebar, hi=num_classes - 1))
    offset = float(widgets.control(PAGE, "offset", sidebar))
    try:
        data = compute(labels, num_classes, spec, cls, offset)
        stairs = sweep(labels, num_classes, spec, cls)
    except (ValueError, TypeError) as error:
        st.error(f"Cannot compute the IoU: {error}")
        return
    if data["num_fg"] == 0:
        st.warning(
            f"Class {cls} has no pixel in the ground truth: its IoU is 0 if the prediction uses it, "
            "and undefined (left out of the mean) if not. Pick another class or seed.",
            icon=":material/warning:",
        )
    if labels.size < 4:
        st.warning(f"A {labels.shape[0]}×{labels.shape[1]} image is too small to show much; try 16 or more.")

    maps = st.columns(3)
    presentation.plotly_chart(
        common_figures.label_map_figure(labels, num_classes, "Ground truth y"),
        key="_ij_truth",
        container=maps[0],
        alt="Ground-truth label map, one colour per class",
    )
    maps[0].caption("The true class of every pixel.")
    presentation.plotly_chart(
        common_figures.label_map_figure(data["predicted"], num_classes, "Prediction ŷ = argmax"),
        key="_ij_pred",
        container=maps[1],
        alt="Predicted label map (argmax of the logits)",
    )
    maps[1].caption("The prediction maker's output: move, grow or blur it in the sidebar.")
    presentation.plotly_chart(
        iou_figures.overlay_figure(labels, data["predicted"], cls, f"Class {cls}: ∩ and ∪"),
        key="_ij_overlay",
        container=maps[2],
        alt=f"Class {cls}: intersection, false positives and false negatives of the prediction",
    )
    maps[2].caption(
        "Green is the intersection; green + orange + blue is the union. "
        "Orange and blue together are the mispredicted set $M_c$."
    )

    cols = st.columns(6)
    cols[0].metric(f"|y = {cls}|", data["num_fg"])
    cols[1].metric(f"|ŷ = {cls}|", data["num_pred"])
    cols[2].metric("Intersection", data["intersection"])
    cols[3].metric("Union", data["union"])
    cols[4].metric(f"IoU of class {cls}", fmt(data["ious"][cls]))
    cols[5].metric("Mean IoU", fmt(data["mean_iou"]))

    left, right = st.columns(2)
    with left:
        presentation.plotly_chart(
            iou_figures.iou_bars_figure(data["ious"]), key="_ij_bars", alt="IoU of each class and their mean"
        )
        st.caption(
            "Each class counts equally in the mean, however small it is: a rare class that is "
            "half missed costs as much as a large one."
        )
    with right:
        st.markdown(
            "**The Jaccard loss as a set function.** Write $M_c$ for the pixels where "
            "ground truth and prediction disagree about c. The loss depends on the prediction "
            "only through this set:"
        )
        union = data["num_fg"] + data["num_pred"] - data["intersection"]
        st.latex(
            rf"\Delta_J(M_{{{cls}}}) = \frac{{|M|}}{{|F \cup M|}} = "
            rf"\frac{{{data['num_mispredicted']}}}{{{union}}} = {data['delta']:.4f}"
        )
        iou = data["ious"][cls]
        if not np.isnan(iou):
            st.latex(rf"1 - J_{{{cls}}} = 1 - {iou:.4f} = {1 - iou:.4f}")
        st.caption(
            "$\\Delta_J$ is submodular: one more wrong pixel hurts less when many are already wrong, "
            "which is what makes its Lovász extension convex (next pages)."
        )

    st.subheader("Why we cannot train on IoU directly")
    fig = iou_figures.staircase_figure(
        OFFSETS,
        stairs["jaccard"],
        stairs["lovasz"],
        offset,
        f"Loss of class {cls} as its logit is shifted by b",
    )
    presentation.plotly_chart(
        fig,
        key="_ij_stairs",
        alt="1 − IoU of the argmax prediction (a staircase) and the Lovász "
        "extension as functions of the offset b",
    )
    st.caption(
        f"The solid staircase (1 − IoU of the argmax prediction) has only {stairs['jumps']} jumps over "
        f"{len(OFFSETS)} values of b and is flat in between: its gradient is zero almost everywhere. "
        "The dashed Lovász extension follows it with a slope that a gradient step can use."
    )
    st.success(
        "**Takeaway.** IoU is computed from a hard, thresholded prediction, so as a function of the "
        "network's outputs it is piecewise constant: a surrogate with useful gradients is needed, "
        "and the Lovász extension is the tightest convex one.",
        icon=":material/lightbulb:",
    )
    widgets.share_link(PAGE, state.current(PAGE))
    sidebar.caption("Computed live with torch on the CPU (tiny tensors: milliseconds).")


main()
