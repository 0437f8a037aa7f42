"""Figures of the page "Sorting errors": pixel maps with the prefix outlined, the four linked
rank panels (sorted errors, Δ of each prefix, g, running loss), hinge vs softmax errors.

Pure builders: numpy arrays in, plotly figures out; no Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.figures.common import (
    FADED,
    LEGEND_INSIDE,
    base_layout,
    click_layer,
    discrete_colorscale,
    image_axes,
    outline_trace,
)
from app.palette import (
    FAINT_GRID_COLOR,
    FALSE_NEGATIVE_COLOR,
    FALSE_POSITIVE_COLOR,
    GRID_COLOR,
    MARK_COLOR,
    PLOT_BACKGROUND,
    REFERENCE_COLOR,
    SELECTED_FILL,
    SEQUENTIAL_SCALE,
    TRANSPARENT,
    TRUE_NEGATIVE_COLOR,
    VOID_COLOR,
    class_color,
    loss_color,
)

PIXEL_MAP_KINDS = {
    "fg": {
        "colorscale": discrete_colorscale([TRUE_NEGATIVE_COLOR, class_color(1)]),
        "zmin": -0.5,
        "zmax": 1.5,
        "showscale": False,
    },
    "errors": {"colorscale": SEQUENTIAL_SCALE, "zmin": 0.0, "zmax": 1.0, "showscale": True},
    "weights": {"colorscale": SEQUENTIAL_SCALE, "zmin": 0.0, "showscale": True},
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
    class_index: int = 1,
    void: np.ndarray | None = None,
) -> go.Figure:
    """A clickable ``[H, W]`` map: ``kind`` is ``"fg"`` (ground truth), ``"errors"`` (Viridis,
    0..max(1, m)) or ``"weights"`` (g ≥ 0, sequential from 0).

    Overlays: the outline of the ground-truth class (white dashed), the outline of the prefix set
    (the k largest errors, black), the selected pixel (ring), and the click layer.
    """
    if kind not in PIXEL_MAP_KINDS:
        raise ValueError(f"`kind` must be one of {list(PIXEL_MAP_KINDS)}, got {kind!r}")
    style = dict(PIXEL_MAP_KINDS[kind])
    if kind == "fg":  # class c in its own colour, everything else as true negatives
        style["colorscale"] = discrete_colorscale([TRUE_NEGATIVE_COLOR, class_color(class_index)])
    z = values.astype(float)
    if kind == "errors":
        style["zmax"] = max(1.0, float(z.max()))
    if kind == "contributions":
        style["zmax"] = max(float(z.max()), 1e-9)
    if kind == "weights":
        style["zmax"] = max(float(z.max()), 1e-9)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            name=kind,
            hoverinfo="skip",
            colorbar={"thickness": 12, "len": 0.9} if style.get("showscale") else None,
            **style,
        )
    )
    outline_color = PLOT_BACKGROUND if kind != "fg" else MARK_COLOR
    fig.add_trace(outline_trace(fg, "ground truth of c", color=outline_color, width=2.0, dash="dot"))
    if void is not None and void.any():  # void pixels in grey, whatever the map shows
        fig.add_trace(
            go.Heatmap(
                z=np.where(void, 1.0, np.nan),
                name="void (255)",
                colorscale=discrete_colorscale([VOID_COLOR, VOID_COLOR]),
                showscale=False,
                hoverinfo="skip",
            )
        )
    if prefix is not None and prefix.any():
        # thinner when the prefix covers much of the image, so the outline does not hide the map
        width = 3.5 if prefix.mean() <= 0.1 else 1.5
        fig.add_trace(outline_trace(prefix, "the k largest errors", color=MARK_COLOR, width=width))
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
                    "color": SELECTED_FILL,
                    "line": {"width": 4, "color": SELECTED_FILL},
                },
            )
        )
    fig.add_trace(click_layer(z.shape, hover))
    image_axes(fig, z.shape)
    fig.update_layout(showlegend=False, clickmode="event+select", dragmode=False)
    return base_layout(fig, height, title)


BAR_WIDTH = 0.95  # in ranks: a gap of 0.05 between neighbouring bars


def _add_fg_bg_bars(
    fig: go.Figure,
    row: int,
    ranks: np.ndarray,
    values: np.ndarray,
    fg: np.ndarray,
    opacity: np.ndarray,
    symbol: str,
    number_format: str,
) -> None:
    """Bars of ``values`` [P] at ``ranks`` [P] in panel ``row``: one trace for the pixels of class c
    (false-negative colour), one for the others (false-positive colour), each with one colour
    string. (A colour per bar makes plotly validate P strings on the server, 80 ms for 4,096;
    numbers on a colour scale make plotly.js log an "Invalid color specifier" for every bar on
    every draw.) Overlaid with the bar width fixed, they look like one trace of two colours."""
    for members, color, who in ((fg, FALSE_NEGATIVE_COLOR, "class c"), (~fg, FALSE_POSITIVE_COLOR, "not c")):
        fig.add_trace(
            go.Bar(
                x=ranks[members],
                y=values[members],
                width=BAR_WIDTH,
                marker={"color": color, "opacity": opacity[members]},
                customdata=ranks[members],
                name=f"{symbol}, {who}",
                hovertemplate=f"rank %{{x}}: {who}<br>{symbol} = %{{y:{number_format}}}<extra></extra>",
            ),
            row=row,
            col=1,
        )


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

    1. sorted errors m_π(i) (bars: a pixel of c in the false-negative colour, another pixel in the
       false-positive colour: what each is when its error is large);
    2. Δ_i, the Jaccard loss of the prefix set {π1..πi} (line);
    3. the Jaccard gradients g_i = Δ_i − Δ_{i−1} (bars);
    4. the running loss Σ_{j≤i} m_π(j) g_j, ending at the Lovász loss.

    Ranks after k are faded. Transparent markers named ``"ranks"`` sit on the bars of ① and ③
    with ``customdata = (rank, value)``: clicking one selects that rank.
    ``visible`` limits the x axis to the first ranks (where the errors are), ``None`` shows all.
    """
    n = len(errors_sorted)
    ranks = np.arange(1, n + 1)
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
            "④ running loss Σ m·g (reaches the Lovász loss at rank P)",
        ),
    )
    for title in fig.layout.annotations:
        title.update(x=0.0, xanchor="left", font_size=14)
    fg = np.asarray(fg_sorted, dtype=bool)
    hover = [f"rank {i}: {'class c' if f else 'not c'}" for i, f in zip(ranks, fg, strict=True)]
    _add_fg_bg_bars(fig, 1, ranks, errors_sorted, fg, opacity, "m", ".3f")
    fig.add_trace(
        go.Scatter(
            x=ranks,
            y=jaccard,
            mode="lines",
            name="Δ prefix",
            line={"color": MARK_COLOR, "width": 2, "shape": "hv"},
            hovertemplate="rank %{x}: Δ = %{y:.3f}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    _add_fg_bg_bars(fig, 3, ranks, grad, fg, opacity, "g", ".4f")
    running = np.cumsum(errors_sorted * grad)
    fig.add_trace(
        go.Scatter(
            x=ranks,
            y=running,
            mode="lines",
            name="running loss",
            line={"color": loss_color("lovasz_softmax"), "width": 3},
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
                marker={"size": size, "symbol": "square", "color": TRANSPARENT},
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
                marker={"size": 11, "color": MARK_COLOR},
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
                marker={"size": 11, "color": loss_color("lovasz_softmax")},
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
            "line": {"color": MARK_COLOR, "width": 1.5},
        }
        for row in range(1, 5):
            axis = "" if row == 1 else str(row)
            fig.add_shape(cursor | {"xref": f"x{axis}", "yref": f"y{axis} domain"})
    if threshold_rank is not None and 1 <= threshold_rank <= n:
        fig.add_vline(
            x=threshold_rank + 0.5,
            line={"color": REFERENCE_COLOR, "width": 2, "dash": "dash"},
            row=2,
            col=1,
            annotation_text=f"k* = #{{m > {threshold:g}}} = {threshold_rank}",
            annotation_position="bottom right",
            annotation_font_color=MARK_COLOR,
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
                        "color": SELECTED_FILL,
                        "line": {"color": MARK_COLOR, "width": 1.5},
                    },
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
    total = float(running[-1]) if n else 0.0
    fig.add_hline(
        y=total,
        line={"color": REFERENCE_COLOR, "width": 1.5, "dash": "dash"},
        row=4,
        col=1,
        annotation_text=f"Lovász loss = {total:.4f}",
        annotation_position="top left",
    )
    if visible is not None and visible < n:
        rest = total - float(running[visible - 1])
        fig.add_annotation(
            text=f"ranks {visible + 1}–{n} not shown: they add {rest:.4f}",
            xref="x4 domain",
            yref="y4 domain",
            x=1.0,
            y=0.05,
            xanchor="right",
            showarrow=False,
            font={"color": MARK_COLOR},
        )
    fig.update_xaxes(range=[0.5, min(n, visible or n) + 0.5], gridcolor=FAINT_GRID_COLOR)
    fig.update_xaxes(title="rank i (1 = largest error)", row=4, col=1)
    fig.update_yaxes(gridcolor=FAINT_GRID_COLOR, zeroline=True, zerolinecolor=REFERENCE_COLOR)
    fig.update_layout(
        showlegend=False, barmode="overlay", clickmode="event+select", dragmode=False, hovermode="x"
    )
    return base_layout(fig, height, top=30)


def error_comparison_figure(
    softmax: np.ndarray, hinge: np.ndarray, fg: np.ndarray, height: int = 360
) -> go.Figure:
    """Hinge error vs softmax error of every pixel (``[H, W]`` arrays), coloured class c / not c.

    Dashed guides: softmax m = 0.5 and hinge m = 1, the thresholds between right and wrong.
    """
    fig = go.Figure()
    for mask, name, color in (
        (fg, "pixel of c (false negative if wrong)", FALSE_NEGATIVE_COLOR),
        (~fg, "other pixel (false positive if wrong)", FALSE_POSITIVE_COLOR),
    ):
        fig.add_trace(
            go.Scatter(
                x=softmax[mask].ravel(),
                y=hinge[mask].ravel(),
                mode="markers",
                name=name,
                marker={
                    "color": color,
                    "size": 7,
                    "opacity": 0.75,
                    "line": {"color": PLOT_BACKGROUND, "width": 0.5},
                },
                hovertemplate="softmax m %{x:.3f}<br>hinge m %{y:.3f}<extra>" + name + "</extra>",
            )
        )
    fig.add_vline(x=0.5, line={"color": REFERENCE_COLOR, "dash": "dash", "width": 1.5})
    fig.add_hline(y=1.0, line={"color": REFERENCE_COLOR, "dash": "dash", "width": 1.5})
    fig.update_xaxes(title="softmax error |1[y=c] − p(c)|", range=[-0.02, 1.02], gridcolor=GRID_COLOR)
    fig.update_yaxes(title="hinge error max(0, 1 − s·y*)", rangemode="tozero", gridcolor=GRID_COLOR)
    return base_layout(fig, height, legend=LEGEND_INSIDE | {"x": 0.01, "xanchor": "left"})
