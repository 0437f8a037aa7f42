"""AppTest runs of "Gradients" and "Live training" on an uploaded mask (and image).

The upload is parsed by the component's pure half (:func:`app.uploads.with_mask` …) and put into
the session, as the uploader's callback does. AppTest never fires the live fragment's timer, so
training advances one tick per full run.
"""

from __future__ import annotations

import re

import numpy as np
from streamlit.testing.v1 import AppTest

from app import uploads
from lovasz_core.lab.void import VOID
from tests.files import npy, png

from ..app_harness import MAIN, assert_no_exception


def texts(at: AppTest, kind: str) -> str:
    """The text of every element of ``kind``, as the reader sees it (Markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(str(e.value) for e in getattr(at, kind)))


def mask_array(height: int = 40, width: int = 60) -> np.ndarray:
    """Four classes on a non-square mask, class 3 rare, a void band."""
    mask = np.zeros((height, width), np.int64)
    mask[5:30, 5:30] = 1
    mask[10:35, 35:55] = 2
    mask[2:4, 50:52] = 3
    mask[30:32, 5:30] = VOID
    return mask


def store(with_image: bool = False, name: str = "cells.npy") -> uploads.UploadStore:
    mask = mask_array()
    result = uploads.with_mask(uploads.UploadStore(), npy(mask), name)
    if with_image:
        channels = [(mask == 1) * 200, (mask == 2) * 200, np.full(mask.shape, 60)]
        rgb = np.stack(channels, axis=2).astype(np.uint8)
        result = uploads.with_image(result, png(rgb), "cells.png")
    return result


def open_with(page: str, upload: uploads.UploadStore | None, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=90)
    if upload is not None:
        at.session_state[uploads.STORE_KEY] = upload
    at.run()
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(f"../pages/{page}")
    at.run()
    assert_no_exception(at)
    return at


# ------------------------------------------------------------------------------------ gradients
def test_gradients_are_computed_on_the_uploaded_mask():
    at = open_with("gradients.py", store())
    info = texts(at, "info")
    assert "**These maps are computed on your mask** cells.npy (40×60, 4 classes, 50 void pixels)" in info
    assert "50 void pixels" in info and "are ignored by every loss" in info
    assert "Rarest class, class 3" in texts(at, "markdown")
    assert at.radio(key="_gr_upload_cls").value == "class 3"
    assert list(at.radio(key="_gr_upload_cls").options) == ["class 0", "class 1", "class 2", "class 3"]
    assert "gr_radius" not in [s.key for s in at.slider], "the disks' radius has no meaning on a mask"
    captions = texts(at, "caption")
    assert "push on class 3" in captions and "not computed on your mask" in captions
    assert len(at.get("plotly_chart")) == 3  # masks, gradient maps, histograms (no sweep)


def test_gradients_on_an_upload_shrink_it_to_the_page_limit_and_map_any_class():
    big = np.kron(mask_array(), np.ones((3, 3), np.int64))  # 120×180 → 43×64
    at = open_with("gradients.py", uploads.with_mask(uploads.UploadStore(), npy(big), "big.npy"))
    assert "(43×64, shrunk from 120×180, 4 classes" in texts(at, "info")
    at.radio(key="_gr_upload_cls").set_value("class 1").run()
    assert_no_exception(at)
    assert "logit of “class 1”" in texts(at, "markdown")


def test_gradients_without_ignore_index_on_an_upload_say_why():
    at = open_with("gradients.py", store(), {"gr_ignore": "false"})
    assert "refuse them" in texts(at, "warning") and "taken as class 0" in texts(at, "warning")


def test_gradients_back_to_the_disks_when_the_upload_is_off():
    at = open_with("gradients.py", store(with_image=True))
    at.toggle(key=f"{uploads.USE_KEY}_gradients").set_value(False).run()
    assert_no_exception(at)
    assert "computed on your mask" not in texts(at, "info")
    assert "Small disk (light blue)" in texts(at, "markdown")
    assert len(at.get("plotly_chart")) == 4


def test_a_file_name_is_shown_as_text():
    at = open_with("gradients.py", store(name="**bold** [x](http://e.com).npy"))
    info = next(e.value for e in at.info if "computed on your mask" in e.value)
    assert "\\*\\*bold\\*\\*" in info and "\\[x\\]" in info


# ------------------------------------------------------------------------------------ live training
def test_live_training_trains_on_the_uploaded_image_and_mask():
    at = open_with("live_training.py", store(with_image=True), {"lt_size": "32", "lt_steps": "30"})
    info = texts(at, "info")
    assert "**Training on your upload** cells.npy (21×32, 4 classes, " in info
    assert "void pixels left out of every loss and of the IoU" in info
    assert "made from your mask" not in info
    assert "lt_image" not in [s.key for s in at.selectbox], "the upload replaces the image picker"
    at.button(key="lt_start").click().run()
    assert_no_exception(at)
    run = at.session_state["lt_run"]
    assert run.config.data is not None and run.sample.shape == (21, 32) and run.num_classes == 4
    assert run.config.data.name == "cells.npy" and not run.config.data.generated
    assert run.ignore_index == VOID and run.steps_done > 0
    assert "your upload cells.npy 21×32" in texts(at, "caption")
    assert "IoU class 3" in at.table[0].value.columns


def test_live_training_on_a_mask_alone_says_the_input_is_made_from_it():
    at = open_with("live_training.py", store(), {"lt_size": "32"})
    assert "No image was uploaded: the network's input is made from your mask" in texts(at, "info")
    at.button(key="lt_start").click().run()
    assert_no_exception(at)
    assert at.session_state["lt_run"].config.data.generated


def test_a_new_upload_never_touches_the_run_in_progress():
    at = open_with("live_training.py", None, {"lt_size": "32"})
    at.button(key="lt_start").click().run()
    run = at.session_state["lt_run"]
    assert run.config.data is None
    at.session_state[uploads.STORE_KEY] = store(with_image=True)  # the uploader's callback did this
    at.run()
    assert_no_exception(at)
    assert at.session_state["lt_run"] is run and run.config.data is None
    notes = texts(at, "info")
    assert "Your upload applies to the next run, with any other changed setting" in notes
    assert "keeps training on its built-in image and its own settings" in notes
    assert "The settings changed since this run started" not in notes, "one note, not two"
    steps = run.steps_done
    at.run()
    assert at.session_state["lt_run"] is run and run.steps_done > steps, "the run goes on"
    at.button(key="lt_stop").click().run()
    at.button(key="lt_start").click().run()  # the next Start takes the upload
    assert_no_exception(at)
    fresh = at.session_state["lt_run"]
    assert fresh is not run and fresh.config.data is not None and fresh.sample.shape == (21, 32)


# ------------------------------------------------------------------------------------ links


def test_links_say_they_never_carry_an_upload():
    """A link to a view opens the built-in scene: with a mask stored, the page's link and the
    sidebar's "Share and export" box say so; without one, neither does."""
    note = uploads.LINK_NOTE
    at = open_with("gradients.py", store())
    captions = [str(c.value) for c in at.caption]
    assert captions.count(note) == 2
    link_index = next(i for i, c in enumerate(captions) if c.startswith("Link to this view (the address bar"))
    assert note in captions[link_index:]
    at = open_with("gradients.py", None)
    assert note not in texts(at, "caption")
