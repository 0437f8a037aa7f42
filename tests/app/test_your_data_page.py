"""Page "Your data and your model" under AppTest, and the pure half of the upload component.

AppTest cannot upload files: the store the uploaders would fill is made with the component's own
pure functions (:func:`app.uploads.with_mask` …) from bytes and put into the session state.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import safe_text, uploads
from app.uploads import UploadStore, case_of, describe, with_image, with_logits, with_mask
from lovasz_core.lab.uploads import UploadError
from lovasz_core.lab.views.your_data import example_case, paint, your_data_view
from tests.files import npy, png, pt

from ..app_harness import MAIN, assert_no_exception

PAGE_FILE = "../pages/your_data.py"


def small_mask(height: int = 20, width: int = 16) -> np.ndarray:
    mask = np.zeros((height, width), np.int64)
    mask[4:12, 3:9] = 1
    mask[13:18, 10:14] = 2
    mask[:, 0] = 255
    return mask


def small_logits(mask: np.ndarray, classes: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    onehot = np.stack([(mask == c) for c in range(classes)]).astype(np.float32)
    return (2.5 * onehot + rng.normal(0.0, 1.0, onehot.shape)).astype(np.float32)


def run_with(state: dict[str, object] | None = None, query: dict[str, str] | None = None) -> AppTest:
    """Open Home, put ``state`` into the session, then go to the page."""
    at = AppTest.from_file(str(MAIN), default_timeout=90)
    at.run()
    for key, value in (state or {}).items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(PAGE_FILE)
    at.run()
    assert_no_exception(at)
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def text(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def assert_numbers(at: AppTest, mask: np.ndarray, logits: np.ndarray, cls: int = 1) -> None:
    view = your_data_view(mask, logits, cls)
    assert metric(at, "void pixels ignored") == f"{view.void_pixels:,}"
    assert metric(at, "pixels sorted") == f"{view.sort.kept:,}"
    assert metric(at, "Lovász term of class") == f"{view.sort.loss:.4f}"
    assert metric(at, "Cross-entropy loss") == f"{view.losses[0].value:.4f}"
    assert metric(at, "Lovász-Softmax loss") == f"{view.losses[1].value:.4f}"
    assert metric(at, "mean IoU") == f"{view.mean_iou:.3f}"
    assert f"{view.void_pixels:,} of {mask.size:,} pixels are void" in text(at, "markdown")


# ------------------------------------------------------------------------------------ the page
def test_without_an_upload_the_page_shows_the_example_and_says_so():
    at = run_with()
    assert "Built-in example (generated)" in text(at, "info")
    mask, logits = example_case()
    assert_numbers(at, mask, logits)
    downloads = at.get("download_button")
    assert len(downloads) == 2
    assert "exactly 0 under Cross-entropy, exactly 0 under Lovász-Softmax" in text(at, "markdown")
    assert "Takeaway" in text(at, "success")
    assert [t.label for t in at.toggle if t.label == "Use my upload"] == []


def test_uploaded_logits_and_mask_drive_every_number():
    mask = small_mask()
    logits = small_logits(mask)
    store = with_logits(with_mask(UploadStore(), npy(mask), "truth.npy"), npy(logits), "model.npy")
    at = run_with({uploads.STORE_KEY: store})
    info = text(at, "info")
    assert "Your upload" in info and "model.npy" in info and "C = 3" in info
    assert_numbers(at, mask, logits)
    assert "Stored in this session" in text(at, "caption")
    assert not [s for s in at.slider if s.label == "Shift right (px)"], "no generated prediction"


def test_a_mask_alone_gets_a_generated_prediction_with_its_controls():
    mask = small_mask()
    at = run_with({uploads.STORE_KEY: with_mask(UploadStore(), npy(mask), "truth.npy")})
    assert "a prediction generated from it" in text(at, "info")
    assert [s for s in at.slider if s.label == "Shift right (px)"]
    assert metric(at, "void pixels ignored") == f"{int((mask == 255).sum())}"


def test_use_my_upload_off_shows_the_example_and_keeps_the_upload():
    mask = small_mask()
    at = run_with({uploads.STORE_KEY: with_mask(UploadStore(), npy(mask), "truth.npy")})
    at.toggle(key=f"{uploads.USE_KEY}_your_data").set_value(False).run()
    assert "Built-in example" in text(at, "info")
    assert at.session_state[uploads.STORE_KEY].mask is not None
    at.toggle(key=f"{uploads.USE_KEY}_your_data").set_value(True).run()
    assert "truth.npy" in text(at, "info")


def test_forget_my_upload_empties_the_store():
    mask = small_mask()
    at = run_with({uploads.STORE_KEY: with_mask(UploadStore(), npy(mask), "truth.npy")})
    next(b for b in at.button if b.label == "Forget my upload").click().run()
    assert_no_exception(at)
    assert "Built-in example" in text(at, "info")
    assert at.session_state[uploads.STORE_KEY].mask is None


def test_painting_void_is_counted_and_undo_restores():
    mask, logits = example_case()
    painted = paint(mask, list(range(0, 40)), 255)
    at = run_with({uploads.EDITS_KEY: {"example": [painted]}})
    assert_numbers(at, painted, logits)
    assert "1 stroke(s) so far" in text(at, "caption")
    next(b for b in at.button if b.label == "Undo").click().run()
    assert_numbers(at, mask, logits)
    assert "0 stroke(s) so far" in text(at, "caption")


def test_painting_away_every_class_gives_a_message_and_keeps_the_editor():
    mask, _ = example_case()
    at = run_with({uploads.EDITS_KEY: {"example": [np.full_like(mask, 255)]}})
    assert "Cannot compare this mask and prediction" in text(at, "error")
    assert "Paint the ground truth" in text(at, "subheader")
    next(b for b in at.button if b.label == "Reset").click().run()
    assert not at.error


def test_a_rejected_files_message_is_shown_as_text():
    message = "[log in](https://evil.example) is not an image that can be read"
    at = run_with({uploads.MESSAGE_KEY: {"your_data": message}})
    assert len(at.error) == 1
    shown = at.error[0].value
    assert shown == safe_text.literal(message, limit=600)
    assert "[log in](" not in shown, "no Markdown link"


def test_class_control_is_bounded_by_the_logits_classes():
    mask = small_mask()
    logits = small_logits(mask, classes=5)
    store = with_logits(with_mask(UploadStore(), npy(mask), "truth.npy"), npy(logits), "five.npy")
    at = run_with({uploads.STORE_KEY: store}, query={"yd_cls": "4"})
    assert at.slider(key="yd_cls").max == 4
    assert metric(at, "Lovász term of class 4") == f"{your_data_view(mask, logits, 4).sort.loss:.4f}"


# ------------------------------------------------------------------------------------ pure half
def test_store_parts_must_agree_and_a_refusal_leaves_the_store_alone():
    mask = small_mask()
    store = with_mask(UploadStore(), npy(mask), "truth.npy")
    assert store.generation == 1
    image = (np.random.default_rng(0).random((10, 16, 3)) * 255).astype(np.uint8)
    with pytest.raises(UploadError, match="must have the image's size"):
        with_image(store, png(image), "small.png")
    with pytest.raises(UploadError, match="at least 3"):
        with_logits(store, npy(small_logits(mask)[:2]), "two.npy")
    with pytest.raises(UploadError, match="same size"):
        with_logits(store, npy(small_logits(small_mask(10, 16))), "small.npy")
    with pytest.raises(UploadError, match="holds a dict"):
        with_logits(store, pt({"w": torch.zeros(3, 20, 16)}), "state.pt")
    assert store.image is None and store.logits is None and store.generation == 1


def test_logits_first_then_a_mask_that_does_not_fit_is_refused():
    store = with_logits(UploadStore(), npy(small_logits(small_mask())), "model.npy")
    assert case_of(store, 64) is None, "no mask yet"
    many = np.arange(20 * 16).reshape(20, 16) % 5
    with pytest.raises(UploadError, match="at least 5"):
        with_mask(store, npy(many), "five.npy")


def test_case_is_shrunk_to_the_pages_side_with_nearest_neighbour():
    mask = np.zeros((100, 50), np.int64)
    mask[:, 25:] = 1
    mask[:10] = 255
    image = np.zeros((100, 50), np.uint8)
    logits = small_logits(mask, 2)
    store = with_logits(
        with_mask(with_image(UploadStore(), png(image), "grey.png"), npy(mask), "m.npy"),
        pt(torch.from_numpy(logits)),
        "z.pt",
    )
    case = case_of(store, 20)
    assert case is not None and case.shape == (20, 10) and case.resized
    assert case.original_shape == (100, 50)
    assert set(np.unique(case.mask)) == {0, 1, 255}, "class values stay exact"
    assert case.void_pixels == int((case.mask == 255).sum()) == 20
    assert case.image is not None and case.image.shape == (20, 10)
    assert case.logits is not None and case.logits.shape == (2, 20, 10)
    assert case.num_classes == 2 and case.names == {"image": "grey.png", "mask": "m.npy", "logits": "z.pt"}
    assert case_of(store, 200).shape == (100, 50)
    assert case.source != case_of(store, 30).source


def test_describe_lists_each_stored_part():
    mask = small_mask()
    store = with_logits(with_mask(UploadStore(), npy(mask), "truth.npy"), npy(small_logits(mask)), "z.npy")
    lines = describe(store)
    assert lines == [
        f"Mask: truth.npy, 20×16, 3 classes, {int((mask == 255).sum())} void pixels",
        "Logits: z.npy, C = 3, 20×16",
    ]


# ------------------------------------------------------------------------------------ painting for every page
def test_painted_strokes_go_back_into_the_stored_mask_at_full_detail():
    mask = np.zeros((100, 80), np.int64)
    mask[10:40, 10:40] = 1
    mask[50:52, :] = 2  # thin rows: lost when shrunk, kept where nobody painted
    image = np.zeros((100, 80, 3), np.uint8)
    store = with_image(with_mask(UploadStore(), npy(mask), "truth.npy"), png(image), "photo.png")
    case = case_of(store, 20)
    painted = paint(case.mask, [0, 1, 2], 255)  # three pixels of the top row of the 20×16 copy
    new = uploads.with_painted_mask(store, case.mask, painted)
    assert new.generation == store.generation + 1 and new.image is store.image
    assert new.mask.name == "truth.npy (painted)" and new.mask.shape == (100, 80)
    assert (new.mask.mask[50:52] == 2).all(), "unpainted detail stays"
    assert (new.mask.mask[:5, :15] == 255).all(), "each painted pixel covers its 5×5 block"
    assert new.mask.void_pixels == int((new.mask.mask == 255).sum()) == 5 * 15
    assert (new.mask.mask[5:] == mask[5:]).all() and (new.mask.mask[:5, 15:] == mask[:5, 15:]).all()
    again = uploads.with_painted_mask(new, case_of(new, 20).mask, case_of(new, 20).mask)
    assert again.mask.name == "truth.npy (painted)"
    with pytest.raises(ValueError, match="`painted` may hold classes 0–2 and 255"):
        uploads.with_painted_mask(store, case.mask, np.full_like(case.mask, 7))
    with pytest.raises(ValueError, match="`base` must have the shape"):
        uploads.with_painted_mask(store, case.mask[:3], painted)
    with pytest.raises(ValueError, match="has no mask"):
        uploads.with_painted_mask(UploadStore(), case.mask, painted)


def test_use_on_every_page_stores_the_painting_and_other_pages_use_it():
    mask = small_mask()
    store = with_mask(UploadStore(), npy(mask), "truth.npy")
    case = case_of(store, 64)
    painted = paint(case.mask, list(range(16 * 4, 16 * 6)), 2)  # rows 4 and 5 become class 2
    at = run_with({uploads.STORE_KEY: store, uploads.EDITS_KEY: {case.source: [painted]}})
    button = next(b for b in at.button if b.label == "Use on every page")
    assert not button.disabled
    button.click()
    at.run()
    assert_no_exception(at)
    stored = at.session_state[uploads.STORE_KEY]
    assert stored.mask.name == "truth.npy (painted)"
    assert np.array_equal(stored.mask.mask, painted)
    assert "truth.npy (painted)" in text(at, "caption").replace("\\", "")  # shown escaped, as text
    assert next(b for b in at.button if b.label == "Use on every page").disabled, "nothing left to apply"
    at.switch_page("../pages/sorting_errors.py")
    at.run()
    assert_no_exception(at)
    assert "Showing your mask (20×16, 3 classes" in text(at, "info")


def test_the_example_has_no_use_on_every_page_button():
    at = run_with()
    assert [b for b in at.button if b.label == "Use on every page"] == []
