"""Pure figure builders of the "Gradients" and "Live training" pages: arrays → plotly figures.

No ``st.*`` call here: every function takes numpy arrays / pandas frames and returns a
``plotly.graph_objects.Figure`` or a ``pandas.DataFrame``, so each is unit-tested alone.
Colours come from ``app/palette.py`` (losses: ``LOSS_COLORS``, classes: ``CLASS_COLORS``,
signed gradients: ``DIVERGING_SCALE`` on a symmetric range).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.palette import DIVERGING_SCALE, LOSS_COLORS, class_color

__all__ = [
    "REGION_COLORS",
    "class_iou_table",
    "downsample_steps",
    "gradient_maps_figure",
    "magnitude_histograms_figure",
    "mask_overlay",
    "masks_figure",
    "pixel_numbers",
    "push_share_figure",
    "training_curves_figure",
    "upscale",
]

REGION_COLORS: dict[str, str] = {"foreground": "#D55E00", "background": "#56B4E9", "boundary": "#000000"}
_PAST_DASHES = ("dot", "dash")
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def _loss_color(key: str) -> str:
    return LOSS_COLORS.get(key, "#666666")


# --------------------------------------------------------------------------- gradients page
def gradient_maps_figure(
    maps: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    boundary: np.ndarray | None = None,
    zmax: float | None = None,
    selected: tuple[int, int] | None = None,
    colorbar_title: str = "∂L/∂z_c",
) -> go.Figure:
    """Side-by-side signed maps ``[H, W]`` on one symmetric ``RdBu_r`` scale, clickable.

    Args:
        maps: ``{loss_key: [H, W]}`` signed values (e.g. ∂L/∂z_c), all the same shape.
        titles: panel title per loss key.
        boundary: optional ``[H, W]`` bool, ground-truth boundary pixels drawn as grey dots.
        zmax: half-width of the colour range; default max |value| over all maps (shared scale).
        selected: optional (row, col) pixel to ring in every panel.

    Each panel carries a transparent scatter trace over all pixels (``customdata`` = [row, col]):
    heatmaps return no selection in ``st.plotly_chart(on_select=...)``, scatter points do.
    """
    keys = list(maps)
    if not keys:
        raise ValueError("`maps` must hold at least one map")
    height, width = next(iter(maps.values())).shape
    if zmax is None:
        zmax = max(float(np.abs(m).max()) for m in maps.values())
    zmax = zmax if zmax > 0 else 1.0
    fig = make_subplots(
        rows=1, cols=len(keys), subplot_titles=[titles.get(k, k) for k in keys], horizontal_spacing=0.02
    )
    rows, cols = np.mgrid[0:height, 0:width]
    custom = np.stack([rows.ravel(), cols.ravel()], axis=1)
    for i, key in enumerate(keys, start=1):
        fig.add_trace(go.Heatmap(z=maps[key], coloraxis="coloraxis", hoverinfo="skip"), row=1, col=i)
        if boundary is not None and boundary.any():
            by, bx = np.nonzero(boundary)
            fig.add_trace(
                go.Scatter(
                    x=bx,
                    y=by,
                    mode="markers",
                    hoverinfo="skip",
                    showlegend=False,
                    marker={"size": 2, "color": "rgba(60,60,60,0.55)"},
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
                marker={"size": 6, "color": "rgba(0,0,0,0)", "opacity": 0},
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
                    marker={"size": 14, "symbol": "circle-open", "color": "#000000", "line": {"width": 2}},
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
        margin={"l": 0, "r": 0, "t": 28, "b": 0},
        height=290,
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
    """Histograms of log10 ‖∂L/∂z_i‖ on each region (foreground, background, boundary), per loss.

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
                    marker_color=REGION_COLORS.get(name, "#888888"),
                    opacity=0.55,
                ),
                row=1,
                col=i,
            )
        fig.update_xaxes(title_text="log10 ‖∂L/∂z‖", row=1, col=i)
    fig.update_yaxes(title_text="% of the region's pixels", row=1, col=1)
    fig.update_layout(barmode="overlay", height=280, margin=_MARGIN, legend={"orientation": "h", "y": -0.35})
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
            line={"color": "#999999", "dash": "dash"},
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
                line={"color": _loss_color(key), "width": 3},
            )
        )
    if current_fraction is not None:
        fig.add_vline(
            x=100 * current_fraction,
            line={"color": "#000000", "dash": "dot"},
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
    fig.update_yaxes(
        title_text="share of the total gradient push", type="log", tickvals=ticks, ticktext=labels
    )
    fig.update_layout(height=330, margin=_MARGIN, legend={"orientation": "h", "y": -0.3})
    return fig


def pixel_numbers(
    row: int,
    col: int,
    grads: Mapping[str, np.ndarray],
    probabilities: np.ndarray,
    label: int,
    class_names: Sequence[str],
    titles: Mapping[str, str],
) -> pd.DataFrame:
    """The numbers of one pixel for every loss: ∂L/∂z_c per class, ‖∂L/∂z‖ and its rank.

    ``grads``: ``{loss: [C, H, W]}``; ``probabilities``: ``[C, H, W]``; ``label``: true class.
    Rank 1 = the pixel with the largest gradient magnitude under that loss.
    """
    rows = []
    for key, grad in grads.items():
        magnitude = np.linalg.norm(grad, axis=0)
        value = float(magnitude[row, col])
        entry: dict[str, object] = {"loss": titles.get(key, key)}
        for c, name in enumerate(class_names):
            entry[f"∂L/∂z[{name}]"] = float(grad[c, row, col])
        entry["‖∂L/∂z‖"] = value
        entry["rank of ‖∂L/∂z‖"] = f"{int((magnitude > value).sum()) + 1} / {magnitude.size}"
        entry["× median pixel"] = value / max(float(np.median(magnitude)), 1e-30)
        rows.append(entry)
    frame = pd.DataFrame(rows).set_index("loss")
    frame.attrs["p_true"] = float(probabilities[label, row, col])
    return frame


# --------------------------------------------------------------------------- training page
def downsample_steps(frame: pd.DataFrame, max_points: int = 200) -> pd.DataFrame:
    """Keep at most ``max_points`` evenly spaced steps per lane (always the last one)."""
    if frame.empty:
        return frame
    last = int(frame["step"].max())
    stride = max(1, -(-(last + 1) // max_points))
    return frame[(frame["step"] % stride == 0) | (frame["step"] == last)]


def training_curves_figure(
    current: pd.DataFrame,
    titles: Mapping[str, str],
    total_steps: int | None = None,
    warmup_steps: int | None = None,
    past: Sequence[tuple[str, pd.DataFrame]] = (),
    rare_class: str | None = None,
) -> go.Figure:
    """Loss, mean IoU and (optionally) the rarest class's IoU vs step for every lane, shared axes.

    ``current`` and each past frame have columns ``step, loss_key, loss, mean_iou`` (and
    ``rare_iou`` when ``rare_class`` names the rarest class: a third panel). Past runs are
    overlaid dotted/dashed and labelled with their name; a vertical line marks the fine-tune
    switch from CE to each lane's own loss.
    """
    panels = [("loss", "Loss (each lane's own objective)"), ("mean_iou", "Mean IoU")]
    if rare_class is not None and "rare_iou" in current.columns:
        panels.append(("rare_iou", f"IoU of the rarest class ({rare_class})"))
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[title for _, title in panels], horizontal_spacing=0.06
    )
    runs = [
        ("", current, "solid", 1.0),
        *[(name, frame, _PAST_DASHES[i % 2], 0.6) for i, (name, frame) in enumerate(past)],
    ]
    for name, frame, dash, opacity in runs:
        if frame.empty:
            continue
        for key, lane in downsample_steps(frame).groupby("loss_key", sort=False):
            label = titles.get(key, key) + (f" · {name}" if name else "")
            style = {"color": _loss_color(str(key)), "dash": dash, "width": 2.5 if not name else 2}
            for col, (column, _) in enumerate(panels, start=1):
                if column not in lane.columns:
                    continue
                fig.add_trace(
                    go.Scatter(
                        x=lane["step"],
                        y=lane[column],
                        mode="lines",
                        name=label,
                        legendgroup=label,
                        showlegend=col == 1,
                        line=style,
                        opacity=opacity,
                    ),
                    row=1,
                    col=col,
                )
    if warmup_steps:
        for col in range(1, len(panels) + 1):
            fig.add_vline(x=warmup_steps, line={"color": "#444444", "dash": "dash"}, row=1, col=col)
        fig.add_annotation(
            x=warmup_steps,
            y=1.0,
            yref="y2 domain",
            xref="x2",
            text="switch from CE",
            showarrow=False,
            xanchor="left",
            yanchor="top",
        )
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    for col in range(2, len(panels) + 1):
        fig.update_yaxes(range=[0, 1.02], row=1, col=col)
    fig.update_layout(
        height=320, margin=_MARGIN, legend={"orientation": "h", "y": -0.25}, uirevision="curves"
    )
    return fig


def mask_overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.65) -> np.ndarray:
    """RGB uint8 ``[H, W, 3]``: class colours of ``mask [H, W]`` blended over the image in grey.

    ``image`` is ``[H, W]`` or ``[H, W, 3]`` in [0, 1]; colour images are shown by their mean
    brightness so that only the classes carry colour.
    """
    brightness = image.mean(axis=2) if image.ndim == 3 else image
    grey = np.repeat(brightness[..., None], 3, axis=2)
    palette = np.array(
        [[int(class_color(c)[i : i + 2], 16) for i in (1, 3, 5)] for c in range(int(mask.max()) + 1)],
        dtype=np.float64,
    )
    blended = (1 - alpha) * 255 * grey + alpha * palette[mask]
    return np.clip(blended, 0, 255).astype(np.uint8)


def upscale(rgb: np.ndarray, min_side: int = 192) -> np.ndarray:
    """Nearest-neighbour enlargement of ``[H, W, 3]`` so that its side is ≥ ``min_side`` (crisp pixels)."""
    factor = max(1, -(-min_side // max(rgb.shape[0], 1)))
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def masks_figure(image: np.ndarray, panels: Mapping[str, np.ndarray], titles: Mapping[str, str]) -> go.Figure:
    """Masks side by side (ground truth first), each blended over the image in class colours."""
    keys = list(panels)
    fig = make_subplots(
        rows=1, cols=len(keys), subplot_titles=[titles.get(k, k) for k in keys], horizontal_spacing=0.015
    )
    for i, key in enumerate(keys, start=1):
        fig.add_trace(go.Image(z=mask_overlay(image, panels[key]), hoverinfo="skip"), row=1, col=i)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_layout(height=250, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return fig


def class_iou_table(
    latest: pd.DataFrame,
    class_names: Sequence[str],
    titles: Mapping[str, str],
    steps_per_second: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per lane: its last step, loss, mean IoU and IoU of each class (columns ``iou_<name>``)."""
    columns = {"step": "step", "loss": "loss", "mean_iou": "mean IoU"}
    columns.update({f"iou_{name}": f"IoU {name}" for name in class_names})
    table = latest[["loss_key", *columns]].rename(columns=columns)
    table.insert(0, "lane", [titles.get(k, k) for k in table["loss_key"]])
    if steps_per_second is not None:
        table["steps/s"] = [steps_per_second.get(k, float("nan")) for k in table["loss_key"]]
    return table.drop(columns="loss_key").set_index("lane")
