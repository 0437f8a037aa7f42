"""lovasz_core.lab.views.sorting_errors: every number the "Sorting errors" page draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lovasz_core import lovasz_softmax
from lovasz_core.lab.predictions import PredictionSpec, make_logits
from lovasz_core.lab.shapes import make_scene
from lovasz_core.lab.views.sorting_errors import prefix_numbers, sorting_view


def _case(size: int = 12, classes: int = 3, noise: float = 0.8, seed: int = 0):
    labels = make_scene("disks", size, classes, seed)
    spec = PredictionSpec(shift_x=1.0, noise=noise, temperature=1.5, seed=seed)
    return labels.numpy(), make_logits(labels, classes, spec).numpy()


@pytest.mark.parametrize("kind", ["softmax", "hinge"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prefix_sum_at_k_star_is_one_minus_iou_of_the_thresholded_prediction(kind, seed):
    labels, logits = _case(seed=seed)
    view = sorting_view(labels, logits, 1, kind)
    if not math.isnan(view.iou_threshold):
        assert view.prefix_sum_at_k_star == pytest.approx(1 - view.iou_threshold, abs=1e-12)
    assert view.binary_extension == pytest.approx(view.binary_delta, abs=1e-12)


def test_the_contributions_add_up_to_the_loss_and_the_walk_ends_there():
    labels, logits = _case()
    view = sorting_view(labels, logits, 1)
    assert view.contributions_map.sum() == pytest.approx(view.loss)
    end = prefix_numbers(view, view.size)
    assert end.loss_so_far == pytest.approx(view.loss)
    assert prefix_numbers(view, 0).jaccard == 0.0 and prefix_numbers(view, 0).union == view.num_fg
    with pytest.raises(ValueError, match="`k`"):
        prefix_numbers(view, view.size + 1)


def test_prefix_numbers_are_the_paper_counts():
    labels, logits = _case()
    view = sorting_view(labels, logits, 1)
    for k in (1, 5, 17, view.size):
        numbers = prefix_numbers(view, k)
        fg_in_prefix = int(view.fg_sorted[:k].sum())
        assert numbers.intersection == view.num_fg - fg_in_prefix
        assert numbers.union == view.num_fg + (k - fg_in_prefix)
        assert numbers.jaccard == pytest.approx(1 - numbers.intersection / numbers.union)


def test_an_absent_class_costs_its_largest_error():
    labels, logits = _case()
    view = sorting_view(labels, logits, 1, absent=True)
    assert view.num_fg == 0
    assert view.loss == pytest.approx(view.max_error)
    assert view.grad[0] == pytest.approx(1.0) and np.all(view.grad[1:] == 0)


def test_loss_all_and_present_match_the_library():
    labels, logits = _case()
    view = sorting_view(labels, logits, 2)
    probas = torch.from_numpy(logits).double().softmax(0)[None]
    truth = torch.from_numpy(labels)[None]
    assert view.loss_all == pytest.approx(float(lovasz_softmax(probas, truth, classes="all")))
    assert view.loss_present == pytest.approx(float(lovasz_softmax(probas, truth, classes="present")))


def test_bad_input_names_the_argument():
    labels, logits = _case()
    with pytest.raises(ValueError, match="`kind`"):
        sorting_view(labels, logits, 1, "cubic")
    with pytest.raises(ValueError, match="`cls`"):
        sorting_view(labels, logits, 7)
    with pytest.raises(ValueError, match="`labels`"):
        sorting_view(labels[:4], logits, 1)


def test_void_pixels_are_left_out_of_the_sort_and_get_no_gradient():
    labels, logits = _case(size=16)
    view = sorting_view(labels, logits, 1, void_band=1, ignore_void=True)
    assert view.ignored == int(view.void.sum()) > 0
    assert view.size == labels.size - view.ignored
    assert not np.isin(view.order, np.flatnonzero(view.void)).any()
    assert np.all(view.ranks[view.void] == 0) and np.all(view.weights[view.void] == 0)
    probas = torch.from_numpy(logits).double().softmax(0)[None]
    truth = torch.from_numpy(view.truth)[None]
    expected = lovasz_softmax(probas, truth, classes="all", ignore_index=255)
    assert view.loss_all == pytest.approx(float(expected)) and view.loss_error == ""
    assert view.contributions_map.sum() == pytest.approx(view.loss)


def test_without_ignore_index_void_pixels_are_sorted_as_not_c_and_the_loss_refuses_the_labels():
    labels, logits = _case(size=16)
    view = sorting_view(labels, logits, 1, void_band=1, ignore_void=False)
    assert view.ignored == 0 and view.size == labels.size
    assert "labels" in view.loss_error and math.isnan(view.loss_all)
    assert not view.fg[view.void].any()


def test_every_pixel_void_is_a_readable_error():
    labels, logits = _case(size=2)
    with pytest.raises(ValueError, match="void"):
        sorting_view(labels, logits, 1, void_band=2, ignore_void=True)
