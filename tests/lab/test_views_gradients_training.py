"""Views of the pages "Gradients" and "Live training" (lovasz_core/lab/views), and the training
engine's thread count."""

from __future__ import annotations

import math
import threading
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import torch

from app.params import LiveTrainingParams
from lovasz_core.lab.training import TrainingConfig, TrainingRun, _torch_threads
from lovasz_core.lab.views.gradients import (
    LOSS_KEYS,
    gradients_view,
    maps_view,
    pixel_view,
    sweep_view,
)
from lovasz_core.lab.views.live_training import (
    IOU_FLOOR,
    LaneView,
    label,
    look_for,
    preview,
    replay_view,
    run_title,
    training_view,
)


# ------------------------------------------------------------------------------------ gradients
@pytest.fixture(scope="module")
def tiny_object():
    return gradients_view(40, 1.0, 0.5, 1.5, 0)


def test_gradients_view_numbers(tiny_object):
    view = tiny_object
    assert [item.key for item in view.losses] == list(LOSS_KEYS)
    assert view.pixel_shares.sum() == pytest.approx(1.0) and view.pixel_shares[2] < 0.01
    ce, lovasz = view.loss("cross_entropy"), view.loss("lovasz_softmax")
    # cross-entropy's push follows the pixel count; Lovász-Softmax gives the tiny class a large share
    assert ce.small_share < 0.02 and lovasz.small_share > 0.2 and lovasz.small_share > 10 * ce.small_share
    np.testing.assert_allclose(ce.magnitude, np.linalg.norm(ce.grad, axis=0))  # L2 over classes
    np.testing.assert_allclose(ce.push.sum(), np.abs(ce.grad).sum())  # L1 mass
    with pytest.raises(FrozenInstanceError):
        view.mask = None  # type: ignore[misc]


def test_per_map_scale_shows_every_map_and_the_shared_scale_does_not(tiny_object):
    shared = maps_view(tiny_object, "small disk", per_map=False)
    own = maps_view(tiny_object, "small disk", per_map=True)
    assert len(set(shared.scales.values())) == 1 and "one shared colour scale" in shared.caption
    faint = [k for k, m in shared.maps.items() if np.abs(m).max() < 0.1 * shared.scales[k]]
    assert len(faint) == 3, "on one scale three of four maps stay near white"
    for key, m in own.maps.items():
        assert np.abs(m).max() == pytest.approx(own.scales[key]), "each map fills its own range"
    assert "its own colour scale" in own.caption


def test_pixel_view(tiny_object):
    assert pixel_view(tiny_object, -1, -1) is None and pixel_view(tiny_object, 40, 0) is None
    pixel = pixel_view(tiny_object, 8, 8)
    assert pixel is not None and pixel.true_class == "small disk" and pixel.on_boundary
    lovasz = next(r for r in pixel.rows if r.label == "Lovász-Softmax")
    assert lovasz.norm == pytest.approx(math.sqrt(sum(g * g for g in lovasz.grad)))
    assert lovasz.rank == 1 and lovasz.pixels == 1600 and lovasz.times_median > 100


def test_sweep_view_tracks_size_for_ce_only():
    sweep = sweep_view(40, 0.5, 1.5, 0)
    assert sweep["radius"].max() == 8.0 and np.all(np.diff(sweep["fraction"]) >= 0)
    tiny = sweep["fraction"] < 0.03
    assert tiny.sum() >= 3 and np.all(sweep["lovasz_softmax"][tiny] > 3 * sweep["cross_entropy"][tiny])
    assert sweep_view(16, 0.5, 1.5, 0)["radius"].max() <= 16 / 5, "only radii that fit the image"


# ------------------------------------------------------------------------------------ training
def test_labels_and_titles_are_words():
    config = TrainingConfig(image="rare_object", num_classes=3, lr=0.003, mode="finetune", warmup_steps=50)
    title = run_title(config)
    assert "Tiny conv net" in title and "Adam" in title and "fine-tune" in title.lower()
    assert "tiny_fcn" not in title and "adam" not in title and "rare_object" not in title
    assert title.startswith("Rare object (generated) 64×64")
    assert label("loss", "ce_lovasz") == "CE + Lovász" and label("mode", "scratch") == "From scratch"


def test_preview_before_a_run():
    shown = preview("rare_object", 64, 3, 0)
    assert shown.mask.shape == (64, 64) and shown.class_names[shown.rare_class] == "rare square"
    assert "0.66 %" in shown.caption and shown.rare_shown == shown.rare_class
    assert preview("horse", 32, 2, 0).rare_shown is None, "no class under 5 %: nothing to outline"


@pytest.fixture(scope="module")
def default_run() -> TrainingRun:
    """The page's default settings, really trained to the end."""
    p = LiveTrainingParams()
    run = TrainingRun(
        TrainingConfig(
            image=p.image,
            size=p.size,
            num_classes=p.classes,
            model=p.model,
            losses=tuple(p.losses),
            mode=p.mode,
            optimizer=p.optimizer,
            lr=float(p.lr),
            steps=p.steps,
            seed=p.seed,
        )
    )
    run.step(p.steps)
    return run


