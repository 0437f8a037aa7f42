"""Pure figure builders: numpy arrays in, plotly figures out; no Streamlit calls.

Conventions: images are ``[H, W]`` arrays drawn with row 0 at the top and square pixels; pixel
(r, c) has flat index ``r * W + c`` (the order of ``tensor.reshape(-1)``). Every pixel image
that can be clicked carries a transparent scatter trace named ``"pixels"`` whose ``customdata``
is the flat index (heatmaps return no selection in Streamlit). Colours come from
:mod:`palette`: Okabe-Ito per class, fg/bg for the studied class, ``RdBu_r`` for gradients.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.palette import (
    BACKGROUND_COLOR,
    DIVERGING_SCALE,
    FOREGROUND_COLOR,
    HIGHLIGHT_COLOR,
    SEQUENTIAL_SCALE,
    class_color,
)

OUTCOME_COLORS = {  # pixel outcomes for one class c (Okabe-Ito)
    "true negative": "#EEEEEE",
    "intersection (TP)": "#009E73",
    "false positive": "#E69F00",
    "false negative": "#0072B2",
}
FADED = 0.3
FONT = {"size": 14}


LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.02, "x": 0.0, "xanchor": "left"}
LEGEND_INSIDE = {
    "orientation": "v",
    "yanchor": "top",
    "y": 0.99,
    "x": 0.99,
    "xanchor": "right",
    "bgcolor": "rgba(255,255,255,0.8)",
    "bordercolor": "#CCCCCC",
    "borderwidth": 1,
}


def _base_layout(
    fig: go.Figure, height: int, title: str | None = None, legend: dict | None = None, top: int = 10
) -> go.Figure:
    """Common margins, font and title; the legend below images (default) or inside charts."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else top, "b": 10},
        title={"text": title, "x": 0.0, "font": {"size": 16}} if title else None,
        font=FONT,
        plot_bgcolor="white",
        legend=legend or LEGEND_BELOW,
    )
    return fig


def _image_axes(
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
            "color": "rgba(0,0,0,0)",
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


def _outline_trace(
    mask: np.ndarray, name: str, color: str = HIGHLIGHT_COLOR, width: float = 2.5, dash: str = "solid"
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


# ------------------------------------------------------------------------------------------
# Page "IoU and the Jaccard loss"


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
    _image_axes(fig, labels.shape)
    return _base_layout(fig, height, title)


def outcome_map(truth: np.ndarray, predicted: np.ndarray, cls: int) -> np.ndarray:
    """``[H, W]`` int: 0 true negative, 1 intersection, 2 false positive, 3 false negative (class c)."""
    t, p = truth == cls, predicted == cls
    out = np.zeros(truth.shape, dtype=np.int64)
    out[t & p] = 1
    out[~t & p] = 2
    out[t & ~p] = 3
    return out


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
                    "line": {"color": "#999999", "width": 1},
                },
            )
        )
    fig.add_trace(_outline_trace(truth == cls, "ground truth of c", width=2.0))
    _image_axes(fig, truth.shape)
    return _base_layout(fig, height, title)


def iou_bars_figure(ious: Sequence[float], title: str = "IoU per class", height: int = 300) -> go.Figure:
    """One bar per class (class colours); NaN (class absent everywhere) is marked "undefined".

    A dashed line marks the mean IoU over the defined classes.
    """
    values = np.asarray(ious, dtype=float)
    classes = [f"class {c}" for c in range(len(values))]
    fig = go.Figure(
        go.Bar(
            x=classes,
            y=np.nan_to_num(values, nan=0.0),
            name="IoU",
            marker={"color": [class_color(c) for c in range(len(values))]},
            text=["undefined" if np.isnan(v) else f"{v:.3f}" for v in values],
            textposition="outside",
            hovertemplate="%{x}: IoU %{text}<extra></extra>",
        )
    )
    defined = values[~np.isnan(values)]
    if defined.size:
        mean = float(defined.mean())
        fig.add_hline(
            y=mean,
            line={"dash": "dash", "color": HIGHLIGHT_COLOR},
            annotation_text=f"mean IoU {mean:.3f}",
            annotation_position="top right",
        )
    fig.update_yaxes(range=[0, 1.15], title="IoU", gridcolor="#DDDDDD")
    return _base_layout(fig, height, title)


