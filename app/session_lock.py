"""One script thread at a time per session: a re-entrant lock held by every run of the app.

Streamlit answers a click by starting a *new* script thread at once (``runner.fastReruns``, on
by default); the old thread only stops at its next Streamlit call. A training refresh spends its
time in ``run.step`` without one, so a Pause clicked meanwhile would read the run (the replay,
"where each loss would push") and write the page's lifecycle while the old thread is still
stepping the run and then ticking the lifecycle it read before the click. Seen in a real browser:
a replay whose last step lacked two of the three masks.

So every script run holds its session's lock: ``app/main.py`` runs the page inside
:func:`session_lock`, and what runs outside that script takes it too (:func:`holding`): widget
callbacks, which Streamlit runs before the script (a training page's ``_carry_out``), and
fragment reruns, which run the fragment alone (its ``_live_view``). A new run then waits until the
old thread reaches its next Streamlit call, where it stops and leaves the lock as its ``with``
unwinds. The lock is re-entrant: a callback or fragment called inside a full run takes it again.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, MutableMapping
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

_KEY = "_session_lock"
_CREATING = threading.Lock()  # two threads of one session must not each create a lock


def session_lock(session: MutableMapping[Any, Any]) -> threading.RLock:
    """The re-entrant lock of ``session`` (Streamlit's session state, or any mapping), created on
    first use."""
    with _CREATING:
        lock = session.get(_KEY)
        if lock is None:
            lock = threading.RLock()
            session[_KEY] = lock
    return lock


def holding(session: MutableMapping[Any, Any]) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorator: run the function with ``session``'s lock held."""

    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with session_lock(session):
                return function(*args, **kwargs)

        return locked

    return decorate
