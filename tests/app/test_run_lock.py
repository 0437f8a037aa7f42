"""The training pages' run lock: one script thread at a time per session and page.

Streamlit starts a new script thread for a click while the old one may still be inside
``run.step``; these tests play both threads with plain ``threading`` and a dict as the session.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from app import run_lifecycle as life
from app.run_lock import holding, run_lock

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 5.0  # generous: only reached when the lock is broken


def _in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_second_thread_waits_until_the_first_leaves():
    session: dict = {}
    inside, release, second_entered = threading.Event(), threading.Event(), threading.Event()

    @holding(session, "lt")
    def step_the_run() -> None:
        inside.set()
        release.wait(WAIT_S)

    @holding(session, "lt")
    def pause() -> None:
        second_entered.set()

    first = _in_thread(step_the_run)
    assert inside.wait(WAIT_S)
    second = _in_thread(pause)
    assert not second_entered.wait(0.3), "the second thread ran while the first held the lock"
    release.set()
    first.join(WAIT_S)
    second.join(WAIT_S)
    assert second_entered.is_set()


def test_a_pause_during_a_step_is_not_overwritten_by_the_steps_tick():
    """The race seen in the browser: the old thread reads the lifecycle, steps, then ticks it."""
    session: dict = {"life": life.Lifecycle(phase="running")}
    stepping, finish_step = threading.Event(), threading.Event()

    @holding(session, "lt")
    def refresh() -> None:
        before = session["life"]
        stepping.set()
        finish_step.wait(WAIT_S)  # run.step(k): no Streamlit call, so nothing stops this thread
        session["life"] = life.tick(before, 8, 0.05, False, 1.0).state

    @holding(session, "lt")
    def pause() -> None:
        session["life"] = life.pause(session["life"]).state

    old = _in_thread(refresh)
    assert stepping.wait(WAIT_S)
    new = _in_thread(pause)
    finish_step.set()
    old.join(WAIT_S)
    new.join(WAIT_S)
    assert session["life"].phase == "paused"


def test_the_lock_is_reentrant_and_left_on_an_exception():
    session: dict = {}

    @holding(session, "lt")
    def inner() -> int:
        return 1

    @holding(session, "lt")
    def outer() -> int:  # the live view's fragment runs inside the full run
        return inner() + 1

    @holding(session, "lt")
    def stopped() -> None:
        raise RuntimeError("StopException stands in here")

    assert outer() == 2
    with pytest.raises(RuntimeError):
        stopped()
    entered = threading.Event()
    _in_thread(holding(session, "lt")(entered.set)).join(WAIT_S)
    assert entered.is_set(), "the lock was not given back after the exception"


def test_sessions_and_pages_have_their_own_locks():
    first, second = {}, {}
    assert run_lock(first, "lt") is run_lock(first, "lt")
    assert run_lock(first, "lt") is not run_lock(first, "dt")
    assert run_lock(first, "lt") is not run_lock(second, "lt")
    with run_lock(first, "lt"):
        done = threading.Event()
        _in_thread(lambda: (run_lock(second, "lt").acquire(), done.set()))
        assert done.wait(WAIT_S), "another session's lock was blocked"


@pytest.mark.parametrize(
    ("page", "prefix", "functions"),
    [
        ("live_training", "lt", {"_carry_out", "_live_view", "_replay", "_push_now", "_runs_kept"}),
        ("dataset_training", "dt", {"_carry_out", "_live_view", "_void_section"}),
    ],
)
def test_the_training_pages_hold_the_lock_wherever_they_use_the_run(page, prefix, functions):
    """Stepping (the live view), events (``_carry_out``) and the sections that read the run."""
    tree = ast.parse((ROOT / "pages" / f"{page}.py").read_text())
    locked = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d) == f"run_lock.holding(SS, '{prefix}')" for d in node.decorator_list)
    }
    assert functions <= locked, f"not under the run lock: {sorted(functions - locked)}"