def test_the_default_run_tells_the_pages_story(default_run):
    view = training_view(default_run)
    lanes = {lane.key: lane for lane in view.lanes}
    ce, lovasz, both = lanes["cross_entropy"], lanes["lovasz_softmax"], lanes["ce_lovasz"]
    assert view.rare_fraction < 0.01
    assert lovasz.rare_found_at is not None and both.rare_found_at is not None
    assert ce.rare_found_at is None or ce.rare_found_at > both.rare_found_at > lovasz.rare_found_at
    assert min(lovasz.mean_iou, both.mean_iou) > ce.mean_iou + 0.1, "Lovász visibly wins here"
    text = view.look_for
    assert f"Lovász-Softmax at step {lovasz.rare_found_at}" in text
    assert text.index("Lovász-Softmax at step") < text.index("CE + Lovász at step")
    assert "Cross-entropy (IoU" in text and "has not after" in text


def test_the_view_ends_where_the_progress_bar_ends(default_run):
    view = training_view(default_run)
    steps = default_run.config.steps
    assert view.steps_done == steps and view.progress == 1.0 and view.finished
    assert all(lane.step == steps for lane in view.lanes), "the table's step is the bar's step"
    assert view.curves.step.max() == steps and view.curves.step.min() == 0
    per_lane = {k: int((np.array(view.curves.loss_key) == k).sum()) for k in default_run.lanes}
    assert set(per_lane.values()) == {steps + 1}, "records 0..N−1 plus the weights now"
    replay = replay_view(default_run, view)
    assert replay.steps[-1] == steps and set(replay.frames[steps]) == set(default_run.lanes)
    last_record = [r for r in default_run.records if r.loss_key == "lovasz_softmax"][-1]
    assert last_record.step == steps - 1
    assert np.all(view.curves.gap_mean >= IOU_FLOOR) and np.all(view.curves.gap_rare <= 1.0)


def test_a_diverged_lane_keeps_its_last_record():
    run = TrainingRun(TrainingConfig(image="horse", size=16, optimizer="sgd", lr=1e6, steps=30))
    run.step(30)
    view = training_view(run)
    diverged = [lane for lane in view.lanes if lane.status == "diverged"]
    assert len(view.lanes) == 3, "a diverged lane is still listed, with its message"
    assert diverged and all(lane.step < 30 and "diverged at step" in lane.message for lane in diverged)
    for lane in diverged:
        recorded = [r for r in run.records if r.loss_key == lane.key]
        assert lane.step == (recorded[-1].step if recorded else 0)
        assert math.isfinite(lane.loss) == bool(recorded)


def _lane(key: str, name: str, mean: float, rare: float, found: int | None) -> LaneView:
    return LaneView(key, name, "finished", "", 100, 0.1, mean, (1.0, rare), rare, found, 50.0, None)


def test_look_for_says_only_what_the_numbers_say():
    level = (_lane("a", "A", 0.995, 1.0, 10), _lane("b", "B", 0.991, 1.0, 30))
    text = look_for(level, 100, True, ("bg", "dot"), 1, 0.004, None)
    assert "A at step 10, B at step 30" in text and "level" in text and "best first" not in text
    apart = (_lane("a", "A", 0.6, 0.0, None), _lane("b", "B", 0.9, 1.0, 40))
    text = look_for(apart, 80, False, ("bg", "dot"), 1, 0.004, 20)
    assert "first 20 steps" in text and "so far" in text
    assert "best first: B 0.900, A 0.600" in text and "A (IoU 0.00) has not after 80 steps" in text
    common = look_for(apart, 80, True, ("bg", "big"), 1, 0.4, None)
    assert "rare" not in common, "no rare-class sentence without a rare class"
    assert look_for((), 0, False, ("bg",), 0, 1.0, None) == ""


def test_training_restores_the_process_thread_count():
    before = torch.get_num_threads()
    run = TrainingRun(TrainingConfig(image="horse", size=16, steps=3), threads=1)
    run.step(2)
    assert torch.get_num_threads() == before


def _in_a_new_thread() -> int:
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def test_overlapping_runs_in_two_threads_leave_new_threads_the_process_count():
    """Session A steps; session B starts stepping in its thread; A ends; B ends. A page drawn in
    a new thread afterwards must see the process's count, not the one the runs used."""
    previous = torch.get_num_threads()
    torch.set_num_threads(max(2, previous))  # the runs use 1: the count to restore must differ
    before = _in_a_new_thread()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def session_a() -> None:
        with _torch_threads(1):
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def session_b() -> None:
        a_in.wait(10)
        with _torch_threads(1):
            b_in.set()
            a_out.wait(10)

    threads = [threading.Thread(target=session_a), threading.Thread(target=session_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = _in_a_new_thread()
    torch.set_num_threads(previous)
    assert after == before


def test_gradients_void_band_is_ignored_by_every_loss_with_zero_gradient():
    from lovasz_core.lab.views.gradients import gradients_view

    view = gradients_view(40, 3.0, 0.5, 1.5, 0, void_band=1, ignore_void=True)
    assert view.ignored == int(view.void.sum()) > 0
    for item in view.losses:
        assert float(abs(item.grad[:, view.void]).max()) == 0.0, item.key
    assert abs(float(view.pixel_shares.sum()) - 1.0) < 1e-12
    assert not any(region[view.void].any() for region in view.regions.values())


def test_gradients_void_band_without_ignore_index_is_refused_by_name():
    from lovasz_core.lab.views.gradients import gradients_view

    view = gradients_view(40, 3.0, 0.5, 1.5, 0, void_band=1, ignore_void=False)
    assert view.ignored == 0 and view.void.any()
    assert "`labels`" in view.void_error
