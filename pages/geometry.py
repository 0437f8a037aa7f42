"""Page "Geometry of the Lovász extension": for 2 or 3 pixels, the extension is a surface over the
error square (or cube slices) that passes through the set function at the corners, is linear on
each sort-order region, and convex in the errors m; the naive soft-Jaccard is not convex.
"""

from __future__ import annotations

import streamlit as st

from app import presentation, state, widgets
from app.figures import geometry as figures
from app.palette import class_color, loss_color
from lovasz_core.lab.views.geometry import GeometryView, geometry_view, point_label

PAGE = "geometry"


@st.cache_data(max_entries=32, show_spinner=False)
def view(fg_bits: tuple[bool, ...], m3: float) -> GeometryView:
    return geometry_view(fg_bits, m3)


def gap_text(gap: float) -> str:
    """The convexity test's result: ≤ 0 up to float rounding reads as convex (✓)."""
    return "≤ 0 ✓" if gap < 1e-9 else f"{gap:.3f} ✗"


def surface(data: GeometryView, show_planes: bool, show_soft: bool) -> None:
    """The 3-D surface with the set function at the corners (and the pieces, soft-Jaccard)."""
    pieces = show_planes and data.n == 2  # with 3 pixels, six translucent pieces would hide the surface
    planes = (
        [(f"piece {label}", data.planes[r], class_color(r + 1)) for r, label in enumerate(data.order_labels)]
        if pieces
        else []
    )
    fig = figures.extension_surface_figure(
        data.grid,
        data.values,
        data.slice_corners,
        data.slice_corner_values,
        planes,
        data.soft if show_soft else None,
    )
    presentation.plotly_chart(
        fig,
        key="_geo_surface",
        alt="3-D surface of the Lovász extension of the Jaccard loss over "
        "the pixel errors, through the set function's values at the corners",
    )
    where = "square" if data.n == 2 else f"slice m₃ = {data.m3:.2f}"
    origin = " (unlabelled at m = 0, where Δ(∅) = 0)" if not data.slice_corners.any(1).all() else ""
    if len(data.slice_corners):
        corners = (
            f"Black dots: the set function $\\Delta_J$ at the {len(data.slice_corners)} corners of "
            f"the {where}{origin}; the surface meets them exactly."
        )
    else:
        corners = f"The {where} passes through no corner of the cube: slide m₃ to 0 or 1 to see them."
    text = "Drag to rotate. " + corners
    if pieces:
        text += (
            f" Translucent planes: the {len(planes)} linear pieces, each extended over the whole "
            "square; the surface is their upper envelope, hence convex in m."
        )
    elif show_planes:
        text += " With 3 pixels the six pieces are left out; the map on the right shows where each holds."
    if show_soft:
        text += " Grey: soft-Jaccard."
    st.caption(text)


def probe_panel(data: GeometryView) -> None:
    """Probe sliders, the regions map with the probe, its value and gradient, and the share link."""
    cols = st.columns(2)
    m1 = float(widgets.control(PAGE, "m1", cols[0]))
    m2 = float(widgets.control(PAGE, "m2", cols[1]))
    readout = data.probe((m1, m2, data.m3)[: data.n])
    regions = figures.regions_figure(
        data.grid, data.region, data.order_labels, (m1, m2), boundaries=data.boundaries
    )
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
    point = ", ".join(f"{v:.2f}" for v in readout.point)
    grad = ", ".join(f"{g:.3f}" for g in readout.gradient)
    st.info(
        f"At the probe m = ({point}), the order is **{readout.order}**, the loss is "
        f"**{readout.value:.4f}** and its gradient (the Jaccard gradients g put back on the pixels) "
        f"is **({grad})**: constant on the whole region.",
        icon=":material/my_location:",
    )
    widgets.share_link(PAGE, state.current(PAGE))


