"""Figures of the page "Live training": curves of every lane, predicted masks over the image,
and the per-class IoU table.

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
    REFERENCE_COLOR,
    class_color,
    loss_color,
)

PAST_DASHES = ("dot", "dash")  # past runs overlaid on the curves


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
        *[(name, frame, PAST_DASHES[i % 2], 0.6) for i, (name, frame) in enumerate(past)],
    ]
    for name, frame, dash, opacity in runs:
        if frame.empty:
            continue
        for key, lane in downsample_steps(frame).groupby("loss_key", sort=False):
            label = titles.get(key, key) + (f" · {name}" if name else "")
            style = {"color": loss_color(str(key)), "dash": dash, "width": 2.5 if not name else 2}
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
            fig.add_vline(x=warmup_steps, line={"color": REFERENCE_COLOR, "dash": "dash"}, row=1, col=col)
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
    fig.update_layout(height=320, margin=MARGIN, legend={"orientation": "h", "y": -0.25}, uirevision="curves")
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
