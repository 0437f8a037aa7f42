"""Figures of the pages "Home" and "IoU and the Jaccard loss": the outcome overlay of one class,
IoU per class, and the staircase of 1 − IoU against a logit offset.

Pure builders: numpy arrays in, plotly figures out; no Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from app.figures.common import (
    LEGEND_ABOVE,
    LEGEND_BELOW,
    base_layout,
    discrete_colorscale,
    image_axes,
    outcome_map,
    outline_trace,
)
from app.palette import (
    GRID_COLOR,
    MARK_COLOR,
    OUTCOME_COLORS,
    REFERENCE_COLOR,
    class_color,
    loss_color,
)


def overlay_figure(
    truth: np.ndarray, predicted: np.ndarray, cls: int, title: str, height: int = 340
) -> go.Figure:
    """Intersection / false positives / false negatives of class c; the union is every coloured pixel."""
    outcome = outcome_map(truth, predicted, cls)
    colors = list(OUTCOME_COLORS.values())
    names = list(OUTCOME_COLORS)
    text = np.array(names, dtype=object)[outcome]
    fig = go.Figure(
        go.Heatmap(
            z=outcome,
            zmin=-0.5,
            zmax=3.5,
            colorscale=discrete_colorscale(colors),
            showscale=False,
            text=text,
            hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>",
            name="outcome",
        )
    )
    for name, color in zip(names, colors, strict=True):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=name,
                marker={
                    "color": color,
                    "size": 12,
                    "symbol": "square",
                    "line": {"color": REFERENCE_COLOR, "width": 1},
                },
            )
        )
    fig.add_trace(outline_trace(truth == cls, "ground truth of c", width=2.0))
    image_axes(fig, truth.shape)
    return base_layout(fig, height, title)


def iou_bars_figure(ious: Sequence[float], title: str = "IoU per class", height: int = 300) -> go.Figure:
    """One bar per class (class colours), its value written under it with the class name; NaN
    (class absent everywhere) is marked "undefined".

    A dashed line marks the mean IoU over the defined classes; its value is the line's legend entry,
    above the plotting area. No text is drawn inside the plotting area, so the line crosses none.
    """
    values = np.asarray(ious, dtype=float)
    texts = ["undefined" if np.isnan(v) else f"{v:.3f}" for v in values]
    classes = [f"class {c}<br><b>{text}</b>" for c, text in enumerate(texts)]
    fig = go.Figure(
        go.Bar(
            x=classes,
            y=np.nan_to_num(values, nan=0.0),
            name="IoU",
            showlegend=False,
            marker={"color": [class_color(c) for c in range(len(values))]},
            customdata=texts,
            hovertemplate="IoU %{customdata}<extra></extra>",
        )
    )
    defined = values[~np.isnan(values)]
    if defined.size:
        mean = float(defined.mean())
        fig.add_trace(
            go.Scatter(
                x=[classes[0], classes[-1]],
                y=[mean, mean],
                mode="lines",
                name=f"mean IoU {mean:.3f}",
                line={"dash": "dash", "color": REFERENCE_COLOR, "width": 2.5},
                hovertemplate=f"mean IoU {mean:.3f}<extra></extra>",
            )
        )
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.05], title="IoU", gridcolor=GRID_COLOR)
    return base_layout(fig, height, title, legend=LEGEND_ABOVE)


def staircase_figure(
    step_x: np.ndarray,
    step_y: np.ndarray,
    offsets: np.ndarray,
    lovasz: np.ndarray | None,
    current: float,
    title: str,
    height: int = 320,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    x_title: str = "offset b added to the class's logit",
) -> go.Figure:
    """1 − IoU of the thresholded prediction vs a logit offset b, drawn as exact steps, and,
    optionally, the Lovász extension at the same predictions (continuous, with a slope).

    ``step_x``/``step_y`` ``[J + 2]``: the range start, the J jump offsets and the range end, with
    the value just right of each (a horizontal-then-vertical line); ``offsets``/``lovasz`` ``[K]``.
    ``x_range``/``y_range`` zoom in (default: everything, the loss axis from 0).
    """
    fig = go.Figure(
        go.Scatter(
            x=step_x,
            y=step_y,
            mode="lines",
            name="1 − IoU (argmax prediction)",
            line={"shape": "hv", "color": MARK_COLOR, "width": 2.5},
        )
    )
    if lovasz is not None:
        fig.add_trace(
            go.Scatter(
                x=offsets,
                y=lovasz,
                mode="lines",
                name="Lovász extension (surrogate)",
                line={"color": loss_color("lovasz_softmax"), "width": 3, "dash": "dash"},
            )
        )
    fig.add_vline(
        x=current,
        line={"color": MARK_COLOR, "width": 1.5, "dash": "dot"},
        annotation_text=f"b = {current:+.2f}",
        annotation_position="bottom right",
    )
    fig.update_xaxes(
        title=x_title,
        gridcolor=GRID_COLOR,
        range=list(x_range) if x_range is not None else None,
    )
    if y_range is None:
        fig.update_yaxes(title="loss", gridcolor=GRID_COLOR, rangemode="tozero")
    else:
        fig.update_yaxes(title="loss", gridcolor=GRID_COLOR, range=list(y_range))
    return base_layout(
        fig,
        height,
        title,
        legend=LEGEND_BELOW | {"y": -0.3},
    )
