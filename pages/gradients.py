"""Page "Gradients: Lovász vs cross-entropy": where each loss pushes the logits, and how hard.

One ground truth (background, a large disk, a small disk), one prediction, and ∂L/∂z for four
losses side by side on one colour scale; histograms by region; a click on a pixel gives its
numbers; a sweep shows how the small class's share of the push scales with its size.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from app import presentation, state, widgets
from app.figures.gradients import (
    gradient_maps_figure,
    magnitude_histograms_figure,
    pixel_numbers,
    push_share_figure,
)
from app.figures.training import masks_figure
from lovasz_core.lab.gradients import (
    boundary_mask,
    class_push,
    logit_gradient,
    pixel_magnitude,
    push_vs_size,
    synthetic_case,
)
from lovasz_core.lab.registry import LOSSES

PAGE = "gradients"
LOSS_KEYS = ("cross_entropy", "lovasz_softmax", "soft_jaccard", "dice")
TITLES = {key: LOSSES[key].label for key in LOSSES}
SWEEP_RADII = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)


@st.cache_data(max_entries=32, show_spinner=False)
def compute(size: int, radius: float, quality: float, blur: float, seed: int) -> dict:
    """Ground truth, probabilities ``[C, H, W]``, and per loss its value and ∂L/∂z ``[C, H, W]``."""
    case = synthetic_case(size, radius, quality, blur, seed)
    grads, values, push = {}, {}, {}
    for key in LOSS_KEYS:
        values[key], grad = logit_gradient(key, case.logits, case.labels)
        grads[key] = grad[0].numpy()
        push[key] = class_push(grad, case.labels, 3).numpy()
    return {
        "mask": case.mask.copy(),
        "probabilities": case.probabilities[0].numpy(),
        "prediction": case.logits.argmax(1)[0].numpy(),
        "grads": grads,
        "values": values,
        "push": push,
    }


@st.cache_data(max_entries=16, show_spinner=False)
def sweep(size: int, quality: float, blur: float, seed: int) -> dict[str, np.ndarray]:
    """Small-class share of the push for each radius of ``SWEEP_RADII`` that fits the image."""
    radii = [r for r in SWEEP_RADII if r <= size / 5]
    return push_vs_size(radii, ["cross_entropy", "lovasz_softmax", "dice"], size, quality, blur, seed)


def _on_pixel_click() -> None:
    """Store the clicked pixel in the row/col controls (and so in the URL)."""
    event = st.session_state.get("gr_maps_chart")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points:
        point = points[0]
        st.session_state[state.key(PAGE, "row")] = round(point["y"])
        st.session_state[state.key(PAGE, "col")] = round(point["x"])


widgets.page_header(
    PAGE,
    "Gradients: Lovász vs cross-entropy",
    "Cross-entropy pushes every pixel in proportion to its error; Lovász-Softmax gives every class "
    "the same budget, so a small object or a boundary pushes as hard as the whole background.",
)

with st.sidebar:
    widgets.preset_picker(PAGE)
    size = widgets.control(PAGE, "size")
    radius = widgets.control(PAGE, "radius", hi=min(8.0, size / 5))
    quality = widgets.control(PAGE, "quality")
    blur = widgets.control(PAGE, "blur")
    seed = widgets.control(PAGE, "seed")
    shared = widgets.control(PAGE, "shared")
    row = widgets.control(PAGE, "row", hi=size - 1)
    col = widgets.control(PAGE, "col", hi=size - 1)

view_params = state.current(PAGE)
data = compute(int(size), float(radius), float(quality), float(blur), int(seed))
mask, probabilities, grads = data["mask"], data["probabilities"], data["grads"]
class_names = ("background", "large disk", "small disk")
small_share = float((mask == 2).mean())

left, right = st.columns([2, 3])
with left:
    presentation.plotly_chart(
        masks_figure(
            np.full(mask.shape, 0.85),
            {"truth": mask, "prediction": data["prediction"]},
            {"truth": "Ground truth", "prediction": "Prediction (argmax)"},
        ),
        key="gr_masks_chart",
        alt="Ground truth (background, a large disk, a small disk) and the predicted classes",
    )
with right:
    st.markdown(
        ":blue-background[background] :orange-background[large disk] :green-background[small disk] — "
        f"**small disk: {100 * small_share:.2f}% of the pixels** · large disk "
        f"{100 * (mask == 1).mean():.1f}% · background {100 * (mask == 0).mean():.1f}%"
    )
    cells = st.columns(len(LOSS_KEYS))
    for cell, key in zip(cells, LOSS_KEYS, strict=True):
        push = data["push"][key]
        share = 100 * push[2] / push.sum()
        cell.metric(
            TITLES[key],
            f"{data['values'][key]:.3f}",
            help=f"Loss value. Share of the total push on the small disk: {share:.1f}%",
        )
        cell.caption(f"push on small disk: **{share:.1f}%**")
    st.caption(
        "Push on a class = Σ over its pixels of ‖∂L/∂z_i‖₁. Under cross-entropy it follows the pixel "
        "count; under Lovász-Softmax a tiny class can take a large share."
    )

chosen = widgets.control(PAGE, "cls", horizontal=True)
c = class_names.index(chosen)
maps = {key: grads[key][c] for key in LOSS_KEYS}
zmax = None if shared else 1.0
if not shared:
    maps = {key: m / max(float(np.abs(m).max()), 1e-30) for key, m in maps.items()}
selected = (int(row), int(col)) if row >= 0 and col >= 0 else None
st.markdown(
    f"**∂L/∂z for the logit of “{chosen}”**, "
    f"{'on one shared scale' if shared else 'each map scaled to its max'}. "
    "Blue: gradient descent *raises* this logit there; red: it *lowers* it. "
    "**Click a pixel** for its numbers."
)
presentation.plotly_chart(
    gradient_maps_figure(
        maps,
        TITLES,
        boundary=boundary_mask(mask),
        zmax=zmax,
        selected=selected,
        colorbar_title="∂L/∂z_c" if shared else "relative",
    ),
    key="gr_maps_chart",
    on_select=_on_pixel_click,
    selection_mode="points",
    alt=f"Gradient of each loss with respect to the logit of “{chosen}”, one map per loss",
)

if selected is not None:
    r, k = selected
    label = int(mask[r, k])
    table = pixel_numbers(r, k, grads, probabilities, label, class_names, TITLES)
    st.markdown(
        f"**Pixel (row {r}, col {k})**: true class *{class_names[label]}*, predicted "
        f"*{class_names[int(data['prediction'][r, k])]}*, p(true class) = {table.attrs['p_true']:.3f}"
        + (", on a boundary" if boundary_mask(mask)[r, k] else "")
    )
    signed = [name for name in table.columns if name.startswith("∂")]
    st.dataframe(
        table.style.format("{:+.3e}", subset=signed)
        .format("{:.3e}", subset=["‖∂L/∂z‖"])
        .format("{:.1f}×", subset=["× median pixel"])
    )
else:
    st.info("Click a pixel in any map to see its gradient under every loss.", icon=":material/touch_app:")

st.subheader("How hard each region pushes")
boundary = boundary_mask(mask)
regions = {"foreground": (mask > 0) & ~boundary, "background": (mask == 0) & ~boundary, "boundary": boundary}
magnitudes = {key: pixel_magnitude(torch.from_numpy(grads[key])[None])[0].numpy() for key in LOSS_KEYS}
presentation.plotly_chart(
    magnitude_histograms_figure(magnitudes, regions, TITLES),
    key="gr_hist_chart",
    alt="Histograms of log10 of each pixel's gradient magnitude on foreground, "
    "background and boundary pixels, per loss",
)
st.caption(
    "Cross-entropy's magnitudes follow each pixel's own error. Lovász-Softmax's are the Jaccard "
    "gradients g of the sorted errors: boundary and small-class pixels sit far to the right."
)

st.subheader("Class imbalance: the small disk's share of the push vs its size")
presentation.plotly_chart(
    push_share_figure(sweep(int(size), float(quality), float(blur), int(seed)), TITLES, small_share),
    key="gr_sweep_chart",
    alt="The small disk's share of the total gradient push against its share of the pixels, per loss",
)
st.success(
    "**Takeaway.** Under cross-entropy a class gets gradient in proportion to its pixel count, so "
    "shrinking an object silences it (the curve hugs the dashed diagonal). Lovász-Softmax "
    "optimises each class's IoU, which a tiny object can ruin: its share of the push stays large, "
    "which is why it helps rare classes and thin boundaries.",
    icon=":material/lightbulb:",
)
widgets.share_link(PAGE, view_params)
