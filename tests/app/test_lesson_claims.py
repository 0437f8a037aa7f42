"""Every step of the built-in lesson, checked on the settings it opens.

For each step: its link (preset + params) is turned into the page's parameters exactly as the
page receives them, the page's own view computes its numbers, and each factual claim of the
step's text and answer is asserted on them. A step without a check fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from app import lessons, params, state  # noqa: F401  (params registers every page)
from lovasz_core import lovasz_softmax
from lovasz_core.lab.predictions import PredictionSpec, make_logits
from lovasz_core.lab.shapes import ground_truth
from lovasz_core.lab.views.geometry import geometry_view
from lovasz_core.lab.views.gradients import gradients_view
from lovasz_core.lab.views.home import home_view
from lovasz_core.lab.views.iou_jaccard import iou_view
from lovasz_core.lab.views.sorting_errors import prefix_numbers, sorting_view

LESSON = lessons.load_lesson(lessons.LESSONS_DIR / f"{lessons.BUILT_IN}.md")


def _params(step: lessons.Step):
    chosen, problems = state.from_query(step.page, lessons.step_query(step))
    assert problems == [], problems
    return chosen


def _scene(p) -> tuple[np.ndarray, int, np.ndarray]:
    labels, _ = ground_truth(p.scene, p.size, p.classes, p.seed)
    num_classes = max(int(p.classes), int(labels.max()) + 1)
    spec = PredictionSpec(p.shift_x, p.shift_y, p.scale, p.noise, p.temp, seed=p.seed)
    return labels.numpy(), num_classes, make_logits(labels, num_classes, spec).numpy()


def _sorting(p):
    labels, _, logits = _scene(p)
    return sorting_view(labels, logits, p.cls, p.errors, p.absent, p.void, p.ignore)


def check_staircase_on_home(p) -> None:
    view = home_view(p.offset)
    steps = np.unique(view.step_y)
    assert view.jumps >= 1 and len(steps) <= view.jumps + 1  # piecewise constant: zero slope between jumps
    assert not np.all(np.diff(view.lovasz) == 0)  # the surrogate does slope


def check_staircase_on_iou(p) -> None:
    labels, num_classes, _ = _scene(p)
    spec = PredictionSpec(p.shift_x, p.shift_y, p.scale, p.noise, p.temp, seed=p.seed)
    view = iou_view(labels, num_classes, spec, p.cls, p.offset)
    assert view.flat_fraction > 0.5  # "flat between jumps": most of the range of b
    assert view.jumps >= 1


def check_rare_class_miss_costs_more(p) -> None:
    labels, num_classes, _ = _scene(p)
    counts = np.bincount(labels.ravel(), minlength=num_classes)
    assert 0 < counts[p.cls] < counts[0] / 20  # a handful of pixels against hundreds of background

    def mean_iou_after(change: tuple[int, int]) -> float:
        predicted = labels.copy()
        predicted.flat[change[0]] = change[1]
        ious = []
        for c in range(num_classes):
            union = np.sum((labels == c) | (predicted == c))
            ious.append(np.sum((labels == c) & (predicted == c)) / union)
        return float(np.mean(ious))

    rare_pixel = int(np.flatnonzero(labels.ravel() == p.cls)[0])
    background_pixel = int(np.flatnonzero(labels.ravel() == 0)[0])
    neighbour = next(c for c in range(1, num_classes) if c != p.cls)
    rare_cost = 1 - mean_iou_after((rare_pixel, 0))
    background_cost = 1 - mean_iou_after((background_pixel, neighbour))
    assert rare_cost > 5 * background_cost
    assert rare_cost == pytest.approx(1 / (num_classes * counts[p.cls]), rel=0.2)


def check_sort_gives_the_largest_sum(p) -> None:
    view = _sorting(p)
    assert np.allclose(np.diff(np.concatenate([[0.0], view.jaccard])), view.grad)  # g = ΔΔ
    generator = np.random.default_rng(0)
    fg_flat, errors_flat = view.fg.ravel()[view.order], view.errors.ravel()[view.order]
    for _ in range(20):  # any other order gives a smaller Σ m g
        order = generator.permutation(len(errors_flat))
        fg = fg_flat[order]
        intersection = fg.sum() - np.cumsum(fg)
        union = fg.sum() + np.cumsum(1 - fg)
        delta = 1 - intersection / union
        g = np.diff(np.concatenate([[0.0], delta]))
        assert float(np.sum(errors_flat[order] * g)) <= view.loss + 1e-12


def check_prefix_sums(p) -> None:
    view = _sorting(p)
    for k in range(1, view.size + 1, 7):
        assert float(view.grad[:k].sum()) == pytest.approx(prefix_numbers(view, k).jaccard)
    assert view.prefix_sum_at_k_star == pytest.approx(1 - view.iou_threshold)
    assert float(view.grad.sum()) == pytest.approx(1.0)


def check_absent_class(p) -> None:
    view = _sorting(p)
    assert view.num_fg == 0
    assert view.loss == pytest.approx(view.max_error)
    assert view.grad[0] == 1.0 and not view.grad[1:].any()
    assert view.loss_present != view.loss_all  # the page shows both values, and they differ


def check_corners_and_convexity(p) -> None:
    view = geometry_view(tuple(bool(b) for b in (p.y1, p.y2, p.y3)[: p.pixels]), p.m3)
    for corner, value in zip(view.corners, view.corner_values, strict=True):
        assert view.probe(tuple(corner)).value == pytest.approx(value)
    assert view.gap_lovasz <= 1e-12  # convex: no midpoint above its chord
    assert len(view.order_labels) == 2  # two linear pieces, two sort orders


def check_soft_jaccard_is_not_convex(p) -> None:
    view = geometry_view(tuple(bool(b) for b in (p.y1, p.y2, p.y3)[: p.pixels]), p.m3)
    assert view.gap_soft > 0 and not view.soft_is_convex
    assert np.any(view.section_soft > view.section_soft_chord + 1e-9)  # the drawn section shows it
    assert view.section_lovasz_convex


def check_where_each_loss_pushes(p) -> None:
    view = gradients_view(p.size, p.radius, p.quality, p.blur, p.seed)
    ce, lovasz = view.loss("cross_entropy"), view.loss("lovasz_softmax")
    assert lovasz.small_share > 3 * ce.small_share  # Lovász cares about the small disk
    assert np.count_nonzero(ce.magnitude) > 0.9 * ce.magnitude.size  # every pixel pushes under CE

    def top_share(magnitude: np.ndarray) -> float:  # share of the push on the 5 % strongest pixels
        flat = np.sort(magnitude.ravel())[::-1]
        return float(flat[: max(1, flat.size // 20)].sum() / flat.sum())

    assert top_share(lovasz.magnitude) > top_share(ce.magnitude)  # Lovász concentrates its push


def check_per_image(p) -> None:
    first = _scene(p)
    second = _scene(type(p)(**{**p.__dict__, "seed": p.seed + 1}))  # another image: other object sizes
    size = min(first[1], second[1])
    probas = torch.stack([torch.from_numpy(s[2][:size]).softmax(0) for s in (first, second)])
    labels = torch.from_numpy(np.stack([first[0], second[0]]))
    per_batch = float(lovasz_softmax(probas, labels, per_image=False))
    per_image = float(lovasz_softmax(probas, labels, per_image=True))
    assert abs(per_batch - per_image) > 1e-3  # the two averages are different numbers


def check_void(p) -> None:
    view = _sorting(p)
    assert view.ignored > 0 and view.size == view.errors.size - view.ignored
    assert not np.isin(view.order, np.flatnonzero(view.void)).any()
    assert np.all(view.weights[view.void] == 0)


def check_g_concentrates_late(p) -> None:
    early = _sorting(p)
    late_params = type(p)(**{**p.__dict__, "noise": 0.0, "temp": 0.5})
    late = _sorting(late_params)

    def top_share(view) -> float:  # share of Σ m·g carried by the 10 % worst pixels
        top = max(1, view.size // 10)
        return float(view.contributions[:top].sum() / view.contributions.sum())

    assert float(early.grad.sum()) == pytest.approx(1.0) == float(late.grad.sum())
    assert top_share(late) > top_share(early)


def check_live_training_step(p) -> None:
    assert p.image == "rare_object"  # the step opens the rare-class scene its text discusses
    assert {"cross_entropy", "lovasz_softmax", "ce_lovasz"} <= set(p.losses)


CHECKS: dict[str, Callable] = {
    "The problem: we are scored on IoU, not on cross-entropy": check_staircase_on_home,
    "IoU is a step function of the logits": check_staircase_on_iou,
    "A rare class counts as much as a large one": check_rare_class_miss_costs_more,
    "Sorting the errors: the heart of the Lovász extension": check_sort_gives_the_largest_sum,
    "The k-th prefix sum of g is the Jaccard loss of the k worst pixels": check_prefix_sums,
    "An absent class costs exactly its largest error": check_absent_class,
    "The geometry: a convex, piecewise-linear surface through the corners": check_corners_and_convexity,
    "Soft-Jaccard vs Lovász": check_soft_jaccard_is_not_convex,
    "Where each loss pushes: Lovász vs cross-entropy": check_where_each_loss_pushes,
    "per_image, or one sort per batch?": check_per_image,
    "Void pixels: the ignore label 255": check_void,
    "How g shifts during training": check_g_concentrates_late,
    "Why Lovász alone trains worse from scratch": check_live_training_step,
}


@pytest.mark.parametrize("step", LESSON.steps, ids=[s.title for s in LESSON.steps])
def test_every_claim_of_the_step_holds_on_the_settings_it_opens(step):
    assert step.title in CHECKS, f"no check for the step {step.title!r}: add one to CHECKS"
    assert step.notes, "every step has a teacher note"
    CHECKS[step.title](_params(step))