def staircase_figure(
    offsets: np.ndarray,
    jaccard_loss: np.ndarray,
    lovasz: np.ndarray | None,
    current: float,
    title: str,
    height: int = 320,
) -> go.Figure:
    """1 − IoU of the thresholded prediction vs a logit offset (a staircase) and, optionally, the
    Lovász extension at the same predictions (continuous, with a slope)."""
    fig = go.Figure(
        go.Scatter(
            x=offsets,
            y=jaccard_loss,
            mode="lines",
            name="1 − IoU (argmax prediction)",
            line={"shape": "hv", "color": FOREGROUND_COLOR, "width": 3},
        )
    )
    if lovasz is not None:
        fig.add_trace(
            go.Scatter(
                x=offsets,
                y=lovasz,
                mode="lines",
                name="Lovász extension (surrogate)",
                line={"color": "#0072B2", "width": 3, "dash": "dash"},
            )
        )
    fig.add_vline(
        x=current,
        line={"color": HIGHLIGHT_COLOR, "width": 1.5, "dash": "dot"},
        annotation_text=f"b = {current:+.2f}",
        annotation_position="bottom right",
    )
    fig.update_xaxes(title="offset b added to the class's logit", gridcolor="#DDDDDD")
    fig.update_yaxes(title="loss", gridcolor="#DDDDDD", rangemode="tozero")
    return _base_layout(
        fig,
        height,
        title,
        legend=LEGEND_BELOW | {"y": -0.3},
    )


# ------------------------------------------------------------------------------------------
# Page "Sorting errors"

PIXEL_MAP_KINDS = {
    "fg": {
        "colorscale": discrete_colorscale([BACKGROUND_COLOR, FOREGROUND_COLOR]),
        "zmin": -0.5,
        "zmax": 1.5,
        "showscale": False,
    },
    "errors": {"colorscale": SEQUENTIAL_SCALE, "zmin": 0.0, "zmax": 1.0, "showscale": True},
    "weights": {"colorscale": DIVERGING_SCALE, "zmid": 0.0, "showscale": True},
    "contributions": {"colorscale": SEQUENTIAL_SCALE, "zmin": 0.0, "showscale": True},
}


def pixel_map_figure(
    values: np.ndarray,
    kind: str,
    fg: np.ndarray,
    prefix: np.ndarray | None,
    selected: int | None,
    title: str,
    hover: Sequence[str] | None = None,
    height: int = 330,
) -> go.Figure:
    """A clickable ``[H, W]`` map: ``kind`` is ``"fg"`` (ground truth), ``"errors"`` (Viridis,
    0..max(1, m)) or ``"weights"`` (g, RdBu_r symmetric about 0).

    Overlays: the outline of the ground-truth class (white dashed), the outline of the prefix set
    (the k largest errors, black), the selected pixel (ring), and the click layer.
    """
    if kind not in PIXEL_MAP_KINDS:
        raise ValueError(f"`kind` must be one of {list(PIXEL_MAP_KINDS)}, got {kind!r}")
    style = dict(PIXEL_MAP_KINDS[kind])
    z = values.astype(float)
    if kind == "errors":
        style["zmax"] = max(1.0, float(z.max()))
    if kind == "contributions":
        style["zmax"] = max(float(z.max()), 1e-9)
    if kind == "weights":
        bound = max(float(np.abs(z).max()), 1e-9)
        style.update(zmin=-bound, zmax=bound)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            name=kind,
            hoverinfo="skip",
            colorbar={"thickness": 12, "len": 0.9} if style.get("showscale") else None,
            **style,
        )
    )
    outline_color = "white" if kind != "fg" else HIGHLIGHT_COLOR
    fig.add_trace(_outline_trace(fg, "ground truth of c", color=outline_color, width=2.0, dash="dot"))
    if prefix is not None and prefix.any():
        fig.add_trace(_outline_trace(prefix, "the k largest errors", color=HIGHLIGHT_COLOR, width=3.5))
    if selected is not None and 0 <= selected < z.size:
        r, c = divmod(int(selected), z.shape[1])
        fig.add_trace(
            go.Scatter(
                x=[c],
                y=[r],
                mode="markers",
                name="selected pixel",
                hoverinfo="skip",
                marker={
                    "symbol": "circle-open",
                    "size": 18,
                    "color": "#F0E442",
                    "line": {"width": 4, "color": "#F0E442"},
                },
            )
        )
    fig.add_trace(click_layer(z.shape, hover))
    _image_axes(fig, z.shape)
    fig.update_layout(showlegend=False, clickmode="event+select", dragmode=False)
    return _base_layout(fig, height, title)


