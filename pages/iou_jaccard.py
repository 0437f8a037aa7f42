"""Page "IoU and the Jaccard loss": intersection, union and IoU per class, the Jaccard loss as a
set function of the mispredicted pixels, and why it cannot be trained on directly (a staircase).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import presentation, state, widgets
from app.figures import common as common_figures
from app.figures import iou as iou_figures
from lovasz_core.lab.predictions import PredictionSpec
from lovasz_core.lab.views.iou_jaccard import IouView, iou_view

PAGE = "iou_jaccard"
SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"


@st.cache_data(max_entries=64, show_spinner=False)
def view(labels: np.ndarray, num_classes: int, spec: PredictionSpec, cls: int, offset: float) -> IouView:
    return iou_view(labels, num_classes, spec, cls, offset)


def fmt(value: float) -> str:
    return "undefined" if np.isnan(value) else f"{value:.3f}"


def maps(labels: np.ndarray, num_classes: int, data: IouView, cls: int) -> None:
    """Ground truth, prediction and the outcome overlay of class c, side by side."""
    cols = st.columns(3)
    presentation.plotly_chart(
        common_figures.label_map_figure(labels, num_classes, "Ground truth y"),
        key="_ij_truth",
        container=cols[0],
        alt="Ground-truth label map, one colour per class",
    )
    cols[0].caption("The true class of every pixel.")
    presentation.plotly_chart(
        common_figures.label_map_figure(data.predicted, num_classes, "Prediction ŷ = argmax"),
        key="_ij_pred",
        container=cols[1],
        alt="Predicted label map (argmax of the logits)",
    )
    cols[1].caption("The prediction maker's output: move, grow or blur it in the sidebar.")
    presentation.plotly_chart(
        iou_figures.overlay_figure(labels, data.predicted, cls, f"Class {cls}: ∩ and ∪"),
        key="_ij_overlay",
        container=cols[2],
        alt=f"Class {cls}: intersection, false positives and false negatives of the prediction",
    )
    cols[2].caption(
        "The intersection, the false positives and the false negatives together are the union; "
        f"the false positives and false negatives alone are the mispredicted set $M_{{{cls}}}$."
    )


def counts(data: IouView, cls: int) -> None:
    cols = st.columns(6)
    cols[0].metric(f"|F{SUBSCRIPTS[cls]}| = |y = {cls}|", data.num_true)
    cols[1].metric(f"|ŷ = {cls}|", data.num_pred)
    cols[2].metric("Intersection", data.intersection)
    cols[3].metric("Union", data.union)
    cols[4].metric(f"IoU of class {cls}", fmt(data.ious[cls]))
    cols[5].metric("Mean IoU", fmt(data.mean_iou))


def set_function(data: IouView, cls: int) -> None:
    """IoU bars, and Δ_J(M_c) with this prediction's numbers."""
    left, right = st.columns(2)
    with left:
        presentation.plotly_chart(
            iou_figures.iou_bars_figure(data.ious), key="_ij_bars", alt="IoU of each class and their mean"
        )
        st.caption(
            "Each class counts equally in the mean, however small it is: a rare class that is "
            "half missed costs as much as a large one."
        )
    with right:
        st.markdown(
            f"**The Jaccard loss as a set function.** It depends on the prediction only through "
            f"the mispredicted set $M_{{{cls}}}$; here:"
        )
        st.latex(rf"\Delta_J(M_{{{cls}}}) = \frac{{|M_{{{cls}}}|}}{{|F_{{{cls}}} \cup M_{{{cls}}}|}}")
        st.latex(rf"= \frac{{{data.num_mispredicted}}}{{{data.union}}} = {data.delta:.4f}")
        iou = data.ious[cls]
        if not np.isnan(iou):
            st.latex(rf"1 - J_{{{cls}}} = 1 - {iou:.4f} = {1 - iou:.4f}")
        st.caption(
            "$\\Delta_J$ is submodular: one more wrong pixel hurts less when many are already wrong, "
            "which is what makes its Lovász extension convex in the errors m (next pages)."
        )


