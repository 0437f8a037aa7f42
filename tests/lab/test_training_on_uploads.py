"""Training and gradients on given arrays (an uploaded image and mask, 255 = void).

lovasz_core.lab.training.TrainingSample / TrainingConfig(data=...) and
lovasz_core.lab.views.gradients.mask_gradients_view: shapes, void pixels ignored by every loss
(exactly zero gradient, never counted in the IoU), equal inputs give equal runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lovasz_core.lab.registry import LOSSES
from lovasz_core.lab.training import TrainingConfig, TrainingRun, TrainingSample
from lovasz_core.lab.views.gradients import LOSS_KEYS, maps_view, mask_gradients_view, pixel_view
from lovasz_core.lab.views.live_training import push_now_view, run_title, sample_preview, training_view
from lovasz_core.lab.void import VOID
from lovasz_core.metrics import per_class_iou

ALL_LOSSES = tuple(LOSSES)


def _mask(height: int = 18, width: int = 26) -> np.ndarray:
    """Three classes on a non-square grid: background, a block, a small square; a void band."""
    mask = np.zeros((height, width), np.int64)
    mask[4:14, 10:22] = 1
    mask[2:5, 2:5] = 2
    mask[:, 7] = VOID  # a void column
    mask[14, 10:22] = VOID
    return mask


def _image(mask: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(1)
    base = np.where(mask == 1, 0.7, np.where(mask == 2, 0.95, 0.2))
    rgb = np.stack([base, base * 0.5, 1 - base], axis=2)
    return np.clip(rgb + 0.05 * rng.standard_normal((*mask.shape, 3)), 0, 1)


def _config(sample: TrainingSample, **changes: object) -> TrainingConfig:
    values: dict = {"data": sample, "steps": 6, "losses": ALL_LOSSES, "snapshot_every": 2, **changes}
    return TrainingConfig(**values)


# ------------------------------------------------------------------------------------ the sample
def test_a_sample_is_compared_by_its_content():
    mask = _mask()
    a = TrainingSample.from_arrays(mask, 3, _image(mask), name="m.png")
    b = TrainingSample.from_arrays(mask.copy(), 3, _image(mask).copy(), name="m.png")
    assert a == b and hash(a) == hash(b) and a.digest == b.digest
    other = mask.copy()
    other[0, 0] = 1
    assert TrainingSample.from_arrays(other, 3, _image(mask), name="m.png") != a
    assert _config(a) == _config(b) and hash(_config(a)) == hash(_config(b))
    assert not a.mask.flags.writeable and not a.image.flags.writeable
    assert a.image.dtype == np.float32 and a.mask.dtype == np.int64


def test_a_mask_alone_gets_an_input_made_from_it():
    sample = TrainingSample.from_arrays(_mask(), 3)
    assert sample.generated and sample.image.shape == (18, 26)
    assert sample.image.min() >= 0 and sample.image.max() <= 1
    assert sample.input_tensor().shape == (1, 1, 18, 26)
    assert sample.label_tensor().shape == (1, 18, 26)
    np.testing.assert_allclose(sample.class_fractions().sum(), 1.0)
    assert sample.class_fractions()[2] == pytest.approx(9 / int((_mask() != VOID).sum()))


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"mask": np.full((4, 4), VOID)}, ValueError, "mask"),
        ({"mask": np.full((4, 4), 3)}, ValueError, "mask"),
        ({"mask": np.zeros((4, 4), np.float32)}, TypeError, "mask"),
        ({"num_classes": 1}, ValueError, "num_classes"),
        ({"image": np.zeros((3, 3))}, ValueError, "image"),
        ({"image": np.full((18, 26), 2.0)}, ValueError, "image"),
    ],
)
def test_bad_arrays_are_refused_by_name(kwargs, error, names):
    values: dict = {"mask": _mask(), "num_classes": 3, "image": None, **kwargs}
    with pytest.raises(error, match=names):
        TrainingSample.from_arrays(**values)


def test_a_config_of_uploaded_data_takes_size_and_classes_from_it():
    sample = TrainingSample.from_arrays(_mask(), 3, name="cells.png")
    config = _config(sample, size=64, num_classes=2).validated()
    assert config.size == 26 and config.num_classes == 3 and config.ignore_index == VOID
    assert config.to_dict()["data"]["digest"] == sample.digest
    with pytest.raises(ValueError, match="data"):
        TrainingConfig.from_dict(config.to_dict())
    assert "your upload cells.png 18×26" in run_title(config)
    with pytest.raises(TypeError, match="data"):
        TrainingConfig(data=_mask()).validated()  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ the run
@pytest.mark.parametrize("model", ["tiny_fcn", "free_logits"])
def test_training_on_arrays_gives_masks_of_their_shape(model):
    mask = _mask()
    run = TrainingRun(_config(TrainingSample.from_arrays(mask, 3, _image(mask)), model=model))
    records = run.step(6)
    assert len(records) == 6 * len(ALL_LOSSES) and run.finished
    assert all(math.isfinite(r.loss) and len(r.class_iou) == 3 for r in records)
    for lane_mask in run.latest_masks().values():
        assert lane_mask.shape == (18, 26)
    view = training_view(run)
    assert view.class_names == ("class 0", "class 1", "class 2")
    assert view.rare_class == 2 and all(lane.mask is not None for lane in view.lanes)
    push = push_now_view(run, "lovasz_softmax", 2)
    assert not push.diverged and push.maps["cross_entropy"].shape == (18, 26)
    for grad_map in push.maps.values():
        assert np.abs(grad_map[mask == VOID]).max() == 0.0


def test_void_pixels_get_zero_gradient_under_every_loss():
    """Free logits: a pixel's logits move only by its own gradient, so void pixels never move."""
    mask = _mask()
    run = TrainingRun(_config(TrainingSample.from_arrays(mask, 3, name="m"), model="free_logits", lr=0.1))
    before = {key: run.predicted_logits(key)[0].clone() for key in run.lanes}
    run.step(6)
    void, labelled = torch.from_numpy(mask == VOID), torch.from_numpy(mask != VOID)
    for key in run.lanes:
        after = run.predicted_logits(key)[0]
        assert torch.equal(after[:, void], before[key][:, void]), f"{key} moved a void pixel"
        assert not torch.equal(after[:, labelled], before[key][:, labelled]), f"{key} did not train"


