"""The life of one training run on the page "Live training", as a small pure state machine.

::

    idle ──start──▶ running ⇄ paused          running ──tick(run done)──▶ finished
      │  (no slot)     │  ▲ (pause / resume)    running, paused ──stop──▶ stopped
      ▼                ▼  │                     any ──reset──▶ idle
    waiting ◀──slot lost / resume without a slot
      │ ──slot granted──▶ running        waiting ──leave──▶ where it came from

:class:`Lifecycle` is a frozen dataclass; every event is a pure function
``event(state, ..., now) -> Step`` that returns the next state and the *effects* the page must
carry out (ask for nothing itself: the page asks the classroom queue for a slot and passes
``granted``). Effects, in order: ``"save_run"`` (keep the current run for overlays),
``"new_run"`` (build a run of ``state.config``), ``"release_slot"``, ``"drop_run"``.
Time comes in as ``now`` (seconds, monotonic), so tests drive it with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

Phase = Literal["idle", "waiting", "running", "paused", "finished", "stopped"]
Effect = Literal["save_run", "new_run", "release_slot", "drop_run"]

TRAIN_BUDGET_S = 0.06  # seconds of training per refresh; k (steps per refresh) adapts to it
MAX_STEPS_PER_TICK = 64
FIRST_STEPS_PER_TICK = 4
KEPT_TICKS = 12  # refresh times kept for the refresh rate and the live speed


@dataclass(frozen=True)
class Lifecycle:
    """Where the page's run stands.

    Attributes:
        phase: one of :data:`Phase`.
        config: the settings of the run to build (``"new_run"``) or being waited for.
        waiting_for: in phase ``waiting``: ``"start"`` (a new run) or ``"resume"``.
        before: in phase ``waiting``: the phase to go back to when leaving the queue.
        steps_per_tick: k, the steps of the next refresh (adapted to ``TRAIN_BUDGET_S``).
        ticks: ``(time, steps done)`` of the last refreshes that trained, oldest first.
        error: why the last start failed ("" if it did not).
    """

    phase: Phase = "idle"
    config: Any = None
    waiting_for: Literal["start", "resume"] | None = None
    before: Phase = "idle"
    steps_per_tick: int = FIRST_STEPS_PER_TICK
    ticks: tuple[tuple[float, int], ...] = ()
    error: str = ""

    @property
    def training(self) -> bool:
        """True while the run should advance on every refresh."""
        return self.phase == "running"

    @property
    def can_start(self) -> bool:
        """Start is offered: no run, or the run has ended (finished or stopped)."""
        return self.phase in ("idle", "finished", "stopped")

    @property
    def can_pause_or_stop(self) -> bool:
        """Pause/Resume and Stop are offered: a run is going or paused."""
        resuming = self.phase == "waiting" and self.waiting_for == "resume"
        return self.phase in ("running", "paused") or resuming

    def refresh_rate(self) -> float | None:
        """Refreshes per second over the kept ticks (``None`` with fewer than three)."""
        if len(self.ticks) < 3:
            return None
        return (len(self.ticks) - 1) / max(self.ticks[-1][0] - self.ticks[0][0], 1e-9)

    def live_speed(self) -> float | None:
        """Steps per second of wall time over the kept ticks, per lane (``None`` with < 3)."""
        if len(self.ticks) < 3:
            return None
        (t0, s0), (t1, s1) = self.ticks[0], self.ticks[-1]
        return (s1 - s0) / max(t1 - t0, 1e-9)


@dataclass(frozen=True)
class Step:
    """The result of an event: the next state and the effects to carry out, in order."""

    state: Lifecycle
    effects: tuple[Effect, ...] = ()


def _running(state: Lifecycle, **changes: Any) -> Lifecycle:
    fresh: dict[str, Any] = {"steps_per_tick": FIRST_STEPS_PER_TICK, "ticks": (), "error": ""}
    return replace(state, phase="running", waiting_for=None, **fresh, **changes)


def _idle(state: Lifecycle, error: str = "") -> Lifecycle:
    return replace(state, phase="idle", config=None, waiting_for=None, before="idle", ticks=(), error=error)


def start(state: Lifecycle, config: Any, granted: bool) -> Step:
    """Start a new run of ``config``: now if a slot was ``granted``, else wait in the queue."""
    if not state.can_start:
        return Step(state)
    if not granted:
        return Step(replace(state, phase="waiting", config=config, waiting_for="start", before=state.phase))
    return Step(_running(state, config=config), ("save_run", "new_run"))


def failed(state: Lifecycle, message: str) -> Step:
    """Building the run failed (invalid settings): back to idle with the reason, slot given back."""
    return Step(_idle(state, message), ("release_slot",))


def pause(state: Lifecycle) -> Step:
    """Pause a running run; its slot goes back to the classroom."""
    if state.phase != "running":
        return Step(state)
    return Step(replace(state, phase="paused", ticks=()), ("release_slot",))


def resume(state: Lifecycle, granted: bool) -> Step:
    """Resume a paused run if a slot was ``granted``, else wait in the queue to resume."""
    if state.phase != "paused":
        return Step(state)
    if not granted:
        return Step(replace(state, phase="waiting", waiting_for="resume", before="paused"))
    return Step(replace(state, phase="running", ticks=()))


def slot_granted(state: Lifecycle) -> Step:
    """The queue gave this session a slot: do what it waited for."""
    if state.phase != "waiting":
        return Step(state)
    if state.waiting_for == "resume":
        return Step(replace(state, phase="running", waiting_for=None, ticks=()))
    return Step(_running(state), ("save_run", "new_run"))


def leave_queue(state: Lifecycle) -> Step:
    """Leave the queue: back to the phase before waiting."""
    if state.phase != "waiting":
        return Step(state)
    return Step(replace(state, phase=state.before, waiting_for=None), ("release_slot",))


def slot_lost(state: Lifecycle) -> Step:
    """The classroom reclaimed a running session's slot (tab hidden too long): wait to resume."""
    if state.phase != "running":
        return Step(state)
    return Step(replace(state, phase="waiting", waiting_for="resume", before="paused", ticks=()))


def tick(state: Lifecycle, steps_done: int, seconds: float, run_finished: bool, now: float) -> Step:
    """One refresh trained for ``seconds`` and the run is at ``steps_done``.

    k adapts so that a refresh trains about ``TRAIN_BUDGET_S``:
    k' = clamp(round(k · budget / seconds), 1, 64). A finished run ends the phase.
    """
    if state.phase != "running":
        return Step(state)
    if run_finished:
        return Step(replace(state, phase="finished", ticks=()), ("release_slot", "save_run"))
    k = round(state.steps_per_tick * TRAIN_BUDGET_S / max(seconds, 1e-4))
    ticks = (*state.ticks, (now, steps_done))[-KEPT_TICKS:]
    return Step(replace(state, steps_per_tick=max(1, min(MAX_STEPS_PER_TICK, k)), ticks=ticks))


def stop(state: Lifecycle) -> Step:
    """Stop a running or paused run for good (it is kept for overlays and downloads)."""
    if not state.can_pause_or_stop:
        return Step(state)
    return Step(replace(state, phase="stopped", waiting_for=None, ticks=()), ("release_slot", "save_run"))


def reset(state: Lifecycle) -> Step:
    """Put the run aside (kept) and go back to idle; any slot or queue place is given back."""
    return Step(_idle(state), ("release_slot", "save_run", "drop_run"))


def label(state: Lifecycle) -> str:
    """One word for the progress bar: running, paused, finished, stopped, waiting or idle."""
    if state.phase == "waiting":
        return "waiting for a training slot"
    return state.phase
