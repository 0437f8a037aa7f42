"""Thirty students, one server: a fair, server-wide cap on concurrent training runs.

Every ``streamlit run`` process has one :class:`SlotManager` (:func:`shared_manager`). A session
that wants to train asks for a slot (:meth:`SlotManager.request`): it gets one if fewer than
``capacity`` runs are going and nobody is queued before it; otherwise it joins a first-come,
first-served queue and learns its position. A session holds its slot while its run is running
and gives it back on pause, stop, reset or finish (:meth:`SlotManager.release`). Holders and
waiters prove they are still there by asking again (every refresh of the live view counts as a
heartbeat); one that has not been heard from for ``stale_after`` seconds (a closed tab, a lost
laptop) is dropped and its slot goes to the head of the queue.

Per-session caps (largest image, most steps, most losses side by side) bound what one run can
cost. Everything is configured by environment variables, read by :meth:`ClassroomConfig.from_env`:

===============================  =======  ===============================================
variable                         default  meaning
===============================  =======  ===============================================
``LOVASZ_MAX_CONCURRENT_RUNS``   CPUs     training runs at once, server-wide
``LOVASZ_SLOT_TIMEOUT_S``        20       seconds without a heartbeat before a slot is
                                          reclaimed
``LOVASZ_MAX_STEPS``             2000     steps of one run
``LOVASZ_MAX_IMAGE_SIZE``        128      side of the training image, in pixels
``LOVASZ_MAX_LOSSES``            6        losses trained side by side in one run
===============================  =======  ===============================================

A value that is malformed or outside its range (steps below the slider's lowest value 20, an
image side below 16, a timeout that is not a number of seconds from 1 to 86400) is reported on
the page and that variable's default is used.

The core (:class:`ClassroomConfig`, :class:`SlotManager`) does not import Streamlit and is
unit-tested with a fake clock; the helpers at the end bind it to a Streamlit session.
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# ------------------------------------------------------------------------------------------
# Configuration

MIN_STEPS = 20  # the steps slider's lowest value (LiveTrainingParams.steps in app/params.py)
MIN_IMAGE_SIZE = 16  # the size slider's lowest value (LiveTrainingParams.size)
# field → (type, lowest, highest, what the message says is expected)
LIMITS: dict[str, tuple[type, float, float, str]] = {
    "max_concurrent_runs": (int, 1, 10_000, "a positive int"),
    "slot_timeout_s": (float, 1.0, 86_400.0, "a number of seconds from 1 to 86400"),
    "max_steps": (int, MIN_STEPS, 10**9, f"an int of at least {MIN_STEPS} (the fewest steps a run can have)"),
    "max_image_size": (
        int,
        MIN_IMAGE_SIZE,
        4096,
        f"an int from {MIN_IMAGE_SIZE} (the smallest training image) to 4096",
    ),
    "max_losses": (int, 1, 100, "a positive int"),
}


@dataclass(frozen=True)
class ClassroomConfig:
    """Server-wide and per-session limits (see the module docstring for the variables)."""

    max_concurrent_runs: int = max(1, os.cpu_count() or 1)
    slot_timeout_s: float = 20.0
    max_steps: int = 2000
    max_image_size: int = 128
    max_losses: int = 6

    ENV = {  # noqa: RUF012 - a constant table, not a field
        "max_concurrent_runs": "LOVASZ_MAX_CONCURRENT_RUNS",
        "slot_timeout_s": "LOVASZ_SLOT_TIMEOUT_S",
        "max_steps": "LOVASZ_MAX_STEPS",
        "max_image_size": "LOVASZ_MAX_IMAGE_SIZE",
        "max_losses": "LOVASZ_MAX_LOSSES",
    }

    @classmethod
    def read_env(cls, environ: Mapping[str, str] | None = None) -> tuple[ClassroomConfig, list[str]]:
        """The ``LOVASZ_*`` variables, each checked on its own: ``(config, problems)``.

        A malformed or out-of-range variable gets one message (naming it, what was expected, what
        came, and the default used instead) and its default; the other variables still apply.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, variable in cls.ENV.items():
            raw = environ.get(variable)
            if raw is None or raw.strip() == "":
                continue
            kind, low, high, expected = LIMITS[name]
            try:
                value = kind(raw.strip())
            except ValueError:
                value = None
            if value is None or not (math.isfinite(value) and low <= value <= high):
                default = getattr(cls(), name)
                problems.append(f"{variable} must be {expected}, got {raw!r}; using the default {default}")
                continue
            values[name] = value
        return cls(**values), problems

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClassroomConfig:
        """Read the ``LOVASZ_*`` variables; a malformed one raises ``ValueError`` naming it."""
        config, problems = cls.read_env(environ)
        if problems:
            raise ValueError(problems[0])
        return config

    def capped(self, size: int, steps: int, losses: int) -> list[str]:
        """Messages for each per-session cap that ``size``/``steps``/``losses`` exceed (empty if none)."""
        problems = []
        if size > self.max_image_size:
            problems.append(
                f"image size {size} exceeds this server's limit of {self.max_image_size} px "
                "(LOVASZ_MAX_IMAGE_SIZE)"
            )
        if steps > self.max_steps:
            problems.append(
                f"{steps} steps exceed this server's limit of {self.max_steps} (LOVASZ_MAX_STEPS)"
            )
        if losses > self.max_losses:
            problems.append(
                f"{losses} losses exceed this server's limit of {self.max_losses} side by side "
                "(LOVASZ_MAX_LOSSES)"
            )
        return problems


