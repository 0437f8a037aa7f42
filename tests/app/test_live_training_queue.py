"""The live-training page with the classroom cap (AppTest): queue, automatic start, release, caps."""

from __future__ import annotations

import pytest

from app import classroom
from tests.app_harness import assert_no_exception, run_page


@pytest.fixture
def one_slot(monkeypatch):
    monkeypatch.setenv("LOVASZ_MAX_CONCURRENT_RUNS", "1")
    monkeypatch.setenv("LOVASZ_SLOT_TIMEOUT_S", "3600")  # a slow run of the page must not reap anyone
    classroom.reset_shared_manager()
    yield classroom.shared_manager()
    classroom.reset_shared_manager()


def _start(at):
    at.button(key="lt_start").click().run()
    assert_no_exception(at)


def test_start_waits_in_the_queue_while_the_slot_is_taken(one_slot):
    one_slot.request("another student")
    at = run_page("live_training.py", query_params={"lt_steps": "20", "lt_size": "16"})
    _start(at)
    assert at.session_state.lt_life.phase == "waiting" and "lt_run" not in at.session_state
    assert any("number 1" in i.value for i in at.info)
    one_slot.release("another student")
    at.run()  # the waiting room's refresh (AppTest does not fire timers)
    assert_no_exception(at)
    assert at.session_state["lt_run"] is not None and at.session_state.lt_life.phase == "running"
    assert one_slot.snapshot()["holders"] == [at.session_state[classroom.SESSION_KEY]]


def test_leaving_the_queue_goes_back_to_idle(one_slot):
    one_slot.request("another student")
    at = run_page("live_training.py", query_params={"lt_steps": "20", "lt_size": "16"})
    _start(at)
    at.button(key="_classroom_leave").click().run()
    assert_no_exception(at)
    assert at.session_state.lt_life.phase == "idle" and one_slot.snapshot()["queue"] == []
    assert not at.button(key="lt_start").disabled


def test_a_reclaimed_slot_waits_to_resume_and_keeps_the_run(one_slot, monkeypatch):
    at = run_page("live_training.py", query_params={"lt_steps": "2000", "lt_size": "16"})
    _start(at)
    run = at.session_state["lt_run"]
    me = at.session_state[classroom.SESSION_KEY]
    one_slot.release(me)
    one_slot.request("another student")  # the slot went to someone else while this tab was hidden
    at.run()
    assert_no_exception(at)
    assert at.session_state.lt_life.phase == "waiting" and at.session_state.lt_life.waiting_for == "resume"
    assert at.session_state["lt_run"] is run, "the run in progress is kept"
    one_slot.release("another student")
    at.run()
    assert at.session_state.lt_life.phase == "running" and at.session_state["lt_run"] is run


def test_pause_and_stop_give_the_slot_back(one_slot):
    at = run_page("live_training.py", query_params={"lt_steps": "2000", "lt_size": "16"})
    _start(at)
    me = at.session_state[classroom.SESSION_KEY]
    assert one_slot.snapshot()["holders"] == [me]
    at.button(key="lt_pause").click().run()
    assert one_slot.snapshot()["holders"] == []
    at.button(key="lt_resume").click().run()
    assert one_slot.snapshot()["holders"] == [me]
    at.button(key="lt_stop").click().run()
    assert one_slot.snapshot()["holders"] == []
    assert_no_exception(at)


def test_per_session_caps_limit_the_controls(monkeypatch):
    monkeypatch.setenv("LOVASZ_MAX_STEPS", "100")
    monkeypatch.setenv("LOVASZ_MAX_IMAGE_SIZE", "32")
    at = run_page("live_training.py", query_params={"lt_steps": "40"})
    assert_no_exception(at)
    size = at.slider(key="lt_size")
    steps = at.slider(key="lt_steps")
    assert size.max <= 32 and steps.max <= 100
