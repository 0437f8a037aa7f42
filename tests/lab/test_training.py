"""Tests of lovasz_core.lab.training: learning, same init, determinism, divergence, fine-tune, export."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
import torch

from lovasz_core.lab.training import TrainingConfig, TrainingRun, available_devices

SMALL = {"image": "horse", "size": 32}


def _iou_at(run: TrainingRun, lane: str, step: int) -> float:
    return next(r.mean_iou for r in run.records if r.loss_key == lane and r.step == step)


@pytest.fixture(scope="module")
def horse_run() -> TrainingRun:
    run = TrainingRun(TrainingConfig(**SMALL, steps=150, losses=("cross_entropy", "lovasz_softmax")))
    run.step(150)
    return run


def test_ce_and_lovasz_both_learn_the_horse(horse_run):
    for lane in ("cross_entropy", "lovasz_softmax"):
        start, end = _iou_at(horse_run, lane, 0), _iou_at(horse_run, lane, 149)
        assert start < 0.45, "a random init predicts one class"
        assert end > 0.85, f"{lane} reached only {end:.3f} mean IoU"
        losses = [r.loss for r in horse_run.records if r.loss_key == lane]
        assert losses[-1] < 0.5 * losses[0]
    assert horse_run.finished and horse_run.steps_done == 150
    assert horse_run.step(5) == [], "a finished run takes no more steps"


def test_every_lane_starts_from_the_same_weights():
    run = TrainingRun(TrainingConfig(**SMALL, steps=5, losses=("cross_entropy", "lovasz_softmax", "dice")))
    states = [lane.model.state_dict() for lane in run.lanes.values()]
    for state in states[1:]:
        for name, tensor in state.items():
            torch.testing.assert_close(tensor, states[0][name], rtol=0, atol=0)
    first = run.step(1)
    assert len({r.mean_iou for r in first}) == 1, "same init → same first prediction"
    assert len({id(lane.model) for lane in run.lanes.values()}) == 3, "but separate copies"


def test_deterministic_for_a_seed():
    def losses(seed: int) -> list[float]:
        run = TrainingRun(TrainingConfig(**SMALL, steps=12, seed=seed, losses=("ce_lovasz", "focal")))
        run.step(5)
        run.step(7)  # stepping in chunks gives the same run
        return [r.loss for r in run.records]

    assert losses(3) == losses(3)
    assert losses(3) != losses(4)


def test_chunked_stepping_equals_one_call():
    a = TrainingRun(TrainingConfig(**SMALL, steps=9, losses=("lovasz_softmax",)))
    b = TrainingRun(TrainingConfig(**SMALL, steps=9, losses=("lovasz_softmax",)))
    a.step(9)
    for k in (2, 3, 4):
        b.step(k)
    assert [r.loss for r in a.records] == [r.loss for r in b.records]
    assert b.steps_done == 9


def test_divergence_stops_the_lane_and_says_why():
    run = TrainingRun(
        TrainingConfig(**SMALL, steps=40, optimizer="sgd", lr=1e9, losses=("cross_entropy", "lovasz_softmax"))
    )
    run.step(40)
    status, message = run.status()["cross_entropy"]
    assert status == "diverged"
    assert "NaN/inf" in message and "learning rate" in message
    ce_records = [r for r in run.records if r.loss_key == "cross_entropy"]
    assert len(ce_records) < 40 and all(math.isfinite(r.loss) for r in ce_records)
    assert run.finished


def test_finetune_switches_from_ce_to_the_lane_loss():
    run = TrainingRun(
        TrainingConfig(
            **SMALL,
            mode="finetune",
            warmup_steps=10,
            steps=20,
            losses=("cross_entropy", "lovasz_softmax", "ce_lovasz"),
        )
    )
    run.step(20)
    lovasz = [r for r in run.records if r.loss_key == "lovasz_softmax"]
    assert [r.objective for r in lovasz] == ["cross_entropy"] * 10 + ["lovasz_softmax"] * 10
    ce = [r for r in run.records if r.loss_key == "cross_entropy"]
    # during the warm-up every lane is the same CE run
    assert [r.loss for r in ce[:10]] == [r.loss for r in lovasz[:10]]
    assert lovasz[10].loss != ce[10].loss, "after the switch the objective differs"
    assert run.objective_at("ce_lovasz", 9) == "cross_entropy"
    assert run.objective_at("ce_lovasz", 10) == "ce_lovasz"


def test_records_masks_and_exports():
    run = TrainingRun(
        TrainingConfig(
            image="rare_object",
            size=24,
            num_classes=3,
            steps=12,
            snapshot_every=5,
            losses=("cross_entropy", "soft_jaccard"),
        )
    )
    records = run.step(12)
    assert len(records) == 24
    record = records[-1]
    assert len(record.class_iou) == 3 and record.seconds > 0
    masks = run.latest_masks()
    assert set(masks) == {"cross_entropy", "soft_jaccard"} and masks["soft_jaccard"].shape == (24, 24)
    assert [s for s, _ in run.snapshots("cross_entropy")] == [0, 5, 10]
    rows = list(csv.DictReader(io.StringIO(run.records_csv())))
    assert len(rows) == 24 and "iou_rare square" in rows[0]
    settings = json.loads(run.settings_json())
    assert settings["config"]["losses"] == ["cross_entropy", "soft_jaccard"]
    assert TrainingConfig.from_dict(settings["config"]) == run.config
    assert run.predicted_logits("soft_jaccard").shape == (1, 3, 24, 24)
    assert set(run.seconds_per_step()) == {"cross_entropy", "soft_jaccard"}
    assert 0 < run.progress <= 1


@pytest.mark.parametrize(
    ("changes", "error", "text"),
    [
        ({"steps": 0}, ValueError, "`steps`"),
        ({"steps": 2.5}, TypeError, "`steps`"),
        ({"num_classes": 3}, ValueError, "horse"),
        ({"losses": ("cross_entropy", "hinge")}, ValueError, "`losses`"),
        ({"losses": ()}, ValueError, "`losses`"),
        ({"losses": "cross_entropy"}, TypeError, "`losses`"),
        ({"losses": ("dice", "dice")}, ValueError, "repeat"),
        ({"lr": 0.0}, ValueError, "`lr`"),
        ({"lr": float("nan")}, ValueError, "`lr`"),
        ({"optimizer": "rmsprop"}, ValueError, "`optimizer`"),
        ({"mode": "finetune", "warmup_steps": 300}, ValueError, "`warmup_steps`"),
        ({"model": "unet"}, ValueError, "`model`"),
        ({"image": "lena"}, ValueError, "`image`"),
        ({"size": 4}, ValueError, "`size`"),
    ],
)
def test_config_validation(changes, error, text):
    with pytest.raises(error, match=text):
        TrainingRun(TrainingConfig(**{**SMALL, **changes}))


def test_step_validation_and_devices():
    run = TrainingRun(TrainingConfig(**SMALL, steps=3))
    with pytest.raises(ValueError, match="`k`"):
        run.step(0)
    with pytest.raises(TypeError):
        TrainingRun({"image": "horse"})
    assert available_devices()[0] == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="`device`"):
            TrainingRun(TrainingConfig(**SMALL, device="cuda"))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_runs_and_matches_cpu_roughly():
    cfg = {**SMALL, "steps": 30, "losses": ("cross_entropy", "lovasz_softmax")}
    cpu = TrainingRun(TrainingConfig(**cfg))
    gpu = TrainingRun(TrainingConfig(**cfg, device="cuda"))
    cpu.step(30)
    gpu.step(30)
    for a, b in zip(cpu.records, gpu.records, strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-2, abs=1e-3)
