"""The server-wide training-slot manager (app/classroom.py): cap, queue order, release, stale reclaim."""

from __future__ import annotations

import threading

import pytest

from app.classroom import ClassroomConfig, SlotManager, describe


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(capacity: int = 2, stale_after: float = 10.0) -> tuple[SlotManager, Clock]:
    clock = Clock()
    return SlotManager(capacity, stale_after, clock=clock), clock


def test_cap_grants_at_most_capacity_slots():
    slots, _ = make(capacity=2)
    statuses = [slots.request(s) for s in "abcde"]
    assert [s.granted for s in statuses] == [True, True, False, False, False]
    assert [s.position for s in statuses] == [0, 0, 1, 2, 3]
    assert statuses[-1].running == 2 and statuses[-1].waiting == 3 and statuses[-1].capacity == 2
    assert slots.snapshot() == {"holders": ["a", "b"], "queue": ["c", "d", "e"]}


def test_request_is_idempotent_and_keeps_the_place():
    slots, _ = make(capacity=1)
    assert slots.request("a").granted
    assert slots.request("b").position == 1
    assert slots.request("c").position == 2
    assert slots.request("b").position == 1  # asking again does not move you back
    assert slots.request("a").granted
    assert slots.snapshot() == {"holders": ["a"], "queue": ["b", "c"]}


def test_release_hands_the_slot_to_the_head_of_the_queue_in_order():
    slots, _ = make(capacity=1)
    for s in "abcd":
        slots.request(s)
    slots.release("a")
    assert slots.status("b").granted
    assert [slots.status(s).position for s in "cd"] == [1, 2]
    slots.release("c")  # leaving the queue moves those behind forward
    assert slots.status("d").position == 1
    slots.release("b")
    assert slots.status("d").granted
    slots.release("d")
    assert slots.snapshot() == {"holders": [], "queue": []}
    slots.release("nobody")  # harmless


def test_a_newcomer_does_not_jump_the_queue():
    slots, _ = make(capacity=1)
    slots.request("a")
    slots.request("b")
    slots.release("a")  # b is promoted at once, before any newcomer can ask
    assert not slots.request("z").granted
    assert slots.status("b").granted


def test_stale_holders_are_reclaimed_and_waiters_promoted():
    slots, clock = make(capacity=1, stale_after=10.0)
    slots.request("a")
    slots.request("b")
    clock.now += 6
    slots.heartbeat("b")  # b is alive, a is silent
    clock.now += 6  # a last seen 12 s ago
    assert slots.reap() == ["a"]
    assert slots.status("b").granted
    assert not slots.status("a").granted and not slots.status("a").queued


def test_stale_waiters_lose_their_place():
    slots, clock = make(capacity=1, stale_after=10.0)
    for s in "abc":
        slots.request(s)
    clock.now += 8
    slots.heartbeat("a")
    slots.heartbeat("c")
    clock.now += 8  # b silent for 16 s
    assert slots.status("c").position == 1
    assert slots.snapshot()["queue"] == ["c"]


def test_heartbeat_keeps_a_slot_alive_and_never_joins():
    slots, clock = make(capacity=1, stale_after=10.0)
    slots.request("a")
    for _ in range(5):
        clock.now += 9
        assert slots.heartbeat("a").granted
    assert slots.heartbeat("x") == slots.status("x")
    assert not slots.status("x").granted and not slots.status("x").queued


def test_a_granted_but_absent_waiter_is_reclaimed_too():
    slots, clock = make(capacity=1, stale_after=10.0)
    slots.request("a")
    slots.request("b")
    slots.request("c")
    slots.release("a")  # b is granted but its tab is closed
    clock.now += 5
    slots.heartbeat("c")
    clock.now += 6
    assert slots.status("c").granted


def test_threads_never_exceed_the_cap():
    slots = SlotManager(3, 60.0)
    granted: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        if slots.request(name).granted:
            with lock:
                granted.append(name)

    threads = [threading.Thread(target=worker, args=(f"s{i}",)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 3
    assert len(slots.snapshot()["queue"]) == 37


def test_invalid_manager_arguments():
    with pytest.raises(ValueError, match="capacity"):
        SlotManager(0, 10.0)
    with pytest.raises(ValueError, match="stale_after"):
        SlotManager(1, 0)


def test_config_from_env_and_its_errors():
    config = ClassroomConfig.from_env(
        {
            "LOVASZ_MAX_CONCURRENT_RUNS": "3",
            "LOVASZ_SLOT_TIMEOUT_S": "7.5",
            "LOVASZ_MAX_STEPS": "500",
            "LOVASZ_MAX_IMAGE_SIZE": " 64 ",
            "LOVASZ_MAX_LOSSES": "",
        }
    )
    assert (config.max_concurrent_runs, config.slot_timeout_s, config.max_steps) == (3, 7.5, 500)
    assert config.max_image_size == 64 and config.max_losses == ClassroomConfig().max_losses
    assert ClassroomConfig.from_env({}) == ClassroomConfig()
    with pytest.raises(ValueError, match="LOVASZ_MAX_CONCURRENT_RUNS must be a positive int, got 'many'"):
        ClassroomConfig.from_env({"LOVASZ_MAX_CONCURRENT_RUNS": "many"})
    with pytest.raises(ValueError, match="LOVASZ_MAX_STEPS"):
        ClassroomConfig.from_env({"LOVASZ_MAX_STEPS": "-1"})


def test_per_session_caps():
    config = ClassroomConfig(max_steps=100, max_image_size=64, max_losses=2)
    assert config.capped(64, 100, 2) == []
    problems = config.capped(128, 500, 3)
    assert len(problems) == 3
    assert "LOVASZ_MAX_IMAGE_SIZE" in problems[0] and "LOVASZ_MAX_STEPS" in problems[1]


def test_describe_says_where_you_stand():
    slots, _ = make(capacity=1)
    assert "You have a training slot (1 of 1 training slot in use)" in describe(slots.request("a"))
    assert "The training slot is busy" in describe(slots.request("b"))
    assert "you are next" in describe(slots.request("b"))
    text = describe(slots.request("c"))
    assert "number 2" in text and "1 session ahead" in text
    wide, _ = make(capacity=3)
    for s in "abc":
        wide.request(s)
    assert "All 3 training slots are busy" in describe(wide.request("d"))
    assert describe(wide.status("nobody")) == "3 of 3 training slots in use."
