"""Figures of the page "Training on a data set": validation and batch curves of every lane, the
batch-size sweep, label maps with void pixels, and the tables.

Pure builders: numpy arrays in, plotly figures or data frames out; no Streamlit calls. A lane
has its colour everywhere (:func:`app.palette.loss_color`); a class has its colour in every map.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.figures.common import FONT, MARGIN
from app.palette import REFERENCE_COLOR, VOID_COLOR, class_color, loss_color
from lovasz_core.lab.views.dataset_training import BATCH_WINDOW, BatchSweep, DataSummary, LaneNow

VOID = 255


def _rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


def label_overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.65) -> np.ndarray:
    """RGB uint8 ``[H, W, 3]``: class colours of ``mask`` over the image's brightness; void in its colour.

    ``image`` ``[H, W, 3]`` in [0, 1]; ``mask`` ``[H, W]`` class indices or 255 (void, drawn
    opaque in ``VOID_COLOR``).
    """
    brightness = image.mean(axis=2) if image.ndim == 3 else image
    grey = 255 * np.repeat(brightness[..., None], 3, axis=2)
    void = mask == VOID
    classes = np.where(void, 0, mask)
    palette = np.array([_rgb(class_color(c)) for c in range(int(classes.max()) + 1)], dtype=np.float64)
    blended = (1 - alpha) * grey + alpha * palette[classes]
    blended[void] = _rgb(VOID_COLOR)
    return np.clip(blended, 0, 255).astype(np.uint8)


def image_rgb(image: np.ndarray) -> np.ndarray:
    """RGB uint8 of an ``[H, W, 3]`` image in [0, 1]."""
    return np.clip(np.round(255 * image), 0, 255).astype(np.uint8)


def upscale(rgb: np.ndarray, min_side: int = 128) -> np.ndarray:
    """Nearest-neighbour enlargement so that the side is ≥ ``min_side`` (crisp pixels)."""
    factor = max(1, -(-min_side // max(rgb.shape[0], 1)))
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def curves_figure(
    val: Mapping[str, np.ndarray],
    batches: Mapping[str, np.ndarray],
    titles: Mapping[str, str],
    total_steps: int,
    rare_name: str | None,
) -> go.Figure:
    """Validation data-set mIoU, mean per-image IoU, the rare class's IoU and the training batch mIoU.

    ``val`` columns ``step, lane, dataset_miou, image_miou, rare_iou``; ``batches`` columns
    ``step, lane, batch_miou`` (already averaged over ``BATCH_WINDOW`` steps). One colour per
    lane in every panel; the legend lists each lane once.
    """
    panels = [
        ("val", "dataset_miou", "Validation: data-set mIoU (one confusion matrix)"),
        ("val", "image_miou", "Validation: mean per-image IoU"),
    ]
    if rare_name is not None:
        panels.append(("val", "rare_iou", f"Validation: IoU of the rare class ({rare_name})"))
    panels.append(("batches", "batch_miou", f"Training batches: batch mIoU (mean of last {BATCH_WINDOW})"))
    rows = 2
    fig = make_subplots(
        rows=rows,
        cols=2,
        subplot_titles=[title for _, _, title in panels],
        horizontal_spacing=0.08,
        vertical_spacing=0.16,
    )
    frames = {"val": pd.DataFrame(dict(val)), "batches": pd.DataFrame(dict(batches))}
    shown: set[str] = set()
    for position, (source, column, _) in enumerate(panels):
        row, col = divmod(position, 2)
        frame = frames[source]
        if frame.empty:
            continue
        for key, lane in frame.groupby("lane", sort=False):
            key = str(key)
            fig.add_trace(
                go.Scatter(
                    x=lane["step"],
                    y=lane[column],
                    mode="lines",
                    name=titles.get(key, key),
                    legendgroup=key,
                    showlegend=key not in shown,
                    line={"color": loss_color(key), "width": 2.5},
                    hovertemplate=f"step %{{x}}: %{{y:.3f}}<extra>{titles.get(key, key)}</extra>",
                ),
                row=row + 1,
                col=col + 1,
            )
            shown.add(key)
    fig.update_xaxes(range=[0, total_steps], title_text="step", title_standoff=2)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(
        height=560,
        margin={**MARGIN, "t": 40},
        font=FONT,
        legend={"orientation": "h", "y": -0.14, "x": 0.0},
        uirevision="dataset-curves",
    )
    fig.update_annotations(font={"size": 15})
    return fig


def sweep_figure(sweep: BatchSweep, titles: Mapping[str, str], batch_size: int, step: int) -> go.Figure:
    """Mean mIoU of random validation batches against the batch size (log axis), one line per lane.

    Batch size 1 is the mean per-image IoU, the whole split the data-set mIoU; a dashed line
    marks this run's batch size.
    """
    fig = go.Figure()
    for key, values in sweep.miou.items():
        fig.add_trace(
            go.Scatter(
                x=list(sweep.sizes),
                y=list(values),
                mode="lines+markers",
                name=titles.get(key, key),
                line={"color": loss_color(key), "width": 2.5},
                marker={"color": loss_color(key), "size": 8},
                hovertemplate="batches of %{x}: mIoU %{y:.3f}<extra>" + titles.get(key, key) + "</extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[batch_size, batch_size],
            y=[0.0, 1.0],
            mode="lines+text",
            text=["", f"  this run: {batch_size}"],
            textposition="bottom right",
            line={"color": REFERENCE_COLOR, "dash": "dash", "width": 1.5},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    ticks = list(sweep.sizes)
    labels = [
        f"{s}<br>(per image)" if s == 1 else f"{s}<br>(all)" if s == ticks[-1] else str(s) for s in ticks
    ]
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=labels, title_text="validation images per batch")
    fig.update_yaxes(title_text=f"mean batch mIoU at step {step}", range=[0, 1.02])
    fig.update_layout(
        height=380,
        margin={**MARGIN, "t": 10},
        font=FONT,
        legend={"orientation": "h", "y": -0.3, "x": 0.0},
    )
    return fig


def _number(value: float, digits: int = 3) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def lanes_table(lanes: Sequence[LaneNow], class_names: Sequence[str]) -> pd.DataFrame:
    """One row per lane: step, the two validation averages, IoU per class, the batch mIoU, steps/s."""
    rows = []
    for lane in lanes:
        entry = {
            "lane": lane.label,
            "step": f"{lane.step}" + (" (diverged)" if lane.status == "diverged" else ""),
            "data-set mIoU": _number(lane.dataset_miou),
            "mean per-image IoU": _number(lane.image_miou),
        }
        for name, value in zip(class_names, lane.class_iou, strict=True):
            entry[f"IoU {name}"] = _number(value)
        entry[f"batch mIoU (last {BATCH_WINDOW})"] = _number(lane.batch_miou)
        entry["steps/s"] = _number(lane.steps_per_second, 0)
        rows.append(entry)
    return pd.DataFrame(rows).set_index("lane")


def data_table(summary: DataSummary) -> pd.DataFrame:
    """One row per class: its share of the non-void training pixels and of the training scenes."""
    rows = []
    for index, name in enumerate(summary.class_names):
        rows.append(
            {
                "class": name + (" (rare)" if index == summary.rare_class else ""),
                "share of pixels": f"{100 * summary.pixel_share[index]:.1f} %",
                "share of scenes": f"{100 * summary.scene_share[index]:.0f} %",
            }
        )
    return pd.DataFrame(rows).set_index("class")
