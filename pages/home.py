"""Home page: what IoU, the Jaccard loss and the Lovász extension are, one live figure, a map of
the pages, and where the computation runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch

from app import presentation, widgets
from app.figures import iou as figures
from lovasz_core.lab.predictions import PredictionSpec
from lovasz_core.lab.teaching import offset_sweep

PAGE = "home"
PAGES_DIR = Path(__file__).resolve().parent
OFFSETS = np.round(np.linspace(-5.0, 5.0, 201), 6)
PAGE_MAP = (
    (
        "iou_jaccard.py",
        "IoU and the Jaccard loss",
        ":material/join_inner:",
        "Intersection, union and IoU per class; why IoU has no useful gradient.",
    ),
    (
        "sorting_errors.py",
        "Sorting errors",
        ":material/sort:",
        "The heart: sort the errors, read off the Jaccard gradients, step by step on an image.",
    ),
    (
        "geometry.py",
        "Geometry of the extension",
        ":material/landscape:",
        "Two or three pixels: the loss surface, its flat pieces and its convexity.",
    ),
    (
        "gradients.py",
        "Gradients: Lovász vs cross-entropy",
        ":material/compare:",
        "Where each loss pushes, pixel by pixel, as the object shrinks.",
    ),
    (
        "live_training.py",
        "Live training",
        ":material/model_training:",
        "Train the same tiny net with several losses side by side.",
    ),
    ("lesson.py", "Lesson", ":material/school:", "A guided path through the pages for a class."),
)


@st.cache_data(show_spinner=False)
def sweep() -> dict[str, Any]:
    """A 16×16 disk, a slightly shifted prediction, and the losses as its logit is offset."""
    labels, _ = widgets.load_ground_truth("disks", 16, 2, 3)
    logits = widgets.load_logits(labels, 2, PredictionSpec(shift_x=1.5, shift_y=1.0, noise=0.0))
    jaccard, lovasz = offset_sweep(
        torch.from_numpy(logits), torch.from_numpy(labels), 1, torch.from_numpy(OFFSETS)
    )
    return {"labels": labels, "logits": logits, "jaccard": jaccard.numpy(), "lovasz": lovasz.numpy()}


def main() -> None:
    st.title("Lovász-Softmax, explained")
    st.markdown(
        "*A segmentation is judged by its IoU; the Lovász-Softmax loss (Berman, Rannen Triki and "
        "Blaschko, CVPR 2018) lets a network optimize that IoU directly.*"
    )
    widgets.url_warnings(PAGE)
    left, right = st.columns([1, 1])
    with left:
        st.markdown(
            "**IoU (Jaccard index)** of a class c: the overlap of the true and predicted regions "
            "over their union."
        )
        st.latex(r"J_c = \frac{|\{y=c\} \cap \{\hat y = c\}|}{|\{y=c\} \cup \{\hat y = c\}|}")
        st.markdown(
            "**Jaccard loss**: $1 - J_c$, a function of the *set* $M_c$ of mispredicted pixels, "
            "which is submodular."
        )
        st.latex(r"\Delta_J(M_c) = \frac{|M_c|}{|\{y=c\} \cup M_c|}")
        st.markdown(
            "**Lovász extension**: sort the pixel errors m (e.g. 1 − p of the true class) in "
            "decreasing order and weight each by how much it raises $\\Delta_J$: a convex, piecewise-linear "
            "loss equal to $\\Delta_J$ at binary errors, with a useful gradient."
        )
        st.latex(
            r"\bar\Delta_J(m) = \sum_i m_{\pi(i)}\,\big(\Delta_J(\{\pi_1..\pi_i\}) - "
            r"\Delta_J(\{\pi_1..\pi_{i-1}\})\big)"
        )
    with right:
        data = sweep()
        offset = float(widgets.control(PAGE, "offset"))
        fig = figures.staircase_figure(
            OFFSETS,
            data["jaccard"],
            data["lovasz"],
            offset,
            "A 16×16 disk: loss vs the disk class's logit offset b",
            height=300,
        )
        presentation.plotly_chart(
            fig,
            key="_h_stairs",
            alt="1 − IoU (a staircase) and the Lovász loss (a sloped curve) "
            "as functions of the logit offset b",
        )
        st.caption(
            "Drag b: the true loss 1 − IoU (solid) only jumps and is flat in between, so its gradient "
            "is zero; the Lovász loss (dashed) slopes down towards the better IoU."
        )
        logits = data["logits"].copy()
        logits[1] += offset
        predicted = logits.argmax(0)
        presentation.plotly_chart(
            figures.overlay_figure(
                data["labels"], predicted, 1, f"Prediction at b = {offset:+.1f}", height=260
            ),
            key="_h_overlay",
            alt=f"Ground truth and prediction at b = {offset:+.1f}: intersection, false positives "
            "and false negatives",
        )
        st.caption("Green: intersection; orange: false positives; blue: false negatives.")

    st.subheader("The pages")
    for filename, title, icon, blurb in PAGE_MAP:
        cols = st.columns([2, 5], vertical_alignment="center")
        cols[0].page_link(str(PAGES_DIR / filename), label=title, icon=icon)
        cols[1].markdown(blurb)
    st.caption(
        f"Every number is computed live with PyTorch. Torch runs here on **{widgets.device_name()}**: "
        "the training page uses it; the small examples of the Understand pages take milliseconds on "
        "the CPU. Every view is a link: the address bar holds its parameters, so you can share or "
        "bookmark it."
    )


main()
