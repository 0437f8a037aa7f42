"""Load test: a class of students on one server.

Starts one ``streamlit run app/main.py`` on a free loopback port (127.0.0.1 only), opens
``--users`` browser contexts (default 20) on **one** headless Chromium, and has each of them,
concurrently, visit every page through the sidebar and change one control there (a slider; on
the Lesson page, Next). Reports:

- how many users got through every page without an exception box or a timeout;
- p50/p95/max **time to settle**: from a click (a page in the sidebar, a control) until the app
  is idle again (``[data-testid="stApp"][data-test-script-state="notRunning"]``), measured in
  the browser with a MutationObserver so that fast reruns are not missed;
- exception boxes and timeouts;
- the server's resident memory (RSS, from /proc) at start, peak and end, and the CPU time used
  by the server and by the browser during the test.

Students' browsers normally run on their own laptops; here all of them share the test machine's
CPU with the server, and drawing plotly charts (WebGL in software, without a GPU) costs far more
CPU than the server spends. ``--light-client`` keeps the browsers from loading plotly's code
(the server still builds and sends every figure, the rest of the page is drawn), which measures
the server rather than the browsers; ``--nice-browser`` runs the browser at the lowest CPU
priority, so that the server is served first. ``--think-s T`` has each student read for
0.5–1.5 × T seconds before every action, as in a lesson, instead of clicking as fast as the app
answers. ``--train-s S`` also presses Start on the live-training
page, waits in the classroom queue if every training slot is taken, trains S seconds and stops.

Bounded: ``--users`` ≤ 60, every wait ≤ ``--wait-s``, the whole run ≤ ``--max-s``; it stops the
server and the browser by itself. Not a unit test::

    .venv/bin/python benchmarks/load_test.py --users 20
    .venv/bin/python benchmarks/load_test.py --users 20 --light-client --json /tmp/load.json
    .venv/bin/python benchmarks/load_test.py --users 20 --think-s 20 --ramp-s 3 --max-s 900
    .venv/bin/python benchmarks/load_test.py --users 5 --pages lesson,geometry
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.serving import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    MAIN,
    cpu_by_process,
    free_port,
    start,
    stop,
)

ROOT = Path(__file__).resolve().parent.parent

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
# url path → how one student changes a control there (a CSS selector to focus + a key, or a button)
PAGES = {
    "": ("slider", None),
    "iou_jaccard": ("slider", None),
    "sorting_errors": ("slider", None),
    "geometry": ("slider", None),
    "gradients": ("slider", None),
    "live_training": ("slider", None),
    "lesson": ("button", "Next"),
}
OBSERVER = """
() => {
  window.__states = [];
  window.__lastMutation = 0;
  const app = document.querySelector('[data-testid="stApp"]');
  const record = () => window.__states.push([performance.now(), app.getAttribute('data-test-script-state')]);
  new MutationObserver(record).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  new MutationObserver(() => { window.__lastMutation = performance.now(); })
    .observe(app, {subtree: true, childList: true, characterData: true});
  record();
}
"""
# Settled: the script ran after t0 and is idle again (and, after a click in the sidebar, the
# browser is on the new page). A rerun so fast that the browser never showed "running" counts as
# settled at the last change of the page, once it has been quiet for 1 s and 3 s have passed.
SETTLED = """
([t0, path]) => {
  if (path !== null && !window.location.pathname.endsWith('/' + path)) return null;
  const s = window.__states || [];
  const ran = s.findIndex(([t, v]) => t >= t0 && v === 'running');
  if (ran >= 0) {
    const done = s.slice(ran).find(([t, v]) => v === 'notRunning');
    return done ? done[0] - t0 : null;
  }
  const app = document.querySelector('[data-testid="stApp"]');
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return null;
  const now = performance.now(), last = window.__lastMutation;
  return last > t0 && now - last > 1000 && now - t0 > 3000 ? last - t0 : null;
}
"""


# ------------------------------------------------------------------------------------------ server
def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (Linux /proc)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all processes, all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class MemoryProbe(threading.Thread):
    def __init__(self, pid: int, every: float = 0.5, nice_browser: bool = False) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.nice_browser = pid, every, nice_browser
        self._niced: set[int] = set()
        self.peak = 0.0
        self.server_cpu: dict[int, float] = {}
        self.browser_cpu: dict[int, float] = {}  # this script's other children: Chromium, its driver
        self.samples: list[float] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            value = rss_mb(self.pid)
            self.samples.append(value)
            self.peak = max(self.peak, value)
            self.server_cpu.update(cpu_by_process(self.pid))
            for pid, seconds in cpu_by_process(os.getpid(), exclude=self.pid).items():
                if pid != os.getpid():
                    self.browser_cpu[pid] = seconds
                    if self.nice_browser and pid not in self._niced:
                        self._niced.add(pid)
                        with contextlib.suppress(OSError):  # renderers forked later inherit it
                            os.setpriority(os.PRIO_PROCESS, pid, 19)
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()


# ------------------------------------------------------------------------------------------ users
@dataclass
class UserResult:
    user: int
    ok: bool = True
    load_s: float = float("nan")
    settle_s: list[tuple[str, str, float]] = field(default_factory=list)  # (page, action, seconds)
    exceptions: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # pages where no control was found to change
    trained: bool = False  # pressed Start and later Stop (with --train-s)
    queued: bool = False  # saw its place in the training queue
    queue_wait_s: float = 0.0  # how long it waited there
    wire_s: list[float] = field(default_factory=list)  # rerun request → script finished, on the wire
    tick_s: list[float] = field(default_factory=list)  # auto reruns of fragments (protocol client)
    reconnects: int = 0  # websocket reconnects (protocol client)
    views_restored: int = 0  # reconnects that brought the same page and URL parameters back
    tours: int = 1  # times through every page, each in a new session (protocol client)


async def _settle(tab, t0: float, wait_s: float, path: str | None = None) -> float:
    handle = await tab.wait_for_function(SETTLED, arg=[t0, path], timeout=wait_s * 1000, polling=50)
    return float(await handle.json_value()) / 1000


async def _now(tab) -> float:
    return float(await tab.evaluate("performance.now()"))


async def _change_control(tab, kind: str, name: str | None, wait_s: float = 15.0) -> bool:
    """Change one control; False if the page shows none of that kind within ``wait_s``.

    On a loaded machine the browser may still be drawing the page when the script is done, so
    the control is waited for rather than looked up once.
    """
    if kind == "button":
        button = tab.get_by_role("button", name=name).first
        try:
            await button.wait_for(timeout=wait_s * 1000)
        except Exception:
            return False
        if await button.is_disabled():
            return False
        await button.click()
        return True
    main = '[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]'
    side = '[data-testid="stSidebarUserContent"] [data-testid="stSlider"] input[type="range"]'
    try:
        await tab.locator(f"{main}, {side}").first.wait_for(state="attached", timeout=wait_s * 1000)
    except Exception:
        return False
    inputs = tab.locator(main)
    thumb = inputs.first if await inputs.count() else tab.locator(side).first
    before = await thumb.input_value()
    await thumb.focus()
    await thumb.press("ArrowRight")
    if await thumb.input_value() == before:  # already at its maximum
        await thumb.press("ArrowLeft")
    return True


async def _train(tab, seconds: float, wait_s: float, result: UserResult) -> None:
    """Press Start on the live-training page; if queued, wait for the slot; train ``seconds``; Stop."""
    start = tab.get_by_role("button", name="Start").first
    if await start.count() == 0 or await start.is_disabled():
        result.failures.append("live_training: no enabled Start button")
        return
    t0 = await _now(tab)
    await start.click()
    result.settle_s.append(("live_training", "start", await _settle(tab, t0, wait_s)))
    stop = tab.get_by_role("button", name="Stop").first
    if await tab.get_by_text("in the queue").count():
        result.queued = True
        began = time.perf_counter()
        await stop.wait_for(timeout=wait_s * 1000)  # the queue starts the run by itself
        result.queue_wait_s = time.perf_counter() - began
    await tab.wait_for_timeout(seconds * 1000)
    await stop.click()
    result.trained = True
    await tab.wait_for_timeout(500)
    await tab.wait_for_selector(IDLE)


class WireClock:
    """Times each rerun on the wire: from the browser's ``rerun_script`` message to the server's
    ``script_finished``, as the browser's network layer sees them. Unlike the settle time, it
    does not wait for the page to be drawn, so it measures the server (and the network)."""

    def __init__(self) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._back, self._forward = BackMsg, ForwardMsg
        self.pending: list[float] = []
        self.durations: list[float] = []

    def attach(self, websocket) -> None:
        websocket.on("framesent", self._sent)
        websocket.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if isinstance(payload, bytes | bytearray):
            message = self._back()
            try:
                message.ParseFromString(bytes(payload))
            except Exception:
                return
            if message.WhichOneof("type") == "rerun_script":
                self.pending.append(time.perf_counter())

    def _received(self, payload) -> None:
        # script_finished is a few bytes; skip parsing the large frames (deltas with figures)
        if not isinstance(payload, bytes | bytearray) or not self.pending or len(payload) > 512:
            return
        message = self._forward()
        try:
            message.ParseFromString(bytes(payload))
        except Exception:
            return
        if message.WhichOneof("type") == "script_finished" and message.script_finished in (
            self._forward.FINISHED_SUCCESSFULLY,
            self._forward.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
        ):
            self.durations.append(time.perf_counter() - self.pending[0])
            self.pending.clear()


PLOTLY_CHUNK = re.compile(r".*/PlotlyChart\.[^/]*\.js$")


async def _abort(route) -> None:
    await route.abort()


async def _think(rng: random.Random, think_s: float) -> None:
    """A student reads before acting: a pause drawn uniformly from [0.5, 1.5] × ``think_s``."""
    if think_s > 0:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)


async def student(
    index: int,
    browser,
    base: str,
    pages: list[str],
    wait_s: float,
    ramp_s: float,
    train_s: float = 0.0,
    light: bool = False,
    think_s: float = 0.0,
) -> UserResult:
    result = UserResult(index)
    rng = random.Random(index)
    await asyncio.sleep(index * ramp_s)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    if light:  # the server still builds and sends every figure; this browser just does not draw it
        await context.route(PLOTLY_CHUNK, _abort)
    tab = await context.new_page()
    tab.set_default_timeout(wait_s * 1000)
    wire = WireClock()
    tab.on("websocket", wire.attach)
    try:
        began = time.perf_counter()
        await tab.goto(f"{base}/", wait_until="domcontentloaded")
        await tab.wait_for_selector('[data-testid="stApp"]')
        await tab.evaluate(OBSERVER)
        await tab.wait_for_selector(IDLE)
        result.load_s = time.perf_counter() - began
        for path in pages:
            label = path or "home"
            try:
                if path:  # the home page is already open
                    await _think(rng, think_s)
                    link = tab.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').first
                    t0 = await _now(tab)
                    await link.click()
                    result.settle_s.append((label, "open", await _settle(tab, t0, wait_s, path)))
                await tab.wait_for_timeout(200)
                kind, name = PAGES.get(path, ("slider", None))
                await _think(rng, think_s)
                t0 = await _now(tab)
                if await _change_control(tab, kind, name):
                    result.settle_s.append((label, "control", await _settle(tab, t0, wait_s)))
                else:
                    result.skipped.append(label)
                if path == "live_training" and train_s > 0:
                    await _train(tab, train_s, wait_s, result)
                boxes = tab.locator(EXCEPTION)
                for i in range(await boxes.count()):
                    result.exceptions.append(f"{label}: {(await boxes.nth(i).inner_text())[:300]}")
            except Exception as error:  # a timeout or a broken page: record it, go on
                result.failures.append(f"{label}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
    except Exception as error:
        result.failures.append(f"start: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
    finally:
        await context.close()
    result.wire_s = wire.durations
    result.ok = not result.failures and not result.exceptions
    return result


async def run_class(
    base: str,
    users: int,
    pages: list[str],
    wait_s: float,
    ramp_s: float,
    max_s: float,
    train_s: float = 0.0,
    light: bool = False,
    think_s: float = 0.0,
) -> list[UserResult]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            tasks = [
                asyncio.create_task(student(i, browser, base, pages, wait_s, ramp_s, train_s, light, think_s))
                for i in range(users)
            ]
            done, pending = await asyncio.wait(tasks, timeout=max_s)
            for task in pending:
                task.cancel()
            results = [t.result() for t in done if not t.cancelled() and t.exception() is None]
            for i in range(users - len(results)):
                late = UserResult(-1 - i, ok=False, failures=[f"did not finish within {max_s:.0f} s"])
                results.append(late)
            return results
        finally:
            await browser.close()


# ------------------------------------------------------------------------- protocol-level users
PROTOCOL_ACTIONS = {"lesson": ("button", "Next")}  # elsewhere: the first slider of the page


async def protocol_student(
    index: int,
    base: str,
    pages: list[str],
    wait_s: float,
    ramp_s: float,
    train_s: float = 0.0,
    think_s: float = 0.0,
    until: float | None = None,
) -> UserResult:
    """One student over the websocket: open the app, visit ``pages``, change one control on each.

    With ``until`` (a ``time.monotonic()`` deadline) the student keeps taking the tour, each time
    in a new session (a new tab), until then. A dropped connection is reconnected (counted) and the
    interrupted action is tried once more.
    """
    from benchmarks.protocol import ProtocolSession

    result = UserResult(index)
    rng = random.Random(index)
    await asyncio.sleep(index * ramp_s)
    tours = 0
    while True:
        session = ProtocolSession(base, wait_s=wait_s, cookie=f"lovasz_student=student-{index}")
        try:
            await _protocol_tour(session, pages, rng, think_s, train_s, wait_s, result, until)
        except Exception as error:
            result.failures.append(f"start: {type(error).__name__}: {str(error)[:200]}")
        finally:
            await session.close()
            stats = session.stats
            result.settle_s.extend((what.split(":")[0], what.split(": ")[-1], s) for what, s in stats.full_s)
            result.wire_s.extend(s for _, s in stats.full_s)
            result.tick_s.extend(stats.fragment_s)
            result.exceptions.extend(stats.exceptions)
            result.reconnects += stats.reconnects
            result.views_restored += stats.views_restored
        tours += 1
        if until is None or time.monotonic() >= until or result.failures:
            break
    result.tours = tours
    result.ok = not result.failures and not result.exceptions
    return result


async def _protocol_tour(
    session,
    pages: list[str],
    rng: random.Random,
    think_s: float,
    train_s: float,
    wait_s: float,
    result: UserResult,
    until: float | None = None,
) -> None:
    """One session: open the app, then on every page change one control (and train, if asked);
    a soak's session ends at ``until`` (a ``time.monotonic()`` deadline) wherever it is."""
    from benchmarks.protocol import DisconnectedError, RerunError

    async def act(action: Callable[[], Awaitable[object]]) -> object:
        try:
            return await action()
        except DisconnectedError:
            await session.reconnect()  # timed and counted in the session's stats
            return await action()

    began = time.perf_counter()
    await session.connect()
    await session.rerun("home: open", page_hash="", page_name="")
    result.load_s = time.perf_counter() - began
    for path in pages:
        if until is not None and time.monotonic() >= until:
            return
        label = path or "home"
        try:
            if path:
                await _think(rng, think_s)
                await act(lambda path=path: session.open_page(path))
            await _think(rng, think_s)
            kind, name = PROTOCOL_ACTIONS.get(path, ("slider", None))
            if kind == "button":
                done = await act(lambda name=name, label=label: session.press(name, f"{label}: {name}"))
            else:
                done = await act(lambda label=label: session.change_control(label))
            if not done:
                result.skipped.append(label)
            if path == "live_training" and train_s > 0:
                await _protocol_train(session, train_s, wait_s, result)
        except (RerunError, DisconnectedError, OSError, asyncio.TimeoutError) as error:
            result.failures.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")


