"""app/figures/gradients.py and app/figures/training.py: arrays in, figures and frames out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from app.figures.gradients import (
    gradient_maps_figure,
    magnitude_histograms_figure,
    pixel_table,
    push_share_figure,
)
from app.figures.training import (
    class_iou_table,
    downsample_steps,
    image_rgb,
    lanes_table,
    mask_overlay,
    masks_figure,
    outlined,
    training_curves_figure,
    upscale,
)
from app.palette import DIVERGING_SCALE, LOSS_COLORS
from lovasz_core.lab.views.gradients import PixelRow, PixelView
from lovasz_core.lab.views.live_training import LaneView

TITLES = {"cross_entropy": "Cross-entropy", "lovasz_softmax": "Lovász-Softmax"}


def _maps() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "cross_entropy": 0.01 * rng.standard_normal((6, 5)),
        "lovasz_softmax": rng.standard_normal((6, 5)),
    }


def test_gradient_maps_share_one_symmetric_scale_and_are_clickable():
    maps = _maps()
    boundary = np.zeros((6, 5), bool)
    boundary[2, 2] = True
    fig = gradient_maps_figure(maps, TITLES, boundary=boundary, selected=(1, 3))
    zmax = max(np.abs(m).max() for m in maps.values())
    axis = fig.layout.coloraxis
    assert axis.cmin == pytest.approx(-zmax) and axis.cmax == pytest.approx(zmax) and axis.cmid == 0
    expected = go.Figure(layout={"coloraxis": {"colorscale": DIVERGING_SCALE}}).layout.coloraxis.colorscale
    assert axis.colorscale == expected
    heatmaps = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 2 and all(t.coloraxis == "coloraxis" for t in heatmaps)
    clickable = [t for t in fig.data if isinstance(t, go.Scatter) and t.customdata is not None]
    assert len(clickable) == 2
    assert len(clickable[0].x) == 30 and clickable[0].marker.opacity == 0
    assert list(clickable[0].customdata[7]) == [7 // 5, 7 % 5]
    rings = [t for t in fig.data if isinstance(t, go.Scatter) and t.marker.symbol == "circle-open"]
    assert [(r.y[0], r.x[0]) for r in rings] == [(1, 3), (1, 3)]
    assert [a.text for a in fig.layout.annotations] == ["Cross-entropy", "Lovász-Softmax"]


def test_gradient_maps_explicit_scale_and_empty():
    fig = gradient_maps_figure(_maps(), TITLES, zmax=1.0)
    assert fig.layout.coloraxis.cmax == 1.0
    with pytest.raises(ValueError):
        gradient_maps_figure({}, TITLES)


def test_gradient_maps_per_map_scales_fill_each_panel_and_name_the_scale():
    maps = _maps()
    scales = {k: float(np.abs(m).max()) for k, m in maps.items()}
    fig = gradient_maps_figure(maps, TITLES, scales=scales)
    heatmaps = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert [float(np.abs(np.asarray(t.z)).max()) for t in heatmaps] == pytest.approx([1.0, 1.0])
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (-1.0, 1.0)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("Cross-entropy") and f"±{scales['cross_entropy']:.1e}" in titles[0]
    hover = next(t for t in fig.data if isinstance(t, go.Scatter) and t.customdata is not None)
    assert hover.text[0] == f"{maps['cross_entropy'].ravel()[0]:+.2e}", "hovering shows the value itself"


def test_histograms_one_trace_per_loss_and_region():
    mags = {k: np.abs(v) for k, v in _maps().items()}
    regions = {"foreground": np.eye(6, 5, dtype=bool), "background": ~np.eye(6, 5, dtype=bool)}
    fig = magnitude_histograms_figure(mags, regions, TITLES)
    assert len(fig.data) == 4 and all(t.histnorm == "percent" for t in fig.data)
    assert fig.data[0].name.startswith("foreground (5 px)")
    assert sum(bool(t.showlegend) for t in fig.data) == 2


def test_push_share_figure_has_diagonal_and_losses():
    sweep = {
        "fraction": np.array([0.01, 0.1]),
        "cross_entropy": np.array([0.01, 0.1]),
        "lovasz_softmax": np.array([0.3, 0.4]),
    }
    fig = push_share_figure(sweep, TITLES, current_fraction=0.05)
    names = [t.name for t in fig.data]
    assert names == ["∝ size (y = x)", "Cross-entropy", "Lovász-Softmax"]
    assert list(fig.data[2].y) == [30.0, 40.0]
    assert fig.data[1].line.color == LOSS_COLORS["cross_entropy"]
    assert fig.layout.xaxis.type == "log"


def test_pixel_table():
    pixel = PixelView(
        1, 1, "bg", "fg", 0.5, False, (PixelRow("Lovász-Softmax", (0.3, -0.4), 0.5, 1, 9, 12.34),)
    )
    frame = pixel_table(pixel, ("bg", "fg"))
    assert list(frame.index) == ["Lovász-Softmax"]
    row = frame.loc["Lovász-Softmax"]
    assert row["∂L/∂z[fg]"] == "-4.000e-01" and row["‖∂L/∂z‖₂"] == "5.000e-01"
    assert row["rank of ‖∂L/∂z‖₂"] == "1 / 9" and row["× median pixel"] == "12.3×"


def _records(steps: int = 10) -> pd.DataFrame:
    rows = [
        {
            "step": s,
            "loss_key": k,
            "loss": 1.0 / (s + 1),
            "mean_iou": s / steps,
            "iou_bg": 0.5,
            "iou_fg": 0.25,
        }
        for s in range(steps)
        for k in ("cross_entropy", "lovasz_softmax")
    ]
    return pd.DataFrame(rows)


def test_training_curves_share_axes_and_overlay_past_runs():
    fig = training_curves_figure(
        _records(), TITLES, total_steps=10, warmup_steps=4, past=[("#1", _records(6))]
    )
    lines = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert len(lines) == 8  # (2 current + 2 past lanes) × (loss, IoU)
    current = [t for t in lines if t.line.dash == "solid"]
    assert {t.line.color for t in current} == {LOSS_COLORS["cross_entropy"], LOSS_COLORS["lovasz_softmax"]}
    past = [t for t in lines if t.line.dash == "dot"]
    assert {t.legendgrouptitle.text for t in past} == {"#1 (dot)"} and len(past) == 4
    assert max(t.line.width for t in past) < min(t.line.width for t in current)
    assert {t.legendgrouptitle.text for t in current} == {"This run"}
    assert tuple(fig.layout.xaxis.range) == (0, 10)
    assert tuple(fig.layout.yaxis2.range) == (0, 1.02), "without gaps: mean IoU on 0–1"
    assert len(fig.layout.shapes) == 2, "the fine-tune switch is marked on both plots"


def test_training_curves_plot_the_iou_gap_on_log_axes():
    frame = _records()
    frame["gap_mean"] = np.clip(1 - frame["mean_iou"], 1e-3, 1)
    frame["gap_rare"] = 0.5
    fig = training_curves_figure(frame, TITLES, rare_class="dot")
    assert [a.text for a in fig.layout.annotations][1:] == [
        "1 − mean IoU (log; lower is better)",
        "1 − IoU of the rarest class, dot (log)",
    ]
    assert fig.layout.yaxis.type == fig.layout.yaxis2.type == fig.layout.yaxis3.type == "log"
    assert fig.layout.yaxis2.ticktext[0] == "≤ 0.001"
    assert len(fig.data) == 6


def test_curves_of_an_empty_run_and_downsampling():
    assert len(training_curves_figure(_records(0), TITLES).data) == 0
    frame = _records(1000)
    small = downsample_steps(frame, max_points=100)
    assert small["step"].nunique() <= 101 and small["step"].max() == 999


def test_mask_overlay_and_masks_figure():
    image = np.zeros((4, 4), np.float32)
    mask = np.array([[0, 1, 1, 0]] * 4)
    rgb = mask_overlay(image, mask, alpha=1.0)
    assert rgb.shape == (4, 4, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == (0x00, 0x72, 0xB2) and tuple(rgb[0, 1]) == (0xE6, 0x9F, 0x00)
    assert upscale(rgb, 16).shape == (16, 16, 3)
    fig = masks_figure(image, {"truth": mask, "cross_entropy": mask}, {"truth": "Ground truth"})
    assert len(fig.data) == 2 and isinstance(fig.data[0], go.Image)
    grey = image_rgb(np.array([[0.0, 1.0]]))
    assert grey.shape == (1, 2, 3) and tuple(grey[0, 1]) == (255, 255, 255)


def test_class_iou_table():
    latest = _records(3).groupby("loss_key").tail(1)
    table = class_iou_table(latest, ("bg", "fg"), TITLES, {"cross_entropy": 50.0})
    assert list(table.index) == ["Cross-entropy", "Lovász-Softmax"]
    assert list(table.columns) == ["step", "loss", "mean IoU", "IoU bg", "IoU fg", "steps/s"]
    assert table.loc["Cross-entropy", "steps/s"] == 50.0
    assert np.isnan(table.loc["Lovász-Softmax", "steps/s"])


def test_lanes_table_names_lanes_and_ends_on_their_step():
    lanes = [
        LaneView(
            "ce", "Cross-entropy", "finished", "", 200, 0.1234, 0.65, (0.98, 0.0), 0.0, None, 50.0, None
        ),
        LaneView(
            "x",
            "Dice",
            "diverged",
            "nan",
            3,
            float("nan"),
            float("nan"),
            (float("nan"),) * 2,
            0,
            None,
            float("nan"),
            None,
        ),
    ]
    table = lanes_table(lanes, ("bg", "dot"))
    assert list(table.index) == ["Cross-entropy", "Dice"]
    assert list(table.columns) == ["step", "loss", "mean IoU", "IoU bg", "IoU dot", "steps/s"]
    assert table.loc["Cross-entropy", "step"] == "200" and table.loc["Cross-entropy", "loss"] == "0.123"
    assert table.loc["Dice", "step"] == "3 (diverged)" and table.loc["Dice", "mean IoU"] == "–"


def test_outlined_rings_the_rare_class_just_outside_its_pixels():
    mask = np.zeros((4, 4), np.int64)
    mask[1, 1] = 2
    rgb = mask_overlay(np.zeros((4, 4)), mask, alpha=1.0)
    out = outlined(rgb, mask, 2, min_side=8)  # ×2: the class covers rows and columns 2–3
    assert out.shape == (8, 8, 3)
    assert tuple(out[2, 2]) == tuple(rgb[1, 1]), "the class keeps its colour"
    assert tuple(out[1, 2]) == (0, 0, 0) and tuple(out[4, 3]) == (0, 0, 0) and tuple(out[2, 4]) == (0, 0, 0)
    assert tuple(out[0, 0]) == tuple(rgb[0, 0]) and tuple(out[1, 1]) == tuple(rgb[0, 0]), "4-neighbours only"