def staircase(data: IouView, cls: int, offset: float) -> None:
    """1 − IoU_c in b over the whole range and zoomed around b, with the Lovász extension."""
    wide, zoom = st.columns([3, 2])
    presentation.plotly_chart(
        iou_figures.staircase_figure(
            data.step_x, data.step_y, data.offsets, data.lovasz, offset, f"Loss of class {cls} vs b"
        ),
        key="_ij_stairs",
        container=wide,
        alt="1 − IoU of the argmax prediction (a staircase) and the Lovász "
        "extension as functions of the offset b",
    )
    lo, hi = data.zoom
    presentation.plotly_chart(
        iou_figures.staircase_figure(
            data.step_x,
            data.step_y,
            data.offsets,
            data.lovasz,
            offset,
            f"Zoom: b from {lo:+.2f} to {hi:+.2f}",
            x_range=data.zoom,
            y_range=data.zoom_y,
            x_title="b",
        ),
        key="_ij_stairs_zoom",
        container=zoom,
        alt="The same two losses, zoomed around the current offset b",
    )
    st.caption(
        f"The solid staircase, 1 − IoU of the argmax prediction, changes only at the {data.jumps} "
        f"values of b where a pixel's argmax switches to or from class {cls} "
        f"({data.zoom_jumps or 'none'} in the zoom); in between it is exactly flat, so its gradient "
        "is zero wherever it "
        f"exists. Sampled every {data.flat_step:g}, it is unchanged over {data.flat_fraction:.0%} of "
        "the steps. The dashed Lovász extension follows it with a slope a gradient step can use."
    )


def main() -> None:
    widgets.page_header(
        PAGE,
        "IoU and the Jaccard loss",
        "IoU asks how much the predicted region and the true region overlap, relative to "
        "everything either of them covers.",
    )
    st.markdown(
        "Write $F_c = \\{y = c\\}$ for the pixels of class c and $M_c$ for the mispredicted ones "
        "(predicted c but not c, or c but predicted otherwise):"
    )
    st.latex(r"J_c = \frac{|F_c \cap \{\hat y = c\}|}{|F_c \cup \{\hat y = c\}|}")
    st.latex(r"\Delta_J(M_c) = \frac{|M_c|}{|F_c \cup M_c|} = 1 - J_c")
    sidebar = st.sidebar
    labels, num_classes, spec = widgets.scene_sidebar(PAGE)
    cls = int(widgets.control(PAGE, "cls", sidebar, hi=num_classes - 1))
    offset = float(widgets.control(PAGE, "offset", sidebar))
    try:
        data = view(labels, num_classes, spec, cls, offset)
    except (ValueError, TypeError) as error:
        st.error(f"Cannot compute the IoU: {error}")
        return
    if data.num_true == 0:
        st.warning(
            f"Class {cls} has no pixel in the ground truth: its IoU is 0 if the prediction uses it, "
            "and undefined (left out of the mean) if not. Pick another class or seed.",
            icon=":material/warning:",
        )
    if labels.size < 4:
        st.warning(f"A {labels.shape[0]}×{labels.shape[1]} image is too small to show much; try 16 or more.")
    maps(labels, num_classes, data, cls)
    counts(data, cls)
    set_function(data, cls)
    st.subheader("Why we cannot train on IoU directly")
    staircase(data, cls, offset)
    st.success(
        "**Takeaway.** IoU is computed from a hard, thresholded prediction, so as a function of the "
        "network's outputs it is piecewise constant: a surrogate with useful gradients is needed. "
        "The Lovász extension equals $\\Delta_J$ at every hard prediction and is convex in the "
        "errors m.",
        icon=":material/lightbulb:",
    )
    widgets.share_link(PAGE, state.current(PAGE))
    sidebar.caption("Computed live with torch on the CPU.")


main()
