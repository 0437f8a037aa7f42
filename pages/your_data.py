"""Page "Your data and your model": what Lovász-Softmax and cross-entropy do to a real prediction.

Upload a model's logits ``[C, H, W]`` with their mask (or an image and a mask, and a generated
prediction), paint the mask in the browser, and see: the argmax prediction's IoU per class, the
gradient maps ∂L/∂z_c of both losses, each class's share of the push, and the sort of one
class's errors. Void pixels (255) are grey, unsorted and get no gradient. Every number comes
from :func:`lovasz_core.lab.views.your_data.your_data_view`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import presentation, safe_text, uploads, widgets
from app.figures.common import LEGEND_BELOW
from app.figures.gradients import gradient_maps_figure
from app.figures.iou import iou_bars_figure
from app.figures.sorting import sorted_panels_figure
from app.figures.your_data import class_map_figure, image_figure, push_share_figure
from lovasz_core.lab.predictions import PredictionSpec
from lovasz_core.lab.views.your_data import (
    EXAMPLE_CLASSES,
    THRESHOLD,
    YourDataView,
    class_maps,
    example_case,
    generated_logits,
    npy_bytes,
    your_data_view,
)
from lovasz_core.lab.void import VOID

PAGE = "your_data"
MAX_SIDE = 64
EDITOR_GENERATION = "_yd_editor_generation"
PAINT_CLASS = "_yd_paint_class"
IOU_LEGEND = {**LEGEND_BELOW, "y": -0.22}  # below the class names of the bars


@st.cache_data(max_entries=1, show_spinner=False)
def cached_example() -> tuple[np.ndarray, np.ndarray]:
    return example_case()


@st.cache_data(max_entries=16, show_spinner=False)
def cached_prediction(mask: np.ndarray, num_classes: int, spec: PredictionSpec) -> np.ndarray:
    return generated_logits(mask, num_classes, spec)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_view(mask: np.ndarray, logits: np.ndarray, cls: int) -> YourDataView:
    return your_data_view(mask, logits, cls)


def _on_paint(chart_key: str, source: str, base: np.ndarray) -> None:
    """Paint the pixels inside the box or lasso with the chosen class; give the chart a new key
    so that the selection does not stay drawn."""
    event = st.session_state.get(chart_key) or {}
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    points = list((selection or {}).get("points", []) or [])
    height, width = base.shape
    indices = sorted(
        {
            round(p["y"]) * width + round(p["x"])
            for p in points
            if p.get("x") is not None and 0 <= round(p["y"]) < height and 0 <= round(p["x"]) < width
        }
    )
    uploads.paint_pixels(source, base, indices, int(st.session_state.get(PAINT_CLASS, 0)))
    st.session_state[EDITOR_GENERATION] = int(st.session_state.get(EDITOR_GENERATION, 0)) + 1


def _class_name(value: int) -> str:
    return f"void ({VOID})" if value == VOID else f"class {value}"


def mask_editor(
    source: str, base: np.ndarray, truth: np.ndarray, num_classes: int, image: np.ndarray | None
) -> None:
    """The ground truth drawn with a box/lasso selection layer, the class to paint, undo and reset."""
    st.subheader("Paint the ground truth")
    left, right = st.columns([3, 2])
    generation = int(st.session_state.get(EDITOR_GENERATION, 0))
    chart_key = f"_yd_editor_{generation}"
    fig = class_map_figure(
        truth,
        num_classes,
        "Ground truth: drag a box or a lasso over pixels to paint them",
        image=image,
        height=440,
        selectable=True,
    )
    presentation.plotly_chart(
        fig,
        key=chart_key,
        container=left,
        alt="The ground truth with one selectable point per pixel, for painting",
        numbers=False,
        on_select=lambda: _on_paint(chart_key, source, base),
        selection_mode=("box", "lasso"),
    )
    choices = [*range(num_classes), VOID]
    if st.session_state.get(PAINT_CLASS) not in choices:
        st.session_state[PAINT_CLASS] = 0
    right.radio("Paint with", choices, key=PAINT_CLASS, format_func=_class_name, horizontal=True)
    steps = uploads.paint_steps(source)
    undo, reset = right.columns(2)
    undo.button(
        "Undo",
        icon=":material/undo:",
        key="_yd_undo",
        disabled=steps == 0,
        on_click=uploads.undo_paint,
        args=(source,),
        width="stretch",
    )
    reset.button(
        "Reset",
        icon=":material/restart_alt:",
        key="_yd_reset",
        disabled=steps == 0,
        on_click=uploads.reset_paint,
        args=(source,),
        width="stretch",
    )
    changed = int((truth != base).sum())
    if source.startswith("upload:"):
        right.button(
            "Use on every page",
            icon=":material/done_all:",
            key="_yd_use_everywhere",
            disabled=changed == 0,
            on_click=uploads.use_painting_everywhere,
            args=(source, base),
            help="Store the painted mask as your upload's mask: IoU, Sorting errors, Gradients and "
            "Live training then use it too.",
            width="stretch",
        )
    right.caption(
        "Drag over the image to select a box of pixels (the lasso is in the chart's toolbar); they "
        f"take the chosen class. {steps} stroke(s) so far, {changed} pixel(s) differ from the "
        "original mask. The prediction stays the same: only the ground truth changes."
    )


def overview(view: YourDataView, image: np.ndarray | None) -> None:
    """Image, ground truth, argmax prediction, IoU per class; the two losses and the mean IoU."""
    height = 300
    panels = st.columns(4 if image is not None else 3)
    if image is not None:
        presentation.plotly_chart(
            image_figure(image, "Image", height=height),
            key="_yd_image",
            container=panels[0],
            alt="The uploaded image",
            numbers=False,
        )
    truth_col, prediction_col, iou_col = panels[-3:]
    presentation.plotly_chart(
        class_map_figure(view.truth, view.num_classes, "Ground truth", height=height),
        key="_yd_truth",
        container=truth_col,
        alt="The ground truth, one colour per class, void pixels grey",
        numbers=False,
    )
    presentation.plotly_chart(
        class_map_figure(
            view.prediction, view.num_classes, "Prediction (argmax)", void=view.void, height=height
        ),
        key="_yd_prediction",
        container=prediction_col,
        alt="The argmax of the logits, void pixels grey",
        numbers=False,
    )
    presentation.plotly_chart(
        iou_bars_figure(view.iou.tolist(), "IoU per class", height=height).update_layout(legend=IOU_LEGEND),
        key="_yd_iou",
        container=iou_col,
        alt="IoU of each class for the argmax prediction",
    )
    cols = st.columns(3)
    for col, item in zip(cols[:2], view.losses, strict=True):
        col.metric(f"{item.label} loss", f"{item.value:.4f}")
    cols[2].metric("mean IoU", "undefined" if np.isnan(view.mean_iou) else f"{view.mean_iou:.3f}")


def void_sentence(view: YourDataView) -> str:
    """How many pixels were ignored, and the gradient they got, from the view's numbers."""
    total = view.truth.size
    if view.void_pixels == 0:
        return f"No pixel is void ({VOID}): all {total:,} pixels are sorted and scored."
    pushes = ", ".join(
        f"{'exactly 0' if item.void_max == 0 else f'{item.void_max:.1e}'} under {item.label}"
        for item in view.losses
    )
    return (
        f"**{view.void_pixels:,} of {total:,} pixels are void ({VOID})**: drawn grey, left out of "
        f"the sort ({view.sort.kept:,} pixels sorted) and of the IoU. Their largest "
        r"$|\partial L / \partial z|$: "
        f"{pushes}."
    )


