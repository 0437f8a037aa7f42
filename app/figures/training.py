"""Figures of the page "Live training": curves of every lane, predicted masks over the image,
and the per-class IoU table.

Pure builders: numpy arrays in, plotly figures out; no Streamlit calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.figures.common import MARGIN
from app.palette import (
    MARK_COLOR,
    REFERENCE_COLOR,
    class_color,
    loss_color,
)
from lovasz_core.lab.views.live_training import LaneView
from lovasz_core.lab.void import VOID

PAST_DASHES = ("dot", "dash")  # past runs overlaid on the curves
VOID_OVERLAY = REFERENCE_COLOR  # void pixels (255) in the mask pictures: grey, "not counted"


def downsample_steps(frame: pd.DataFrame, max_points: int = 200) -> pd.DataFrame:
    """Keep at most ``max_points`` evenly spaced steps per lane (always the last one)."""
    if frame.empty:
        return frame
    last = int(frame["step"].max())
    stride = max(1, -(-(last + 1) // max_points))
    return frame[(frame["step"] % stride == 0) | (frame["step"] == last)]


GAP_TICKS = (0.001, 0.01, 0.1, 1.0)


def training_curves_figure(
    current: pd.DataFrame | Mapping[str, object],
    titles: Mapping[str, str],
    total_steps: int | None = None,
    warmup_steps: int | None = None,
    past: Sequence[tuple[str, pd.DataFrame | Mapping[str, object]]] = (),
    rare_class: str | None = None,
) -> go.Figure:
    """Loss and the IoU gap of every lane against the step, shared x axes.

    ``current`` and each past run have columns ``step, loss_key, loss`` and either ``gap_mean``
    (1 − mean IoU, and ``gap_rare`` when ``rare_class`` names the rarest class: a third panel),
    drawn on log axes where lanes near IoU 1 separate, or ``mean_iou`` on a linear axis. Past runs
    are overlaid thinner, dotted/dashed, each under its own legend heading; a vertical line marks
    the fine-tune switch from CE to each lane's own loss.
    """
    current = pd.DataFrame(current)
    gaps = "gap_mean" in current.columns
    panels = [("loss", "Loss (each lane's own objective, log)")]
    if gaps:
        panels.append(("gap_mean", "1 − mean IoU (log; lower is better)"))
        if rare_class is not None and "gap_rare" in current.columns:
            panels.append(("gap_rare", f"1 − IoU of the rarest class, {rare_class} (log)"))
    else:
        panels.append(("mean_iou", "Mean IoU"))
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[title for _, title in panels], horizontal_spacing=0.07
    )
    runs = [
        ("This run", current, "solid", 2.5),
        *[
            (f"{name} ({PAST_DASHES[i % 2]})", pd.DataFrame(frame), PAST_DASHES[i % 2], 1.6)
            for i, (name, frame) in enumerate(past)
        ],
    ]
    for heading, frame, dash, width in runs:
        if frame.empty:
            continue
        for key, lane in downsample_steps(frame).groupby("loss_key", sort=False):
            style = {"color": loss_color(str(key)), "dash": dash, "width": width}
            for col, (column, _) in enumerate(panels, start=1):
                if column not in lane.columns:
                    continue
                fig.add_trace(
                    go.Scatter(
                        x=lane["step"],
                        y=lane[column],
                        mode="lines",
                        name=titles.get(str(key), str(key)),
                        legendgroup=heading,
                        legendgrouptitle_text=heading,
                        showlegend=col == 1,
                        line=style,
                        hovertemplate=f"step %{{x}}: %{{y:.3g}}<extra>{heading}</extra>",
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
    fig.update_yaxes(type="log", dtick=1, exponentformat="none", row=1, col=1)
    for col, (column, _) in enumerate(panels[1:], start=2):
        if column == "mean_iou":
            fig.update_yaxes(range=[0, 1.02], row=1, col=col)
        else:
            fig.update_yaxes(
                type="log",
                range=[math.log10(GAP_TICKS[0]) - 0.1, 0.05],
                tickvals=list(GAP_TICKS),
                ticktext=[f"≤ {GAP_TICKS[0]:g}", *[f"{t:g}" for t in GAP_TICKS[1:]]],
                row=1,
                col=col,
            )
    fig.update_layout(
        height=360,
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.22, "groupclick": "toggleitem"},
        uirevision="curves",
    )
    return fig


def mask_overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.65) -> np.ndarray:
    """RGB uint8 ``[H, W, 3]``: class colours of ``mask [H, W]`` blended over the image in grey.

    ``image`` is ``[H, W]`` or ``[H, W, 3]`` in [0, 1]; colour images are shown by their mean
    brightness so that only the classes carry colour. Void pixels (255) are grey (``VOID_OVERLAY``).
    """
    brightness = image.mean(axis=2) if image.ndim == 3 else image
    grey = np.repeat(brightness[..., None], 3, axis=2)
    void = mask == VOID
    classes = np.where(void, 0, mask)
    palette = np.array(
        [[int(class_color(c)[i : i + 2], 16) for i in (1, 3, 5)] for c in range(int(classes.max()) + 1)],
        dtype=np.float64,
    )
    colours = palette[classes]
    colours[void] = [int(VOID_OVERLAY[i : i + 2], 16) for i in (1, 3, 5)]
    blended = (1 - alpha) * 255 * grey + alpha * colours
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


def lanes_table(lanes: Sequence[LaneView], class_names: Sequence[str]) -> pd.DataFrame:
    """One row per lane (its name): step, loss, mean IoU, IoU per class, steps/s, as short text."""
    rows = []
    for lane in lanes:
        entry = {
            "lane": lane.label,
            "step": str(lane.step),
            "loss": _number(lane.loss),
            "mean IoU": _number(lane.mean_iou),
        }
        for name, value in zip(class_names, lane.class_iou, strict=True):
            entry[f"IoU {name}"] = _number(value)
        entry["steps/s"] = "–" if math.isnan(lane.steps_per_second) else f"{lane.steps_per_second:.0f}"
        if lane.status == "diverged":
            entry["step"] += " (diverged)"
        rows.append(entry)
    return pd.DataFrame(rows).set_index("lane")


def _number(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.3f}"


def image_rgb(image: np.ndarray) -> np.ndarray:
    """RGB uint8 ``[H, W, 3]`` of an image ``[H, W]`` (grey) or ``[H, W, 3]`` in [0, 1]."""
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    return np.clip(np.round(255 * rgb), 0, 255).astype(np.uint8)


def outlined(rgb: np.ndarray, mask: np.ndarray, cls: int, min_side: int = 192) -> np.ndarray:
    """``upscale(rgb)`` with a ring in ``MARK_COLOR`` around the pixels of class ``cls`` in ``mask``.

    The ring is drawn on the enlarged image, just outside the class's pixels, so that a class of
    a few pixels (the rare class) stands out without hiding its own colour.
    """
    big = upscale(rgb, min_side)
    factor = big.shape[0] // max(mask.shape[0], 1)
    inside = np.repeat(np.repeat(mask == cls, factor, axis=0), factor, axis=1)
    near = np.zeros_like(inside)
    near[1:, :] |= inside[:-1, :]
    near[:-1, :] |= inside[1:, :]
    near[:, 1:] |= inside[:, :-1]
    near[:, :-1] |= inside[:, 1:]
    ring = near & ~inside
    out = big.copy()
    out[ring] = [int(MARK_COLOR[i : i + 2], 16) for i in (1, 3, 5)]
    return out
