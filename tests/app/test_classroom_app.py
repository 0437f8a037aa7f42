"""The classroom helpers inside a Streamlit session (AppTest): queue position, grant, leaving."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app import classroom


def _script() -> None:
    import streamlit as st

    from app import classroom

    st.session_state.setdefault("started", 0)
    st.session_state.setdefault("waiting", True)

    def granted() -> None:
        st.session_state.started += 1
        st.session_state.waiting = False

    def leave() -> None:
        st.session_state.waiting = False

    if st.session_state.waiting:
        classroom.waiting_room(granted, leave)
    st.write(f"started={st.session_state.started}")


def _app() -> AppTest:
    at = AppTest.from_function(_script, default_timeout=30)
    return at


def test_waiting_room_shows_the_queue_then_starts_when_a_slot_frees(monkeypatch):
    monkeypatch.setenv("LOVASZ_MAX_CONCURRENT_RUNS", "1")
    classroom.reset_shared_manager()
    try:
        slots = classroom.shared_manager()
        assert slots.request("teacher").granted
        at = _app().run()
        assert not at.exception
        assert "number 1" in at.info[0].value
        assert at.markdown[-1].value == "started=0"
        slots.release("teacher")
        at.run()
        assert not at.exception
        assert at.markdown[-1].value == "started=1"
        assert not at.info
        assert slots.snapshot()["holders"] == [at.session_state[classroom.SESSION_KEY]]
    finally:
        classroom.reset_shared_manager()


def test_leaving_the_queue_frees_the_place(monkeypatch):
    monkeypatch.setenv("LOVASZ_MAX_CONCURRENT_RUNS", "1")
    classroom.reset_shared_manager()
    try:
        slots = classroom.shared_manager()
        slots.request("teacher")
        at = _app().run()
        assert len(slots.snapshot()["queue"]) == 1
        at.button(key="_classroom_leave").click().run()
        assert not at.exception
        assert slots.snapshot() == {"holders": ["teacher"], "queue": []}
        assert not at.info
    finally:
        classroom.reset_shared_manager()