def gradient_section(view: YourDataView, cls: int, shared: bool) -> None:
    """∂L/∂z_c of both losses, on per-map or shared scales, and each class's share of the push."""
    st.subheader(f"Where each loss pushes the logit of class {cls}")
    maps = class_maps(view, cls, per_map=not shared)
    titles = {item.key: f"{item.label}, L = {item.value:.4f}" for item in view.losses}
    presentation.plotly_chart(
        gradient_maps_figure(
            maps.maps,
            titles,
            boundary=view.void,
            zmax=None if maps.per_map else next(iter(maps.scales.values())),
            scales=maps.scales if maps.per_map else None,
            colorbar_title="relative" if maps.per_map else "∂L/∂z_c",
        ).update_layout(height=380, dragmode=False),
        key="_yd_maps",
        alt=f"∂L/∂z of class {cls} under cross-entropy and Lovász-Softmax, one map per loss",
    )
    st.caption(
        maps.caption + " Blue: gradient descent raises the logit of c there; red: it lowers it. "
        "Grey dots: void pixels."
    )
    shares = {item.key: item.push_share for item in view.losses}
    pixel_share = view.pixels / max(int(view.pixels.sum()), 1)
    left, right = st.columns([3, 2])
    presentation.plotly_chart(
        push_share_figure(
            range(view.num_classes),
            pixel_share,
            shares,
            {item.key: item.label for item in view.losses},
            height=300,
        ),
        key="_yd_push",
        container=left,
        alt="Each class's share of the pixels and of each loss's push",
    )
    present = [c for c in range(view.num_classes) if view.pixels[c] > 0]
    rarest = min(present, key=lambda c: view.pixels[c])
    ce, lovasz = (shares[item.key][rarest] for item in view.losses)
    right.markdown(
        "The **push** on a class is the L1 norm of the gradient over its pixels: "
        r"push$_c = \sum_{i:\,y_i=c} \lVert \partial L / \partial z_i \rVert_1$."
    )
    right.markdown(
        f"The rarest class here, **class {rarest}**, has {100 * pixel_share[rarest]:.1f} % of the "
        f"non-void pixels and gets **{100 * ce:.1f} %** of cross-entropy's push and "
        f"**{100 * lovasz:.1f} %** of Lovász-Softmax's."
    )