# ------------------------------------------------------------------------------------------
# The slot manager (pure)


@dataclass(frozen=True)
class SlotStatus:
    """Where a session stands: holding a slot (``granted``), queued at ``position`` (1 = next), or neither."""

    granted: bool
    position: int  # 0 when granted or not queued
    running: int  # slots in use, server-wide
    waiting: int  # sessions in the queue
    capacity: int

    @property
    def queued(self) -> bool:
        return self.position > 0


class SlotManager:
    """At most ``capacity`` holders at once, a FIFO queue for the others, stale entries reclaimed.

    Thread-safe: Streamlit runs each session's script in its own thread. ``clock`` is injectable
    for tests (seconds, monotonic).

    Example:
        >>> slots = SlotManager(capacity=1, stale_after=10.0)
        >>> slots.request("a").granted, slots.request("b").position
        (True, 1)
        >>> slots.release("a"); slots.request("b").granted
        True
    """

    def __init__(
        self, capacity: int, stale_after: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        if stale_after <= 0:
            raise ValueError(f"stale_after must be positive, got {stale_after}")
        self.capacity = int(capacity)
        self.stale_after = float(stale_after)
        self._clock = clock
        self._lock = threading.Lock()
        self._holders: dict[str, float] = {}  # session → last heartbeat
        self._queue: OrderedDict[str, float] = OrderedDict()  # session → last heartbeat, FIFO

    # -- internals (call with the lock held)
    def _reap(self, now: float) -> list[str]:
        limit = now - self.stale_after
        gone = [s for s, seen in self._holders.items() if seen < limit]
        gone += [s for s, seen in self._queue.items() if seen < limit]
        for session in gone:
            self._holders.pop(session, None)
            self._queue.pop(session, None)
        return gone

    def _promote(self, now: float) -> None:
        while self._queue and len(self._holders) < self.capacity:
            session, _ = self._queue.popitem(last=False)
            self._holders[session] = now  # the grant counts as a heartbeat

    def _status(self, session: str) -> SlotStatus:
        granted = session in self._holders
        position = 0
        if not granted and session in self._queue:
            position = list(self._queue).index(session) + 1
        return SlotStatus(granted, position, len(self._holders), len(self._queue), self.capacity)

    # -- public
    def request(self, session: str) -> SlotStatus:
        """Ask for a slot (idempotent; also a heartbeat): granted, or a place in the queue."""
        with self._lock:
            now = self._refresh(session)
            if session not in self._holders and session not in self._queue:
                if len(self._holders) < self.capacity and not self._queue:
                    self._holders[session] = now
                else:
                    self._queue[session] = now
            return self._status(session)

    def heartbeat(self, session: str) -> SlotStatus:
        """Refresh a holder's or waiter's timestamp without joining anything; return its status."""
        with self._lock:
            self._refresh(session)
            return self._status(session)

    def _refresh(self, session: str) -> float:
        """Reap stale sessions, promote waiters, stamp ``session`` if known; the time (lock held)."""
        now = self._clock()
        self._reap(now)
        self._promote(now)
        if session in self._holders:
            self._holders[session] = now
        elif session in self._queue:
            self._queue[session] = now
        return now

    def release(self, session: str) -> None:
        """Give the slot back (or leave the queue); the head of the queue gets the slot."""
        with self._lock:
            now = self._clock()
            self._holders.pop(session, None)
            self._queue.pop(session, None)
            self._reap(now)
            self._promote(now)

    def status(self, session: str) -> SlotStatus:
        """Where ``session`` stands, without counting as a heartbeat."""
        with self._lock:
            now = self._clock()
            self._reap(now)
            self._promote(now)
            return self._status(session)

    def reap(self) -> list[str]:
        """Drop every session not heard from for ``stale_after`` s; return them (oldest first)."""
        with self._lock:
            now = self._clock()
            gone = self._reap(now)
            self._promote(now)
            return gone

    def snapshot(self) -> dict[str, list[str]]:
        """``{"holders": [...], "queue": [...]}`` (queue in order), for tests and an admin view."""
        with self._lock:
            return {"holders": list(self._holders), "queue": list(self._queue)}


# ------------------------------------------------------------------------------------------
# One manager per server process

_MANAGER: SlotManager | None = None
_MANAGER_LOCK = threading.Lock()


def shared_manager(config: ClassroomConfig | None = None) -> SlotManager:
    """The process-wide :class:`SlotManager`, made on first use from ``config`` (or the env)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            config = config or ClassroomConfig.read_env()[0]
            _MANAGER = SlotManager(config.max_concurrent_runs, config.slot_timeout_s)
        return _MANAGER


def reset_shared_manager() -> None:
    """Forget the process-wide manager (tests; a changed configuration)."""
    global _MANAGER
    with _MANAGER_LOCK:
        _MANAGER = None


# ------------------------------------------------------------------------------------------
# Streamlit side

SESSION_KEY = "_classroom_session"


def session_id() -> str:
    """A random id for this browser session, kept in ``st.session_state``."""
    import streamlit as st

    if SESSION_KEY not in st.session_state:
        st.session_state[SESSION_KEY] = uuid.uuid4().hex
    return st.session_state[SESSION_KEY]


def config(warn: bool = True) -> ClassroomConfig:
    """This server's limits; a malformed variable falls back to its default (with a warning)."""
    settings, problems = ClassroomConfig.read_env()
    if warn and problems:
        import streamlit as st

        from app import safe_text

        st.warning(
            "Some classroom settings were not understood:\n\n"
            + "\n".join(f"- {safe_text.literal(p)}" for p in problems),
            icon=":material/warning:",
        )
    return settings


def request_slot() -> SlotStatus:
    """Ask for (or keep) a training slot for this session; also a heartbeat."""
    return shared_manager(config(warn=False)).request(session_id())


def heartbeat() -> SlotStatus:
    """Keep this session's slot or queue place alive (call on every refresh of the live view)."""
    return shared_manager(config(warn=False)).heartbeat(session_id())


def release_slot() -> None:
    """Give this session's slot back (pause, stop, reset, finish) or leave the queue."""
    shared_manager(config(warn=False)).release(session_id())


def describe(status: SlotStatus) -> str:
    """A sentence for the page: how busy the server is and where this session stands."""
    slots = "1 training slot" if status.capacity == 1 else f"{status.capacity} training slots"
    busy = f"{status.running} of {slots} in use"
    if status.granted:
        return f"You have a training slot ({busy})."
    if status.queued:
        full = "The training slot is busy" if status.capacity == 1 else f"All {slots} are busy"
        ahead = status.position - 1
        place = (
            "you are next"
            if ahead == 0
            else f"{ahead} {'session' if ahead == 1 else 'sessions'} ahead of you"
        )
        return (
            f"{full}. You are **number {status.position}** in the queue ({place}); your run "
            "starts by itself when a slot frees up. Keep this page open."
        )
    return busy + "."


def keep_slot() -> bool:
    """Heartbeat of a running session: True while it holds a slot (asks again if it was reclaimed)."""
    manager = shared_manager(config(warn=False))
    status = manager.heartbeat(session_id())
    if not status.granted:
        status = manager.request(session_id())
    return status.granted


WAIT_POLL_S = 1.0


def _leave_queue(on_leave: Callable[[], None]) -> None:
    release_slot()
    on_leave()


def waiting_room(on_granted: Callable[[], None], on_leave: Callable[[], None]) -> None:
    """While this session waits for a slot: its place in the queue, refreshed every second.

    Every refresh asks again (a heartbeat: a closed tab leaves the queue after the timeout).
    When the slot is granted, ``on_granted()`` runs (e.g. start the run) and the whole page
    reruns; "Leave the queue" calls ``on_leave()``.
    """
    import streamlit as st

    @st.fragment(run_every=WAIT_POLL_S)
    def _room() -> None:
        status = request_slot()
        if status.granted:
            on_granted()
            st.rerun()
        st.info(describe(status), icon=":material/hourglass_top:")
        st.button(
            "Leave the queue",
            icon=":material/logout:",
            key="_classroom_leave",
            on_click=_leave_queue,
            args=(on_leave,),
        )

    _room()
