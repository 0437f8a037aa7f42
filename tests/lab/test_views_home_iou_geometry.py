"""lovasz_core.lab.views: what Home, "IoU and the Jaccard loss" and "Geometry" draw, and the
claims their texts make about it, computed on the settings the pages open with."""

from __future__ import annotations

import dataclasses
import itertools
import os

import numpy as np
import pytest
import torch

from lovasz_core import per_class_iou
from lovasz_core.lab.predictions import PredictionSpec, make_logits
from lovasz_core.lab.shapes import ground_truth
from lovasz_core.lab.teaching import (
    class_thresholds,
    exact_staircase,
    extension_at,
    grid_convexity_witness,
    offset_sweep,
    soft_jaccard_at,
)
from lovasz_core.lab.views.geometry import GeometryView, geometry_view, order_label, point_label
from lovasz_core.lab.views.home import HomeView, device_line, home_view
from lovasz_core.lab.views.iou_jaccard import FLAT_SAMPLES, OFFSET_RANGE, IouView, iou_view

DEFAULT_IOU = ("disks", 24, 3, 0, PredictionSpec(shift_x=2.0, shift_y=1.0, noise=0.5), 1)


def _scene(source: str, size: int, classes: int, seed: int) -> tuple[torch.Tensor, int]:
    labels, _ = ground_truth(source, size, classes, seed)
    return labels, max(classes, int(labels.max()) + 1)


