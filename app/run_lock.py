"""One lock per session and training page, so that two script threads never use its run at once.

Streamlit answers a click by starting a *new* script thread at once (``runner.fastReruns``, on
by default); the old thread only stops at its next Streamlit call. A training refresh spends its
time in ``run.step`` without one, so a Pause clicked meanwhile would read the run (the replay, the
"where each loss would push" maps) and write the page's lifecycle while the old thread is still
stepping the run, then ticking the lifecycle it read before the click. Seen in a real browser: a
replay whose last step lacked two of the three masks.

Every function of a training page that steps, reads or replaces its run, or changes its lifecycle,
runs under :func:`holding` with the page's lock. The lock is re-entrant (the live view's fragment
runs inside the full run), and a thread stopped by Streamlit leaves it as its ``with`` unwinds.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, MutableMapping
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

_CREATING = threading.Lock()  # two threads of one session must not each create a lock


def run_lock(session: MutableMapping[str, Any], prefix: str) -> threading.RLock:
    """The re-entrant lock of page ``prefix`` (e.g. ``"lt"``) in ``session`` (Streamlit's session
    state, or any mapping), created on first use."""
    key = f"_{prefix}_run_lock"
    with _CREATING:
        lock = session.get(key)
        if lock is None:
            lock = threading.RLock()
            session[key] = lock
    return lock


def holding(session: MutableMapping[str, Any], prefix: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorator: run the function with page ``prefix``'s lock of ``session`` held."""

    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with run_lock(session, prefix):
                return function(*args, **kwargs)

        return locked

    return decorate