def sorted_panels_figure(
    errors_sorted: np.ndarray,
    fg_sorted: np.ndarray,
    jaccard: np.ndarray,
    grad: np.ndarray,
    k: int,
    threshold_rank: int | None,
    selected_rank: int | None = None,
    visible: int | None = None,
    threshold: float = 0.5,
    height: int = 640,
) -> go.Figure:
    """Four linked panels over the rank i = 1..P (shared x axis, one cursor at k):

    1. sorted errors m_π(i) (bars, vermillion = pixel of c, sky blue = not c);
    2. Δ_i, the Jaccard loss of the prefix set {π1..πi} (line);
    3. the Jaccard gradients g_i = Δ_i − Δ_{i−1} (bars);
    4. the running loss Σ_{j≤i} m_π(j) g_j, ending at the Lovász loss.

    Ranks after k are faded. Transparent markers named ``"ranks"`` sit on the bars of ① and ③
    with ``customdata = (rank, value)``: clicking one selects that rank.
    ``visible`` limits the x axis to the first ranks (where the errors are), ``None`` shows all.
    """
    n = len(errors_sorted)
    ranks = np.arange(1, n + 1)
    # Numbers on a two-colour scale validate much faster than P colour strings.
    colors = np.asarray(fg_sorted, dtype=float)
    fg_scale = [[0.0, BACKGROUND_COLOR], [1.0, FOREGROUND_COLOR]]
    opacity = np.where(ranks <= k, 1.0, FADED)
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        subplot_titles=(
            "① errors m, sorted in decreasing order",
            "② Δ_i: Jaccard loss if exactly the i worst pixels were wrong",
            "③ Jaccard gradients g_i = Δ_i − Δ_(i−1)",
            "④ running loss Σ m·g (ends at the Lovász loss)",
        ),
    )
    for title in fig.layout.annotations:
        title.update(x=0.0, xanchor="left", font_size=14)
    hover = [f"rank {i}: {'class c' if f else 'not c'}" for i, f in zip(ranks, fg_sorted, strict=True)]
    fig.add_trace(
        go.Bar(
            x=ranks,
            y=errors_sorted,
            marker={"color": colors, "colorscale": fg_scale, "cmin": 0, "cmax": 1, "opacity": opacity},
            customdata=ranks,
            name="m sorted",
            text=hover,
            textposition="none",
            hovertemplate="%{text}<br>m = %{y:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=ranks,
            y=jaccard,
            mode="lines",
            name="Δ prefix",
            line={"color": HIGHLIGHT_COLOR, "width": 2, "shape": "hv"},
            hovertemplate="rank %{x}: Δ = %{y:.3f}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=ranks,
            y=grad,
            marker={"color": colors, "colorscale": fg_scale, "cmin": 0, "cmax": 1, "opacity": opacity},
            customdata=ranks,
            name="g",
            text=hover,
            textposition="none",
            hovertemplate="%{text}<br>g = %{y:.4f}<extra></extra>",
        ),
        row=3,
        col=1,
    )
    running = np.cumsum(errors_sorted * grad)
    fig.add_trace(
        go.Scatter(
            x=ranks,
            y=running,
            mode="lines",
            name="running loss",
            line={"color": "#009E73", "width": 3},
            hovertemplate="rank %{x}: Σ m·g = %{y:.4f}<extra></extra>",
        ),
        row=4,
        col=1,
    )
    # Bars return no click selection in Streamlit (like heatmaps): transparent markers in the middle
    # of each bar make ranks clickable and carry the hover text.
    shown = min(n, visible or n)
    size = max(6, min(30, 900 // max(shown, 1)))
    for row, values, label in (
        (1, errors_sorted, "m = %{customdata[1]:.3f}"),
        (3, grad, "g = %{customdata[1]:.4f}"),
    ):
        fig.add_trace(
            go.Scatter(
                x=ranks,
                y=values / 2,
                mode="markers",
                name="ranks",
                customdata=np.stack([ranks, values], axis=1),
                text=hover,
                marker={"size": size, "symbol": "square", "color": "rgba(0,0,0,0)"},
                hovertemplate="%{text}<br>" + label + "<extra></extra>",
            ),
            row=row,
            col=1,
        )
    if 1 <= k <= n:
        fig.add_trace(
            go.Scatter(
                x=[k],
                y=[jaccard[k - 1]],
                mode="markers",
                name="Δ_k",
                marker={"size": 11, "color": FOREGROUND_COLOR},
                hoverinfo="skip",
            ),
            row=2,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=[k],
                y=[running[k - 1]],
                mode="markers",
                name="loss so far",
                marker={"size": 11, "color": "#009E73"},
                hoverinfo="skip",
            ),
            row=4,
            col=1,
        )
        cursor = {
            "type": "line",
            "x0": k + 0.5,
            "x1": k + 0.5,
            "y0": 0,
            "y1": 1,
            "line": {"color": HIGHLIGHT_COLOR, "width": 1.5},
        }
        for row in range(1, 5):
            axis = "" if row == 1 else str(row)
            fig.add_shape(cursor | {"xref": f"x{axis}", "yref": f"y{axis} domain"})
    if threshold_rank is not None and 1 <= threshold_rank <= n:
        fig.add_vline(
            x=threshold_rank + 0.5,
            line={"color": "#CC79A7", "width": 2, "dash": "dash"},
            row=2,
            col=1,
            annotation_text=f"k* = #{{m > {threshold:g}}} = {threshold_rank}",
            annotation_position="bottom right",
            annotation_font_color="#CC79A7",
        )
    if selected_rank is not None and 1 <= selected_rank <= n:
        for row in (1, 3):
            y = errors_sorted[selected_rank - 1] if row == 1 else grad[selected_rank - 1]
            fig.add_trace(
                go.Scatter(
                    x=[selected_rank],
                    y=[y],
                    mode="markers",
                    name="selected pixel",
                    marker={
                        "symbol": "triangle-down",
                        "size": 14,
                        "color": "#F0E442",
                        "line": {"color": "black", "width": 1},
                    },
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
    fig.update_xaxes(range=[0.5, min(n, visible or n) + 0.5], gridcolor="#EEEEEE")
    fig.update_xaxes(title="rank i (1 = largest error)", row=4, col=1)
    fig.update_yaxes(gridcolor="#EEEEEE", zeroline=True, zerolinecolor="#999999")
    fig.update_layout(showlegend=False, bargap=0.05, clickmode="event+select", dragmode=False, hovermode="x")
    return _base_layout(fig, height, top=30)


# ------------------------------------------------------------------------------------------
# Page "Geometry of the extension"


def corner_set(corner: np.ndarray) -> str:
    """``"∅"`` or ``"{1,2}"``: the pixels (1-based) whose error is 1 at a corner of the cube."""
    members = [str(i + 1) for i, bit in enumerate(corner) if bit > 0.5]
    return "{" + ",".join(members) + "}" if members else "∅"


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

    Adds: the set function at the corners (labelled markers), the linear pieces extended over the
    whole square (translucent planes, given as ``(label, values, colour)``), the soft-Jaccard
    surface for comparison, and a probe point.
    """
    fig = go.Figure(
        go.Surface(
            x=grid,
            y=grid,
            z=values,
            name="Lovász extension",
            colorscale=SEQUENTIAL_SCALE,
            cmin=0,
            cmax=1,
            showscale=False,
            opacity=0.95,
            contours={"z": {"show": True, "width": 1, "color": "white"}},
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
                colorscale=[[0, "#999999"], [1, "#333333"]],
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
            name="Δ_J at the corners",
            marker={"size": 6, "color": HIGHLIGHT_COLOR},
            text=[f"Δ({corner_set(c)})={v:.2f}" for c, v in zip(corners, corner_values, strict=True)],
            textposition="top center",
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
                marker={"size": 8, "color": "#F0E442", "line": {"color": "black", "width": 2}},
            )
        )
    fig.update_layout(
        scene={
            "xaxis": {"title": axis_titles[0], "range": [0, 1]},
            "yaxis": {"title": axis_titles[1], "range": [0, 1]},
            "zaxis": {"title": "loss", "range": [0, 1.05]},
            "aspectmode": "cube",
            "camera": {"eye": {"x": 1.45, "y": -1.55, "z": 0.85}, "center": {"x": 0, "y": 0, "z": -0.08}},
        }
    )
    return _base_layout(fig, height)


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
                line={"color": HIGHLIGHT_COLOR, "width": 2, "dash": "dash"},
            )
        )
    if probe is not None:
        fig.add_trace(
            go.Scatter(
                x=[probe[0]],
                y=[probe[1]],
                mode="markers",
                name="probe",
                marker={"size": 14, "color": "#F0E442", "line": {"color": "black", "width": 2}},
            )
        )
    fig.update_xaxes(range=[0, 1], title=axis_titles[0], constrain="domain")
    fig.update_yaxes(range=[0, 1], title=axis_titles[1], scaleanchor="x", constrain="domain")
    return _base_layout(fig, height, legend=LEGEND_BELOW | {"y": -0.15})


def section_figure(
    t: np.ndarray, curves: Sequence[tuple[str, np.ndarray, str]], title: str, height: int = 300
) -> go.Figure:
    """Values of several functions along a segment of the square (``t`` from 0 to 1)."""
    fig = go.Figure()
    for name, values, color in curves:
        fig.add_trace(go.Scatter(x=t, y=values, mode="lines", name=name, line={"color": color, "width": 3}))
    fig.update_xaxes(title="position t along the segment", gridcolor="#DDDDDD")
    fig.update_yaxes(title="loss", gridcolor="#DDDDDD")
    return _base_layout(fig, height, title, legend=LEGEND_INSIDE)


def error_comparison_figure(
    softmax: np.ndarray, hinge: np.ndarray, fg: np.ndarray, height: int = 360
) -> go.Figure:
    """Hinge error vs softmax error of every pixel (``[H, W]`` arrays), coloured class c / not c.

    Dashed guides: softmax m = 0.5 and hinge m = 1, the thresholds between right and wrong.
    """
    fig = go.Figure()
    for mask, name, color in ((fg, "class c", FOREGROUND_COLOR), (~fg, "not c", BACKGROUND_COLOR)):
        fig.add_trace(
            go.Scatter(
                x=softmax[mask].ravel(),
                y=hinge[mask].ravel(),
                mode="markers",
                name=name,
                marker={"color": color, "size": 7, "opacity": 0.75, "line": {"color": "white", "width": 0.5}},
                hovertemplate="softmax m %{x:.3f}<br>hinge m %{y:.3f}<extra>" + name + "</extra>",
            )
        )
    fig.add_vline(x=0.5, line={"color": "#CC79A7", "dash": "dash", "width": 1.5})
    fig.add_hline(y=1.0, line={"color": "#CC79A7", "dash": "dash", "width": 1.5})
    fig.update_xaxes(title="softmax error |1[y=c] − p(c)|", range=[-0.02, 1.02], gridcolor="#DDDDDD")
    fig.update_yaxes(title="hinge error max(0, 1 − s·y*)", rangemode="tozero", gridcolor="#DDDDDD")
    return _base_layout(fig, height, legend=LEGEND_INSIDE | {"x": 0.01, "xanchor": "left"})