def sort_section(view: YourDataView) -> None:
    """The sort of class c's errors over the non-void pixels: m sorted, Δ of prefixes, g."""
    sort = view.sort
    st.subheader(f"The sort of class {sort.cls}'s errors")
    st.markdown(
        f"Errors m = |1[y = {sort.cls}] − p({sort.cls})| of the {sort.kept:,} non-void pixels, largest "
        f"first; the {sort.ignored:,} void pixels have no rank and g = 0."
    )
    cols = st.columns(4)
    cols[0].metric("pixels sorted", f"{sort.kept:,}")
    cols[1].metric("void pixels ignored", f"{sort.ignored:,}")
    cols[2].metric(f"k* = #{{m > {THRESHOLD:g}}}", f"{sort.k_star:,}")
    cols[3].metric(f"Lovász term of class {sort.cls}, Σ m·g", f"{sort.loss:.4f}")
    visible = min(len(sort.errors_sorted), max(40, 3 * sort.k_star))
    presentation.plotly_chart(
        sorted_panels_figure(
            sort.errors_sorted,
            sort.fg_sorted,
            sort.jaccard,
            sort.grad,
            sort.k_star,
            sort.k_star,
            None,
            visible,
            threshold=THRESHOLD,
            height=640,
        ).update_layout(dragmode=False),
        key="_yd_sorted",
        alt=f"The errors of class {sort.cls} sorted, Δ of each prefix, the Jaccard gradients g and the "
        "running loss",
        numbers=False,
    )
    st.caption(
        f"Purple bars: pixels of class {sort.cls}; vermillion: other pixels. Ranks 1 to {visible} of "
        f"{sort.kept:,} are shown; the cursor is at k* = {sort.k_star}, the pixels whose error is "
        f"above {THRESHOLD:g}."
    )