def test_void_pixels_are_never_counted():
    mask = _mask()
    run = TrainingRun(_config(TrainingSample.from_arrays(mask, 3, _image(mask)), losses=("cross_entropy",)))
    record = run.step(1)[0]
    logits = run.predicted_logits("cross_entropy")  # one update later: measure by hand on step 1
    run.step(1)
    second = run.records[-1]
    labels = torch.from_numpy(mask)[None]
    assert second.loss == pytest.approx(float(F.cross_entropy(logits, labels, ignore_index=VOID)), rel=1e-5)
    keep = torch.from_numpy(mask != VOID)
    prediction = logits.argmax(1)[0]
    expected = per_class_iou(prediction[keep], labels[0][keep], 3)
    np.testing.assert_allclose(second.class_iou, expected.numpy(), rtol=1e-9)
    assert math.isfinite(record.loss)


def test_equal_arrays_give_equal_runs():
    mask = _mask()
    a = TrainingRun(_config(TrainingSample.from_arrays(mask, 3, _image(mask))))
    b = TrainingRun(_config(TrainingSample.from_arrays(mask.copy(), 3, _image(mask))))
    a.step(6)
    b.step(6)
    assert [(r.loss, r.class_iou) for r in a.records] == [(r.loss, r.class_iou) for r in b.records]
    for key in a.lanes:
        assert np.array_equal(a.latest_masks()[key], b.latest_masks()[key])


def test_the_preview_of_a_sample_skips_absent_classes_for_the_rare_one():
    mask = _mask()
    mask[2:5, 2:5] = 0  # class 2 gone; class 3 one pixel
    mask[0, 0] = 3
    shown = sample_preview(TrainingSample.from_arrays(mask, 4))
    assert shown.rare_class == 3 and shown.fractions[2] == 0.0


# ------------------------------------------------------------------------------------ gradients
def test_mask_gradients_view_on_an_upload():
    mask = _mask()
    view = mask_gradients_view(mask, 3, quality=0.5, blur=1.0, seed=0)
    assert view.uploaded and view.class_names == ("class 0", "class 1", "class 2") and view.small == 2
    assert view.mask.shape == (18, 26) and view.ignored == int((mask == VOID).sum())
    assert [item.key for item in view.losses] == list(LOSS_KEYS)
    for item in view.losses:
        assert item.grad.shape == (3, 18, 26)
        assert np.abs(item.grad[:, mask == VOID]).max() == 0.0, item.key
        assert 0 <= item.small_share <= 1
    np.testing.assert_allclose(view.pixel_shares.sum(), 1.0)
    assert view.loss("lovasz_softmax").small_share > view.loss("cross_entropy").small_share
    maps = maps_view(view, "class 2", per_map=True)
    assert set(maps.maps) == set(LOSS_KEYS)
    pixel = pixel_view(view, 0, 7)
    assert pixel is not None and pixel.true_class == "void (255)"


def test_mask_gradients_view_without_ignore_index_says_why():
    view = mask_gradients_view(_mask(), 3, quality=0.5, blur=1.0, seed=0, ignore_void=False)
    assert view.ignored == 0 and "255" in view.void_error


@pytest.mark.parametrize(
    ("labels", "classes", "error"),
    [
        ([[0, 1]], 2, TypeError),
        (np.zeros((3, 3), np.float64), 2, ValueError),
        (np.full((3, 3), 5), 3, ValueError),
        (np.zeros((3, 3), np.int64), 1, ValueError),
    ],
)
def test_mask_gradients_view_refuses_bad_input_by_name(labels, classes, error):
    with pytest.raises(error, match=r"labels|num_classes"):
        mask_gradients_view(labels, classes, 0.5, 1.0, 0)