def section(data: GeometryView) -> None:
    """Both losses along the segment the convexity test picked, and the test's results."""
    start, end = point_label(data.section_start), point_label(data.section_end)
    st.subheader(
        "Convex in the errors m; "
        + ("here soft-Jaccard is too" if data.soft_is_convex else "soft-Jaccard is not")
    )
    left, right = st.columns([2, 1])
    with left:
        curves = [
            ("Lovász extension", data.section_lovasz, loss_color("lovasz_softmax")),
            ("soft-Jaccard", data.section_soft, loss_color("soft_jaccard")),
        ]
        chord = (
            None
            if data.soft_is_convex
            else (
                "chord of soft-Jaccard",
                data.section_soft_chord,
                data.section_soft,
                loss_color("soft_jaccard"),
            )
        )
        title = f"Along the segment from m = {start} to {end}"
        presentation.plotly_chart(
            figures.section_figure(
                data.t, curves, title, chord=chord, end_labels=(f"m = {start}", f"m = {end}")
            ),
            key="_geo_section",
            alt=f"Loss values along a segment of the error cube: {title}",
        )
        kinks = data.section_kinks
        lovasz = (
            "The Lovász curve is a straight line here (the sort order does not change along it)"
            if kinks == 0
            else f"The Lovász curve is straight between its {kinks} kinks, where the sort order changes"
        )
        lovasz += ", never above a chord: convex." if data.section_lovasz_convex else "."
        if data.soft_is_convex:
            soft = " No pair of test points puts soft-Jaccard above its chord" + (
                ": F holds every pixel, so both losses are the mean error Σm/n." if all(data.fg) else "."
            )
        else:
            hidden = "; here it runs under the Lovász line" if data.chord_on_lovasz else ""
            soft = (
                f" Soft-Jaccard's midpoint lies {data.gap_soft:.3f} above its chord (dashed{hidden}): "
                "of all pairs the test tried, these two ends put it furthest above, so it is not convex."
            )
        st.caption(lovasz + soft)
    with right:
        grid = "{0, ¼, ½, ¾, 1}" + ("²" if data.n == 2 else "³")
        st.metric(
            "Lovász: largest f(mid) − mean f(ends)",
            gap_text(data.gap_lovasz),
            help=f"Over all {data.pairs_tested:,} pairs of points of {grid}; ≤ 0 for a convex function.",
        )
        st.metric("soft-Jaccard: same test", gap_text(data.gap_soft))
        st.caption(
            f"Midpoint test on all {data.pairs_tested:,} pairs of points of {grid}: ✓ convex, nothing "
            "above a chord; ✗ a positive number, a pair where the function lies above its chord: a "
            "witnessed failure of convexity."
        )


def corner_table(data: GeometryView) -> None:
    st.caption(f"F = {data.fg_label} (the foreground pixels)")
    rows = []
    for corner, value in zip(data.corners, data.corner_values, strict=True):
        wrong = [str(i + 1) for i, bit in enumerate(corner) if bit]
        rows.append(
            {
                "errors m": "(" + ", ".join(f"{v:.0f}" for v in corner) + ")",
                "mispredicted set M": "{" + ", ".join(wrong) + "}" if wrong else "∅",
                "Δ_J(M) = |M| / |F ∪ M|": round(float(value), 4),
            }
        )
    st.dataframe(rows, hide_index=True)


def main() -> None:
    widgets.page_header(
        PAGE,
        "Geometry of the Lovász extension",
        "With two pixels, the loss is a surface over the square of errors: it passes "
        "through the set function at the corners and is made of flat pieces, one per "
        "sort order.",
    )
    st.latex(r"\bar\Delta(m) = \sum_i m_{\pi(i)}\, g_i(\pi) \quad (\pi \text{ sorts } m)")
    st.latex(r"\bar\Delta(m) = \max_{\sigma} \sum_i m_{\sigma(i)}\, g_i(\sigma)")
    st.markdown("The maximum over all orders σ makes it convex in the errors m (not in the logits).")
    sidebar = st.sidebar
    widgets.preset_picker(PAGE, sidebar)
    n = int(widgets.control(PAGE, "pixels", sidebar))
    sidebar.caption("Ground truth of each pixel (foreground = belongs to the class):")
    bits = tuple(bool(widgets.control(PAGE, f"y{i}", sidebar)) for i in range(1, n + 1))
    show_planes = bool(widgets.control(PAGE, "planes", sidebar))
    show_soft = bool(widgets.control(PAGE, "soft", sidebar))
    left, right = st.columns([3, 2])
    m3 = float(widgets.control(PAGE, "m3", left)) if n == 3 else 0.0
    try:
        data = view(bits, m3)
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
        surface(data, show_planes, show_soft)
    with right:
        # The probe reruns on its own: moving it redraws the map and the readout, not the 3-D surface.
        st.fragment(probe_panel)(data)
    section(data)
    with st.expander("The set function at every corner of the cube", expanded=False):
        corner_table(data)
    st.success(
        "**Takeaway.** The Lovász extension is the unique function that agrees with $\\Delta_J$ at the "
        "corners and is linear on every sort-order region; because $\\Delta_J$ is submodular it is also "
        "the maximum of those linear pieces, so it is convex in the errors m and a tight surrogate. "
        "Through the softmax, as a function of the logits, it need not be convex.",
        icon=":material/lightbulb:",
    )


main()
