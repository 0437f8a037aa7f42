"""Entrypoint of the Lovász-Softmax teaching app: ``streamlit run app/main.py``.

Sets the page config and lays the lesson pages of ``../pages`` out as a course.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import (
    params,  # noqa: F401  (registers every page's parameters before any page runs)
    presentation,
    session_lock,
    state,
    uploads,
    warmup,  # noqa: F401  (heavy imports complete before any page runs: see app/warmup.py)
)

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"


def _page(filename: str, title: str, icon: str, default: bool = False) -> st.Page:
    return st.Page(str(PAGES_DIR / filename), title=title, icon=icon, default=default)


st.set_page_config(
    page_title="Lovász-Softmax, explained",
    page_icon="📉",  # an emoji is drawn in the browser; a :material/ icon is fetched from a font server
    layout="wide",
)

navigation = st.navigation(
    {
        "Start": [_page("home.py", "Home", ":material/home:", default=True)],
        "Understand": [
            _page("iou_jaccard.py", "IoU and the Jaccard loss", ":material/join_inner:"),
            _page("sorting_errors.py", "Sorting errors", ":material/sort:"),
            _page("geometry.py", "Geometry of the extension", ":material/landscape:"),
        ],
        "Compare": [
            _page("gradients.py", "Gradients: Lovász vs cross-entropy", ":material/compare:"),
            _page("your_data.py", "Your data and your model", ":material/upload_file:"),
        ],
        "Train": [
            _page("live_training.py", "Live training", ":material/model_training:"),
            _page("dataset_training.py", "Training on a data set", ":material/dataset:"),
        ],
        "Teach": [_page("lesson.py", "Lesson", ":material/school:")],
    }
)
# One script thread at a time per session (a click starts a new one before the old has stopped)
with session_lock.session_lock(st.session_state):
    page_name = navigation.url_path or "home"
    registered = page_name in state.PAGES
    if registered:
        state.sync_from_url(page_name)  # a link from outside sets every control before they are drawn
    presentation.sidebar_controls()  # projector mode (top of the sidebar, before the page's controls)
    navigation.run()
    if registered:
        state.publish(page_name)  # the address bar holds the whole view
    # "Share and export" (bottom of the sidebar); a link never carries an upload, and says so
    presentation.share_controls(navigation.url_path, uploads.link_note())