async def _protocol_train(session, seconds: float, wait_s: float, result: UserResult) -> None:
    """Press Start; if queued, wait for the slot (the queue's fragment polls); train; press Stop."""
    from benchmarks.protocol import RerunError

    if not await session.press("Start", "live_training: start"):
        result.failures.append("live_training: no enabled Start button")
        return
    if "in the queue" in session.text():
        result.queued = True
        began = time.monotonic()
        while session.find("button", label="Stop") is None:  # the queue starts the run by itself
            if time.monotonic() - began > wait_s:
                raise RerunError(f"live_training: still in the queue after {wait_s:.0f} s")
            await asyncio.sleep(0.2)
        result.queue_wait_s = time.monotonic() - began
    await asyncio.sleep(seconds)
    if await session.press("Stop", "live_training: stop") or "finished" in session.text():
        result.trained = True  # stopped, or the run had ended by itself
    else:
        result.failures.append("live_training: no Stop button and the run did not finish")


async def run_protocol_class(
    base: str,
    users: int,
    pages: list[str],
    wait_s: float,
    ramp_s: float,
    max_s: float,
    train_s: float = 0.0,
    think_s: float = 0.0,
    duration_s: float = 0.0,
    during: Callable[[], Awaitable[None]] | None = None,
) -> list[UserResult]:
    """``users`` protocol clients at once; ``during`` (e.g. kill a replica) runs alongside them."""
    until = time.monotonic() + duration_s if duration_s > 0 else None
    tasks = [
        asyncio.create_task(protocol_student(i, base, pages, wait_s, ramp_s, train_s, think_s, until))
        for i in range(users)
    ]
    side = asyncio.create_task(during()) if during is not None else None
    done, pending = await asyncio.wait(tasks, timeout=max_s)
    for task in pending:
        task.cancel()
    if side is not None:
        side.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await side
    results = [t.result() for t in done if not t.cancelled() and t.exception() is None]
    for i in range(users - len(results)):
        results.append(UserResult(-1 - i, ok=False, failures=[f"did not finish within {max_s:.0f} s"]))
    return results


