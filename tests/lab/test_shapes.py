"""lovasz_core.lab.shapes (seeded scenes), lovasz_core.lab.predictions (the prediction maker) and
lovasz_core.lab.teaching (sweeps and the few-pixel geometry)."""

from __future__ import annotations

import itertools

import pytest
import torch

from lovasz_core import lovasz_extension
from lovasz_core.lab.predictions import PredictionSpec, hinge_errors, make_logits, softmax_errors
from lovasz_core.lab.shapes import SCENES, class_counts, ground_truth, image_sources, make_scene
from lovasz_core.lab.teaching import (
    cube_corners,
    extension_at,
    midpoint_convexity_gap,
    offset_sweep,
    permutation_weights,
    soft_jaccard_at,
)


@pytest.mark.parametrize("kind", list(SCENES))
@pytest.mark.parametrize("classes", [2, 3, 5])
def test_scene_shape_dtype_range_and_determinism(kind, classes):
    labels = make_scene(kind, 24, classes, seed=3)
    assert labels.shape == (24, 24) and labels.dtype == torch.int64
    assert int(labels.min()) >= 0 and int(labels.max()) <= classes - 1
    assert torch.equal(labels, make_scene(kind, 24, classes, seed=3))
    assert class_counts(labels, classes)[0] > 0  # some background


def test_scenes_differ_by_seed_and_every_class_shows_at_32():
    assert not torch.equal(make_scene("disks", 32, 3, 0), make_scene("disks", 32, 3, 1))
    for kind, seed in itertools.product(["disks", "rectangles", "mixed"], range(5)):
        assert min(class_counts(make_scene(kind, 32, 4, seed), 4)) > 0, (kind, seed)


def test_rare_scene_has_a_small_last_class():
    counts = class_counts(make_scene("rare", 32, 3, 0), 3)
    assert 0 < counts[2] < 0.05 * 32 * 32 < counts[1]


@pytest.mark.parametrize("size", [1, 2, 8, 64])
def test_tiny_and_large_sizes(size):
    assert make_scene("disks", size, 3, 0).shape == (size, size)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": "stars"}, ValueError),
        ({"size": 0}, ValueError),
        ({"size": 2.5}, TypeError),
        ({"num_classes": 1}, ValueError),
        ({"seed": -1}, ValueError),
    ],
)
def test_scene_rejects_bad_arguments(kwargs, error):
    args = {"kind": "disks", "size": 8, "num_classes": 3, "seed": 0} | kwargs
    with pytest.raises(error):
        make_scene(**args)


def test_ground_truth_sources():
    labels, notes = ground_truth("disks", 8, 3, 0)
    assert labels.shape == (8, 8) and notes == []
    with pytest.raises(ValueError, match="source"):
        ground_truth("nope", 8, 3, 0)
    assert image_sources()[: len(SCENES)] == tuple(SCENES)


def test_ground_truth_image_source_clamps_with_a_note():
    if "horse" not in image_sources():
        pytest.skip("lovasz_core.lab.images is not available")
    labels, notes = ground_truth("horse", 8, 3, 0)
    assert labels.shape[0] >= 16 and len(notes) == 2


# -- predictions ---------------------------------------------------------------------------


def test_clean_prediction_recovers_the_mask():
    labels = make_scene("mixed", 24, 4, 1)
    logits = make_logits(labels, 4, PredictionSpec(blur=0.0))
    assert logits.shape == (4, 24, 24) and logits.dtype == torch.float32
    assert torch.equal(logits.argmax(0), labels)


def test_prediction_is_deterministic_and_seeded():
    labels = make_scene("disks", 16, 3, 0)
    spec = PredictionSpec(shift_x=1.5, noise=1.0, seed=4)
    assert torch.equal(make_logits(labels, 3, spec), make_logits(labels, 3, spec))
    other = make_logits(labels, 3, PredictionSpec(shift_x=1.5, noise=1.0, seed=5))
    assert not torch.equal(make_logits(labels, 3, spec), other)