def _value_at(step_x: np.ndarray, step_y: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The drawn staircase (hv steps) read off at offsets b."""
    return step_y[np.clip(np.searchsorted(step_x, b, side="right") - 1, 0, len(step_y) - 1)]


# -- the lab helpers -----------------------------------------------------------------------


def test_class_thresholds_say_where_the_class_wins_the_argmax():
    labels, classes = _scene("disks", 12, 3, 1)
    logits = make_logits(labels, classes, PredictionSpec(noise=0.7, seed=2))
    thresholds = class_thresholds(logits, 2)
    for b in (-3.0, -0.4, 0.0, 1.3):
        shifted = logits.clone()
        shifted[2] += b
        away = (thresholds - b).abs() > 1e-4
        predicted = (shifted.argmax(0) == 2).reshape(-1)
        assert torch.equal(predicted[away], (b > thresholds)[away])


def test_exact_staircase_matches_the_sampled_sweep_away_from_its_jumps():
    source, size, classes, seed, spec, cls = DEFAULT_IOU
    labels, classes = _scene(source, size, classes, seed)
    logits = make_logits(labels, classes, spec)
    jumps, values = exact_staircase(logits, labels, cls, -6.0, 6.0)
    assert len(values) == len(jumps) + 1 and torch.all(torch.diff(jumps) > 0)
    offsets = torch.linspace(-6.0, 6.0, 1201, dtype=torch.float64)
    sampled, _ = offset_sweep(logits, labels, cls, offsets)
    exact = torch.from_numpy(
        _value_at(np.concatenate([[-6.0], jumps.numpy()]), values.numpy(), offsets.numpy())
    )
    away = torch.cdist(offsets.view(-1, 1), jumps.view(-1, 1)).min(1).values > 1e-4
    assert away.sum() > 1000
    assert torch.allclose(exact[away], sampled[away])


def test_grid_witness_finds_a_pair_above_its_chord_only_for_a_non_convex_function():
    fg = torch.tensor([True, False])
    gap, a, b = grid_convexity_witness(lambda p: soft_jaccard_at(p, fg), 2)
    ends = soft_jaccard_at(torch.stack([a, b]), fg)
    middle = soft_jaccard_at(((a + b) / 2).view(1, -1), fg)
    assert gap > 0.1 and float(middle - ends.mean()) == pytest.approx(gap)
    assert grid_convexity_witness(lambda p: extension_at(p, fg)[0], 2)[0] < 1e-9
    assert grid_convexity_witness(lambda p: p.sum(1) ** 2, 3)[0] < 1e-9  # convex


# -- Home ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home() -> HomeView:
    return home_view(0.0)


def test_home_view_is_a_frozen_dataclass_of_arrays_and_numbers(home):
    assert dataclasses.is_dataclass(home)
    with pytest.raises(dataclasses.FrozenInstanceError):
        home.offset = 1.0  # type: ignore[misc]
    assert home.labels.shape == home.predicted.shape == (16, 16)
    assert home.offsets.shape == home.lovasz.shape
    assert home.step_x.shape == home.step_y.shape == (home.jumps + 2,)


def test_home_staircase_and_readout_agree_with_the_sweep(home):
    labels, _ = ground_truth("disks", 16, 2, 3)
    logits = make_logits(labels, 2, PredictionSpec(shift_x=1.5, shift_y=1.0))
    for b in (-2.3, 0.0, 0.7, 3.1):
        jaccard, lovasz = offset_sweep(logits, labels, 1, torch.tensor([b], dtype=torch.float64))
        assert _value_at(home.step_x, home.step_y, np.array([b]))[0] == pytest.approx(float(jaccard[0]))
        view = home_view(b)
        assert view.jaccard_at == pytest.approx(float(jaccard[0]))
        assert view.lovasz_at == pytest.approx(float(lovasz[0]))
        iou = per_class_iou(torch.from_numpy(view.predicted), labels, 2)[1]
        assert view.jaccard_at == pytest.approx(1 - float(iou))


def test_home_caption_claims(home):
    # "changes at N values of b only and is flat in between"
    assert 0 < home.jumps < 200 and len(np.unique(home.step_y)) <= home.jumps + 1
    # "it is lowest at b = …, near the lowest step of 1 − IoU"
    assert home.best_jaccard == pytest.approx(home.step_y.min())
    assert abs(home.lovasz_best_offset - home.best_offset) < 0.5
    assert home.lovasz[np.argmin(home.lovasz)] == home.lovasz.min()
    # "as a function of b it bends both ways"
    second = np.diff(home.lovasz, 2)
    assert not home.lovasz_convex_in_b and (second < -1e-6).any() and (second > 1e-6).any()


def test_device_line_does_not_follow_torch_thread_count():
    before = device_line()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert device_line() == before
    finally:
        torch.set_num_threads(threads)
    if not torch.cuda.is_available():
        assert f"{len(os.sched_getaffinity(0))} core" in before and "thread" not in before


# -- IoU and the Jaccard loss --------------------------------------------------------------


@pytest.fixture(scope="module")
def iou() -> IouView:
    source, size, classes, seed, spec, cls = DEFAULT_IOU
    labels, classes = _scene(source, size, classes, seed)
    return iou_view(labels.numpy(), classes, spec, cls, 0.0)


def test_iou_counts_match_the_core(iou):
    source, size, classes, seed, spec, cls = DEFAULT_IOU
    labels, classes = _scene(source, size, classes, seed)
    predicted = make_logits(labels, classes, spec).argmax(0)
    assert np.array_equal(iou.predicted, predicted.numpy())
    assert np.allclose(iou.ious, per_class_iou(predicted, labels, classes).numpy())
    truth, pred = labels == cls, predicted == cls
    assert (iou.num_true, iou.num_pred) == (int(truth.sum()), int(pred.sum()))
    assert (iou.intersection, iou.union) == (int((truth & pred).sum()), int((truth | pred).sum()))
    assert iou.num_mispredicted == int((truth ^ pred).sum())
    # Δ_J(M_c) = |M_c| / |F_c ∪ M_c| = 1 − J_c, and F_c ∪ M_c is the union
    assert iou.delta == pytest.approx(iou.num_mispredicted / iou.union)
    assert iou.delta == pytest.approx(1 - iou.ious[cls])
    assert iou.mean_iou == pytest.approx(float(np.nanmean(iou.ious)))


def test_iou_staircase_is_constant_on_most_sampled_offsets(iou):
    source, size, classes, seed, spec, cls = DEFAULT_IOU
    labels, classes = _scene(source, size, classes, seed)
    offsets = torch.linspace(*OFFSET_RANGE, FLAT_SAMPLES, dtype=torch.float64)
    sampled, _ = offset_sweep(make_logits(labels, classes, spec), labels, cls, offsets)
    unchanged = float((torch.diff(sampled).abs() < 1e-12).double().mean())
    assert unchanged > 0.5 and iou.flat_fraction > 0.5
    assert unchanged == pytest.approx(iou.flat_fraction, abs=0.01)
    assert iou.jumps == len(iou.step_x) - 2 and iou.widest_flat > 1.0
    # the staircase drawn is the sampled one
    drawn = _value_at(iou.step_x, iou.step_y, iou.offsets)
    assert np.mean(np.isclose(drawn, iou.jaccard_sampled)) > 0.99


def test_iou_zoom_holds_the_offset_and_everything_it_shows(iou):
    lo, hi = iou.zoom
    assert lo <= 0.0 <= hi and hi - lo == pytest.approx(0.5)
    jumps = iou.step_x[1:-1]
    assert iou.zoom_jumps == int(((jumps > lo) & (jumps < hi)).sum())
    inside = (iou.offsets >= lo) & (iou.offsets <= hi)
    assert iou.zoom_y[0] < iou.lovasz[inside].min() and iou.lovasz[inside].max() < iou.zoom_y[1]
    assert iou.zoom_y[0] < _value_at(iou.step_x, iou.step_y, np.array([lo, hi])).min()


def test_iou_zoom_stays_inside_the_range_at_its_ends():
    labels, classes = _scene("disks", 12, 2, 0)
    view = iou_view(labels.numpy(), classes, PredictionSpec(noise=0.3), 1, 6.0)
    assert view.zoom == (5.5, 6.0)


def test_iou_absent_class_is_undefined_not_zero():
    labels, classes = _scene("disks", 8, 2, 0)
    view = iou_view(np.zeros_like(labels.numpy()), classes, PredictionSpec(), 1, -6.0)
    assert view.num_true == 0 and np.isnan(view.ious[1]) and view.mean_iou == pytest.approx(view.ious[0])


# -- Geometry ------------------------------------------------------------------------------

FG_CASES = [(True, False), (True, True), (False, False), (False, True), (True, False, True), (False,) * 3]


@pytest.mark.parametrize("fg", FG_CASES)
def test_geometry_surface_is_the_upper_envelope_and_meets_the_corners(fg):
    view = geometry_view(fg, 1.0)
    assert np.allclose(view.values, view.planes.max(0))
    index = {0.0: 0, 1.0: len(view.grid) - 1}
    for corner, value in zip(view.slice_corners, view.slice_corner_values, strict=True):
        assert view.values[index[corner[1]], index[corner[0]]] == pytest.approx(value)
    assert len(view.slice_corners) == 4 and (view.slice_corners[:, 2:] == 1.0).all()


def test_geometry_slice_off_the_corners_draws_no_corner():
    view = geometry_view((True, False, True), 0.5)
    assert view.slice_corners.shape == (0, 3)
    assert len(view.boundaries) == 3


@pytest.mark.parametrize("fg", FG_CASES)
def test_geometry_drawn_section_shows_what_the_heading_says(fg):
    view = geometry_view(fg)
    middle = len(view.t) // 2
    assert view.t[middle] == 0.5
    # Lovász: convex on the drawn section (no midpoint above a chord) and on every tested pair
    assert view.section_lovasz_convex and (np.diff(view.section_lovasz, 2) >= -1e-9).all()
    assert view.gap_lovasz < 1e-9
    lovasz_chord = (view.section_lovasz[0] + view.section_lovasz[-1]) / 2
    assert view.section_lovasz[middle] <= lovasz_chord + 1e-12
    # soft-Jaccard: its midpoint is above its chord on the drawn section by the test's gap
    gap = view.section_soft[middle] - view.section_soft_chord[middle]
    if all(fg):
        assert view.soft_is_convex and abs(gap) < 1e-9
        assert np.allclose(view.section_soft, view.section_lovasz)  # both are Σm/n
    else:
        assert not view.soft_is_convex and gap > 0.05
        assert gap == pytest.approx(view.gap_soft)
    ends = torch.from_numpy(np.stack([view.section_start, view.section_end]))
    assert np.allclose(soft_jaccard_at(ends, torch.tensor(fg)).numpy(), view.section_soft[[0, -1]])
    assert view.chord_on_lovasz == bool(np.allclose(view.section_soft_chord, view.section_lovasz))


def test_geometry_default_section_is_the_diagonal_and_its_numbers():
    view = geometry_view((True, False))
    assert point_label(view.section_start) == "(0, 0)" and point_label(view.section_end) == "(1, 1)"
    assert view.gap_soft == pytest.approx(2 / 3 - 1 / 2)  # soft(½, ½) = 1 − ½ / (3/2)
    assert view.section_kinks == 0 and view.pairs_tested == 25 * 24 // 2
    assert geometry_view((True, False, True)).pairs_tested == 125 * 124 // 2


def test_geometry_probe_readout():
    view = geometry_view((True, False))
    readout = view.probe((0.7, 0.3))
    assert (readout.value, readout.order, readout.gradient) == (pytest.approx(0.7), "m₁ ≥ m₂", (1.0, 0.0))
    readout = view.probe((0.2, 0.3))  # Δ({2}) = 1/2, Δ({1, 2}) = 1: g = (½, ½)
    assert readout.order == "m₂ ≥ m₁" and readout.value == pytest.approx(0.25)
    assert readout.gradient == pytest.approx((0.5, 0.5))


def test_geometry_order_labels_cover_every_permutation():
    view = geometry_view((True, False, True))
    assert set(view.order_labels) == {order_label(p) for p in itertools.permutations(range(3))}
    assert isinstance(view, GeometryView) and view.fg_label == "{1, 3}"