async def training_slot_free(base: str, wait_s: float) -> bool:
    """After the class: a fresh session presses Start on Live training and is not queued."""
    from benchmarks.protocol import ProtocolSession

    session = ProtocolSession(base, wait_s=wait_s)
    try:
        await session.connect()
        await session.rerun("home: open", page_hash="")
        await session.open_page("live_training")
        await session.press("Start", "live_training: start")
        free = "in the queue" not in session.text() and session.find("button", label="Stop") is not None
        await session.press("Stop", "live_training: stop")
        return free
    finally:
        await session.close()


def server_metrics(base: str) -> dict[str, float]:
    """Active sessions and the bytes of all sessions' state, from Streamlit's ``/_stcore/metrics``."""
    import urllib.request

    out = {"active_sessions": float("nan"), "session_state_bytes": 0.0}
    try:
        with urllib.request.urlopen(f"{base}/_stcore/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("active_sessions "):
            out["active_sessions"] = float(line.split()[-1])
        elif line.startswith("cache_memory_bytes") and 'cache_type="st_session_state"' in line:
            out["session_state_bytes"] += float(line.split()[-1])
    return out


# ------------------------------------------------------------------------------------------ report
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(results: list[UserResult], memory: dict[str, float], seconds: float, users: int) -> dict:
    # "start" (live training) is reported apart: a queued student's page stays busy until its run starts
    settles = [s for r in results for (_, action, s) in r.settle_s if action != "start"]
    wire = [w for r in results for w in r.wire_s]
    controls = [s for r in results for (_, action, s) in r.settle_s if action == "control"]
    per_page: dict[str, list[float]] = {}
    for r in results:
        for page, action, s in r.settle_s:
            if action != "start":
                per_page.setdefault(page, []).append(s)
    return {
        "users": users,
        "succeeded": sum(r.ok for r in results),
        "wall_s": round(seconds, 1),
        "cpus": os.cpu_count(),
        "first_load_s_p50": round(percentile([r.load_s for r in results if r.load_s == r.load_s], 0.5), 2),
        "settle_s": {
            "n": len(settles),
            "p50": round(percentile(settles, 0.5), 3),
            "p95": round(percentile(settles, 0.95), 3),
            "max": round(max(settles, default=float("nan")), 3),
            "mean": round(statistics.fmean(settles), 3) if settles else float("nan"),
        },
        "server_rerun_s": {
            "n": len(wire),
            "p50": round(percentile(wire, 0.5), 3),
            "p95": round(percentile(wire, 0.95), 3),
            "max": round(max(wire, default=float("nan")), 3),
        },
        "settle_after_control_s": {
            "n": len(controls),
            "p50": round(percentile(controls, 0.5), 3),
            "p95": round(percentile(controls, 0.95), 3),
        },
        "settle_p95_by_page_s": {p: round(percentile(v, 0.95), 3) for p, v in sorted(per_page.items())},
        "settle_p50_p95_by_action_s": {
            action: [round(percentile(v, 0.5), 3), round(percentile(v, 0.95), 3)]
            for action in sorted({a for r in results for (_, a, _) in r.settle_s})
            for v in [[x for r in results for (_, a, x) in r.settle_s if a == action]]
        },
        "interactions": [
            [r.user, page, action, round(x, 3)] for r in results for (page, action, x) in r.settle_s
        ],
        "controls_not_found": sorted({p for r in results for p in r.skipped}),
        "trained": sum(r.trained for r in results),
        "saw_the_queue": sum(r.queued for r in results),
        "queue_wait_s_max": round(max((r.queue_wait_s for r in results), default=0.0), 1),
        "exceptions": [e for r in results for e in r.exceptions],
        "failures": [f for r in results for f in r.failures],
        "server_rss_mb": memory,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--client",
        choices=("protocol", "browser"),
        default="protocol",
        help="protocol: clients that speak Streamlit's websocket protocol (measures the server; "
        "hundreds are cheap); browser: headless Chromium contexts (≤ 60)",
    )
    parser.add_argument("--users", type=int, default=20, help="students at once")
    parser.add_argument(
        "--pages",
        default=",".join(p or "home" for p in PAGES),
        help="comma-separated url paths to visit, in order (home = the start page)",
    )
    parser.add_argument("--wait-s", type=float, default=60.0, help="longest wait for one interaction")
    parser.add_argument("--ramp-s", type=float, default=0.25, help="delay between two users' arrivals")
    parser.add_argument("--max-s", type=float, default=600.0, help="the whole test stops after this")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument(
        "--light-client",
        action="store_true",
        help="(browser) the simulated browsers do not draw plotly charts (the server still builds "
        "and sends them): measures the server, not N browsers sharing this machine's CPU",
    )
    parser.add_argument(
        "--nice-browser",
        action="store_true",
        help="(browser) run the browser at the lowest CPU priority (nice 19), so that the server "
        "gets the CPU first, as if the students' browsers ran on their own laptops",
    )
    parser.add_argument(
        "--train-s",
        type=float,
        default=0.0,
        help="on the live-training page, press Start, train this long, then Stop (0: don't)",
    )
    parser.add_argument(
        "--think-s",
        type=float,
        default=0.0,
        help="mean reading time before each action (uniform in [0.5, 1.5] × this); "
        "0: every student clicks as fast as the app answers (a stampede)",
    )
    parser.add_argument(
        "--duration-s",
        type=float,
        default=0.0,
        help="(protocol) a soak: every student takes the tour again, each time in a new session, "
        "until this many seconds have passed (0: once)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="(protocol) start this many servers behind nginx (deploy/) instead of one server",
    )
    parser.add_argument(
        "--kill-replica-at",
        type=float,
        default=0.0,
        help="(with --replicas ≥ 2) kill replica 0 this many seconds into the test (0: never)",
    )
    parser.add_argument("--entrypoint", type=Path, default=MAIN, help="the app to serve")
    parser.add_argument(
        "--url",
        help="(protocol) a server (or proxy) already running, e.g. http://127.0.0.1:8501, instead of "
        "starting one; with --server-pid its memory and CPU are measured too",
    )
    parser.add_argument("--server-pid", type=int, default=0, help="(with --url) the server's process id")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="(protocol) students arrive at a server nobody has opened yet; by default one visit "
        "to every page warms it up first (imports, first training run), as the teacher's would",
    )
    args = parser.parse_args(argv)
    limit = 60 if args.client == "browser" else 1000
    if not 1 <= args.users <= limit:
        parser.error(f"--users must be in 1..{limit} for the {args.client} client, got {args.users}")
    pages = ["" if p.strip() == "home" else p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        parser.error(f"unknown pages: {unknown}; known: {[p or 'home' for p in PAGES]}")
    if args.client == "browser":
        if args.replicas or args.duration_s:
            parser.error("--replicas and --duration-s need --client protocol")
        if not Path(CHROMIUM).exists():
            parser.error(f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH)")
        return browser_main(args, pages)
    if args.kill_replica_at and args.replicas < 2:
        parser.error(f"--kill-replica-at needs --replicas 2 or more, got {args.replicas}")
    return protocol_main(args, pages)


def _sum_rss(pids: list[int]) -> float:
    return sum(rss_mb(pid) for pid in pids)


def protocol_main(args: argparse.Namespace, pages: list[str]) -> int:
    """Run the class with protocol clients against one server or replicas behind nginx."""
    stack = contextlib.ExitStack()
    with stack:
        replicas = None
        if args.url:
            base, pids, log_path = args.url.rstrip("/"), [args.server_pid] if args.server_pid else [], "-"
        elif args.replicas:
            from deploy.serve_replicas import serve_replicas

            replicas = stack.enter_context(serve_replicas(args.replicas, entrypoint=args.entrypoint))
            base, pids, log_path = replicas.url, list(replicas.pids), str(replicas.workdir)
        else:
            port = free_port()
            log = Path(os.environ.get("TMPDIR", "/tmp")) / f"load-test-streamlit-{port}.log"
            server = start(args.entrypoint, port, log, ("--server.fileWatcherType", "none"))
            stack.callback(stop, server)
            base, pids, log_path = f"http://127.0.0.1:{port}", [server.pid], str(log)
        timeline: list[tuple[float, float]] = []
        stop_probe = threading.Event()

        def probe() -> None:
            while not stop_probe.is_set():
                alive = [p for p in pids if Path(f"/proc/{p}").exists()]
                timeline.append((time.perf_counter(), _sum_rss(alive)))
                stop_probe.wait(0.5)

        warm_s = None
        if not args.cold and not args.replicas:  # serve_replicas warms its replicas itself
            from benchmarks.protocol import warm_up

            warm_s = round(asyncio.run(warm_up(base)), 1)
        time.sleep(1.0)
        start_rss = _sum_rss(pids)
        cpu0 = {pid: sum(cpu_by_process(pid).values()) for pid in pids}
        load0 = os.getloadavg()
        prober = threading.Thread(target=probe, daemon=True)
        began = time.perf_counter()
        prober.start()

        async def kill_later() -> None:
            await asyncio.sleep(args.kill_replica_at)
            cpu_last[pids[0]] = sum(cpu_by_process(pids[0]).values())
            replicas.kill(0)

        cpu_last: dict[int, float] = {}
        during = kill_later if replicas is not None and args.kill_replica_at else None

        async def lesson() -> tuple[list[UserResult], bool]:
            results = await run_protocol_class(
                base,
                args.users,
                pages,
                args.wait_s,
                args.ramp_s,
                args.max_s,
                args.train_s,
                args.think_s,
                args.duration_s,
                during,
            )
            free = await training_slot_free(base, args.wait_s) if "live_training" in pages else True
            return results, free

        results, slot_free = asyncio.run(lesson())
        seconds = time.perf_counter() - began
        time.sleep(2.0)  # let the server drop the closed sessions
        metrics = server_metrics(base) if replicas is None else {}
        stop_probe.set()
        prober.join()
        alive = [p for p in pids if Path(f"/proc/{p}").exists()]
        end_rss = _sum_rss(alive)
        by_server = [
            round((sum(cpu_by_process(p).values()) if p in alive else cpu_last.get(p, cpu0[p])) - cpu0[p], 1)
            for p in pids
        ]
        server_cpu = sum(by_server)
        load1 = os.getloadavg()
    peak = max((m for _, m in timeline), default=end_rss)
    memory = {"start": round(start_rss, 1), "peak": round(peak, 1), "end": round(end_rss, 1)}
    summary = summarize(results, memory, seconds, args.users)
    ticks = [t for r in results for t in r.tick_s]
    summary.update(
        {
            "client": "protocol",
            "think_s": args.think_s,
            "train_s": args.train_s,
            "replicas": args.replicas or 1,
            "warm_up_s": warm_s,
            "killed_replica_at_s": args.kill_replica_at or None,
            "memory": memory,
            "memory_growth_after_warmup": _growth(timeline, began, seconds),
            "memory_every_minute_mb": [round(m) for t, m in timeline[:: max(1, 120)]],
            "fragment_tick_s": {
                "n": len(ticks),
                "p50": round(percentile(ticks, 0.5), 3),
                "p95": round(percentile(ticks, 0.95), 3),
            },
            "reconnects": sum(r.reconnects for r in results),
            "students_reconnected": sum(r.reconnects > 0 for r in results),
            "views_restored": sum(r.views_restored for r in results),
            "tours": sum(r.tours for r in results),
            "training_slot_free_at_end": slot_free,
            "server_after": metrics,
            "cpu_s": {
                "server": round(server_cpu, 1),
                "by_replica": by_server,
                "this_script": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
                "wall": round(seconds, 1),
                "cores": os.cpu_count(),
            },
            "load_average_before_after": [[round(x, 2) for x in load0], [round(x, 2) for x in load1]],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
    )
    summary.pop("interactions", None)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    w = summary["server_rerun_s"]
    print(
        f"\n{summary['succeeded']}/{args.users} students succeeded; server reruns p50 {w['p50']:.2f} s, "
        f"p95 {w['p95']:.2f} s, max {w['max']:.2f} s over {w['n']}; server CPU {server_cpu:.0f} s in "
        f"{seconds:.0f} s; RSS {memory['start']:.0f}/{memory['peak']:.0f}/{memory['end']:.0f} MB "
        f"(start/peak/end); reconnects {summary['reconnects']}; load {load0[0]:.2f} → {load1[0]:.2f}; "
        f"logs: {log_path}"
    )
    return 0 if summary["succeeded"] == args.users and slot_free else 1


def _growth(timeline: list[tuple[float, float]], began: float, seconds: float) -> float | None:
    """Relative growth of the server's memory from the end of warm-up (a third of the run) to
    the end: mean of the last tenth over the mean of the tenth after warm-up (None if too short)."""
    if seconds < 60 or len(timeline) < 30:
        return None

    def mean_between(a: float, b: float) -> float:
        values = [m for t, m in timeline if began + a * seconds <= t <= began + b * seconds]
        return statistics.fmean(values) if values else float("nan")

    after_warmup, end = mean_between(1 / 3, 1 / 3 + 0.1), mean_between(0.9, 1.0)
    return round(end / after_warmup - 1, 3)


def browser_main(args: argparse.Namespace, pages: list[str]) -> int:
    """Run the class with headless Chromium contexts against one server."""
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"load-test-streamlit-{port}.log"
    server = start(args.entrypoint, port, log_path, ("--server.fileWatcherType", "none"))
    probe = MemoryProbe(server.pid, every=0.2 if args.nice_browser else 0.5, nice_browser=args.nice_browser)
    probe.start()
    began = time.perf_counter()
    try:
        time.sleep(1.0)
        start_rss = rss_mb(server.pid)
        server_cpu0 = sum(cpu_by_process(server.pid).values())
        busy0, load0 = machine_busy_seconds(), os.getloadavg()[0]
        results = asyncio.run(
            run_class(
                f"http://127.0.0.1:{port}",
                args.users,
                pages,
                args.wait_s,
                args.ramp_s,
                args.max_s,
                args.train_s,
                args.light_client,
                args.think_s,
            )
        )
        seconds = time.perf_counter() - began
        end_rss = rss_mb(server.pid)
        server_cpu = sum(cpu_by_process(server.pid).values()) - server_cpu0
        browser_cpu = sum(probe.browser_cpu.values())
        busy, load1 = machine_busy_seconds() - busy0, os.getloadavg()[0]
        own_cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    finally:
        probe.stop()
        stop(server)
    memory = {"start": round(start_rss, 1), "peak": round(probe.peak, 1), "end": round(end_rss, 1)}
    summary = summarize(results, memory, seconds, args.users)
    summary["light_client"] = args.light_client
    summary["nice_browser"] = args.nice_browser
    summary["think_s"] = args.think_s
    own = resource.getrusage(resource.RUSAGE_SELF)
    summary["cpu_s"] = {
        "server": round(server_cpu, 1),
        "browser": round(browser_cpu, 1),
        "this_script": round(own.ru_utime + own.ru_stime, 1),
        "other_processes": round(max(busy - server_cpu - browser_cpu - own_cpu, 0.0), 1),
        "wall": round(seconds, 1),
        "cores": os.cpu_count(),
        "load_average_before_after": [round(load0, 1), round(load1, 1)],
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    s, w = summary["settle_s"], summary["server_rerun_s"]
    print(
        f"\n{summary['succeeded']}/{args.users} users succeeded; settle p50 {s['p50']:.2f} s, "
        f"p95 {s['p95']:.2f} s, max {s['max']:.2f} s over {s['n']} interactions; reruns on the wire "
        f"p50 {w['p50']:.2f} s, p95 {w['p95']:.2f} s; server RSS peak {memory['peak']:.0f} MB; "
        f"CPU s: server {summary['cpu_s']['server']}, browser {summary['cpu_s']['browser']}, "
        f"others {summary['cpu_s']['other_processes']}; server log: {log_path}"
    )
    return 0 if summary["succeeded"] == args.users else 1


if __name__ == "__main__":
    raise SystemExit(main())
