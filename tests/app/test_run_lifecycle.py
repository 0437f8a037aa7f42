"""The run lifecycle of "Live training" (app/run_lifecycle.py): phases, effects, k and a fake clock."""

from __future__ import annotations

import pytest

from app import run_lifecycle as life
from app.classroom import SlotManager
from app.run_lifecycle import Lifecycle


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_start_with_a_slot_runs_and_builds_the_run():
    step = life.start(Lifecycle(), "cfg", granted=True)
    assert step.state.phase == "running" and step.state.config == "cfg"
    assert step.effects == ("save_run", "new_run")
    assert step.state.training and not step.state.can_start and step.state.can_pause_or_stop


def test_start_without_a_slot_waits_then_runs_when_granted():
    step = life.start(Lifecycle(), "cfg", granted=False)
    assert step.state.phase == "waiting" and step.state.waiting_for == "start" and step.effects == ()
    assert life.label(step.state) == "waiting for a training slot"
    again = life.start(step.state, "other", granted=True)
    assert again.state == step.state, "no second start while waiting"
    go = life.slot_granted(step.state)
    assert go.state.phase == "running" and go.state.config == "cfg" and go.effects == ("save_run", "new_run")


def test_leaving_the_queue_goes_back_where_it_was():
    finished = Lifecycle(phase="finished", config="old")
    waiting = life.start(finished, "new", granted=False).state
    back = life.leave_queue(waiting)
    assert back.state.phase == "finished" and back.effects == ("release_slot",)
    paused = Lifecycle(phase="paused", config="cfg")
    waiting = life.resume(paused, granted=False).state
    assert waiting.phase == "waiting" and waiting.can_pause_or_stop
    assert life.leave_queue(waiting).state.phase == "paused"


def test_pause_resume_stop_release_and_keep_the_slot():
    running = life.start(Lifecycle(), "cfg", granted=True).state
    paused = life.pause(running)
    assert paused.state.phase == "paused" and paused.effects == ("release_slot",)
    assert life.pause(paused.state).effects == (), "pausing twice does nothing"
    resumed = life.resume(paused.state, granted=True)
    assert resumed.state.phase == "running" and resumed.effects == ()
    assert resumed.state.config == "cfg", "resuming keeps the run's settings"
    stopped = life.stop(resumed.state)
    assert stopped.state.phase == "stopped" and stopped.effects == ("release_slot", "save_run")
    assert stopped.state.can_start and not stopped.state.can_pause_or_stop
    assert life.stop(stopped.state).effects == ()
    assert life.resume(stopped.state, granted=True).state.phase == "stopped"


def test_reset_from_any_phase_keeps_the_run_and_returns_to_idle():
    for phase in ("running", "paused", "finished", "stopped", "waiting"):
        step = life.reset(Lifecycle(phase=phase, config="cfg", waiting_for="start"))
        assert step.state.phase == "idle" and step.state.config is None and step.state.waiting_for is None
        assert step.effects == ("release_slot", "save_run", "drop_run")


def test_a_failed_start_says_why_and_gives_the_slot_back():
    running = life.start(Lifecycle(), "bad", granted=True).state
    step = life.failed(running, "`size` must be >= 16")
    assert step.state.phase == "idle" and step.state.error == "`size` must be >= 16"
    assert step.effects == ("release_slot",)
    again = life.start(step.state, "good", granted=True).state
    assert again.error == "", "a new start clears the error"


def test_ticks_adapt_k_to_the_budget_and_finish():
    clock = Clock()
    state = life.start(Lifecycle(), "cfg", granted=True).state
    assert state.steps_per_tick == life.FIRST_STEPS_PER_TICK
    state = life.tick(state, steps_done=4, seconds=0.015, run_finished=False, now=clock()).state
    assert state.steps_per_tick == 16, "4 steps took a quarter of the budget: four times as many"
    clock.now += 0.2
    state = life.tick(state, steps_done=20, seconds=1.0, run_finished=False, now=clock()).state
    assert state.steps_per_tick == 1, "a slow refresh falls back to one step"
    for _ in range(100):
        clock.now += 0.2
        state = life.tick(state, steps_done=20, seconds=1e-6, run_finished=False, now=clock()).state
    assert state.steps_per_tick == life.MAX_STEPS_PER_TICK
    assert len(state.ticks) == life.KEPT_TICKS
    done = life.tick(state, steps_done=300, seconds=0.05, run_finished=True, now=clock())
    assert done.state.phase == "finished" and done.effects == ("release_slot", "save_run")
    assert life.tick(done.state, 300, 0.05, True, clock()).effects == (), "a finished run ticks no more"


def test_refresh_rate_and_live_speed_on_a_fake_clock():
    clock = Clock()
    state = life.start(Lifecycle(), "cfg", granted=True).state
    assert state.refresh_rate() is None and state.live_speed() is None
    for i in range(1, 6):
        clock.now += 0.25
        state = life.tick(state, steps_done=10 * i, seconds=0.06, run_finished=False, now=clock()).state
    assert state.refresh_rate() == pytest.approx(4.0)
    assert state.live_speed() == pytest.approx(40.0)
    assert life.pause(state).state.ticks == (), "a pause forgets the rates"


def test_a_lost_slot_waits_to_resume():
    running = life.start(Lifecycle(), "cfg", granted=True).state
    lost = life.slot_lost(running)
    assert lost.state.phase == "waiting" and lost.state.waiting_for == "resume" and lost.effects == ()
    back = life.slot_granted(lost.state)
    assert back.state.phase == "running" and back.effects == (), "resuming builds no new run"
    assert life.slot_lost(Lifecycle(phase="paused")).state.phase == "paused"


def test_two_sessions_share_one_slot_through_the_classroom_queue():
    """The page's loop: ask the slot manager, feed ``granted`` to the machine, carry out effects."""
    clock = Clock()
    slots = SlotManager(capacity=1, stale_after=10.0, clock=clock)
    states = {"a": Lifecycle(), "b": Lifecycle()}

    def press_start(session: str) -> None:
        step = life.start(states[session], "cfg", slots.request(session).granted)
        states[session] = step.state

    def carry_out(session: str, step: life.Step) -> None:
        states[session] = step.state
        if "release_slot" in step.effects:
            slots.release(session)

    press_start("a")
    press_start("b")
    assert (states["a"].phase, states["b"].phase) == ("running", "waiting")
    clock.now += 5.0
    carry_out("a", life.pause(states["a"]))  # a's pause frees the slot for b
    assert slots.request("b").granted
    carry_out("b", life.slot_granted(states["b"]))
    assert states["b"].phase == "running"
    step = life.resume(states["a"], slots.request("a").granted)
    carry_out("a", step)
    assert states["a"].phase == "waiting" and states["a"].waiting_for == "resume"
    clock.now += 6.0
    assert slots.request("a").position == 1, "b still trains: a keeps its place"
    clock.now += 6.0  # b was last heard 12 s ago (a closed tab): its slot is reclaimed for a
    assert slots.request("a").granted
    carry_out("a", life.slot_granted(states["a"]))
    assert states["a"].phase == "running" and states["a"].config == "cfg"
