"""The view of "Your data and your model": gradients with void pixels, the void-aware sort, IoU,
the example case, the generated prediction and painting."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from lovasz_core import lovasz_softmax
from lovasz_core.lab.predictions import PredictionSpec
from lovasz_core.lab.views.your_data import (
    EXAMPLE_CLASSES,
    EXAMPLE_SIZE,
    class_maps,
    example_case,
    fill_void,
    generated_logits,
    npy_bytes,
    paint,
    your_data_view,
)
from lovasz_core.metrics import per_class_iou


def _case(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.zeros((12, 10), np.int64)
    mask[2:8, 2:6] = 1
    mask[8:11, 6:9] = 2
    mask[0, :] = 255
    mask[5, 5] = 255
    logits = rng.normal(0.0, 1.5, (3, 12, 10)).astype(np.float32)
    return mask, logits


def test_void_pixels_get_exactly_zero_gradient_and_no_rank():
    mask, logits = _case()
    view = your_data_view(mask, logits, 1)
    void = mask == 255
    assert view.void_pixels == int(void.sum()) == 11
    for item in view.losses:
        assert item.void_max == 0.0
        assert np.abs(item.grad[:, void]).max() == 0.0
        assert np.abs(item.grad[:, ~void]).max() > 0.0
    assert view.sort.kept == mask.size - 11 and view.sort.ignored == 11
    assert set(np.flatnonzero(void.ravel())).isdisjoint(view.sort.order.tolist())
    assert np.all(view.sort.weights[void] == 0)


def test_the_sort_is_the_lovasz_term_of_the_class_with_void_ignored():
    mask, logits = _case(1)
    view = your_data_view(mask, logits, 2)
    probas = torch.from_numpy(logits).softmax(0)[None]
    expected = float(lovasz_softmax(probas, torch.from_numpy(mask)[None], classes=[2], ignore=255))
    assert view.sort.loss == pytest.approx(expected, rel=1e-6)
    assert np.all(np.diff(view.sort.errors_sorted) <= 0)
    np.testing.assert_allclose(np.cumsum(view.sort.grad), view.sort.jaccard, atol=1e-9)
    assert view.sort.k_star == int((view.sort.errors_sorted > 0.5).sum())


def test_iou_is_of_the_argmax_with_void_left_out():
    mask, logits = _case(2)
    view = your_data_view(mask, logits, 0)
    expected = per_class_iou(
        torch.from_numpy(logits.argmax(0)), torch.from_numpy(mask), 3, ignore_index=255
    ).numpy()
    np.testing.assert_allclose(view.iou, expected)
    np.testing.assert_array_equal(view.prediction, logits.argmax(0))
    assert view.mean_iou == pytest.approx(float(np.nanmean(expected)))
    np.testing.assert_array_equal(view.pixels, [np.sum(mask == c) for c in range(3)])


def test_push_shares_sum_to_one_and_cross_entropy_follows_the_pixel_count():
    mask = np.zeros((20, 20), np.int64)
    mask[:2, :2] = 1  # a rare class: 1 % of the pixels
    logits = np.zeros((2, 20, 20), np.float32)  # p = 1/2 everywhere: every pixel equally wrong
    view = your_data_view(mask, logits, 1)
    ce, lovasz = view.loss("cross_entropy"), view.loss("lovasz_softmax")
    for item in (ce, lovasz):
        assert item.push_share.sum() == pytest.approx(1.0)
    assert ce.push_share[1] == pytest.approx(4 / 400)  # same error everywhere: share = pixel share
    assert lovasz.push_share[1] > 10 * ce.push_share[1]


def test_class_maps_per_map_and_shared():
    mask, logits = _case(3)
    view = your_data_view(mask, logits, 1)
    own = class_maps(view, 1, per_map=True)
    for key, values in own.maps.items():
        assert own.scales[key] == pytest.approx(np.abs(values).max())
    shared = class_maps(view, 1, per_map=False)
    assert len(set(shared.scales.values())) == 1
    assert next(iter(shared.scales.values())) == pytest.approx(max(own.scales.values()))
    assert "own colour scale" in own.caption and "one colour scale" in shared.caption


def test_example_case_has_void_and_matches_its_logits():
    mask, logits = example_case()
    assert mask.shape == (EXAMPLE_SIZE, EXAMPLE_SIZE)
    assert logits.shape == (EXAMPLE_CLASSES, EXAMPLE_SIZE, EXAMPLE_SIZE) and logits.dtype == np.float32
    assert set(np.unique(mask)) == {0, 1, 2, 255}
    assert 0 < int((mask == 255).sum()) < mask.size // 2
    np.testing.assert_array_equal(np.load(io.BytesIO(npy_bytes(mask))), mask)


def test_fill_void_takes_the_nearest_class_and_generated_logits_fit():
    mask = np.array([[0, 255, 1, 1], [0, 255, 255, 1]], np.int64)
    np.testing.assert_array_equal(fill_void(mask), [[0, 0, 1, 1], [0, 0, 1, 1]])
    logits = generated_logits(mask, 2, PredictionSpec())
    assert logits.shape == (2, 2, 4) and np.isfinite(logits).all()
    with pytest.raises(ValueError, match="void everywhere"):
        fill_void(np.full((2, 2), 255))


def test_paint_sets_the_pixels_and_leaves_the_input_alone():
    mask = np.zeros((3, 4), np.int64)
    painted = paint(mask, [0, 5, 11], 255)
    assert painted[0, 0] == painted[1, 1] == painted[2, 3] == 255
    assert int((painted == 255).sum()) == 3 and not mask.any()
    with pytest.raises(ValueError, match="indices"):
        paint(mask, [12], 1)
    with pytest.raises(ValueError, match="value"):
        paint(mask, [0], 16)


def test_bad_inputs_raise_naming_the_argument():
    mask, logits = _case()
    with pytest.raises(ValueError, match="C = 2 classes"):
        your_data_view(mask, logits[:2], 0)
    with pytest.raises(ValueError, match="void everywhere"):
        your_data_view(np.full_like(mask, 255), logits, 0)
    with pytest.raises(ValueError, match="`cls`"):
        your_data_view(mask, logits, 3)
    with pytest.raises(ValueError, match="`logits`"):
        your_data_view(mask, logits[:, :5], 0)
    nan = logits.copy()
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        your_data_view(mask, nan, 0)