def takeaway(view: YourDataView) -> None:
    """The largest class's share of each loss's push, against its share of the pixels."""
    largest = int(np.argmax(view.pixels))
    pixels = 100 * view.pixels[largest] / max(int(view.pixels.sum()), 1)
    ce, lovasz = (100 * item.push_share[largest] for item in view.losses)
    verdict = (
        "Lovász-Softmax leaves more of its push to the smaller classes."
        if lovasz < ce
        else "Here Lovász-Softmax does not push the smaller classes harder than cross-entropy."
    )
    st.success(
        f"**Takeaway.** The largest class, class {largest}, has {pixels:.0f} % of the non-void "
        f"pixels; it gets {ce:.0f} % of cross-entropy's push and {lovasz:.0f} % of "
        f"Lovász-Softmax's. {verdict}",
        icon=":material/lightbulb:",
    )


# ------------------------------------------------------------------------------------------
# The screen

widgets.page_header(
    PAGE,
    "Your data and your model",
    "Give it your model's output and the mask it should predict, and see what each loss would do "
    "to your model: where the gradient pushes, which errors come first in the sort, and the IoU.",
)
case = uploads.logits_controls(PAGE, MAX_SIDE)
image: np.ndarray | None = None
if case is None:
    base, logits = cached_example()
    source = "example"
    num_classes = EXAMPLE_CLASSES
    st.info(
        f"**Built-in example (generated):** a {base.shape[0]}×{base.shape[1]} mask with "
        f"{num_classes} classes and a void band along every boundary, and logits of a shifted, noisy "
        "prediction. Upload your own files in the sidebar; download these two to see the expected "
        "format.",
        icon=":material/science:",
    )
    mask_col, logits_col, _ = st.columns([1, 1, 2])
    mask_col.download_button(
        "Download example_mask.npy",
        npy_bytes(base),
        file_name="example_mask.npy",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        help="int64 [H, W]: class indices 0, 1, 2 and 255 for void.",
    )
    logits_col.download_button(
        "Download example_logits.npy",
        npy_bytes(logits),
        file_name="example_logits.npy",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        help="float32 [C, H, W]: one channel of raw scores (before softmax) per class.",
    )
else:
    base, source, num_classes, image = case.mask, case.source, case.num_classes, case.image
    size = f"{case.original_shape[0]}×{case.original_shape[1]}"
    shown = f", shown at {case.shape[0]}×{case.shape[1]} (nearest neighbour)" if case.resized else ""
    mask_name = safe_text.code(case.names["mask"])
    if case.logits is not None:
        logits = case.logits
        what = f"your logits {safe_text.code(case.names['logits'])} (C = {num_classes})"
    else:
        st.sidebar.subheader("Generated prediction")
        spec = PredictionSpec(
            shift_x=float(widgets.control(PAGE, "shift_x", st.sidebar)),
            shift_y=float(widgets.control(PAGE, "shift_y", st.sidebar)),
            noise=float(widgets.control(PAGE, "noise", st.sidebar)),
            temperature=float(widgets.control(PAGE, "temp", st.sidebar)),
        )
        logits = cached_prediction(base, num_classes, spec)
        what = "a prediction generated from it (shifted, noisy: sidebar)"
    st.info(
        f"**Your upload:** mask {mask_name} ({size}{shown}, {num_classes} classes) and {what}.",
        icon=":material/upload_file:",
    )
truth = uploads.edited_mask(source, base)
st.sidebar.subheader("View")
cls = int(widgets.control(PAGE, "cls", st.sidebar, hi=num_classes - 1))
shared = bool(widgets.control(PAGE, "shared", st.sidebar))
view: YourDataView | None
try:
    view = cached_view(truth, logits, cls)
except ValueError as error:
    st.error(f"Cannot compare this mask and prediction: {safe_text.literal(error)}")
    view = None
if view is not None:
    st.markdown(void_sentence(view))
    overview(view, image)
mask_editor(source, base, truth, num_classes, image)
if view is not None:
    gradient_section(view, cls, shared)
    sort_section(view)
    takeaway(view)
