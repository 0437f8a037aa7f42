"""Every claim of the lessons "per_image, batches and the dataset IoU" and "The void label",
computed on the settings of the step that makes it (its page's preset and link parameters).

Each step is matched to its checks by title (:data:`CHECKED`); a step without a check fails.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app import lessons, state
from app.lessons import check_lesson, load_lesson
from lovasz_core import lovasz_softmax
from lovasz_core.lab.baselines import cross_entropy
from lovasz_core.lab.dataset_training import DatasetTrainingConfig, DatasetTrainingRun
from lovasz_core.lab.lanes import BINARY_LANES, binary_score
from lovasz_core.lab.split_scores import score_split
from lovasz_core.lab.views.dataset_training import (
    config_from,
    data_summary,
    dataset_training_view,
    void_check,
)
from lovasz_core.lab.void import add_void_band, void_trace

PER_IMAGE = "per_image_batches_dataset_iou"
VOID = "the_void_label"
LESSONS = {name: load_lesson(lessons.LESSONS_DIR / f"{name}.md") for name in (PER_IMAGE, VOID)}


def step(lesson: str, title: str):
    """The step ``title`` of ``lesson``."""
    return next(s for s in LESSONS[lesson].steps if s.title == title)


def settings(lesson: str, title: str) -> DatasetTrainingConfig:
    """The run that the step opens on the page "Training on a data set" (preset, then params)."""
    opened = step(lesson, title)
    assert opened.page == "dataset_training"
    params, problems = state.from_query("dataset_training", lessons.step_query(opened))
    assert problems == []
    return config_from(**vars(params))


def percent(value: float, digits: int = 1) -> str:
    """As the page prints a share."""
    return f"{100 * value:.{digits}f} %"


@pytest.fixture(scope="module")
def trained() -> DatasetTrainingRun:
    """The preset "Per image vs per batch", trained for 12 steps (what "a few steps" means here)."""
    run = DatasetTrainingRun(settings(PER_IMAGE, "At step 0 every lane is the same network"))
    run.step(12)
    return run


# ------------------------------------------------------------------------------------ format
CHECKED = {
    PER_IMAGE: {
        "A data set with a rare class",
        "Two ways to average IoU over a data set",
        "At step 0 every lane is the same network",
        "per_image=False and per_image=True are different losses",
        "Which IoU does a batch see?",
        "Batch size decides how often a class is missing from a batch",
        'Absent classes: "present" or "all"',
        "The binary case: Lovász hinge vs binary cross-entropy vs Lovász sigmoid",
    },
    VOID: {
        "A band of void pixels along every outline",
        "Void pixels leave the sort",
        "Their gradient is exactly zero",
        "Cross-entropy needs ignore_index too",
        "A void band can erase a small object",
        "Void pixels count nowhere in the IoU",
    },
}


@pytest.mark.parametrize("name", [PER_IMAGE, VOID])
def test_lesson_is_valid_and_every_step_is_complete_and_checked(name):
    lesson = check_lesson(LESSONS[name])  # pages, presets and link parameters exist
    assert len(lesson.steps) >= 6
    for each in lesson.steps:
        assert each.question and each.answer and each.notes, each.title
        if each.page in state.PAGES:
            _, problems = state.from_query(each.page, lessons.step_query(each))
            assert problems == [], (each.title, problems)
    assert {s.title for s in lesson.steps} == CHECKED[name]
    assert not (lessons.LESSONS_DIR / "drafts").exists(), "the drafts were moved here"


# ------------------------------------------------------------------------------------ lesson 1
def test_rare_class_shares_as_quoted():
    summary = data_summary(settings(PER_IMAGE, "A data set with a rare class"))
    answer = step(PER_IMAGE, "A data set with a rare class").answer
    shares = [percent(v) for v in summary.pixel_share]
    assert shares[1:] == ["9.9 %", "11.1 %", "0.9 %"]
    assert all(s in answer for s in shares[1:])
    assert percent(summary.scene_share[3], 0) == "53 %" and "53 %" in answer
    assert summary.scene_share[0] == 1.0


def test_two_averages_example_as_quoted():
    target = torch.zeros(4, 8, 8, dtype=torch.long)
    target[:, 1:5, 1:5] = 1
    target[1:, 5:8, 5:8] = 2
    target[0, 6, 6:8] = 2
    prediction = target.clone()
    prediction[0, 6, 6:8] = 0  # the 2-pixel object missed
    scores = score_split(prediction, target, 3, None)
    notes = step(PER_IMAGE, "Two ways to average IoU over a data set").notes
    assert f"data-set mIoU {scores.dataset_miou:.3f}" in notes
    assert f"mean per-image IoU {scores.image_miou:.3f}" in notes
    assert f"({scores.image_ious[0]:.3f} for the image with the miss)" in notes
    assert scores.image_miou < scores.dataset_miou


def test_lanes_start_equal(trained):
    view = dataset_training_view(trained)
    at_zero = view.val["step"] == 0
    assert at_zero.sum() == len(trained.config.lanes)
    assert len(set(view.val["dataset_miou"][at_zero])) == 1
    assert len(set(view.val["image_miou"][at_zero])) == 1


def test_per_batch_and_per_image_lanes_are_apart_after_a_few_steps(trained):
    view = dataset_training_view(trained)
    lanes = {lane.key: lane for lane in view.lanes}
    batch, image = lanes["lovasz_batch"], lanes["lovasz_image"]
    assert abs(batch.dataset_miou - image.dataset_miou) > 0.01
    assert abs(batch.image_miou - image.image_miou) > 0.01
    leader = max(view.lanes, key=lambda lane: lane.dataset_miou)
    assert "best first — **data-set mIoU**: " + leader.label in view.look_for


def test_sweep_ends_and_approach(trained):
    view = dataset_training_view(trained)
    sweep = view.sweep
    assert sweep is not None and view.batch_size == 8 and 8 in sweep.sizes
    for lane in view.lanes:
        values = sweep.miou[lane.key]
        assert values[0] == pytest.approx(lane.image_miou, abs=1e-12)
        assert values[-1] == pytest.approx(lane.dataset_miou, abs=1e-12)
        distance = [abs(v - values[-1]) for v in values]
        assert distance[sweep.sizes.index(8)] <= distance[0], "batches of 8 closer than single images"
    assert "the batch IoU that per_image=False optimises approaches the data-set IoU" in view.look_for


def test_small_batches_miss_the_rare_class_more_often():
    title = "Batch size decides how often a class is missing from a batch"
    small = data_summary(settings(PER_IMAGE, title))
    large = data_summary(config_from(**vars(state.PAGES["dataset_training"].presets["Large batches (32)"])))
    assert small.batch_size == 2 and large.batch_size == 32
    answer = step(PER_IMAGE, title).answer
    assert percent(small.rare_absent_batches, 0) == "28 %" and "28 %" in answer
    assert large.rare_absent_batches == 0.0 and "with batches of 32, none" in answer


def test_absent_class_costs_its_largest_probability():
    config = settings(PER_IMAGE, 'Absent classes: "present" or "all"')
    assert config.classes == "all" and config.lanes == ("lovasz_batch", "lovasz_image")
    assert percent(data_summary(config).scene_share[3], 0) == "29 %"
    assert "29 %" in step(PER_IMAGE, 'Absent classes: "present" or "all"').text
    generator = torch.Generator().manual_seed(0)
    probas = torch.softmax(torch.randn(3, 4, 8, 8, generator=generator), dim=1)
    labels = torch.randint(0, 3, (3, 8, 8), generator=generator)  # class 3 absent everywhere
    term = lovasz_softmax(probas, labels, classes=[3], per_image=True)
    assert float(term) == pytest.approx(float(probas[:, 3].amax(dim=(1, 2)).mean()))
    present = lovasz_softmax(probas, labels, classes="present", per_image=True)
    everything = lovasz_softmax(probas, labels, classes="all", per_image=True)
    assert float(everything) != pytest.approx(float(present))


def test_binary_preset_is_the_papers_demo():
    config = settings(PER_IMAGE, "The binary case: Lovász hinge vs binary cross-entropy vs Lovász sigmoid")
    assert config.num_classes == 2 and config.lanes == BINARY_LANES
    logits = torch.randn(2, 2, 5, 5)
    score = binary_score(logits)
    assert torch.allclose(torch.sigmoid(score), torch.softmax(logits, 1)[:, 1], atol=1e-6)
    assert torch.equal(score > 0, logits.argmax(1) == 1)
    run = DatasetTrainingRun(config)
    run.step(2)
    assert {lane.key for lane in dataset_training_view(run, examples=False).lanes} == set(BINARY_LANES)


# ------------------------------------------------------------------------------------ lesson 2
def test_void_shares_as_quoted():
    title = "A band of void pixels along every outline"
    config = settings(VOID, title)
    assert config.void_width == 1
    answer = step(VOID, title).answer
    for width, quoted in ((1, "16.3 %"), (2, "30.3 %"), (3, "42.2 %")):
        share = data_summary(DatasetTrainingConfig(**{**vars(config), "void_width": width})).void_share
        assert percent(share) == quoted and quoted in answer


def test_void_band_is_every_pixel_near_another_label():
    mask = np.zeros((12, 12), np.int64)
    mask[3:7, 3:8] = 1
    banded = add_void_band(mask, 1)
    padded = np.pad(mask, 1, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3))
    near_other = (windows != mask[..., None, None]).any(axis=(2, 3))
    assert np.array_equal(banded == 255, near_other)


def test_void_pixels_leave_the_sort():
    for name, ignored in (("Void band, ignored", True), ("Void band, not ignored", False)):
        preset = state.PAGES["sorting_errors"].presets[name]
        assert preset.ignore is ignored and preset.void == 1
    mask = np.zeros((10, 10), np.int64)
    mask[2:7, 2:7] = 1
    labels = torch.from_numpy(add_void_band(mask, 1))
    errors = torch.rand(10, 10, dtype=torch.float64)
    trace = void_trace(errors, labels, 1)
    void = labels == 255
    assert trace.ignored == int(void.sum()) and len(trace.order) == 100 - trace.ignored
    assert not set(trace.order.tolist()) & set(torch.nonzero(void.reshape(-1)).reshape(-1).tolist())
    assert torch.all(trace.weights[void] == 0)


def test_void_gradient_is_zero_for_every_lane():
    config = settings(VOID, "Their gradient is exactly zero")
    check = void_check(DatasetTrainingRun(config))
    assert check.void_pixels > 0 and set(check.largest_void) == set(config.lanes)
    assert all(value == 0.0 for value in check.largest_void.values())
    assert all(value > 0.0 for value in check.largest_kept.values())


def test_cross_entropy_without_ignore_index_refuses_void_labels():
    config = settings(VOID, "Cross-entropy needs ignore_index too")
    labels = torch.from_numpy(config.dataset().masks[:2].copy())
    logits = torch.zeros(2, config.num_classes, 32, 32)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\]"):
        cross_entropy(logits, labels, None)
    assert math.isfinite(float(cross_entropy(logits, labels, 255)))
    assert inspect.signature(F.cross_entropy).parameters["ignore_index"].default == -100
    with pytest.raises((IndexError, RuntimeError)):
        F.cross_entropy(logits, labels)


def test_void_band_erases_the_rare_object():
    title = "A void band can erase a small object"
    wide = data_summary(settings(VOID, title))
    assert wide.void_share > 0 and settings(VOID, title).void_width == 2
    base = settings(PER_IMAGE, "A data set with a rare class")
    none = data_summary(base)
    narrow = data_summary(DatasetTrainingConfig(**{**vars(base), "void_width": 1}))
    text = step(VOID, title).answer + step(VOID, title).notes
    assert [percent(s.pixel_share[3]) for s in (none, narrow, wide)] == ["0.9 %", "0.2 %", "0.0 %"]
    assert "0.9 % without a band to 0.2 % with a 1-pixel band and to 0.0 % with 2 pixels" in text
    assert percent(wide.scene_share[3], 0) == "1 %" and percent(none.scene_share[3], 0) == "53 %"
    assert "9.9 % → 7.4 %" in text and "11.1 % → 8.8 %" in text
    assert [percent(narrow.pixel_share[c]) for c in (1, 2)] == ["7.4 %", "8.8 %"]
    masks = base.dataset().masks
    banded = DatasetTrainingConfig(**{**vars(base), "void_width": 1}).dataset().masks
    kept = [(banded == c).sum() / (masks == c).sum() for c in (1, 2, 3)]
    assert 0.55 < kept[0] < 0.7 and 0.55 < kept[1] < 0.7, "the large objects lose about a third"
    assert 0.15 < kept[2] < 0.25, "the rare object loses four fifths"


def test_void_pixels_count_nowhere_in_the_iou():
    config = settings(VOID, "Void pixels count nowhere in the IoU")
    run = DatasetTrainingRun(config)
    run.step(3)
    masks = torch.from_numpy(config.dataset().split("val")[1].copy())
    prediction = torch.from_numpy(run.predict("cross_entropy", "val"))
    scores = score_split(prediction, masks, config.num_classes, 255)
    assert int(scores.confusion.sum()) == int((masks != 255).sum())
    changed = torch.where(masks == 255, (prediction + 1) % config.num_classes, prediction)
    again = score_split(changed, masks, config.num_classes, 255)
    assert again.dataset_miou == scores.dataset_miou and again.image_miou == scores.image_miou
