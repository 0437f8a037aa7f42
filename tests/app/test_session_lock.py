"""The session lock: one script thread at a time per session.

Streamlit starts a new script thread for a click while the old one may still be inside
``run.step``; these tests play both threads with plain ``threading`` and a dict as the session.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from app import run_lifecycle as life
from app.session_lock import holding, session_lock

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 5.0  # generous: only reached when the lock is broken


def _in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_second_thread_waits_until_the_first_leaves():
    session: dict = {}
    inside, release, second_entered = threading.Event(), threading.Event(), threading.Event()

    @holding(session)
    def step_the_run() -> None:
        inside.set()
        release.wait(WAIT_S)

    @holding(session)
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

    @holding(session)
    def refresh() -> None:
        before = session["life"]
        stepping.set()
        finish_step.wait(WAIT_S)  # run.step(k): no Streamlit call, so nothing stops this thread
        session["life"] = life.tick(before, 8, 0.05, False, 1.0).state

    @holding(session)
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

    @holding(session)
    def inner() -> int:
        return 1

    @holding(session)
    def outer() -> int:  # the live view's fragment runs inside the full run
        return inner() + 1

    @holding(session)
    def stopped() -> None:
        raise RuntimeError("StopException stands in here")

    assert outer() == 2
    with pytest.raises(RuntimeError):
        stopped()
    entered = threading.Event()
    _in_thread(holding(session)(entered.set)).join(WAIT_S)
    assert entered.is_set(), "the lock was not given back after the exception"


def test_each_session_has_its_own_lock():
    first, second = {}, {}
    assert session_lock(first) is session_lock(first)
    assert session_lock(first) is not session_lock(second)
    with session_lock(first):
        done = threading.Event()
        _in_thread(lambda: (session_lock(second).acquire(), done.set()))
        assert done.wait(WAIT_S), "another session's lock was blocked"


def test_every_run_of_the_app_holds_the_lock_around_the_page():
    tree = ast.parse((ROOT / "app" / "main.py").read_text())
    locked = [
        node
        for node in tree.body
        if isinstance(node, ast.With)
        and ast.unparse(node.items[0].context_expr) == "session_lock.session_lock(st.session_state)"
    ]
    assert len(locked) == 1, "app/main.py does not run the page inside the session lock"
    assert "navigation.run()" in [ast.unparse(statement) for statement in locked[0].body]


@pytest.mark.parametrize("page", ["live_training", "dataset_training"])
def test_training_callbacks_and_fragment_reruns_hold_the_lock(page):
    """Callbacks run before the script, fragment reruns without it: they take the lock themselves."""
    tree = ast.parse((ROOT / "pages" / f"{page}.py").read_text())
    locked = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d) == "session_lock.holding(SS)" for d in node.decorator_list)
    }
    assert {"_carry_out", "_live_view"} <= locked, (
        f"not under the lock: {sorted({'_carry_out', '_live_view'} - locked)}"
    )
