"""Shared pieces of every figure: layout, image axes, the click layer over pixel images, outlines,
label maps and the per-pixel outcome (TP/FP/FN) of one class.

Pure builders: numpy arrays in, plotly figures out; no Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from app.palette import (
    LEGEND_BORDER,
    LEGEND_FILL,
    MARK_COLOR,
    PLOT_BACKGROUND,
    TRANSPARENT,
    class_color,
)

FADED = 0.3


FONT = {"size": 14}


LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.02, "x": 0.0, "xanchor": "left"}


LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 1.0, "xanchor": "right"}


LEGEND_INSIDE = {
    "orientation": "v",
    "yanchor": "top",
    "y": 0.99,
    "x": 0.99,
    "xanchor": "right",
    "bgcolor": LEGEND_FILL,
    "bordercolor": LEGEND_BORDER,
    "borderwidth": 1,
}


def base_layout(
    fig: go.Figure, height: int, title: str | None = None, legend: dict | None = None, top: int = 10
) -> go.Figure:
    """Common margins, font and title; the legend below images (default) or inside charts."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else top, "b": 10},
        title={"text": title, "x": 0.0, "font": {"size": 16}} if title else None,
        font=FONT,
        plot_bgcolor=PLOT_BACKGROUND,
        legend=legend or LEGEND_BELOW,
    )
    return fig


def image_axes(
    fig: go.Figure, shape: tuple[int, int], row: int | None = None, col: int | None = None
) -> None:
    height, width = shape
    kwargs = {} if row is None else {"row": row, "col": col}
    fig.update_xaxes(
        range=[-0.5, width - 0.5], showgrid=False, zeroline=False, visible=False, constrain="domain", **kwargs
    )
    fig.update_yaxes(
        range=[height - 0.5, -0.5],
        showgrid=False,
        zeroline=False,
        visible=False,
        scaleanchor="x" if row is None else None,
        constrain="domain",
        **kwargs,
    )


def discrete_colorscale(colors: Sequence[str]) -> list[list]:
    """A plotly colorscale with one flat band per colour (for z = 0..n−1, zmin −0.5, zmax n−0.5)."""
    n = len(colors)
    scale = []
    for i, color in enumerate(colors):
        scale.append([i / n, color])
        scale.append([(i + 1) / n, color])
    return scale


def click_layer(shape: tuple[int, int], hover: Sequence[str] | None = None) -> go.Scatter:
    """Transparent markers on every pixel, ``customdata`` = flat index, so clicks return a selection."""
    height, width = shape
    rows, cols = np.divmod(np.arange(height * width), width)
    return go.Scatter(
        x=cols,
        y=rows,
        mode="markers",
        name="pixels",
        showlegend=False,
        customdata=np.arange(height * width),
        marker={
            "size": max(4, min(40, 480 // max(height, width))),
            "symbol": "square",
            "color": TRANSPARENT,
            "line": {"width": 0},
        },
        text=list(hover) if hover is not None else None,
        hoverinfo="text" if hover is not None else "x+y",
        hovertemplate="%{text}<extra></extra>" if hover is not None else None,
    )


def boundary_segments(mask: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    """Line segments (x, y lists with None breaks) along the pixel edges where ``mask`` changes."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    padded = np.pad(mask.astype(bool), 1)
    vertical = padded[1:-1, 1:] != padded[1:-1, :-1]  # edge left of column j (j = 0..W)
    for r, c in zip(*np.nonzero(vertical), strict=True):
        xs += [c - 0.5, c - 0.5, None]
        ys += [r - 0.5, r + 0.5, None]
    horizontal = padded[1:, 1:-1] != padded[:-1, 1:-1]  # edge above row i (i = 0..H)
    for r, c in zip(*np.nonzero(horizontal), strict=True):
        xs += [c - 0.5, c + 0.5, None]
        ys += [r - 0.5, r - 0.5, None]
    return xs, ys


def outline_trace(
    mask: np.ndarray, name: str, color: str = MARK_COLOR, width: float = 2.5, dash: str = "solid"
) -> go.Scatter:
    xs, ys = boundary_segments(mask)
    # NaN breaks the line like None, and a float array validates in one step instead of per item.
    return go.Scatter(
        x=np.array([np.nan if v is None else v for v in xs], dtype=float),
        y=np.array([np.nan if v is None else v for v in ys], dtype=float),
        mode="lines",
        name=name,
        hoverinfo="skip",
        line={"color": color, "width": width, "dash": dash},
    )


def label_map_figure(labels: np.ndarray, num_classes: int, title: str, height: int = 340) -> go.Figure:
    """``[H, W]`` class map in the class colours, with a legend of the classes."""
    colors = [class_color(c) for c in range(num_classes)]
    fig = go.Figure(
        go.Heatmap(
            z=labels,
            zmin=-0.5,
            zmax=num_classes - 0.5,
            colorscale=discrete_colorscale(colors),
            showscale=False,
            hovertemplate="row %{y}, col %{x}: class %{z}<extra></extra>",
            name="classes",
        )
    )
    for c in range(num_classes):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=f"class {c}",
                marker={"color": colors[c], "size": 12, "symbol": "square"},
            )
        )
    image_axes(fig, labels.shape)
    return base_layout(fig, height, title)


def outcome_map(truth: np.ndarray, predicted: np.ndarray, cls: int) -> np.ndarray:
    """``[H, W]`` int: 0 true negative, 1 intersection, 2 false positive, 3 false negative (class c)."""
    t, p = truth == cls, predicted == cls
    out = np.zeros(truth.shape, dtype=np.int64)
    out[t & p] = 1
    out[~t & p] = 2
    out[t & ~p] = 3
    return out


MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