def test_shift_moves_the_object_right():
    labels = torch.zeros(12, 12, dtype=torch.int64)
    labels[4:8, 2:6] = 1
    predicted = make_logits(labels, 2, PredictionSpec(shift_x=3, blur=0.0)).argmax(0)
    assert torch.equal(predicted[4:8, 5:9], torch.ones(4, 4, dtype=torch.int64))
    assert int(predicted[:, :4].sum()) == 0


def test_scale_grows_and_temperature_softens():
    labels = make_scene("disks", 24, 2, 0)
    grown = make_logits(labels, 2, PredictionSpec(scale=1.4)).argmax(0)
    assert int(grown.sum()) > int(labels.sum())
    sharp = make_logits(labels, 2, PredictionSpec(temperature=0.5)).softmax(0).max(0).values.mean()
    soft = make_logits(labels, 2, PredictionSpec(temperature=3.0)).softmax(0).max(0).values.mean()
    assert sharp > soft


def test_prediction_rejects_bad_input():
    labels = make_scene("disks", 8, 3, 0)
    with pytest.raises(ValueError, match="num_classes"):
        make_logits(labels, 1)
    with pytest.raises(ValueError, match="labels"):
        make_logits(labels, 2)
    with pytest.raises(ValueError, match="temperature"):
        make_logits(labels, 3, PredictionSpec(temperature=0.0))
    with pytest.raises(TypeError):
        make_logits(labels.float(), 3)
    with pytest.raises(ValueError, match="shape"):
        make_logits(labels[None], 3)


def test_one_pixel_prediction():
    assert make_logits(torch.zeros(1, 1, dtype=torch.int64), 2, PredictionSpec(blur=2.0)).shape == (2, 1, 1)


def test_errors_softmax_and_hinge():
    probas = torch.tensor([0.9, 0.2, 0.6])
    fg = torch.tensor([True, False, False])
    assert torch.allclose(softmax_errors(probas, fg), torch.tensor([0.1, 0.2, 0.6]))
    logits = torch.tensor([[0.0, 0.0, 0.0], [2.0, -0.5, 0.5]])  # class 1 scores 2, -0.5, 0.5
    assert torch.allclose(hinge_errors(logits, 1, fg), torch.tensor([0.0, 0.5, 1.5]))


# -- teaching ------------------------------------------------------------------------------


def test_extension_is_max_of_pieces_and_matches_core():
    fg = torch.tensor([True, False, True])
    points = torch.rand(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    values, _ = extension_at(points, fg)
    _, weights = permutation_weights(fg)
    assert torch.allclose(values, (weights @ points.T).max(0).values)
    for point, value in zip(points[:10], values[:10], strict=True):
        assert torch.isclose(lovasz_extension(point, fg), value)


def test_corners_give_the_set_function():
    fg = torch.tensor([True, False])
    corners, values = cube_corners(fg)
    assert values.tolist() == [0.0, 0.5, 1.0, 1.0]  # ∅, {2}, {1}, {1,2}
    assert torch.allclose(extension_at(corners, fg)[0], values)
    assert torch.allclose(soft_jaccard_at(corners, fg), values)


def test_convexity_test_separates_lovasz_from_soft_jaccard():
    fg = torch.tensor([True, False])
    assert midpoint_convexity_gap(lambda p: extension_at(p, fg)[0], 2) < 1e-9
    assert midpoint_convexity_gap(lambda p: soft_jaccard_at(p, fg), 2) > 0.05


def test_offset_sweep_staircase():
    labels = make_scene("disks", 12, 2, 0)
    logits = make_logits(labels, 2, PredictionSpec(shift_x=1.0))
    jaccard, lovasz = offset_sweep(logits, labels, 1, torch.linspace(-4, 4, 41))
    assert jaccard.shape == lovasz.shape == (41,)
    assert (jaccard >= 0).all() and (jaccard <= 1).all()
    assert len(set(jaccard.tolist())) < 41  # flat steps
