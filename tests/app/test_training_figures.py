"""app/figures/gradients.py and app/figures/training.py: arrays in, figures and frames out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from app.figures.gradients import (
    gradient_maps_figure,
    magnitude_histograms_figure,
    pixel_numbers,
    push_share_figure,
)
from app.figures.training import (
    class_iou_table,
    downsample_steps,
    mask_overlay,
    masks_figure,
    training_curves_figure,
    upscale,
)
from app.palette import DIVERGING_SCALE, LOSS_COLORS

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


def test_pixel_numbers():
    grads = {"cross_entropy": np.zeros((2, 3, 3)), "lovasz_softmax": np.zeros((2, 3, 3))}
    grads["lovasz_softmax"][:, 1, 1] = [0.3, -0.4]
    probabilities = np.full((2, 3, 3), 0.5)
    frame = pixel_numbers(1, 1, grads, probabilities, 0, ("bg", "fg"), TITLES)
    assert list(frame.index) == ["Cross-entropy", "Lovász-Softmax"]
    assert frame.loc["Lovász-Softmax", "‖∂L/∂z‖"] == pytest.approx(0.5)
    assert frame.loc["Lovász-Softmax", "∂L/∂z[fg]"] == pytest.approx(-0.4)
    assert frame.loc["Lovász-Softmax", "rank of ‖∂L/∂z‖"] == "1 / 9"
    assert frame.attrs["p_true"] == 0.5


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
    assert any(t.name == "Cross-entropy · #1" and t.line.dash == "dot" for t in lines)
    assert tuple(fig.layout.xaxis.range) == (0, 10)
    assert tuple(fig.layout.yaxis2.range) == (0, 1.02)
    assert len(fig.layout.shapes) == 2, "the fine-tune switch is marked on both plots"


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


def test_class_iou_table():
    latest = _records(3).groupby("loss_key").tail(1)
    table = class_iou_table(latest, ("bg", "fg"), TITLES, {"cross_entropy": 50.0})
    assert list(table.index) == ["Cross-entropy", "Lovász-Softmax"]
    assert list(table.columns) == ["step", "loss", "mean IoU", "IoU bg", "IoU fg", "steps/s"]
    assert table.loc["Cross-entropy", "steps/s"] == 50.0
    assert np.isnan(table.loc["Lovász-Softmax", "steps/s"])
