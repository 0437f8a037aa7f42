"""Tests of minibatch training on the data set: lanes, batch order, determinism, void, metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lovasz_core import lovasz_softmax
from lovasz_core.lab import lanes as lanes_module
from lovasz_core.lab.dataset_training import PRESETS, DatasetTrainingConfig, DatasetTrainingRun
from lovasz_core.lab.lanes import BINARY_LANES, LANES, MULTICLASS_LANES, binary_score
from lovasz_core.lab.split_scores import score_split

SMALL = {"scenes": 48, "size": 32, "batch_size": 4}
VOID = 255


def _run(**kwargs) -> DatasetTrainingRun:
    return DatasetTrainingRun(DatasetTrainingConfig(**{**SMALL, **kwargs}))


def test_every_lane_starts_from_the_same_weights_in_separate_copies():
    run = _run(steps=3)
    states = [lane.model.state_dict() for lane in run.lanes.values()]
    for state in states[1:]:
        for name, tensor in state.items():
            torch.testing.assert_close(tensor, states[0][name], rtol=0, atol=0)
    assert len({id(lane.model) for lane in run.lanes.values()}) == len(MULTICLASS_LANES)
    first = run.step(1).batches
    assert len({(r.batch_miou, r.batch_image_miou) for r in first}) == 1, "same init, same batch"


def test_every_lane_sees_the_same_batches_in_the_same_order(monkeypatch):
    seen: dict[str, list[torch.Tensor]] = {}
    for key in ("cross_entropy", "lovasz_image"):
        spec = LANES[key]

        def spy(logits, labels, classes, ignore_index, _fn=spec.loss, _key=key):
            seen.setdefault(_key, []).append(labels.clone())
            return _fn(logits, labels, classes, ignore_index)

        monkeypatch.setitem(LANES, key, spec.__class__(spec.key, spec.label, spy, spec.binary, spec.summary))
    run = _run(lanes=("cross_entropy", "lovasz_image"), steps=5)
    run.step(5)
    train_masks = torch.from_numpy(run.data.split("train")[1].copy())
    for step in range(5):
        expected = train_masks[torch.from_numpy(run.batch_indices(step))]
        for key in seen:
            torch.testing.assert_close(seen[key][step], expected, rtol=0, atol=0)


def test_batch_order_is_a_seeded_permutation_per_epoch():
    run = _run(steps=1)
    per_epoch = run.batches_per_epoch
    assert per_epoch == len(run.data.train_index) // 4
    epoch0 = np.concatenate([run.batch_indices(t) for t in range(per_epoch)])
    epoch1 = np.concatenate([run.batch_indices(t) for t in range(per_epoch, 2 * per_epoch)])
    assert len(set(epoch0.tolist())) == per_epoch * 4, "no scene twice in an epoch"
    assert not np.array_equal(epoch0, epoch1), "reshuffled every epoch"
    np.testing.assert_array_equal(run.batch_indices(1), _run(steps=1).batch_indices(1))
    assert not np.array_equal(run.batch_indices(0), _run(steps=1, seed=1).batch_indices(0))


@pytest.mark.parametrize("classes", ["present", "all"])
def test_lovasz_lanes_call_the_loss_per_batch_or_per_image(monkeypatch, classes):
    calls: list[tuple[bool, str, int]] = []

    def spy(probas, labels, classes="present", per_image=False, ignore_index=None):
        calls.append((per_image, classes, ignore_index))
        return lovasz_softmax(probas, labels, classes, per_image, ignore_index)

    monkeypatch.setattr(lanes_module, "lovasz_softmax", spy)
    for key, per_image in (("lovasz_batch", False), ("lovasz_image", True), ("ce_lovasz", False)):
        calls.clear()
        run = _run(lanes=(key,), steps=2, classes=classes)
        run.step(2)
        assert calls == [(per_image, classes, VOID)] * 2, key


def test_lane_loss_equals_a_direct_call_on_the_first_batch():
    run = _run(steps=1, classes="all", void_width=1)
    index = torch.from_numpy(run.batch_indices(0))
    inputs = run._images["train"][index]
    labels = run._masks["train"][index]
    with torch.no_grad():
        probas = torch.softmax(run.lanes["lovasz_image"].model(inputs), 1)
    expected = {
        "lovasz_batch": lovasz_softmax(probas, labels, "all", per_image=False, ignore_index=VOID),
        "lovasz_image": lovasz_softmax(probas, labels, "all", per_image=True, ignore_index=VOID),
    }
    assert float(expected["lovasz_batch"]) != pytest.approx(float(expected["lovasz_image"]))
    records = {r.lane: r for r in run.step(1).batches}
    for key, value in expected.items():
        assert records[key].loss == pytest.approx(float(value), rel=1e-6)


@pytest.mark.parametrize("key", list(LANES))
def test_void_pixels_get_zero_gradient_in_every_lane(key):
    classes = 2 if LANES[key].binary else 4
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, classes, (3, 8, 8), generator=generator)
    labels[:, :2] = VOID
    labels[1] = VOID  # one image entirely void
    logits = torch.randn(3, classes, 8, 8, generator=generator, requires_grad=True)
    LANES[key].loss(logits, labels, "all", VOID).backward()
    void = (labels == VOID).unsqueeze(1).expand_as(logits)
    assert (logits.grad[void] == 0).all()
    assert (logits.grad[~void] != 0).any()


def test_binary_score_matches_the_argmax():
    logits = torch.randn(2, 2, 5, 5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close((binary_score(logits) > 0).long(), logits.argmax(1))
    with pytest.raises(ValueError, match="`logits`"):
        binary_score(torch.randn(2, 3, 5, 5))


def test_bce_lane_is_two_class_cross_entropy():
    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 2, 6, 6, generator=generator)
    labels = torch.randint(0, 2, (2, 6, 6), generator=generator)
    labels[0, 0] = VOID
    bce = LANES["bce"].loss(logits, labels, "present", VOID)
    ce = LANES["cross_entropy"].loss(logits, labels, "present", VOID)
    torch.testing.assert_close(bce, ce)


def test_deterministic_for_a_seed_and_chunking_does_not_matter():
    def losses(seed: int, chunks: tuple[int, ...]) -> list[float]:
        run = _run(lanes=("lovasz_image", "ce_lovasz"), steps=6, seed=seed, eval_every=3)
        for k in chunks:
            run.step(k)
        return [r.loss for r in run.batches] + [e.dataset_miou for e in run.evaluations]

    assert losses(2, (6,)) == losses(2, (2, 1, 3))
    assert losses(2, (6,)) != losses(3, (6,))


def test_evaluations_at_zero_every_n_and_the_end_with_split_scores():
    run = _run(lanes=("cross_entropy",), steps=7, eval_every=3)
    out = run.step(7)
    assert [e.step for e in out.evaluations] == [0, 3, 6, 7]
    assert [r.step for r in out.batches] == list(range(7))
    assert run.finished and run.step(3).batches == ()
    last = out.evaluations[-1]
    prediction = torch.from_numpy(run.predict("cross_entropy", "val"))
    expected = score_split(prediction, run._masks["val"], run.num_classes, VOID)
    assert last.dataset_miou == expected.dataset_miou and last.image_miou == expected.image_miou
    assert last.class_iou == expected.class_iou and len(last.class_iou) == run.num_classes


def test_batch_record_metrics_are_those_of_the_batch_prediction():
    run = _run(lanes=("cross_entropy",), steps=1, void_width=1)
    index = torch.from_numpy(run.batch_indices(0))
    with torch.no_grad():
        prediction = run.lanes["cross_entropy"].model(run._images["train"][index]).argmax(1)
    expected = score_split(prediction, run._masks["train"][index], run.num_classes, VOID)
    (record,) = run.step(1).batches
    assert record.batch_miou == expected.dataset_miou
    assert record.batch_image_miou == expected.image_miou
    assert record.class_iou == expected.class_iou


def test_lanes_learn_the_data_set():
    run = DatasetTrainingRun(
        DatasetTrainingConfig(
            scenes=120, batch_size=8, lanes=("cross_entropy", "lovasz_batch"), steps=80, eval_every=80
        )
    )
    run.step(80)
    for key in ("cross_entropy", "lovasz_batch"):
        start, end = (e for e in run.evaluations if e.lane == key)
        assert end.dataset_miou > start.dataset_miou + 0.3, key
        assert end.image_miou > start.image_miou + 0.2, key


def test_binary_preset_trains_its_three_lanes():
    config = PRESETS["Binary: Lovász hinge vs BCE vs Lovász sigmoid"]
    run = DatasetTrainingRun(DatasetTrainingConfig(**{**config.__dict__, **SMALL, "steps": 3}))
    out = run.step(3)
    assert {r.lane for r in out.batches} == set(BINARY_LANES)
    assert all(math.isfinite(r.loss) for r in out.batches)
    assert len(out.evaluations[-1].class_iou) == 2


def test_every_preset_is_valid():
    for name, config in PRESETS.items():
        assert config.validated().lanes, name


def test_divergence_stops_the_lane_and_says_why():
    run = _run(lanes=("cross_entropy", "lovasz_batch"), steps=30, optimizer="sgd", lr=1e12)
    run.step(30)
    statuses = run.status()
    assert any(status == "diverged" for status, _ in statuses.values())
    for status, message in statuses.values():
        if status == "diverged":
            assert "NaN/inf" in message and "learning rate" in message
    assert run.finished


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"lanes": ("bce",)}, ValueError, "lanes"),
        ({"lanes": ("dice",)}, ValueError, "lanes"),
        ({"lanes": ()}, ValueError, "lanes"),
        ({"lanes": "cross_entropy"}, TypeError, "lanes"),
        ({"lanes": ("cross_entropy", "cross_entropy")}, ValueError, "lanes"),
        ({"classes": "some"}, ValueError, "classes"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 1000}, ValueError, "batch_size"),
        ({"batch_size": 4.0}, TypeError, "batch_size"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"lr": "fast"}, TypeError, "lr"),
        ({"eval_every": 0}, ValueError, "eval_every"),
        ({"model": "unet"}, ValueError, "model"),
        ({"size": 8}, ValueError, "size"),
        ({"data_seed": -1}, ValueError, "data_seed"),
        ({"void_width": 9}, ValueError, "void_width"),
    ],
)
def test_bad_config_fields_name_themselves(kwargs, error, name):
    with pytest.raises(error, match=f"`{name}`"):
        DatasetTrainingRun(DatasetTrainingConfig(**{**SMALL, **kwargs}))


def test_bad_call_arguments_are_named():
    run = _run(steps=2)
    with pytest.raises(ValueError, match="`k`"):
        run.step(0)
    with pytest.raises(TypeError, match="`config`"):
        DatasetTrainingRun({"steps": 2})
    with pytest.raises(ValueError, match="`lane_key`"):
        run.predict("dice")
    with pytest.raises(ValueError, match="`split`"):
        run.evaluate("cross_entropy", "test")
    with pytest.raises(ValueError, match="`threads`"):
        DatasetTrainingRun(DatasetTrainingConfig(**SMALL), threads=0)
