"""Figures of the page "Your data and your model": class maps with void pixels in grey (an image
underneath when there is one), the mask editor's selectable pixel layer, and each class's share
of the gradient's push against its share of the pixels.

The gradient maps, the sorted errors and the IoU bars reuse the builders of the Gradients,
Sorting errors and IoU pages. Pure builders: numpy arrays in, plotly figures out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from app.figures.common import LEGEND_BELOW, base_layout, discrete_colorscale, image_axes
from app.palette import TRANSPARENT, VOID_COLOR, class_color, loss_color
from lovasz_core.lab.void import VOID


def _class_index_map(labels: np.ndarray, num_classes: int, void: np.ndarray) -> np.ndarray:
    """``labels`` with void pixels mapped to ``num_classes`` (the grey band of the colour scale)."""
    return np.where(void, num_classes, labels).astype(np.int64)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """A float image in [0, 1], grey or RGB, as uint8 ``[H, W, 3]`` for ``go.Image``."""
    pixels = np.clip(image, 0.0, 1.0)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return np.asarray(np.round(pixels * 255), dtype=np.uint8)


def image_figure(image: np.ndarray, title: str, height: int = 320) -> go.Figure:
    """The uploaded image ``[H, W]`` or ``[H, W, 3]`` in [0, 1], pixel for pixel."""
    fig = go.Figure(
        go.Image(z=_to_uint8(image), name="image", hovertemplate="row %{y}, col %{x}<extra></extra>")
    )
    image_axes(fig, image.shape[:2])
    base_layout(fig, height, title)
    fig.update_layout(dragmode=False)
    return fig


def class_map_figure(
    labels: np.ndarray,
    num_classes: int,
    title: str,
    void: np.ndarray | None = None,
    image: np.ndarray | None = None,
    height: int = 320,
    selectable: bool = False,
    legend: bool = True,
) -> go.Figure:
    """``[H, W]`` classes in the class colours, void pixels grey, over ``image`` when given.

    Args:
        labels: ``[H, W]`` class indices (255 = void unless ``void`` says otherwise).
        num_classes: C, the number of class colours in the legend.
        void: ``[H, W]`` bool, pixels drawn grey (default ``labels == 255``).
        image: ``[H, W]`` or ``[H, W, 3]`` in [0, 1], drawn under semi-transparent classes.
        selectable: add a transparent marker on every pixel centre (``customdata`` = flat index)
            and start in box-select mode, so that ``st.plotly_chart(on_select=...)`` returns the
            pixels inside a box or lasso.
    """
    void = labels == VOID if void is None else void
    z = _class_index_map(labels, num_classes, void)
    colors = [class_color(c) for c in range(num_classes)] + [VOID_COLOR]
    names = np.array([f"class {c}" for c in range(num_classes)] + [f"void ({VOID})"], dtype=object)
    fig = go.Figure()
    if image is not None:
        fig.add_trace(go.Image(z=_to_uint8(image), hoverinfo="skip", name="image"))
    fig.add_trace(
        go.Heatmap(
            z=z,
            zmin=-0.5,
            zmax=num_classes + 0.5,
            colorscale=discrete_colorscale(colors),
            showscale=False,
            opacity=0.55 if image is not None else 1.0,
            text=names[z],
            hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>",
            name="classes",
        )
    )
    if legend:
        shown = range(num_classes) if num_classes <= 8 else sorted(set(np.unique(z)) - {num_classes})
        for c in shown:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    name=f"class {c}",
                    marker={"color": colors[c], "size": 12, "symbol": "square"},
                )
            )
        if void.any():
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    name=f"void ({VOID})",
                    marker={"color": VOID_COLOR, "size": 12, "symbol": "square"},
                )
            )
    if selectable:
        height_px, width_px = labels.shape
        rows, cols = np.divmod(np.arange(height_px * width_px), width_px)
        fig.add_trace(
            go.Scatter(
                x=cols,
                y=rows,
                mode="markers",
                name="pixels",
                showlegend=False,
                customdata=np.arange(height_px * width_px),
                marker={"size": 4, "color": TRANSPARENT, "line": {"width": 0}},
                selected={"marker": {"color": TRANSPARENT}},
                unselected={"marker": {"opacity": 0}},
                hoverinfo="skip",
            )
        )
    image_axes(fig, labels.shape)
    base_layout(fig, height, title, legend=LEGEND_BELOW)
    if selectable:
        fig.update_layout(dragmode="select", clickmode="event+select")
    else:
        fig.update_layout(dragmode=False)
    return fig


def push_share_figure(
    classes: Sequence[int],
    pixel_share: np.ndarray,
    push_shares: Mapping[str, np.ndarray],
    labels: Mapping[str, str],
    height: int = 300,
) -> go.Figure:
    """Per class: its share of the non-void pixels (grey) and of each loss's L1 push (loss colours).

    ``push_shares[key]`` ``[C]`` sums to 1: push_c = Σ_{i: y_i = c} ‖∂L/∂z_i‖₁ over the total.
    """
    names = [f"class {c}" for c in classes]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=100 * np.asarray(pixel_share, dtype=float),
            name="share of the pixels",
            marker={"color": VOID_COLOR},
            hovertemplate="%{x}: %{y:.1f} % of the pixels<extra></extra>",
        )
    )
    for key, share in push_shares.items():
        fig.add_trace(
            go.Bar(
                x=names,
                y=100 * np.asarray(share, dtype=float),
                name=f"share of the push, {labels.get(key, key)}",
                marker={"color": loss_color(key)},
                hovertemplate="%{x}: %{y:.1f} % of the push<extra>" + labels.get(key, key) + "</extra>",
            )
        )
    fig.update_yaxes(title_text="%", rangemode="tozero")
    fig.update_layout(barmode="group")
    return base_layout(fig, height, legend=LEGEND_BELOW)
