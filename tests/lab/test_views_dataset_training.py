"""The view of the page "Training on a data set": every number from the run, the look-for text
from those numbers, the batch-size sweep's two ends, the void check and the data summary."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from app.params import DatasetTrainingParams
from lovasz_core.lab.dataset_training import DatasetTrainingRun
from lovasz_core.lab.views.dataset_training import (
    BatchSweep,
    LaneNow,
    batch_size_sweep,
    config_from,
    data_summary,
    dataset_training_view,
    eval_every_for,
    look_for,
    void_check,
)

DEFAULT = config_from(**vars(DatasetTrainingParams()))


@pytest.fixture(scope="module")
def trained() -> DatasetTrainingRun:
    """The page's default preset (240 scenes, four lanes, batches of 8), trained briefly."""
    run = DatasetTrainingRun(DEFAULT)
    run.step(12)
    return run


def test_default_settings_are_the_four_lanes_on_the_rare_class_data_set():
    assert DEFAULT.lanes == ("cross_entropy", "lovasz_batch", "lovasz_image", "ce_lovasz")
    assert (DEFAULT.scenes, DEFAULT.size, DEFAULT.num_classes, DEFAULT.batch_size) == (240, 32, 4, 8)
    assert DEFAULT.void_width == 0 and DEFAULT.classes == "present"
    assert DEFAULT.eval_every == eval_every_for(300) == 7
    void = config_from(**{**vars(DatasetTrainingParams()), "void": True, "void_width": 2})
    assert void.void_width == 2
    assert config_from(**{**vars(DatasetTrainingParams()), "void_width": 3}).void_width == 0


def test_view_ends_at_the_runs_step_and_matches_the_engine(trained):
    view = dataset_training_view(trained)
    assert view.steps_done == trained.steps_done == 12
    assert [lane.key for lane in view.lanes] == list(DEFAULT.lanes)
    for lane in view.lanes:
        assert lane.step == 12
        scores = trained.scores(lane.key, "val")
        assert lane.dataset_miou == pytest.approx(scores.dataset_miou)
        assert lane.image_miou == pytest.approx(scores.image_miou)
        assert lane.rare_iou == pytest.approx(scores.class_iou[3], nan_ok=True)
        rows = view.val["lane"] == lane.key
        assert view.val["step"][rows][-1] == 12
        assert view.val["dataset_miou"][rows][-1] == pytest.approx(lane.dataset_miou)
        records = [r for r in trained.batches if r.lane == lane.key][-10:]
        assert lane.batch_miou == pytest.approx(np.nanmean([r.batch_miou for r in records]))
    assert np.all(np.diff(view.val["step"]) >= 0)


def test_batch_size_sweep_runs_from_the_per_image_mean_to_the_dataset_miou(trained):
    view = dataset_training_view(trained)
    sweep = view.sweep
    assert sweep is not None and sweep.sizes[0] == 1 and sweep.sizes[-1] == view.val_scenes == 60
    assert list(sweep.sizes) == sorted(sweep.sizes)
    for lane in view.lanes:
        values = sweep.miou[lane.key]
        assert values[0] == pytest.approx(lane.image_miou), "batches of 1: the mean per-image IoU"
        assert values[-1] == pytest.approx(lane.dataset_miou), "one batch of all: the data-set mIoU"
        assert sweep.at(lane.key, 8) == values[sweep.sizes.index(8)]
        assert sweep.at(lane.key, 10) == values[sweep.sizes.index(8)]


def test_sweep_of_a_batch_is_the_miou_of_its_summed_confusion():
    per_image = torch.zeros(4, 2, 2, dtype=torch.int64)
    per_image[:, 0, 0] = torch.tensor([10, 10, 10, 10])
    per_image[0, 1, 1] = 2  # image 0: its small object found
    per_image[1, 1, 0] = 2  # image 1: its small object missed
    sizes, values = batch_size_sweep(per_image, sizes=(1, 4))
    assert sizes == (1, 4)
    expected_images = np.mean([1.0, (10 / 12 + 0) / 2, 1.0, 1.0])
    assert values[0] == pytest.approx(expected_images)
    assert values[1] == pytest.approx((40 / 42 + 2 / 4) / 2)


