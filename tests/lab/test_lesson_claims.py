"""The lab-level facts behind the lessons on per_image/batches/data-set IoU and on the void label,
computed on the presets the lessons open (the page's own numbers are checked in tests/app)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from skimage.morphology import dilation, disk

from lovasz_core import lovasz_softmax, lovasz_trace, per_class_iou
from lovasz_core.lab.dataset_training import PRESETS, DatasetTrainingConfig, DatasetTrainingRun
from lovasz_core.lab.shapes import make_scene
from lovasz_core.lab.split_scores import score_split
from lovasz_core.lab.void import VOID, VOID_PRESETS, add_void_band, void_mask, void_trace

PER_IMAGE = PRESETS["Per image vs per batch"]


# ------------------------------------------------------------------------------------ lesson 1
def test_dataset_step_rare_class_is_rare():
    data = PER_IMAGE.dataset()
    rare = data.rare_class
    fractions, presence = data.class_pixel_fractions("train"), data.class_presence("train")
    assert fractions[rare] < min(fractions[1:rare]) / 4
    assert presence[rare] < 0.75, "absent from a large share of the scenes"
    assert presence[0] == 1.0


def test_two_averages_differ_on_a_missed_small_object():
    target = torch.zeros(4, 16, 16, dtype=torch.long)
    target[:, 2:10, 2:10] = 1
    target[3, 14, 14] = 2  # one pixel of a small class in one image
    target[0, 12:15, 12:15] = 2
    prediction = target.clone()
    prediction[3, 14, 14] = 0
    scores = score_split(prediction, target, 3, VOID)
    assert scores.image_miou < scores.dataset_miou
    assert scores.dataset_miou == pytest.approx(float(np.nanmean(scores.class_iou)))


def test_lanes_start_equal_and_share_batches():
    run = DatasetTrainingRun(PER_IMAGE)
    out = run.step(1)
    at_zero = {(e.dataset_miou, e.image_miou, e.class_iou) for e in out.evaluations}
    assert len(out.evaluations) == len(PER_IMAGE.lanes) and len(at_zero) == 1
    assert len({(r.batch_miou, r.class_iou) for r in out.batches}) == 1


def test_per_image_and_per_batch_differ_on_the_first_batch():
    run = DatasetTrainingRun(PER_IMAGE)
    records = {r.lane: r.loss for r in run.step(1).batches}
    assert records["lovasz_batch"] != pytest.approx(records["lovasz_image"], rel=1e-4)


def test_absent_class_costs_its_largest_probability():
    config = PRESETS["classes=all vs present"]
    data = config.dataset()
    rare = data.rare_class
    images, masks = data.split("train")
    labels = torch.from_numpy(masks.copy())
    without = [i for i in range(len(labels)) if not (labels[i] == rare).any()]
    full = [i for i in without if len(torch.unique(labels[i])) == data.num_classes - 1]
    index = full[0]
    model = DatasetTrainingRun(config).lanes["lovasz_image"].model
    with torch.no_grad():
        probas = torch.softmax(model(torch.from_numpy(images[index : index + 1].copy())), 1)
    one = labels[index : index + 1]
    term = lovasz_softmax(probas, one, classes=[rare], per_image=True, ignore_index=VOID)
    torch.testing.assert_close(term, probas[0, rare].max().to(term.dtype))
    every = lovasz_softmax(probas, one, classes="all", per_image=True, ignore_index=VOID)
    present = lovasz_softmax(probas, one, classes="present", per_image=True, ignore_index=VOID)
    classes = data.num_classes
    torch.testing.assert_close(every * classes - present * (classes - 1), term)


def test_small_batches_miss_the_rare_class_more_often():
    missing = {}
    for preset in ("Small batches (2)", "Per image vs per batch", "Large batches (32)"):
        run = DatasetTrainingRun(PRESETS[preset])
        missing[preset] = 1.0 - run.batch_class_presence(0)[run.data.rare_class]
    small, default, large = missing.values()
    assert small > default >= large


def test_preset_run_reports_rare_class_and_both_averages():
    """The structure of what the last step reads (the same at any step count: 2 steps here)."""
    config = DatasetTrainingConfig(**{**PER_IMAGE.__dict__, "steps": 2})
    run = DatasetTrainingRun(config)
    run.step(config.steps)
    finals = [e for e in run.evaluations if e.step == config.steps]
    assert {e.lane for e in finals} == set(config.lanes)
    for record in finals:
        assert len(record.class_iou) == run.num_classes
        assert record.dataset_miou == pytest.approx(float(np.nanmean(record.class_iou)))
        assert 0.0 <= record.image_miou <= 1.0


# ------------------------------------------------------------------------------------ lesson 2
def _page_preset(page: str, preset: str):
    """The settings of a page's preset from the app's registry (skip where the app is absent)."""
    pytest.importorskip("app.params")
    from app.state import PAGES

    return PAGES[page].presets[preset]


def test_dataset_presets_are_the_pages_presets():
    for name, config in PRESETS.items():
        page = _page_preset("dataset_training", name)
        assert tuple(page.lanes) == config.lanes, name
        assert (page.classes, page.batch, page.num_classes) == (
            config.classes,
            config.batch_size,
            config.num_classes,
        )
        assert page.rare_rate == pytest.approx(config.rare_rate), name
        assert (page.void_width if page.void else 0) == config.void_width, name
        assert (page.scenes, page.steps, page.seed) == (config.scenes, config.steps, config.seed), name


def test_void_pixels_leave_the_sort():
    page = _page_preset("sorting_errors", "Void band, ignored")
    assert page.void >= 1 and page.ignore
    clean = make_scene(page.scene, page.size, page.classes, page.seed).numpy()
    labels = torch.from_numpy(add_void_band(clean, page.void))
    generator = torch.Generator().manual_seed(0)
    probas = torch.softmax(torch.randn(page.classes, *labels.shape, generator=generator), 0)
    fg = labels == page.cls
    errors = torch.where(fg, 1 - probas[page.cls], probas[page.cls])
    view = void_trace(errors, labels, page.cls)
    void_positions = set(torch.nonzero(labels.reshape(-1) == VOID).reshape(-1).tolist())
    assert view.ignored == len(void_positions) > 0
    assert len(view.order) == labels.numel() - view.ignored
    assert void_positions.isdisjoint(view.order.tolist())
    assert (view.weights.reshape(-1)[sorted(void_positions)] == 0).all()


def test_void_box_hides_its_pixels_from_loss_and_iou():
    settings = VOID_PRESETS["Void box"]
    labels = torch.from_numpy(void_mask(settings))
    top, left, height, width = settings.box
    clean = void_mask(replace(settings, box=None))
    assert (clean[top : top + height, left : left + width] == settings.cls).any(), "the box hides an object"
    logits = torch.randn(1, settings.num_classes, *labels.shape, generator=torch.Generator().manual_seed(1))
    changed = logits.clone()
    changed[..., top : top + height, left : left + width] = torch.randn(
        1, settings.num_classes, height, width, generator=torch.Generator().manual_seed(2)
    )
    results = []
    for x in (logits, changed):
        probas = torch.softmax(x, 1)
        loss = lovasz_softmax(probas, labels[None], ignore_index=VOID)
        iou = per_class_iou(x.argmax(1), labels[None], settings.num_classes, VOID)
        results.append((loss, iou))
    assert not torch.equal(logits.argmax(1), changed.argmax(1))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1], equal_nan=True)
    keep = labels != VOID
    probas = torch.softmax(logits, 1)[0]
    per_class = [
        lovasz_trace(
            torch.where(labels[keep] == c, 1 - probas[c][keep], probas[c][keep]), labels[keep] == c
        ).loss
        for c in range(settings.num_classes)
        if (labels[keep] == c).any()
    ]
    torch.testing.assert_close(results[0][0], torch.stack(per_class).mean().to(results[0][0].dtype))


def test_forgetting_ignore_index_lowers_the_object_iou():
    settings = VOID_PRESETS["Forgot ignore_index"]
    labels = void_mask(settings)
    clean = void_mask(replace(settings, band_width=0))
    prediction = dilation(clean == 1, disk(1)).astype(np.int64)  # the object, one pixel into the band
    as_background = np.where(labels == VOID, 0, labels)
    ignored = per_class_iou(torch.from_numpy(prediction), torch.from_numpy(labels), 2, VOID)
    counted = per_class_iou(torch.from_numpy(prediction), torch.from_numpy(as_background), 2)
    assert float(counted[1]) < float(ignored[1])
