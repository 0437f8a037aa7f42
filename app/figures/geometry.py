"""Figures of the page "Geometry of the extension": the surface over the error square, the
sort-order regions, and a section along a segment.

Pure builders: numpy arrays in, plotly figures out; no Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from app.figures.common import (
    LEGEND_BELOW,
    base_layout,
    discrete_colorscale,
)
from app.palette import (
    GRID_COLOR,
    MARK_COLOR,
    PLOT_BACKGROUND,
    SELECTED_FILL,
    SEQUENTIAL_SCALE,
    SURFACE_SCALE,
    class_color,
)


def corner_set(corner: np.ndarray) -> str:
    """``"∅"`` or ``"{1,2}"``: the pixels (1-based) whose error is 1 at a corner of the cube."""
    members = [str(i + 1) for i, bit in enumerate(corner) if bit > 0.5]
    return "{" + ",".join(members) + "}" if members else "∅"


CORNER_TEXT_POSITIONS = {
    (0, 0): "top center",
    (1, 0): "top right",
    (0, 1): "middle left",
    (1, 1): "top left",
}


def corner_text(corner: np.ndarray, value: float) -> str:
    """``"Δ({1})=1.00"``; empty at m = 0, where Δ(∅) = 0 always and a label would leave the figure."""
    return f"Δ({corner_set(corner)})={value:.2f}" if corner.any() else ""


def corner_text_position(corner: np.ndarray) -> str:
    """Where the label of a corner of the (m₁, m₂) square goes: the two off-diagonal corners
    project close together in the default view, so their labels point away from each other."""
    return CORNER_TEXT_POSITIONS[(int(corner[0] > 0.5), int(corner[1] > 0.5))]


def _xy_hover(axis_titles: tuple[str, str]) -> str:
    return f"{axis_titles[0]} %{{x:.2f}}, {axis_titles[1]} %{{y:.2f}}"


def extension_surface_figure(
    grid: np.ndarray,
    values: np.ndarray,
    corners: np.ndarray,
    corner_values: np.ndarray,
    planes: Sequence[tuple[str, np.ndarray, str]] = (),
    soft: np.ndarray | None = None,
    probe: tuple[float, float, float] | None = None,
    axis_titles: tuple[str, str] = ("m₁", "m₂"),
    height: int = 560,
) -> go.Figure:
    """3-D view of f(m₁, m₂) on a ``[G]`` grid per axis (``values [G, G]``, rows = m₂).

    Adds: the set function at the corners (labelled markers; ``corners [k, n]``, drawn at their
    first two coordinates and labelled with the whole set), the linear pieces extended over the
    whole square (translucent planes, given as ``(label, values, colour)``), the soft-Jaccard
    surface for comparison, and a probe point.
    """
    fig = go.Figure(
        go.Surface(
            x=grid,
            y=grid,
            z=values,
            name="Lovász extension",
            showlegend=True,
            colorscale=SEQUENTIAL_SCALE,
            cmin=0,
            cmax=1,
            showscale=False,
            opacity=0.95,
            contours={"z": {"show": True, "width": 1, "color": PLOT_BACKGROUND}},
            hovertemplate=_xy_hover(axis_titles) + ": %{z:.3f}<extra>Lovász</extra>",
        )
    )
    for label, plane, color in planes:
        fig.add_trace(
            go.Surface(
                x=grid,
                y=grid,
                z=plane,
                name=label,
                opacity=0.35,
                showscale=False,
                colorscale=[[0, color], [1, color]],
                hoverinfo="skip",
                showlegend=True,
            )
        )
    if soft is not None:
        fig.add_trace(
            go.Surface(
                x=grid,
                y=grid,
                z=soft,
                name="soft-Jaccard",
                opacity=0.55,
                showscale=False,
                colorscale=SURFACE_SCALE,
                showlegend=True,
                hovertemplate="%{z:.3f}<extra>soft-Jaccard</extra>",
            )
        )
    fig.add_trace(
        go.Scatter3d(
            x=corners[:, 0],
            y=corners[:, 1],
            z=corner_values,
            mode="markers+text",
            name="set function Δ at the corners",
            marker={"size": 6, "color": MARK_COLOR},
            text=[corner_text(c, v) for c, v in zip(corners, corner_values, strict=True)],
            textposition=[corner_text_position(c) for c in corners],
        )
    )
    if probe is not None:
        fig.add_trace(
            go.Scatter3d(
                x=[probe[0]],
                y=[probe[1]],
                z=[probe[2]],
                mode="markers",
                name="probe",
                marker={"size": 8, "color": SELECTED_FILL, "line": {"color": MARK_COLOR, "width": 2}},
            )
        )
    fig.update_layout(
        scene={
            "xaxis": {"title": axis_titles[0], "range": [0, 1]},
            "yaxis": {"title": axis_titles[1], "range": [0, 1]},
            "zaxis": {"title": "loss", "range": [0, 1.05]},
            "aspectmode": "cube",
            # far and low-left enough for the surface, its corners and the loss axis to fit a
            # 330 px column (1024 px with the sidebar open) as well as a wide one
            "camera": {
                "eye": {"x": 2.0, "y": -2.1, "z": 1.12},
                "center": {"x": -0.05, "y": -0.04, "z": -0.08},
            },
        }
    )
    base_layout(fig, height)
    fig.update_layout(margin={"l": 30, "r": 30, "t": 10, "b": 10})
    return fig


def regions_figure(
    grid: np.ndarray,
    region: np.ndarray,
    region_labels: Sequence[str],
    probe: tuple[float, float] | None,
    axis_titles: tuple[str, str] = ("m₁", "m₂"),
    boundaries: Sequence[tuple[Sequence[float], Sequence[float]]] = (),
    height: int = 460,
) -> go.Figure:
    """Top view: which sort order holds at each point of the square (``region [G, G]`` indexes
    ``region_labels``), the boundaries m_i = m_j between regions, and the probe point."""
    present = sorted(set(np.unique(region).tolist()))
    remap = {r: i for i, r in enumerate(present)}
    z = np.vectorize(remap.get)(region)
    colors = [class_color(r + 1) for r in present]
    fig = go.Figure(
        go.Heatmap(
            x=grid,
            y=grid,
            z=z,
            zmin=-0.5,
            zmax=len(present) - 0.5,
            colorscale=discrete_colorscale(colors),
            showscale=False,
            opacity=0.55,
            text=np.array([region_labels[r] for r in present], dtype=object)[z],
            hovertemplate=_xy_hover(axis_titles) + "<br>%{text}<extra></extra>",
        )
    )
    for r in present:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=region_labels[r],
                marker={"color": class_color(r + 1), "size": 12, "symbol": "square"},
            )
        )
    for xs, ys in boundaries:
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                mode="lines",
                showlegend=False,
                hoverinfo="skip",
                line={"color": MARK_COLOR, "width": 2, "dash": "dash"},
            )
        )
    if probe is not None:
        fig.add_trace(
            go.Scatter(
                x=[probe[0]],
                y=[probe[1]],
                mode="markers",
                name="probe",
                marker={"size": 14, "color": SELECTED_FILL, "line": {"color": MARK_COLOR, "width": 2}},
            )
        )
    fig.update_xaxes(range=[0, 1], title=axis_titles[0], constrain="domain")
    fig.update_yaxes(range=[0, 1], title=axis_titles[1], scaleanchor="x", constrain="domain")
    return base_layout(fig, height, legend=LEGEND_BELOW | {"y": -0.15})


def section_figure(
    t: np.ndarray,
    curves: Sequence[tuple[str, np.ndarray, str]],
    title: str,
    height: int = 320,
    chord: tuple[str, np.ndarray, np.ndarray, str] | None = None,
    end_labels: tuple[str, str] = ("t = 0", "t = 1"),
) -> go.Figure:
    """Values of several functions along a segment of the cube (``t [T]`` from 0 to 1, T odd).

    ``chord``: ``(name, chord [T], curve [T], colour)``, the straight line between a curve's end
    values, drawn dashed, with the gap between curve and chord at the midpoint t = 1/2 marked.
    ``end_labels`` name the ends of the segment on the horizontal axis.
    """
    fig = go.Figure()
    for name, values, color in curves:
        fig.add_trace(go.Scatter(x=t, y=values, mode="lines", name=name, line={"color": color, "width": 3}))
    if chord is not None:
        name, values, curve, color = chord
        fig.add_trace(
            go.Scatter(
                x=t, y=values, mode="lines", name=name, line={"color": color, "width": 2, "dash": "dash"}
            )
        )
        middle = len(t) // 2
        fig.add_trace(
            go.Scatter(
                x=[t[middle], t[middle]],
                y=[values[middle], curve[middle]],
                mode="lines+markers",
                name="midpoint: curve above its chord",
                line={"color": MARK_COLOR, "width": 1.5, "dash": "dot"},
                marker={"size": 9, "color": SELECTED_FILL, "line": {"color": MARK_COLOR, "width": 2}},
            )
        )
    fig.update_xaxes(
        gridcolor=GRID_COLOR,
        range=[-0.02, 1.02],
        tickvals=[0.0, 0.5, 1.0],
        ticktext=[end_labels[0], "midpoint", end_labels[1]],
    )
    fig.update_yaxes(title="loss", gridcolor=GRID_COLOR, range=[0, 1.08])
    base_layout(fig, height, title, legend=LEGEND_BELOW | {"y": -0.2})
    fig.update_layout(margin={"r": 50})  # room for the end label centred on t = 1
    return fig
