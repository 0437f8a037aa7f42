"""app/figures/: pure builders; trace counts, data, colours and the click layer."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from app import palette
from app.figures import common as common_figures
from app.figures import geometry as geometry_figures
from app.figures import iou as iou_figures
from app.figures import sorting as sorting_figures
from app.palette import FALSE_NEGATIVE_COLOR, FALSE_POSITIVE_COLOR, SEQUENTIAL_SCALE, class_color


def _names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def test_discrete_colorscale_has_one_band_per_colour():
    scale = common_figures.discrete_colorscale(["#000000", "#ffffff"])
    assert scale == [[0.0, "#000000"], [0.5, "#000000"], [0.5, "#ffffff"], [1.0, "#ffffff"]]


def test_label_map_uses_class_colours_and_flips_rows():
    labels = np.array([[0, 1], [2, 2]])
    fig = common_figures.label_map_figure(labels, 3, "truth")
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap) and np.array_equal(heat.z, labels)
    assert [t.marker.color for t in fig.data[1:]] == [class_color(c) for c in range(3)]
    assert tuple(fig.layout.yaxis.range) == (1.5, -0.5)  # row 0 at the top


def test_outcome_map_and_overlay():
    truth = np.array([[1, 1, 0, 0]])
    predicted = np.array([[1, 0, 1, 0]])
    assert common_figures.outcome_map(truth, predicted, 1).tolist() == [[1, 3, 2, 0]]
    fig = iou_figures.overlay_figure(truth, predicted, 1, "c")
    assert _names(fig)[1:5] == list(palette.OUTCOME_COLORS)
    assert fig.data[-1].name == "ground truth of c"


def test_iou_bars_mark_undefined_and_mean():
    fig = iou_figures.iou_bars_figure([0.5, float("nan"), 1.0])
    bar = fig.data[0]
    assert list(bar.y) == [0.5, 0.0, 1.0]
    assert list(bar.x) == [
        "class 0<br><b>0.500</b>",
        "class 1<br><b>undefined</b>",
        "class 2<br><b>1.000</b>",
    ]
    assert list(bar.marker.color) == [class_color(c) for c in range(3)]
    mean = fig.data[1]
    assert mean.name == "mean IoU 0.750" and list(mean.y) == [0.75, 0.75]
    assert mean.line.color == palette.REFERENCE_COLOR and mean.line.dash == "dash"


def test_iou_bars_mean_label_is_apart_from_the_bar_labels():
    """Values sit under the bars with the class names, the mean's in the legend above the plot:
    no text inside the plotting area, so the mean line can cross none."""
    fig = iou_figures.iou_bars_figure([0.82, 0.79, 0.85])  # the mean 0.820 is level with a bar top
    assert not fig.layout.annotations
    assert fig.data[0].text is None and fig.data[0].showlegend is False
    assert fig.data[1].showlegend is not False and fig.data[1].mode == "lines"
    legend = fig.layout.legend
    assert legend.yanchor == "bottom" and legend.y >= 1.0  # above the plot area


def test_staircase_draws_exact_steps_and_the_surrogate():
    step_x = np.array([-1.0, -0.2, 0.4, 1.0])
    step_y = np.array([1.0, 0.5, 0.25, 0.25])
    x = np.linspace(-1, 1, 5)
    fig = iou_figures.staircase_figure(step_x, step_y, x, np.linspace(1, 0, 5), 0.2, "t")
    assert len(fig.data) == 2 and fig.data[0].line.shape == "hv"
    assert list(fig.data[0].x) == list(step_x) and list(fig.data[0].y) == list(step_y)
    assert fig.layout.shapes[0].x0 == 0.2
    assert fig.layout.yaxis.rangemode == "tozero"
    zoom = iou_figures.staircase_figure(
        step_x, step_y, x, None, 0.0, "t", x_range=(-0.1, 0.1), y_range=(0.2, 0.6)
    )
    assert len(zoom.data) == 1
    assert tuple(zoom.layout.xaxis.range) == (-0.1, 0.1) and tuple(zoom.layout.yaxis.range) == (0.2, 0.6)


def test_boundary_segments_of_a_single_pixel():
    mask = np.zeros((3, 3), dtype=bool)
    mask[1, 1] = True
    xs, _ys = common_figures.boundary_segments(mask)
    assert xs.count(None) == 4 and len(xs) == 12
    assert set(x for x in xs if x is not None) == {0.5, 1.5}


@pytest.mark.parametrize("kind", ["fg", "errors", "weights", "contributions"])
def test_pixel_map_has_click_layer_with_flat_indices(kind):
    values = np.arange(12, dtype=float).reshape(3, 4) / 12
    fg = values > 0.5
    prefix = values > 0.8
    fig = sorting_figures.pixel_map_figure(values, kind, fg, prefix, selected=5, title="m")
    layer = fig.data[-1]
    assert layer.name == "pixels" and list(layer.customdata) == list(range(12))
    assert list(layer.x[:5]) == [0, 1, 2, 3, 0] and list(layer.y[:5]) == [0, 0, 0, 0, 1]
    assert "selected pixel" in _names(fig) and "the k largest errors" in _names(fig)
    selected = fig.data[_names(fig).index("selected pixel")]
    assert (selected.x[0], selected.y[0]) == (1, 1)


def test_weights_map_is_sequential_from_zero_since_g_is_never_negative():
    values = np.array([[0.0, 0.2], [0.05, 0.1]])
    heat = sorting_figures.pixel_map_figure(values, "weights", values > 0, None, None, "g").data[0]
    assert heat.zmin == 0.0
    assert heat.colorscale == go.Heatmap(colorscale=SEQUENTIAL_SCALE).colorscale


def test_pixel_map_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        sorting_figures.pixel_map_figure(np.zeros((2, 2)), "nope", np.zeros((2, 2), bool), None, None, "x")


def test_sorted_panels_are_linked_and_coloured_by_fg():
    errors = np.array([0.9, 0.7, 0.4, 0.1])
    fg = np.array([True, False, True, False])
    jaccard = np.array([0.5, 2 / 3, 1.0, 1.0])
    grad = np.diff(np.concatenate([[0.0], jaccard]))
    fig = sorting_figures.sorted_panels_figure(
        errors, fg, jaccard, grad, k=2, threshold_rank=3, selected_rank=3
    )
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    # Panels ① and ③: the pixels of class c in the false-negative colour, the others in the
    # false-positive colour, one colour string per trace, overlaid at their own ranks.
    assert [bar.name for bar in bars] == ["m, class c", "m, not c", "g, class c", "g, not c"]
    assert [bar.marker.color for bar in bars] == [FALSE_NEGATIVE_COLOR, FALSE_POSITIVE_COLOR] * 2
    assert [list(bar.x) for bar in bars] == [[1, 3], [2, 4]] * 2
    assert list(bars[0].y) == [0.9, 0.4] and list(bars[3].y) == list(grad[[1, 3]])
    assert list(bars[0].marker.opacity) == [1.0, common_figures.FADED]  # ranks after k = 2 fade
    assert list(bars[1].marker.opacity) == [1.0, common_figures.FADED]
    assert fig.layout.barmode == "overlay" and {bar.width for bar in bars} == {sorting_figures.BAR_WIDTH}
    running = fig.data[_names(fig).index("running loss")]
    assert np.isclose(running.y[-1], float(np.sum(errors * grad)))
    cursors = [s for s in fig.layout.shapes if s.x0 == 2.5]
    assert len(cursors) == 4  # one cursor per panel
    assert any("k* = #{m > 0.5} = 3" in a.text for a in fig.layout.annotations)
    assert _names(fig).count("selected pixel") == 2
    assert fig.layout.xaxis.matches == "x4"  # shared x axis: zooming one panel zooms all


def test_sorted_panels_visible_range_and_k_zero():
    errors = np.linspace(1, 0, 100)
    fig = sorting_figures.sorted_panels_figure(
        errors, errors > 0.5, errors, errors, k=0, threshold_rank=None, visible=20
    )
    assert tuple(fig.layout.xaxis.range) == (0.5, 20.5)
    # no cursor at k = 0: the only line is the loss that panel ④ reaches, at Σ m·g over all ranks
    (line,) = fig.layout.shapes
    assert line.yref == "y4" and line.y0 == pytest.approx(float(np.sum(errors * errors)))
    cut = [a.text for a in fig.layout.annotations if "not shown" in (a.text or "")]
    assert cut == [f"ranks 21–100 not shown: they add {np.sum(errors[20:] ** 2):.4f}"]


def test_extension_surface_with_planes_soft_and_corners():
    grid = np.linspace(0, 1, 5)
    values = np.add.outer(grid, grid) / 2
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    fig = geometry_figures.extension_surface_figure(
        grid,
        values,
        corners,
        np.array([0, 0.5, 1, 1]),
        planes=[("a", values, "#E69F00"), ("b", values, "#009E73")],
        soft=values,
        probe=(0.5, 0.5, 0.5),
    )
    assert [type(t).__name__ for t in fig.data] == ["Surface"] * 4 + ["Scatter3d"] * 2
    assert list(fig.data[4].text) == ["", "Δ({2})=0.50", "Δ({1})=1.00", "Δ({1,2})=1.00"]
    sliced = np.array([[0, 0, 1], [1, 1, 1]], dtype=float)  # a slice m₃ = 1 of three pixels
    on_slice = geometry_figures.extension_surface_figure(grid, values, sliced, np.array([0.5, 1.0]))
    assert list(on_slice.data[-1].text) == ["Δ({3})=0.50", "Δ({1,2,3})=1.00"]
    assert fig.data[1].colorscale[0][1] == "#E69F00"


def test_surface_corner_labels_point_away_from_each_other():
    grid = np.linspace(0, 1, 3)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    fig = geometry_figures.extension_surface_figure(grid, np.zeros((3, 3)), corners, np.array([0, 0.5, 1, 1]))
    positions = dict(zip(fig.data[-1].text, fig.data[-1].textposition, strict=True))
    # the off-diagonal corners project close together: one label to the left, one to the right
    assert positions["Δ({2})=0.50"].endswith("left") and positions["Δ({1})=1.00"].endswith("right")
    assert "" in positions  # m = 0: Δ(∅) = 0 always, no label to leave the figure
    assert len(set(positions.values())) == 4
    assert fig.layout.scene.zaxis.title.text == "loss" and fig.layout.margin.l >= 30
    assert fig.data[0].name == "Lovász extension" and fig.data[0].showlegend


def test_regions_figure_lists_present_orders_and_boundaries():
    grid = np.linspace(0, 1, 3)
    region = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]])
    fig = geometry_figures.regions_figure(grid, region, ["A", "B"], (0.3, 0.2), boundaries=[([0, 1], [0, 1])])
    assert _names(fig)[1:3] == ["A", "B"]
    assert fig.data[0].z.tolist() == region.tolist()
    assert "probe" in _names(fig)


def test_section_figure():
    t = np.linspace(0, 1, 3)
    fig = geometry_figures.section_figure(t, [("a", t, "#000000"), ("b", 1 - t, "#111111")], "s")
    assert _names(fig) == ["a", "b"] and fig.data[1].line.color == "#111111"


def test_section_figure_marks_the_curve_above_its_chord():
    t = np.linspace(0, 1, 5)
    curve = np.sqrt(t)
    fig = geometry_figures.section_figure(
        t, [("soft", curve, "#000000")], "s", chord=("chord", t, curve, "#111111")
    )
    assert fig.data[1].line.dash == "dash" and list(fig.data[1].y) == list(t)
    marker = fig.data[2]
    assert list(marker.x) == [0.5, 0.5] and list(marker.y) == [0.5, pytest.approx(np.sqrt(0.5))]
    assert list(fig.layout.xaxis.ticktext) == ["t = 0", "midpoint", "t = 1"] and fig.layout.margin.r >= 50


def test_error_comparison_splits_by_class_and_marks_thresholds():
    softmax = np.array([[0.1, 0.7], [0.4, 0.9]])
    hinge = np.array([[0.0, 1.5], [0.8, 3.0]])
    fg = np.array([[True, False], [True, False]])
    fig = sorting_figures.error_comparison_figure(softmax, hinge, fg)
    assert _names(fig) == ["pixel of c (false negative if wrong)", "other pixel (false positive if wrong)"]
    assert list(fig.data[0].x) == [0.1, 0.4] and list(fig.data[1].y) == [1.5, 3.0]
    assert fig.data[0].marker.color == FALSE_NEGATIVE_COLOR
    assert sorted((s.x0, s.y0) for s in fig.layout.shapes)[0][0] in (0, 0.5)
