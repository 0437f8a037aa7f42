"""Page "Geometry of the Lovász extension": for 2 or 3 pixels, the extension is a surface over the
error square (or cube slices) that passes through the set function at the corners, is linear on
each sort-order region, and convex; the naive soft-Jaccard is not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
import torch

from app import presentation, state, widgets
from app.figures import geometry as figures
from app.palette import class_color, loss_color
from lovasz_core.lab.teaching import (
    cube_corners,
    extension_at,
    midpoint_convexity_gap,
    permutation_weights,
    soft_jaccard_at,
)

PAGE = "geometry"
GRID = np.linspace(0.0, 1.0, 41)


def _order_label(perm: tuple[int, ...]) -> str:
    return " ≥ ".join(f"m{'₁₂₃'[i]}" for i in perm)


@st.cache_data(max_entries=32, show_spinner=False)
def compute(fg_bits: tuple[bool, ...], m3: float) -> dict[str, Any]:
    """Surfaces over (m₁, m₂) (m₃ fixed for 3 pixels), regions, planes, corners and checks."""
    fg = torch.tensor(fg_bits)
    n = len(fg_bits)
    xx, yy = np.meshgrid(GRID, GRID)  # rows = m₂, columns = m₁
    columns = [xx.ravel(), yy.ravel()] + ([np.full(xx.size, m3)] if n == 3 else [])
    points = torch.from_numpy(np.stack(columns, axis=1))
    values, region = extension_at(points, fg)
    perms, weights = permutation_weights(fg)
    planes = (weights @ points.T).numpy().reshape(len(perms), *xx.shape)
    corners, corner_values = cube_corners(fg)
    t = np.linspace(0.0, 1.0, 101)
    segment = np.stack([1 - t, t] + ([np.full_like(t, m3)] if n == 3 else []), axis=1)
    segment_t = torch.from_numpy(segment)
    return {
        "values": values.numpy().reshape(xx.shape),
        "region": region.numpy().reshape(xx.shape),
        "labels": [_order_label(p) for p in perms],
        "weights": weights.numpy(),
        "planes": planes,
        "soft": soft_jaccard_at(points, fg).numpy().reshape(xx.shape),
        "corners": corners.numpy(),
        "corner_values": corner_values.numpy(),
        "gap_lovasz": midpoint_convexity_gap(lambda p: extension_at(p, fg)[0], n, samples=1500),
        "gap_soft": midpoint_convexity_gap(lambda p: soft_jaccard_at(p, fg), n, samples=1500),
        "t": t,
        "segment_lovasz": extension_at(segment_t, fg)[0].numpy(),
        "segment_soft": soft_jaccard_at(segment_t, fg).numpy(),
    }


def probe_at(fg_bits: tuple[bool, ...], probe: tuple[float, ...]) -> tuple[float, int]:
    """The extension's value at the probe point and the index of its sort-order region."""
    value, region = extension_at(torch.tensor([probe], dtype=torch.float64), torch.tensor(fg_bits))
    return float(value[0]), int(region[0])


def boundaries(n: int, m3: float) -> list[tuple[list[float], list[float]]]:
    """Lines m_i = m_j in the (m₁, m₂) plane where the sort order changes."""
    lines = [([0.0, 1.0], [0.0, 1.0])]  # m₁ = m₂
    if n == 3:
        lines += [([m3, m3], [0.0, 1.0]), ([0.0, 1.0], [m3, m3])]  # m₁ = m₃, m₂ = m₃
    return lines


def corner_table(data: dict[str, Any], fg_bits: tuple[bool, ...]) -> list[dict[str, Any]]:
    rows = []
    for corner, value in zip(data["corners"], data["corner_values"], strict=True):
        wrong = [i + 1 for i, bit in enumerate(corner) if bit]
        rows.append(
            {
                "errors m": "(" + ", ".join(f"{v:.0f}" for v in corner) + ")",
                "mispredicted set M": "{" + ", ".join(map(str, wrong)) + "}" if wrong else "∅",
                "Δ_J(M) = |M| / |F ∪ M|": round(float(value), 4),
            }
        )
    fg_set = [i + 1 for i, b in enumerate(fg_bits) if b]
    st.caption("F = {" + ", ".join(map(str, fg_set)) + "} (the foreground pixels)")
    return rows


def gap_text(gap: float) -> str:
    """The convexity test's result: ≤ 0 up to float rounding reads as convex."""
    return "≤ 0 ✓ convex" if gap < 1e-9 else f"{gap:.3f} ✗"


def _surface(data: dict[str, Any], n: int, m3: float, show_planes: bool, show_soft: bool) -> None:
    """The 3-D surface with the set function at the corners (and the pieces, soft-Jaccard)."""
    labels = data["labels"]
    planes: list[tuple[str, np.ndarray, str]] = []
    if show_planes and n == 2:  # with 3 pixels, six translucent pieces would hide the surface
        planes = [(f"piece {label}", data["planes"][r], class_color(r + 1)) for r, label in enumerate(labels)]
    if n == 3:
        keep = np.isclose(data["corners"][:, 2], m3)
        corners, corner_values = data["corners"][keep][:, :2], data["corner_values"][keep]
    else:
        corners, corner_values = data["corners"], data["corner_values"]
    fig = figures.extension_surface_figure(
        GRID, data["values"], corners, corner_values, planes, data["soft"] if show_soft else None
    )
    presentation.plotly_chart(
        fig,
        key="_geo_surface",
        alt="3-D surface of the Lovász extension of the Jaccard loss over "
        "the pixel errors, through the set function's values at the corners",
    )
    st.caption(
        "Drag to rotate. Black dots: the set function $\\Delta_J$ at the corners; the surface meets "
        "them exactly. Translucent planes: the linear pieces, each one extended over the whole "
        "square; the surface is their upper envelope, hence convex."
        + (
            " (With 3 pixels the six pieces are left out; the map shows where each holds.)"
            if show_planes and n == 3
            else ""
        )
        + (" Grey: soft-Jaccard, curved." if show_soft else "")
    )


