"""Page "Your data and your model" in headless Chromium: real uploads through the sidebar.

Every file is written into ``tmp_path`` by the test and given to the page's uploaders with
Playwright's ``set_input_files``. Good files: the numbers shown equal the lab view's on the same
arrays. Bad files: one readable message, and what was shown before stays. Run with
``SCREENSHOT_DIR=/tmp/shots_yd pytest -m browser tests/browser/test_uploads_browser.py`` to keep
the screenshots.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from playwright.sync_api import expect

from lovasz_core.lab.views.your_data import example_case, your_data_view

from .conftest import assert_no_exception_box, metric_value, rerun_and_wait, settle_frames, wait_idle
from .uploading import upload, uploader, write_npy, write_png

pytestmark = pytest.mark.browser
URL = "your_data"
PLOT = ".js-plotly-plot"
ERROR = '[data-testid="stAlertContentError"]'
INFO = '[data-testid="stAlertContentInfo"]'


# ------------------------------------------------------------------------------------ files
def _mask(height: int = 24, width: int = 20) -> np.ndarray:
    """Three classes and a void box: 2 rows of 255 at the top."""
    mask = np.zeros((height, width), np.int64)
    mask[6:18, 4:12] = 1
    mask[14:20, 13:18] = 2
    mask[:2, :] = 255
    return mask


def _logits(mask: np.ndarray, classes: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    onehot = np.stack([(mask == c) for c in range(classes)]).astype(np.float32)
    return (3.0 * onehot + rng.normal(0.0, 1.2, onehot.shape)).astype(np.float32)


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------ page helpers


def _metric(page, label: str) -> str:
    return metric_value(page, label).inner_text().strip()


def _errors(page) -> list[str]:
    boxes = page.locator(ERROR)
    return [boxes.nth(i).inner_text() for i in range(boxes.count())]


def _info(page) -> str:
    return "\n".join(page.locator(INFO).all_inner_texts())


def _shot(page, screenshot_dir: Path, name: str) -> None:
    settle_frames(page)
    page.screenshot(path=str(screenshot_dir / f"{name}.png"))
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height), 6000)})
    settle_frames(page)
    page.screenshot(path=str(screenshot_dir / f"{name}_full.png"))
    page.set_viewport_size(size)


def _open(page, app_url: str, query: str = "") -> None:
    """Open the page; the first visit to a fresh server (imports, caches) may take minutes on a busy
    machine, hence the long wait."""
    page.goto(f"{app_url}/{URL}" + (f"?{query}" if query else ""), wait_until="domcontentloaded")
    wait_idle(page, timeout_ms=240_000)
    page.wait_for_function(f"document.querySelectorAll('{PLOT}').length >= 6", timeout=120_000)
    assert_no_exception_box(page)


def _assert_numbers(page, mask: np.ndarray, logits: np.ndarray, cls: int = 1) -> None:
    view = your_data_view(mask, logits, cls)
    assert _metric(page, "void pixels ignored") == f"{view.void_pixels:,}"
    assert _metric(page, "pixels sorted") == f"{view.sort.kept:,}"
    assert _metric(page, "Lovász term of class") == f"{view.sort.loss:.4f}"
    assert _metric(page, "Cross-entropy loss") == f"{view.losses[0].value:.4f}"
    assert _metric(page, "mean IoU") == f"{view.mean_iou:.3f}"
    assert page.get_by_text(f"{view.void_pixels:,} of {mask.size:,} pixels are void").count() == 1


# ------------------------------------------------------------------------------------ tests
def test_example_is_shown_with_its_files_to_download(page, app_url, screenshot_dir, tmp_path):
    _open(page, app_url)
    assert "Built-in example (generated)" in _info(page)
    mask, logits = example_case()
    _assert_numbers(page, mask, logits)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download example_logits.npy").click()
    saved = tmp_path / "example_logits.npy"
    download.value.save_as(saved)
    np.testing.assert_array_equal(np.load(saved), logits)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, screenshot_dir, "your_data_example")


def test_example_in_projector_mode(browser, app_url, screenshot_dir):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        _open(tab, app_url, "projector=true")
        assert tab.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        _shot(tab, screenshot_dir, "your_data_projector_1024x768")
    finally:
        context.close()


def test_a_mask_alone_gets_a_generated_prediction(page, app_url, tmp_path):
    _open(page, app_url)
    mask = _mask()
    upload(page, "Mask", write_npy(tmp_path / "my_mask.npy", mask))
    assert not _errors(page)
    assert "Your upload: mask my_mask.npy (24×20, 3 classes) and a prediction generated" in _info(page)
    assert _metric(page, "void pixels ignored") == f"{int((mask == 255).sum())}"
    assert _metric(page, "pixels sorted") == f"{int((mask != 255).sum())}"
    # The upload stays in the session: "Use my upload" off shows the example, on shows it again.
    use_upload = page.locator('[data-testid="stSidebar"]').get_by_text("Use my upload")
    rerun_and_wait(page, use_upload.click)
    assert "Built-in example" in _info(page)
    rerun_and_wait(page, use_upload.click)
    assert "my_mask.npy" in _info(page)
    rerun_and_wait(page, page.get_by_role("button", name="Forget my upload").click)
    assert "Built-in example" in _info(page)
    assert page.locator('[data-testid="stSidebar"]').get_by_text("Stored in this session").count() == 0


def test_an_image_and_its_mask(page, app_url, screenshot_dir, tmp_path):
    _open(page, app_url)
    mask = _mask(30, 40)
    rng = np.random.default_rng(1)
    image = (rng.random((30, 40, 3)) * 255).astype(np.uint8)
    upload(page, "Image", write_png(tmp_path / "photo.png", image))
    assert "Now upload the mask" in _info(page)
    upload(page, "Mask", write_png(tmp_path / "mask.png", mask.astype(np.uint8)))
    assert not _errors(page)
    assert "mask.png (30×40, 3 classes)" in _info(page)
    assert page.locator(".js-plotly-plot").filter(has_text="Image").count() >= 1
    assert _metric(page, "void pixels ignored") == f"{int((mask == 255).sum())}"
    _shot(page, screenshot_dir, "your_data_image_and_mask")


def test_logits_and_mask_give_the_views_numbers(page, app_url, screenshot_dir, tmp_path):
    _open(page, app_url)
    mask = _mask()
    logits = _logits(mask)
    upload(page, "Logits", write_npy(tmp_path / "model_out.npy", logits))
    assert "Now upload the mask" in _info(page)
    upload(page, "Mask", write_npy(tmp_path / "truth.npy", mask))
    assert not _errors(page)
    assert "your logits model_out.npy (C = 3)" in _info(page)
    _assert_numbers(page, mask, logits)
    _shot(page, screenshot_dir, "your_data_logits_and_mask")


def test_logits_as_a_pt_tensor(page, app_url, tmp_path):
    _open(page, app_url)
    mask = _mask()
    logits = _logits(mask)
    upload(page, "Mask", write_npy(tmp_path / "truth.npy", mask))
    path = tmp_path / "model_out.pt"
    torch.save(torch.from_numpy(logits)[None], path)  # [1, C, H, W]: the batch of one is dropped
    upload(page, "Logits", path)
    assert not _errors(page)
    _assert_numbers(page, mask, logits)


def test_painting_a_box_changes_the_mask_and_undo_restores_it(page, app_url):
    _open(page, app_url)
    before = _metric(page, "void pixels ignored")
    rerun_and_wait(page, page.locator('[data-testid="stRadio"]').get_by_text("void (255)").click)
    editor = page.locator(".js-plotly-plot").filter(has_text="drag a box").first
    editor.scroll_into_view_if_needed()
    box = editor.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    x0, y0 = box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 0.2 * box["width"], y0 + 0.2 * box["height"], steps=8)
    page.mouse.up()
    wait_idle(page)
    page.get_by_text("1 stroke(s) so far").wait_for(timeout=30_000)
    # The stroke count is drawn above the metrics: wait for the rest of that run.
    wait_idle(page)
    expect(metric_value(page, "void pixels ignored")).not_to_have_text(before, timeout=30_000)
    after = _metric(page, "void pixels ignored")
    assert int(after.replace(",", "")) > int(before.replace(",", ""))
    rerun_and_wait(page, page.get_by_role("button", name="Undo").click)
    assert _metric(page, "void pixels ignored") == before
    assert page.get_by_text("0 stroke(s) so far").count() == 1


def _bad_files(tmp_path: Path) -> dict[str, tuple[list[tuple[str, Path]], str, str]]:
    """name: (uploads in order [(uploader, file)], the message's words, what must still be shown)."""
    mask = _mask()
    nan = _logits(mask)
    nan[0, 3, 3] = np.nan
    rgb = np.zeros((24, 20, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[5:10, 5:10, 1] = 90
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(_png_bytes(mask.astype(np.uint8))[:70])
    not_image = tmp_path / "notes.png"
    not_image.write_text("these are my notes, not a picture")
    big = tmp_path / "huge.npy"
    big.write_bytes(b"\x93NUMPY" + b"\x00" * (6 * 2**20))
    pt_dict = tmp_path / "checkpoint.pt"
    torch.save({"state_dict": torch.zeros(3, 24, 20)}, pt_dict)
    good_mask = write_npy(tmp_path / "truth.npy", mask)
    many = np.arange(24 * 20).reshape(24, 20) % 17
    return {
        "not an image": ([("Image", not_image)], "notes.png is not an image that can be read", "Built-in"),
        "truncated png": ([("Mask", truncated)], "cut.png", "Built-in"),
        "rgb mask": ([("Mask", write_png(tmp_path / "rgb.png", rgb))], "colours are not class", "Built-in"),
        "17 classes": ([("Mask", write_npy(tmp_path / "many.npy", many))], "at most 16 classes", "Built-in"),
        "size mismatch": (
            [("Mask", good_mask), ("Image", write_png(tmp_path / "small.png", rgb[:10]))],
            "the mask must have the image's size",
            "truth.npy",
        ),
        "wrong classes": (
            [("Mask", good_mask), ("Logits", write_npy(tmp_path / "two.npy", _logits(mask)[:2]))],
            "the logits need one channel per class, at least 3",
            "truth.npy",
        ),
        "nan logits": (
            [("Mask", good_mask), ("Logits", write_npy(tmp_path / "nan.npy", nan))],
            "contains NaN or infinite values",
            "truth.npy",
        ),
        "over 5 MB": ([("Mask", big)], "or smaller", "Built-in"),
        "over 512²": (
            [("Mask", write_npy(tmp_path / "wide.npy", np.zeros((600, 600), np.uint8)))],
            "the limit is 512²",
            "Built-in",
        ),
        "pt not one tensor": (
            [("Mask", good_mask), ("Logits", pt_dict)],
            "checkpoint.pt holds a dict; expected one tensor",
            "truth.npy",
        ),
    }


# The bad files in three sessions, each opened once: a bad file replaces the page's one message
# and changes nothing shown, so the cases of a session follow each other. A case that needs a good
# mask first starts from "Forget my upload" (nothing stored, no message, empty uploaders, as on a
# fresh page) and uploads it. "over 5 MB" has a session of its own: the uploader refuses it, so no
# message may be on the page at all.
BAD_SESSIONS = {
    "before any upload": ["not an image", "truncated png", "rgb mask", "17 classes", "over 512²"],
    "beside a good mask": ["size mismatch", "wrong classes", "nan logits", "pt not one tensor"],
    "over the upload limit": ["over 5 MB"],
}


@pytest.mark.parametrize("session", BAD_SESSIONS)
def test_a_bad_file_gets_one_message_and_changes_nothing(page, app_url, tmp_path, session):
    files = _bad_files(tmp_path)
    _open(page, app_url)
    for case in BAD_SESSIONS[session]:
        uploads, words, still = files[case]
        forget = page.get_by_role("button", name="Forget my upload").filter(visible=True)
        if forget.count():
            rerun_and_wait(page, forget.first.click)
            assert not _errors(page) and "Built-in" in _info(page), case
        for label, path in uploads[:-1]:
            upload(page, label, path)
            assert not _errors(page), case
        shown_before = _info(page)
        label, path = uploads[-1]
        upload(page, label, path, refused=words if case == "over 5 MB" else None)
        errors = _errors(page)
        if case == "over 5 MB":  # the uploader itself refuses it (max_upload_size): it never arrives
            assert errors == []
            assert words in uploader(page, label).inner_text()
        else:
            assert len(errors) == 1, (case, errors)
            assert words in errors[0], (case, errors)
            assert "Traceback" not in errors[0], case
        assert_no_exception_box(page)
        assert still in _info(page), case
        assert _info(page) == shown_before, case


# ---------------------------------------------------------------------- Gradients, Live training
def _open_other(page, app_url: str, url: str, query: str = "") -> None:
    """Open Gradients or Live training and unfold the sidebar's "Your data" block."""
    page.goto(f"{app_url}/{url}" + (f"?{query}" if query else ""), wait_until="domcontentloaded")
    wait_idle(page, timeout_ms=240_000)
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Your data").click()
    uploader(page, "Mask").wait_for(state="visible")
    assert_no_exception_box(page)


def _rgb(mask: np.ndarray) -> np.ndarray:
    channels = [(mask == 1) * 220, (mask == 2) * 200, np.full(mask.shape, 40)]
    return np.stack(channels, axis=2).astype(np.uint8)


@pytest.mark.parametrize("with_image", [False, True], ids=["mask", "image+mask"])
def test_gradients_compute_on_an_uploaded_mask(page, app_url, screenshot_dir, tmp_path, with_image):
    from lovasz_core.lab.views.gradients import mask_gradients_view

    mask = _mask()
    _open_other(page, app_url, "gradients")
    page.wait_for_function(f"document.querySelectorAll('{PLOT}').length >= 4", timeout=120_000)
    if with_image:
        upload(page, "Image", write_png(tmp_path / "scene.png", _rgb(mask)))
    upload(page, "Mask", write_npy(tmp_path / "truth.npy", mask))
    assert not _errors(page)
    assert_no_exception_box(page)
    info = _info(page)
    assert "These maps are computed on your mask truth.npy (24×20, 3 classes, 40 void pixels)" in info
    assert "40 void pixels (label 255, grey on the maps) are ignored by every loss" in info
    view = mask_gradients_view(mask, 3, quality=0.5, blur=1.5, seed=0)  # the page's defaults
    for item in view.losses:
        assert _metric(page, item.label) == f"{item.value:.3f}", item.label
    assert page.get_by_text("Rarest class, class 2").count() == 1
    assert page.locator(PLOT).count() == 3, "masks, maps and histograms; the disks' sweep is not shown"
    _shot(page, screenshot_dir, f"gradients_upload_{'image_mask' if with_image else 'mask'}")
    rerun_and_wait(page, page.get_by_role("button", name="Forget my upload").filter(visible=True).click)
    page.wait_for_function(f"document.querySelectorAll('{PLOT}').length >= 4", timeout=120_000)
    assert "computed on your mask" not in _info(page)
    assert page.get_by_text("Small disk (light blue)").count() == 1


@pytest.mark.parametrize("with_image", [False, True], ids=["mask", "image+mask"])
def test_live_training_trains_on_an_upload(page, app_url, screenshot_dir, tmp_path, with_image):
    mask = _mask()
    _open_other(page, app_url, "live_training", "lt_steps=40&lt_size=32")
    if with_image:
        upload(page, "Image", write_png(tmp_path / "scene.png", _rgb(mask)))
    upload(page, "Mask", write_npy(tmp_path / "truth.npy", mask))
    assert not _errors(page)
    info = _info(page)
    assert "Training on your upload truth.npy (24×20, 3 classes, 40 void pixels left out" in info
    assert ("made from your mask" in info) is not with_image
    assert page.get_by_text("Next run: your upload truth.npy 24×20").count() == 1
    page.get_by_role("button", name="Start").click()
    page.get_by_text("This run: your upload truth.npy 24×20").wait_for(timeout=120_000)
    page.get_by_text("Look for:").first.wait_for(timeout=120_000)
    page.get_by_role("button", name="Start").wait_for(timeout=240_000)  # the 40 steps are done
    wait_idle(page, timeout_ms=120_000)
    assert page.get_by_text("grey: void, not counted").count() >= 1
    assert_no_exception_box(page)
    table = page.locator('[data-testid="stTable"]').first.inner_text()
    assert "IoU class 2" in table and "Lovász-Softmax" in table
    _shot(page, screenshot_dir, f"live_training_upload_{'image_mask' if with_image else 'mask'}")
