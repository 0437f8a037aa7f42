"""Figures of the page "Gradients: Lovász vs cross-entropy": gradient maps, histograms of the
per-pixel magnitude, and each class's share of the push against its share of the pixels.

Pure builders: numpy arrays in, plotly figures out; no Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.figures.common import MARGIN
from app.palette import (
    DIVERGING_SCALE,
    MARK_COLOR,
    POINT_CLOUD_COLOR,
    REFERENCE_COLOR,
    REGION_COLORS,
    TRANSPARENT,
    VOID_COLOR,
    loss_color,
)
from lovasz_core.lab.views.gradients import PixelView


# --------------------------------------------------------------------------- gradients page
def gradient_maps_figure(
    maps: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    boundary: np.ndarray | None = None,
    zmax: float | None = None,
    selected: tuple[int, int] | None = None,
    colorbar_title: str = "∂L/∂z_c",
    scales: Mapping[str, float] | None = None,
    void: np.ndarray | None = None,
) -> go.Figure:
    """Side-by-side signed maps ``[H, W]`` on a symmetric ``RdBu_r`` scale, clickable.

    Args:
        maps: ``{loss_key: [H, W]}`` signed values (e.g. ∂L/∂z_c), all the same shape.
        titles: panel title per loss key.
        boundary: optional ``[H, W]`` bool, ground-truth boundary pixels drawn as grey dots.
        zmax: half-width of the colour range; default max |value| over all maps (shared scale).
        selected: optional (row, col) pixel to ring in every panel.
        void: optional ``[H, W]`` bool, void pixels (left out of the loss) drawn in grey.
        scales: ``{loss_key: s}``, one half-width per map: each map is drawn as value / s on
            [−1, 1] and its title gives s (per-map scales); hovering still shows the value.

    Each panel carries a transparent scatter trace over all pixels (``customdata`` = [row, col]):
    heatmaps return no selection in ``st.plotly_chart(on_select=...)``, scatter points do.
    """
    keys = list(maps)
    if not keys:
        raise ValueError("`maps` must hold at least one map")
    height, width = next(iter(maps.values())).shape
    shown = {key: maps[key] for key in keys}
    names = [titles.get(k, k) for k in keys]
    if scales is not None:
        shown = {key: maps[key] / (scales[key] if scales[key] > 0 else 1.0) for key in keys}
        names = [
            f"{name}<br><sup>±{scales[key]:.1e} (own scale)</sup>"
            for name, key in zip(names, keys, strict=True)
        ]
        zmax = 1.0
    if zmax is None:
        zmax = max(float(np.abs(m).max()) for m in maps.values())
    zmax = zmax if zmax > 0 else 1.0
    fig = make_subplots(rows=1, cols=len(keys), subplot_titles=names, horizontal_spacing=0.02)
    rows, cols = np.mgrid[0:height, 0:width]
    custom = np.stack([rows.ravel(), cols.ravel()], axis=1)
    for i, key in enumerate(keys, start=1):
        fig.add_trace(go.Heatmap(z=shown[key], coloraxis="coloraxis", hoverinfo="skip"), row=1, col=i)
        if void is not None and void.any():
            fig.add_trace(
                go.Heatmap(
                    z=np.where(void, 1.0, np.nan),
                    colorscale=[[0.0, VOID_COLOR], [1.0, VOID_COLOR]],
                    showscale=False,
                    hoverinfo="skip",
                    name="void (255)",
                ),
                row=1,
                col=i,
            )
        if boundary is not None and boundary.any():
            by, bx = np.nonzero(boundary)
            fig.add_trace(
                go.Scatter(
                    x=bx,
                    y=by,
                    mode="markers",
                    hoverinfo="skip",
                    showlegend=False,
                    marker={"size": 2, "color": POINT_CLOUD_COLOR},
                ),
                row=1,
                col=i,
            )
        values = maps[key].ravel()
        fig.add_trace(
            go.Scatter(
                x=cols.ravel(),
                y=rows.ravel(),
                mode="markers",
                showlegend=False,
                name=key,
                customdata=custom,
                marker={"size": 6, "color": TRANSPARENT, "opacity": 0},
                text=[f"{v:+.2e}" for v in values],
                hovertemplate="row %{y}, col %{x}<br>%{text}<extra>" + titles.get(key, key) + "</extra>",
            ),
            row=1,
            col=i,
        )
        if selected is not None:
            fig.add_trace(
                go.Scatter(
                    x=[selected[1]],
                    y=[selected[0]],
                    mode="markers",
                    hoverinfo="skip",
                    showlegend=False,
                    marker={"size": 14, "symbol": "circle-open", "color": MARK_COLOR, "line": {"width": 2}},
                ),
                row=1,
                col=i,
            )
        fig.update_xaxes(range=[-0.5, width - 0.5], constrain="domain", row=1, col=i)
        anchor = "x" if i == 1 else f"x{i}"
        fig.update_yaxes(range=[height - 0.5, -0.5], scaleanchor=anchor, constrain="domain", row=1, col=i)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_layout(
        coloraxis={
            "colorscale": DIVERGING_SCALE,
            "cmin": -zmax,
            "cmax": zmax,
            "cmid": 0.0,
            "colorbar": {"title": {"text": colorbar_title}, "thickness": 12, "exponentformat": "e"},
        },
        margin={"l": 0, "r": 0, "t": 44 if scales is not None else 28, "b": 0},
        height=300,
        clickmode="event+select",
        dragmode=False,
    )
    return fig


def magnitude_histograms_figure(
    magnitudes: Mapping[str, np.ndarray],
    regions: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    bins: int = 30,
) -> go.Figure:
    """Histograms of log10 ‖∂L/∂z_i‖₂ (L2 over the classes) per region and loss.

    Regions: foreground, background, boundary.

    ``magnitudes``: ``{loss: [H, W]}``; ``regions``: ``{name: [H, W] bool}``. Each region's
    histogram is normalised to percent of that region's pixels, so regions of very different
    sizes compare; the legend says how many pixels each region holds.
    """
    keys = list(magnitudes)
    fig = make_subplots(
        rows=1, cols=len(keys), subplot_titles=[titles.get(k, k) for k in keys], horizontal_spacing=0.04
    )
    for i, key in enumerate(keys, start=1):
        logs = np.log10(np.maximum(magnitudes[key], 1e-12))
        edges = np.linspace(float(logs.min()), float(logs.max()) + 1e-9, bins + 1)
        for name, region in regions.items():
            xbins = {"start": edges[0], "end": edges[-1], "size": edges[1] - edges[0]}
            fig.add_trace(
                go.Histogram(
                    x=logs[region],
                    xbins=xbins,
                    histnorm="percent",
                    legendgroup=name,
                    name=f"{name} ({int(region.sum())} px)",
                    showlegend=i == 1,
                    marker_color=REGION_COLORS.get(name, REFERENCE_COLOR),
                    opacity=0.55,
                ),
                row=1,
                col=i,
            )
        fig.update_xaxes(title_text="log10 ‖∂L/∂z_i‖₂", row=1, col=i)
    fig.update_yaxes(title_text="% of the region's pixels", row=1, col=1)
    fig.update_layout(barmode="overlay", height=280, margin=MARGIN, legend={"orientation": "h", "y": -0.35})
    return fig


def push_share_figure(
    sweep: Mapping[str, np.ndarray], titles: Mapping[str, str], current_fraction: float | None = None
) -> go.Figure:
    """Share of the total gradient mass on the small class vs the small class's share of pixels.

    ``sweep``: ``{"fraction": [R], loss_key: [R]}`` as from ``lovasz_core.lab.gradients.push_vs_size``.
    The dashed diagonal y = x is "push proportional to size" (what cross-entropy does).
    """
    fraction = 100 * np.asarray(sweep["fraction"])
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=fraction,
            y=fraction,
            mode="lines",
            name="∝ size (y = x)",
            line={"color": REFERENCE_COLOR, "dash": "dash"},
        )
    )
    for key, share in sweep.items():
        if key in ("fraction", "radius"):
            continue
        fig.add_trace(
            go.Scatter(
                x=fraction,
                y=100 * np.asarray(share),
                mode="lines+markers",
                name=titles.get(key, key),
                line={"color": loss_color(key), "width": 3},
            )
        )
    if current_fraction is not None:
        fig.add_vline(
            x=100 * current_fraction,
            line={"color": MARK_COLOR, "dash": "dot"},
            annotation_text="this image",
            annotation_position="bottom right",
        )
    ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    labels = [f"{t:g}%" for t in ticks]
    log_range = np.log10([0.8 * fraction.min(), 1.25 * fraction.max()]).tolist()
    fig.update_xaxes(
        title_text="small class: share of the pixels",
        type="log",
        range=log_range,
        tickvals=ticks,
        ticktext=labels,
    )
    fig.update_yaxes(title_text="share of the push Σ‖∂L/∂z_i‖₁", type="log", tickvals=ticks, ticktext=labels)
    fig.update_layout(height=330, margin=MARGIN, legend={"orientation": "h", "y": -0.3})
    return fig


def pixel_table(pixel: PixelView, class_names: Sequence[str]) -> pd.DataFrame:
    """The selected pixel's numbers as a table of text, one row per loss: ∂L/∂z per class (signed),
    the L2 norm ‖∂L/∂z_i‖₂ over the classes, its rank among all pixels and its ratio to the median."""
    rows = []
    for row in pixel.rows:
        entry: dict[str, str] = {"loss": row.label}
        for name, value in zip(class_names, row.grad, strict=True):
            entry[f"∂L/∂z[{name}]"] = f"{value:+.3e}"
        entry["‖∂L/∂z‖₂"] = f"{row.norm:.3e}"
        entry["rank of ‖∂L/∂z‖₂"] = f"{row.rank} / {row.pixels}"
        entry["× median pixel"] = f"{row.times_median:.1f}×"
        rows.append(entry)
    return pd.DataFrame(rows).set_index("loss")
