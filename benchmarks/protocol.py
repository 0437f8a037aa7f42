"""A Streamlit client without a browser: one student's session over ``/_stcore/stream``.

It speaks the protocol the Streamlit frontend speaks: ``BackMsg`` (``rerun_script`` with a
``ClientState``: query string, page hash, widget states, fragment id) up, ``ForwardMsg``
(``new_session``, ``navigation``, deltas, ``auto_rerun``, ``script_finished``…) down, with the
protobuf classes that ship inside the ``streamlit`` package. It renders nothing, so hundreds of
such clients cost little CPU, and the time of a rerun is the server's time.

What it does like the frontend:

- keeps the widget states it has set (and sends a button's trigger once), drops those of widgets
  that are gone after a full run;
- keeps the page's query string: widgets bound to the URL (``query_param_key``) write their value
  into it, and a reconnect sends it back, so the view comes back from the URL;
- remembers cacheable messages and tells the server their hashes (``cached_message_hashes``), then
  resolves the server's ``ref_hash`` references from that cache;
- runs fragments that asked for ``run_every`` (``auto_rerun``) at their interval.

A rerun fails when the server sends an exception element during it, the script ends with a
compile error, or it does not finish within ``wait_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED_OK = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
MAIN_AREA, SIDEBAR = 0, 1  # first index of a delta path


class RerunError(Exception):
    """A rerun raised an exception on the server, did not compile, or did not finish in time."""


class DisconnectedError(Exception):
    """The websocket closed (the server went away) while a rerun was waiting."""


@dataclass
class Element:
    """One element of the page as the server sent it: its type, proto and place."""

    kind: str
    proto: Any
    path: tuple[int, ...]

    @property
    def text(self) -> str:
        """Text of a markdown, alert or caption element ("" for others)."""
        return str(getattr(self.proto, "body", "") or "")


@dataclass
class RerunStats:
    """What one session measured."""

    full_s: list[tuple[str, float]] = field(default_factory=list)  # (what, seconds) per full rerun
    fragment_s: list[float] = field(default_factory=list)  # auto reruns of fragments
    exceptions: list[str] = field(default_factory=list)
    reconnects: int = 0
    views_restored: int = 0  # reconnects after which the page and its URL parameters were back
    fragment_failures: int = 0


class ProtocolSession:
    """One browser tab's session, driven over the websocket.

    ``url`` is ``http://host:port`` (or a proxy's address); ``cookie`` goes with the websocket
    request (a proxy can pin the session to one replica by it).
    """

    def __init__(self, url: str, wait_s: float = 60.0, cookie: str | None = None) -> None:
        self.ws_url = url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.wait_s = wait_s
        self.cookie = cookie
        self.stats = RerunStats()
        self.pages: dict[str, tuple[str, str]] = {}  # url path ("" = default) → (hash, name)
        self.page_hash = ""
        self.query_string = ""
        self.elements: dict[tuple[int, ...], Element] = {}
        self.widget_states: dict[str, WidgetState] = {}
        self.session_id = ""
        self._ws: Any = None
        self._reader: asyncio.Task | None = None
        self._ticker: asyncio.Task | None = None
        self._cache: dict[str, ForwardMsg] = {}
        self._auto: dict[str, float] = {}  # fragment id → interval (s)
        self._full: asyncio.Future | None = None
        self._fragment: asyncio.Future | None = None
        self._full_began = 0.0
        self._closing = False
        self._seen_ids: set[str] = set()
        self.on_message: Callable[[ForwardMsg], None] | None = None

    # ------------------------------------------------------------------------- connection
    async def connect(self) -> None:
        """Open the websocket (a reconnect offers the previous session id, as the frontend does)."""
        protocols = ["streamlit"]
        if self.session_id:  # [protocol, XSRF token (none here), session to resume]
            protocols += ["no-xsrf", self.session_id]
        headers = {"Cookie": self.cookie} if self.cookie else None
        self._ws = await websockets.connect(
            self.ws_url,
            subprotocols=[websockets.Subprotocol(p) for p in protocols],
            additional_headers=headers,
            max_size=None,
            open_timeout=self.wait_s,
            ping_interval=None,
        )
        self._reader = asyncio.create_task(self._read())
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick())

    async def close(self) -> None:
        """Close the websocket and stop the fragment timer."""
        self._closing = True
        for task in (self._ticker, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def reconnect(self) -> float:
        """Open a new websocket and rerun the current page with the URL's query string.

        Returns the seconds until the page is back. Counts in ``stats.reconnects``.
        """
        self.stats.reconnects += 1
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self.widget_states.clear()  # a new server knows nothing of them; the URL carries the view
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                await self.connect()
                break
            except (OSError, websockets.InvalidHandshake, asyncio.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        page, query = self.page_hash, dict(parse_qsl(self.query_string))
        seconds = await self.rerun("reconnect", page_hash=page)
        problems = self.view_differences(page, query)
        if problems:
            raise RerunError(f"reconnect: the view did not come back from the URL: {problems}")
        self.stats.views_restored += 1
        return seconds

    def view_differences(self, page_hash: str, query: dict[str, str]) -> list[str]:
        """What differs from the view ``(page, query)``: another page, a URL parameter with
        another value, or a slider bound to the URL showing another value."""
        problems = [] if self.page_hash == page_hash else [f"page {self.page_hash} instead of {page_hash}"]
        now = dict(parse_qsl(self.query_string))
        problems += [f"{k}={now.get(k)!r} instead of {v!r}" for k, v in query.items() if now.get(k) != v]
        for element in self.elements.values():
            key = getattr(element.proto, "query_param_key", "") if element.kind == "slider" else ""
            if key and key in query:
                proto = element.proto
                values = proto.value if proto.set_value and len(proto.value) else proto.default
                shown = list(values)[:1]
                if shown and f"{shown[0]:g}" != f"{float(query[key]):g}":
                    problems.append(f"slider {key} shows {shown[0]:g}, the URL says {query[key]}")
        return problems

    # ------------------------------------------------------------------------- messages
    async def _read(self) -> None:
        ws = self._ws
        try:
            async for data in ws:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._handle(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in (self._full, self._fragment):
                if future is not None and not future.done():
                    future.set_exception(DisconnectedError("the websocket closed"))

    def _handle(self, message: ForwardMsg) -> None:
        if message.HasField("ref_hash"):
            cached = self._cache.get(message.ref_hash)
            if cached is None:
                return
            resolved = ForwardMsg()
            resolved.CopyFrom(cached)
            resolved.metadata.CopyFrom(message.metadata)
            message = resolved
        elif message.metadata.cacheable and message.hash:
            self._cache[message.hash] = message
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.session_id = message.new_session.initialize.session_id or self.session_id
            self.page_hash = message.new_session.page_script_hash
            if not message.metadata.run.fragment_ids:  # a full run draws the page anew
                self.elements = {}
                self._auto.clear()
                self._seen_ids = set()
        elif kind == "navigation":
            self.pages = {
                page.url_pathname: (page.page_script_hash, page.page_name)
                for page in message.navigation.app_pages
            }
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._auto[message.auto_rerun.fragment_id] = max(message.auto_rerun.interval, 0.05)
        elif kind == "stop_auto_rerun":
            self._auto.pop(message.stop_auto_rerun.fragment_id, None)
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            element_kind = element.WhichOneof("type") or ""
            proto = getattr(element, element_kind) if element_kind else None
            path = tuple(message.metadata.delta_path)
            self.elements[path] = Element(element_kind, proto, path)
            widget_id = getattr(proto, "id", "")
            if widget_id:
                self._seen_ids.add(widget_id)
            if element_kind == "exception":
                self.stats.exceptions.append(f"{proto.type}: {proto.message}"[:300])
        elif kind == "script_finished":
            status = message.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return  # a newer run follows
            fragment = status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
            target = self._fragment if fragment else (self._full or self._fragment)
            if not fragment and self._full is not None and not self._full.done():
                self.widget_states = {k: v for k, v in self.widget_states.items() if k in self._seen_ids}
            if target is not None and not target.done():
                target.set_result(status)
        if self.on_message is not None:
            self.on_message(message)

    # ------------------------------------------------------------------------- reruns
    def _back(self, page_hash: str, fragment_id: str = "", trigger: WidgetState | None = None) -> bytes:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = page_hash
        state.fragment_id = fragment_id
        state.is_auto_rerun = bool(fragment_id)
        for widget in self.widget_states.values():
            state.widget_states.widgets.append(widget)
        if trigger is not None:
            state.widget_states.widgets.append(trigger)
        state.cached_message_hashes.extend(self._cache)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        return message.SerializeToString()

    async def rerun(
        self,
        what: str,
        page_hash: str | None = None,
        page_name: str = "",
        trigger: WidgetState | None = None,
    ) -> float:
        """A full rerun (open a page, or with new widget states); returns its seconds.

        Raises :class:`RerunError` (exception, compile error, too slow) or
        :class:`DisconnectedError`.
        """
        loop = asyncio.get_running_loop()
        self._full = loop.create_future()
        exceptions = len(self.stats.exceptions)
        message = self._back(self.page_hash if page_hash is None else page_hash, trigger=trigger)
        if page_name:
            parsed = BackMsg()
            parsed.ParseFromString(message)
            parsed.rerun_script.page_name = page_name
            message = parsed.SerializeToString()
        began = time.perf_counter()
        try:
            await self._ws.send(message)
        except websockets.ConnectionClosed as error:
            raise DisconnectedError("the websocket closed") from error
        try:
            status = await asyncio.wait_for(self._full, self.wait_s)
        except asyncio.TimeoutError as error:
            raise RerunError(f"{what}: the script did not finish within {self.wait_s:.0f} s") from error
        seconds = time.perf_counter() - began
        if status not in FINISHED_OK:
            raise RerunError(f"{what}: the script finished with status {status}")
        if len(self.stats.exceptions) > exceptions:
            raise RerunError(f"{what}: {self.stats.exceptions[-1]}")
        self.stats.full_s.append((what, seconds))
        return seconds

    async def _tick(self) -> None:
        """Run the fragments that asked for ``run_every``, one at a time, at their interval."""
        due: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        while not self._closing:
            await asyncio.sleep(0.05 if self._auto else 0.25)  # idle students cost little
            if not self._auto or (self._full is not None and not self._full.done()):
                continue
            now = time.monotonic()
            for fragment_id, interval in list(self._auto.items()):
                if due.setdefault(fragment_id, now + interval) > now:
                    continue
                due[fragment_id] = now + interval
                self._fragment = loop.create_future()
                began = time.perf_counter()
                try:
                    await self._ws.send(self._back(self.page_hash, fragment_id))
                    await asyncio.wait_for(self._fragment, self.wait_s)
                    self.stats.fragment_s.append(time.perf_counter() - began)
                except Exception:  # a closed socket or a full rerun in between: not a tick
                    self.stats.fragment_failures += 1
                    await asyncio.sleep(0.5)
                break
            for gone in set(due) - set(self._auto):
                due.pop(gone)

    # ------------------------------------------------------------------------- the page
    def find(self, kind: str, label: str | None = None, area: int | None = None) -> Element | None:
        """The first element of ``kind`` (with that label, in that area), in page order."""
        for path in sorted(self.elements):
            element = self.elements[path]
            if element.kind != kind or (area is not None and path[:1] != (area,)):
                continue
            if label is not None and getattr(element.proto, "label", None) != label:
                continue
            if getattr(element.proto, "disabled", False):
                continue
            return element
        return None

    def text(self) -> str:
        """All markdown and alert text on the page, one element a line."""
        return "\n".join(e.text for _, e in sorted(self.elements.items()) if e.text)

    def set_slider(self, element: Element) -> None:
        """Move a slider one step (back, if at its maximum), as a student would."""
        proto = element.proto
        sent = self.widget_states.get(proto.id)
        if sent is not None and sent.WhichOneof("value") == "double_array_value":
            current = list(sent.double_array_value.data)  # the server does not echo a client's value
        elif proto.set_value and len(proto.value):
            current = list(proto.value)
        else:
            current = list(proto.default)
        value = current[0] if current else proto.min
        moved = value + proto.step if value + proto.step <= proto.max else value - proto.step
        state = WidgetState(id=proto.id)
        state.double_array_value.data.extend([moved, *current[1:]])
        self.widget_states[proto.id] = state
        if proto.query_param_key:  # the frontend writes a bound widget's value into the URL
            query = dict(parse_qsl(self.query_string, keep_blank_values=True))
            query[proto.query_param_key] = f"{moved:g}"
            self.query_string = urlencode(query)

    async def change_control(self, page: str) -> bool:
        """Move the first slider of the main area (else of the sidebar) and rerun; False if none."""
        slider = self.find("slider", area=MAIN_AREA) or self.find("slider", area=SIDEBAR)
        if slider is None:
            return False
        self.set_slider(slider)
        await self.rerun(f"{page}: control")
        return True

    async def press(self, label: str, what: str) -> bool:
        """Press the enabled button with this label (its trigger is sent once); False if none."""
        button = self.find("button", label=label)
        if button is None:
            return False
        await self.rerun(what, trigger=WidgetState(id=button.proto.id, trigger_value=True))
        return True

    async def open_page(self, path: str) -> float:
        """Switch to the page at url path ``path`` ("" = the default page)."""
        if path not in self.pages:
            raise RerunError(f"no page at /{path}; the app has {sorted(self.pages)}")
        page_hash, _name = self.pages[path]
        self.query_string = ""  # a click in the navigation opens the page's plain address
        return await self.rerun(f"{path or 'home'}: open", page_hash=page_hash)


async def warm_up(url: str, wait_s: float = 300.0) -> float:
    """One visit to every page of a fresh server (a control changed on each, one training run
    started and stopped), so that imports and first-use costs are paid before students arrive.
    Returns its seconds; raises :class:`RerunError` if a page fails."""
    began = time.perf_counter()
    session = ProtocolSession(url, wait_s=wait_s)
    try:
        await session.connect()
        await session.rerun("home: open", page_hash="")
        for path in sorted(session.pages, key=lambda p: (p == "live_training", p)):
            await session.open_page(path)
            await session.change_control(path or "home")
            if path == "live_training" and await session.press("Start", "warm-up: start"):
                await asyncio.sleep(1.0)
                await session.press("Stop", "warm-up: stop")
    finally:
        await session.close()
    return time.perf_counter() - began
