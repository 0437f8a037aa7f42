"""Page "Gradients: Lovász vs cross-entropy": where each loss pushes the logits, and how hard.

One ground truth (background, a large disk, a small disk — or the user's uploaded mask), one
prediction, and ∂L/∂z for four losses side by side; histograms by region; a click on a pixel gives
its numbers; a sweep shows how the small class's share of the push scales with its size. Every
number comes from ``lovasz_core.lab.views.gradients``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import presentation, safe_text, state, uploads, widgets
from app.figures.gradients import (
    gradient_maps_figure,
    magnitude_histograms_figure,
    pixel_table,
    push_share_figure,
)
from app.figures.training import masks_figure
from lovasz_core.lab.views.gradients import (
    GradientsView,
    gradients_view,
    maps_view,
    mask_gradients_view,
    pixel_view,
    sweep_view,
)
from lovasz_core.lab.void import VOID

PAGE = "gradients"
ROW, COL = state.key(PAGE, "row"), state.key(PAGE, "col")
UPLOAD_CLASS = "_gr_upload_cls"  # the class mapped on an upload (an upload is not in the link)
MAX_SIDE = int(state.specs(state.PAGES[PAGE].cls)["size"][0].hi or 64)  # the page's size limit


@st.cache_data(max_entries=32, show_spinner=False)
def case(
    size: int, radius: float, quality: float, blur: float, seed: int, void: int, ignore: bool
) -> GradientsView:
    return gradients_view(size, radius, quality, blur, seed, void, ignore)


@st.cache_data(max_entries=8, show_spinner=False)
def upload_case(
    labels: np.ndarray, num_classes: int, quality: float, blur: float, seed: int, ignore: bool
) -> GradientsView:
    return mask_gradients_view(labels, num_classes, quality, blur, seed, ignore)


@st.cache_data(max_entries=16, show_spinner=False)
def sweep(size: int, quality: float, blur: float, seed: int) -> dict[str, np.ndarray]:
    return sweep_view(size, quality, blur, seed)


def _on_pixel_click() -> None:
    """Keep the clicked pixel (it goes into the link as gr_row / gr_col)."""
    event = st.session_state.get("gr_maps_chart")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points:
        st.session_state[ROW] = round(points[0]["y"])
        st.session_state[COL] = round(points[0]["x"])


def _clear_pixel() -> None:
    st.session_state[ROW] = st.session_state[COL] = -1


widgets.page_header(
    PAGE,
    "Gradients: Lovász vs cross-entropy",
    "Cross-entropy pushes every pixel in proportion to its error; Lovász-Softmax gives every class "
    "the same budget, so a small object or a boundary pushes as hard as the whole background.",
)

with st.sidebar:
    widgets.preset_picker(PAGE)
    upload = uploads.upload_controls(
        PAGE, MAX_SIDE, container=st.expander("Your data", icon=":material/upload:")
    )
    if upload is None:  # an upload has its own size and classes
        size = widgets.control(PAGE, "size")
        radius = widgets.control(PAGE, "radius", hi=min(8.0, size / 5))
    quality = widgets.control(PAGE, "quality")
    blur = widgets.control(PAGE, "blur")
    seed = widgets.control(PAGE, "seed")
    shared = widgets.control(PAGE, "shared")
    st.subheader("Void pixels")
    void = widgets.control(PAGE, "void") if upload is None else 0
    ignore = widgets.control(PAGE, "ignore")

if upload is not None:
    stored = uploads.current_store().mask
    num_classes = stored.num_classes if stored is not None else upload.num_classes
    try:
        view = upload_case(upload.mask, num_classes, float(quality), float(blur), int(seed), bool(ignore))
    except (ValueError, TypeError) as error:
        st.error(f"Cannot compute the gradients on your mask: {safe_text.literal(error)}")
        st.stop()
    shrunk = f", shrunk from {upload.original_shape[0]}×{upload.original_shape[1]}" if upload.resized else ""
    st.info(
        f"**These maps are computed on your mask** "
        f"{safe_text.literal(upload.names.get('mask', 'mask'))} ({upload.shape[0]}×{upload.shape[1]}"
        f"{shrunk}, {num_classes} classes, {upload.void_pixels} void pixels). The prediction is the "
        "page's own, made from your mask: blurred and with noise (quality, blur and seed in the "
        "sidebar). For the built-in disks, turn off **Use my upload** or press **Forget my upload** "
        "in the sidebar.",
        icon=":material/upload:",
    )
else:
    view = case(int(size), float(radius), float(quality), float(blur), int(seed), int(void), bool(ignore))
if view.ignored:
    st.info(
        f"**{view.ignored} void pixels** (label 255, grey on the maps) are ignored by every loss "
        "(ignore_index=255): they count in no class's intersection or union and their gradient is "
        f"exactly 0 (largest |∂L/∂z| there: "
        f"{max(float(abs(item.grad[:, view.void]).max()) for item in view.losses):g}).",
        icon=":material/texture:",
    )
elif view.void_error:
    st.warning(
        f"The labels have {int(view.void.sum())} void pixels (255), and without ignore_index the "
        f"losses refuse them: {safe_text.literal(view.void_error)} The maps show the labels without "
        + ("the void band." if not view.uploaded else "void, its pixels taken as class 0."),
        icon=":material/texture:",
    )
shares = view.pixel_shares

small_name = view.class_names[view.small]
small_words = small_name if view.uploaded else f"the {small_name}"  # "class 2", "the small disk"
backdrop = upload.image if upload is not None and upload.image is not None else np.full(view.mask.shape, 0.85)
left, right = st.columns([2, 3])
with left:
    presentation.plotly_chart(
        masks_figure(
            backdrop,
            {
                "truth": np.where(view.void, VOID, view.mask) if view.ignored else view.mask,
                "prediction": view.prediction,
            },
            {
                "truth": "Ground truth" + (" (void grey)" if view.ignored else ""),
                "prediction": "Prediction (argmax)",
            },
        ),
        key="gr_masks_chart",
        alt="Your mask and the predicted classes"
        if view.uploaded
        else "Ground truth (background, a large disk, a small disk) and the predicted classes",
    )
with right:
    if view.uploaded:
        others = " · ".join(
            f"{name} {100 * share:.1f}%"
            for c, (name, share) in enumerate(zip(view.class_names, shares, strict=True))
            if c != view.small
        )
        st.markdown(
            f"**Rarest class, {small_name}: {100 * shares[view.small]:.2f}% of the labelled pixels** · "
            + others
        )
    else:
        st.markdown(
            f"**Small disk (light blue): {100 * shares[2]:.2f}% of the pixels** · large disk (orange) "
            f"{100 * shares[1]:.1f}% · background (dark blue) {100 * shares[0]:.1f}%"
        )
    for cell, item in zip(st.columns(len(view.losses)), view.losses, strict=True):
        cell.metric(item.label, f"{item.value:.3f}", help="The loss's value on this prediction.")
        cell.caption(f"push on {small_words}: **{100 * item.small_share:.1f}%**")
    st.caption(
        "Push on a class = Σ over its pixels of ‖∂L/∂z_i‖₁ (L1: the sum of |∂L/∂z_ic| over the "
        "classes), as a share of the push on all pixels. Under cross-entropy it follows the pixel "
        "count; under Lovász-Softmax a tiny class can take a large share."
    )

if view.uploaded:
    if st.session_state.get(UPLOAD_CLASS) not in view.class_names:
        st.session_state[UPLOAD_CLASS] = small_name
    chosen = str(st.radio("Map the logit of class", view.class_names, horizontal=True, key=UPLOAD_CLASS))
else:
    chosen = widgets.control(PAGE, "cls", horizontal=True)
maps = maps_view(view, chosen, per_map=not shared)
pixel = pixel_view(view, int(st.session_state.get(ROW, -1)), int(st.session_state.get(COL, -1)))
st.markdown(
    f"**∂L/∂z for the logit of “{chosen}”.** Blue: gradient descent *raises* this logit there; "
    "red: it *lowers* it. **Click a pixel** for its numbers."
)
presentation.plotly_chart(
    gradient_maps_figure(
        maps.maps,
        {item.key: item.label for item in view.losses},
        boundary=view.boundary,
        void=view.void if view.ignored else None,
        selected=(pixel.row, pixel.col) if pixel else None,
        scales=maps.scales if maps.per_map else None,
        colorbar_title="relative" if maps.per_map else "∂L/∂z_c",
    ),
    key="gr_maps_chart",
    on_select=_on_pixel_click,
    selection_mode="points",
    alt=f"Gradient of each loss with respect to the logit of “{chosen}”, one map per loss",
)
st.caption(
    maps.caption + " Grey dots: the ground truth's boundary. The toggle in the sidebar switches scales."
)

if pixel is not None:
    cells = st.columns([5, 1])
    cells[0].markdown(
        f"**Selected pixel (row {pixel.row}, col {pixel.col})**: true class *{pixel.true_class}*, "
        f"predicted *{pixel.predicted_class}*, p(true class) = {pixel.p_true:.3f}"
        + (", on a boundary" if pixel.on_boundary else "")
    )
    cells[1].button("Clear", icon=":material/close:", key="gr_clear", on_click=_clear_pixel, width="stretch")
    st.dataframe(pixel_table(pixel, view.class_names))
    st.caption(
        "‖∂L/∂z‖₂: the L2 norm over the classes; its rank is among all pixels of the image "
        "(1 = the largest), × median pixel its ratio to the median pixel's."
    )
else:
    st.info("Click a pixel in any map to see its gradient under every loss.", icon=":material/touch_app:")

st.subheader("How hard each region pushes")
presentation.plotly_chart(
    magnitude_histograms_figure(
        {item.key: item.magnitude for item in view.losses},
        view.regions,
        {item.key: item.label for item in view.losses},
    ),
    key="gr_hist_chart",
    alt="Histograms of log10 of each pixel's gradient magnitude (L2 over the classes) on foreground, "
    "background and boundary pixels, per loss",
)
st.caption(
    "Each pixel's ‖∂L/∂z_i‖₂ (L2 over the classes), log scale. Cross-entropy's follow each pixel's "
    "own error. Lovász-Softmax's are the Jaccard gradients g of the sorted errors: boundary and "
    "small-class pixels sit far to the right."
)

if view.uploaded:
    st.caption(
        "With the built-in disks this page also sweeps the small disk's size (its share of the push "
        "against its share of the pixels); that sweep needs the disks, so it is not computed on your "
        "mask: turn off **Use my upload** to see it. On your mask, the numbers at the top give the "
        f"rarest class's ({small_name}) share of the push under each loss."
    )
else:
    st.subheader("Class imbalance: the small disk's share of the push vs its size")
    presentation.plotly_chart(
        push_share_figure(
            sweep(int(size), float(quality), float(blur), int(seed)),
            {item.key: item.label for item in view.losses},
            float(shares[2]),
        ),
        key="gr_sweep_chart",
        alt="The small disk's share of the total gradient push (L1) against its share of the pixels, "
        "per loss",
    )
st.success(
    "**Takeaway.** Under cross-entropy a class gets gradient in proportion to its pixel count, so "
    "shrinking an object silences it (the curve hugs the dashed diagonal). Lovász-Softmax "
    "optimises each class's IoU, which a tiny object can ruin: its share of the push stays large, "
    "which is why it helps rare classes and thin boundaries.",
    icon=":material/lightbulb:",
)
widgets.share_link(PAGE, state.current(PAGE))
