"""Home page: what IoU, the Jaccard loss and the Lovász extension are, one live figure, a map of
the pages, and where the computation runs."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import presentation, widgets
from app.figures import iou as figures
from lovasz_core.lab.views.home import HomeView, home_view

PAGE = "home"
PAGES_DIR = Path(__file__).resolve().parent
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


@st.cache_data(max_entries=128, show_spinner=False)
def view(offset: float) -> HomeView:
    return home_view(offset)


def definitions() -> None:
    """IoU, the Jaccard loss and its Lovász extension, one short formula per line."""
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
        "decreasing order ($S_i$: the pixels of the $i$ largest errors) and weight each by how "
        "much it raises $\\Delta_J$. The result is "
        "piecewise linear and **convex in the errors m**, equal to $\\Delta_J$ at binary errors, "
        "with a useful gradient."
    )
    st.latex(r"\bar\Delta_J(m) = \sum_i m_{\pi(i)}\, g_i")
    st.latex(r"g_i = \Delta_J(S_i) - \Delta_J(S_{i-1})")
    st.latex(r"S_i = \{\pi_1, \dots, \pi_i\}")


def live_figure(data: HomeView) -> None:
    """The staircase and the Lovász curve in b, then the prediction at b."""
    fig = figures.staircase_figure(
        data.step_x,
        data.step_y,
        data.offsets,
        data.lovasz,
        data.offset,
        "A 16×16 disk: loss vs offset b",
        height=300,
    )
    presentation.plotly_chart(
        fig,
        key="_h_stairs",
        alt="1 − IoU (a staircase) and the Lovász loss (a sloped curve) as functions of the logit offset b",
    )
    shape = "bends both ways" if not data.lovasz_convex_in_b else "is convex here too"
    st.caption(
        f"Drag b. The true loss 1 − IoU (solid) changes at {data.jumps} values of b only and is "
        "flat in between, so its gradient is zero. The Lovász loss (dashed) has a slope: it is "
        f"lowest at b = {data.lovasz_best_offset:+.2f}, near the lowest step of 1 − IoU "
        f"({data.best_jaccard:.3f}, b ≈ {data.best_offset:+.2f}). As a function of b it {shape}: "
        "it is convex in the errors m, and m depends on b through the softmax."
    )
    presentation.plotly_chart(
        figures.overlay_figure(
            data.labels, data.predicted, 1, f"Prediction at b = {data.offset:+.1f}", height=260
        ),
        key="_h_overlay",
        alt=f"Ground truth and prediction at b = {data.offset:+.1f}: intersection, false positives "
        "and false negatives",
    )
    st.caption(
        f"At b = {data.offset:+.1f}: 1 − IoU = {data.jaccard_at:.3f}, Lovász loss = "
        f"{data.lovasz_at:.3f}. Colours as in the legend: the union is every coloured pixel."
    )


def main() -> None:
    st.title("Lovász-Softmax, explained")
    st.markdown(
        "*A segmentation is judged by its IoU; the Lovász-Softmax loss (Berman, Rannen Triki and "
        "Blaschko, CVPR 2018) lets a network optimize that IoU directly.*"
    )
    widgets.url_warnings(PAGE)
    left, right = st.columns([1, 1])
    with left:
        definitions()
    with right:
        offset = float(widgets.control(PAGE, "offset"))
        data = view(offset)
        live_figure(data)

    st.subheader("The pages")
    for filename, title, icon, blurb in PAGE_MAP:
        cols = st.columns([2, 5], vertical_alignment="center")
        cols[0].page_link(str(PAGES_DIR / filename), label=title, icon=icon)
        cols[1].markdown(blurb)
    st.caption(
        f"Every number is computed live with PyTorch. Torch runs here on **{data.device}**: "
        "the training page uses it; the small examples of the Understand pages are computed on the "
        "CPU. Every view is a link: the address bar holds its parameters, so you can share or "
        "bookmark it."
    )


main()
