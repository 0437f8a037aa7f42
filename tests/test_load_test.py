"""The pure parts of benchmarks/load_test.py (the load test itself is run by hand, not by pytest)."""

from __future__ import annotations

import math

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks import load_test


def test_percentile_interpolates_and_handles_empty_input():
    assert load_test.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert load_test.percentile([0.0, 10.0], 0.95) == 9.5
    assert math.isnan(load_test.percentile([], 0.5))


def test_summary_counts_successes_and_leaves_start_out_of_the_settle_times():
    ok = load_test.UserResult(0, settle_s=[("home", "open", 1.0), ("home", "control", 2.0)], wire_s=[0.5])
    slow = load_test.UserResult(
        1, ok=False, failures=["geometry: timeout"], settle_s=[("live_training", "start", 30.0)]
    )
    summary = load_test.summarize([ok, slow], {"peak": 1.0}, 10.0, 2)
    assert summary["succeeded"] == 1
    assert summary["settle_s"]["n"] == 2 and summary["settle_s"]["max"] == 2.0
    assert summary["settle_p50_p95_by_action_s"]["start"] == [30.0, 30.0]
    assert summary["failures"] == ["geometry: timeout"]
    assert summary["server_rerun_s"]["n"] == 1


def test_wire_clock_times_a_rerun_from_request_to_finish():
    clock = load_test.WireClock()
    request = BackMsg()
    request.rerun_script.query_string = "a=1"
    finished = ForwardMsg()
    finished.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    early = ForwardMsg()
    early.script_finished = ForwardMsg.FINISHED_EARLY_FOR_RERUN
    clock._sent(request.SerializeToString())
    clock._received(early.SerializeToString())  # interrupted by a newer rerun: keep waiting
    assert clock.durations == [] and len(clock.pending) == 1
    clock._received(finished.SerializeToString())
    assert len(clock.durations) == 1 and clock.durations[0] >= 0 and clock.pending == []
    clock._received(finished.SerializeToString())  # nothing pending: ignored
    assert len(clock.durations) == 1


def _run_to_end(coroutine) -> None:
    """Drive a coroutine that never really waits (its sleeps are faked), without an event loop:
    the browser tests' Playwright keeps one running in this thread, so asyncio.run would fail."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise AssertionError("the coroutine waited for something")


def test_think_time_is_drawn_around_the_mean_and_zero_means_no_pause(monkeypatch):
    import random

    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(load_test.asyncio, "sleep", fake_sleep)
    rng = random.Random(0)
    for _ in range(50):
        _run_to_end(load_test._think(rng, 10.0))
    _run_to_end(load_test._think(rng, 0.0))  # a stampede: no pause at all
    assert len(slept) == 50
    assert all(5.0 <= s <= 15.0 for s in slept) and max(slept) - min(slept) > 5.0
