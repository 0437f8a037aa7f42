"""benchmarks/load_test.py: its pure parts, and its protocol client against a real server (three
students through every page; a failing rerun counted as a failure). The full load test is run by
hand, not by pytest."""

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


# ------------------------------------------------------------------------- protocol client
def _in_thread(coroutine):
    """Run a coroutine to the end on its own event loop, in a thread of its own (the browser
    tests' Playwright may keep a loop running in this one)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


FAILING_APP = """
import streamlit as st

value = st.slider("Pick a value", 0, 10, 0, key="pick")
if value > 0:
    raise RuntimeError("this page fails on purpose")
st.write("fine")
"""


def test_protocol_clients_visit_every_page_of_the_real_app():
    from app.serving import serve

    pages = list(load_test.PAGES)
    with serve(options=("--server.fileWatcherType", "none"), log_name="protocol-test") as (base, _):

        async def lesson():
            results = await load_test.run_protocol_class(
                base, 3, pages, wait_s=120, ramp_s=0.2, max_s=600, train_s=1.0
            )
            return results, await load_test.training_slot_free(base, 120)

        results, slot_free = _in_thread(lesson())
        after = load_test.server_metrics(base)
    assert len(results) == 3
    for result in results:
        assert result.ok, (result.failures, result.exceptions)
        assert not result.skipped  # a control was found and changed on every page
        opened = {page for page, action, _ in result.settle_s if action == "open"}
        changed = {page for page, action, _ in result.settle_s if action in ("control", "Next")}
        assert opened == {p or "home" for p in pages}  # home on arrival, the others by a switch
        assert changed == {p or "home" for p in pages}
        assert result.trained
    assert slot_free  # nobody holds a training slot after the class
    summary = load_test.summarize(results, {"peak": 1.0}, 1.0, 3)
    assert summary["succeeded"] == 3 and summary["server_rerun_s"]["n"] >= 3 * 2 * len(pages) - 3
    assert after["active_sessions"] == 0  # every session ended with its websocket


def test_a_failing_rerun_is_counted_as_a_failure(tmp_path):
    from app.serving import serve

    script = tmp_path / "failing_app.py"
    script.write_text(FAILING_APP)
    with serve(script, options=("--server.fileWatcherType", "none"), log_name="protocol-fail") as (base, _):
        results = _in_thread(load_test.run_protocol_class(base, 1, [""], wait_s=60, ramp_s=0, max_s=120))
    (result,) = results
    assert not result.ok
    assert any("this page fails on purpose" in f for f in result.failures), result.failures
    assert any("RuntimeError" in e for e in result.exceptions)
    assert load_test.summarize(results, {"peak": 1.0}, 1.0, 1)["succeeded"] == 0