def test_look_for_text_is_the_runs_numbers(trained):
    view = dataset_training_view(trained)
    text = view.look_for
    assert text.startswith("**Look for:** Validation so far (step 12)")
    by_dataset = sorted(view.lanes, key=lambda lane: -lane.dataset_miou)
    listed = ", ".join(f"{lane.label} {lane.dataset_miou:.3f}" for lane in by_dataset)
    assert f"**data-set mIoU**: {listed};" in text
    by_image = sorted(view.lanes, key=lambda lane: -lane.image_miou)
    listed = ", ".join(f"{lane.label} {lane.image_miou:.3f}" for lane in by_image)
    assert f"**mean per-image IoU**: {listed}." in text
    if by_dataset[0].key == by_image[0].key:
        assert f"{by_dataset[0].label} leads on both averages." in text
    below = [lane for lane in view.lanes if lane.image_miou < lane.dataset_miou]
    if len(below) == len(view.lanes):
        assert "Every lane scores lower on the mean per-image IoU" in text
    elif below:
        assert "Mean per-image IoU below the data-set mIoU for" in text
    rare = sorted(view.lanes, key=lambda lane: -lane.rare_iou)
    assert ", ".join(f"{lane.label} {lane.rare_iou:.3f}" for lane in rare) in text
    share = re.search(r"lies on average (-?\d+) % of the way", text)
    if share:
        closed = []
        for lane in view.lanes:
            first, last = view.sweep.miou[lane.key][0], view.sweep.miou[lane.key][-1]
            if abs(last - first) >= 0.01:
                closed.append((view.sweep.at(lane.key, 8) - first) / (last - first))
        assert int(share.group(1)) == round(100 * np.mean(closed))


def _lane(key: str, dataset: float, image: float, rare: float = 0.5) -> LaneNow:
    return LaneNow(
        key, key.title(), "training", "", 10, dataset, image, (0.9, rare), rare, 0.5, 0.5, 0.1, 5.0
    )


def test_look_for_says_only_what_holds():
    assert look_for((), 10, False, 8, None, ("a", "b"), 1) == ""
    assert look_for((_lane("x", 0.5, 0.4),), 0, False, 8, None, ("a", "b"), 1) == ""
    level = look_for((_lane("x", 0.50, 0.4), _lane("y", 0.505, 0.6)), 10, True, 8, None, ("a", "b"), 1)
    assert "at the end (step 10)" in level and "level on the data-set mIoU" in level
    assert "Mean per-image IoU below the data-set mIoU for X only." in level
    split = look_for((_lane("x", 0.7, 0.4), _lane("y", 0.5, 0.6)), 10, False, 8, None, ("a", "b"), None)
    assert "different leaders: X on the data-set mIoU, Y on the mean per-image IoU" in split
    assert "rare class" not in split
    sweep = BatchSweep((1, 8, 64), {"x": (0.4, 0.6, 0.7), "y": (0.6, 0.55, 0.5)})
    text = look_for((_lane("x", 0.7, 0.4), _lane("y", 0.5, 0.6)), 10, False, 8, sweep, ("a", "b"), 1)
    assert "lies on average 58 % of the way" in text  # (2/3 + 1/2) / 2
    nan = look_for((_lane("x", math.nan, math.nan),), 10, False, 8, None, ("a", "b"), 1)
    assert nan == ""


def test_void_pixels_get_exactly_zero_gradient_in_every_lane():
    config = config_from(**{**vars(DatasetTrainingParams()), "void": True, "scenes": 40, "batch": 4})
    run = DatasetTrainingRun(config)
    run.step(2)
    check = void_check(run)
    assert check.void_pixels > 0 and check.pixels == 4 * 32 * 32
    assert set(check.largest_void) == set(config.lanes)
    assert all(value == 0.0 for value in check.largest_void.values())
    assert all(value > 0.0 for value in check.largest_kept.values())


def test_data_summary_counts_the_batches_without_the_rare_class():
    summary = data_summary(DEFAULT)
    run = DatasetTrainingRun(DEFAULT)
    masks = run.data.split("train")[1]
    has_rare = (masks == 3).any(axis=(1, 2))
    batches = [has_rare[run.batch_indices(step)].any() for step in range(run.batches_per_epoch)]
    assert summary.batches_per_epoch == 180 // 8 == len(batches)
    assert summary.rare_absent_batches == pytest.approx(1 - np.mean(batches))
    assert summary.rare_absent_images == pytest.approx(1 - has_rare.mean())
    assert sum(summary.pixel_share) == pytest.approx(1.0)
    assert summary.scene_share[0] == 1.0 and summary.void_share == 0.0
    assert summary.images.shape == (4, 32, 32, 3) and summary.masks.shape == (4, 32, 32)
    with pytest.raises(ValueError, match="`batch_size`"):
        data_summary(config_from(**{**vars(DatasetTrainingParams()), "scenes": 40, "batch": 64}))