def _probe_view(data: dict[str, Any], bits: tuple[bool, ...], n: int, m3: float) -> None:
    """Probe sliders, the regions map with the probe, its value and gradient, and the share link."""
    cols = st.columns(2)
    m1 = float(widgets.control(PAGE, "m1", cols[0]))
    m2 = float(widgets.control(PAGE, "m2", cols[1]))
    probe = (m1, m2, m3)[:n]
    value, region = probe_at(bits, probe)
    labels = data["labels"]
    regions = figures.regions_figure(GRID, data["region"], labels, (m1, m2), boundaries=boundaries(n, m3))
    presentation.plotly_chart(
        regions,
        key="_geo_regions",
        alt="The error square seen from above, coloured by the region where "
        "each sort order holds, with the probe point",
    )
    st.caption(
        "Seen from above: each colour is a region where one sort order holds; the dashed lines "
        "$m_i = m_j$ are where the surface bends."
    )
    grad = ", ".join(f"{g:.3f}" for g in data["weights"][region])
    st.info(
        f"At the probe m = ({', '.join(f'{v:.2f}' for v in probe)}), the order is "
        f"**{labels[region]}**, the loss is **{value:.4f}** and its gradient "
        f"(the Jaccard gradients g put back on the pixels) is **({grad})**: constant on the whole region.",
        icon=":material/my_location:",
    )
    widgets.share_link(PAGE, state.current(PAGE))


def main() -> None:
    widgets.page_header(
        PAGE,
        "Geometry of the Lovász extension",
        "With two pixels, the loss is a surface over the square of errors: it passes "
        "through the set function at the corners and is made of flat pieces, one per "
        "sort order.",
    )
    st.latex(
        r"\bar\Delta(m) = \sum_i m_{\pi(i)} g_i(\pi) = \max_{\sigma} \sum_i m_{\sigma(i)} g_i(\sigma)"
        r"\quad\text{(}\pi\text{ sorts } m\text{; the max over all orders makes it convex)}"
    )
    sidebar = st.sidebar
    widgets.preset_picker(PAGE, sidebar)
    n = int(widgets.control(PAGE, "pixels", sidebar))
    sidebar.caption("Ground truth of each pixel (foreground = belongs to the class):")
    bits = [bool(widgets.control(PAGE, f"y{i}", sidebar)) for i in range(1, n + 1)]
    show_planes = bool(widgets.control(PAGE, "planes", sidebar))
    show_soft = bool(widgets.control(PAGE, "soft", sidebar))
    left, right = st.columns([3, 2])
    m3 = float(widgets.control(PAGE, "m3", left)) if n == 3 else 0.0
    try:
        data = compute(tuple(bits), m3)
    except (ValueError, TypeError) as error:
        st.error(f"Cannot compute the surface: {error}")
        return
    with left:
        if not any(bits):
            st.info(
                "No pixel is foreground: F = ∅, so $\\Delta_J(M)$ = 1 for every non-empty M and the "
                "extension is max(m): the loss of an absent class is its largest error.",
                icon=":material/info:",
            )
        _surface(data, n, m3, show_planes, show_soft)
    with right:
        # The probe reruns on its own: moving it redraws the map and the readout, not the 3-D surface.
        st.fragment(_probe_view)(data, tuple(bits), n, m3)

    st.subheader("Convex and piecewise linear; soft-Jaccard is neither")
    cols = st.columns([2, 1])
    with cols[0]:
        curves = [
            ("Lovász extension", data["segment_lovasz"], loss_color("lovasz_softmax")),
            ("soft-Jaccard", data["segment_soft"], loss_color("soft_jaccard")),
        ]
        title = "Along the segment from m = (1, 0) to (0, 1)" + (f", m₃ = {m3:.2f}" if n == 3 else "")
        presentation.plotly_chart(
            figures.section_figure(data["t"], curves, title),
            key="_geo_section",
            alt=f"Loss values along a segment of the error space: {title}",
        )
        st.caption(
            "The Lovász curve is straight on each side of the kink where m₁ = m₂; both curves agree "
            "at the ends, which are corners of the square."
        )
    with cols[1]:
        st.metric(
            "Lovász: max of f(mid) − mean(f(ends))",
            gap_text(data["gap_lovasz"]),
            help="Over 1,500 random pairs of points in the cube; ≤ 0 for a convex function.",
        )
        st.metric("soft-Jaccard: same test", gap_text(data["gap_soft"]))
        st.caption(
            "A positive number is a pair of points where the function lies above its chord: "
            "a witnessed failure of convexity."
        )
    with st.expander("The set function at every corner of the cube", expanded=False):
        st.dataframe(corner_table(data, tuple(bits)), hide_index=True)
    st.success(
        "**Takeaway.** The Lovász extension is the unique function that agrees with $\\Delta_J$ at the "
        "corners and is linear on every sort-order region; because $\\Delta_J$ is submodular it is also "
        "the maximum of those linear pieces, so it is convex and a tight surrogate.",
        icon=":material/lightbulb:",
    )


main()
