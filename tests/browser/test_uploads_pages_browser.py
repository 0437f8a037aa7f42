"""Uploads on the pages that compute on the user's mask (IoU, Sorting errors, Gradients, Live
training), in headless Chromium: a mask, an image and its mask, and every bad file.

Each page is opened once per test and the files are given to its sidebar's uploaders one after
the other with Playwright's ``set_input_files``: a bad file replaces the page's one message and
changes nothing shown, so the cases can follow each other in one session. (The page "Your data
and your model", which also takes logits, has its own file: ``test_uploads_browser.py``.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app import params, state  # noqa: F401  (params registers every page's parameters)
from lovasz_core.lab.uploads import read_mask

from .conftest import assert_no_exception_box, wait_idle
from .uploading import upload, uploader, write_npy, write_png

pytestmark = pytest.mark.browser
ERROR = '[data-testid="stSidebar"] [data-testid="stAlertContentError"]'
INFO = '[data-testid="stMain"] [data-testid="stAlertContentInfo"]'
PAGES = ["iou_jaccard", "sorting_errors", "gradients", "live_training"]


def _max_side(url: str) -> int:
    """The page's largest image side: an upload is shrunk to it."""
    return int(state.specs(state.PAGES[url].cls)["size"][0].hi)


def _mask(side: int = 48) -> np.ndarray:
    """Three classes and a band of void (255), six rows: some stay when shrunk."""
    mask = np.zeros((side, side), np.int64)
    mask[6:24, 6:24] = 1
    mask[30:38, 28:44] = 2
    mask[24:30, 6:24] = 255
    return mask


def _image(mask: np.ndarray) -> np.ndarray:
    channels = [(mask == 1) * 220, (mask == 2) * 200, np.full(mask.shape, 40)]
    return np.stack(channels, axis=2).astype(np.uint8)


def _bad_files(tmp_path: Path) -> list[tuple[str, str, Path, str]]:
    """``(case, uploader, file, words of the message)``, in an order one session can follow."""
    rgb = np.zeros((24, 20, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[5:10, 5:10, 1] = 90
    truncated = tmp_path / "cut.png"
    full = tmp_path / "full.png"
    write_png(full, np.random.default_rng(0).integers(0, 3, (24, 20)).astype(np.uint8))
    truncated.write_bytes(full.read_bytes()[:70])  # the header and a piece of the pixel data
    not_image = tmp_path / "notes.png"
    not_image.write_text("these are my notes, not a picture")
    big = tmp_path / "huge.npy"
    big.write_bytes(b"\x93NUMPY" + b"\x00" * (6 * 2**20))
    many = np.arange(24 * 20).reshape(24, 20) % 17
    return [
        ("not an image", "Image", not_image, "notes.png is not an image that can be read"),
        ("truncated png", "Mask", truncated, "cut.png"),
        ("rgb mask", "Mask", write_png(tmp_path / "<u>rgb.png", rgb), "colours are not class"),
        ("17 classes", "Mask", write_npy(tmp_path / "many.npy", many), "at most 16 classes"),
        (
            "over 512²",
            "Mask",
            write_npy(tmp_path / "wide.npy", np.zeros((600, 600), np.uint8)),
            "the limit is 512²",
        ),
        ("over 5 MB", "Mask", big, "or smaller"),
    ]


def _open(page, app_url: str, url: str) -> None:
    """Open the page and unfold the sidebar's "Your data" block."""
    page.goto(f"{app_url}/{url}", wait_until="domcontentloaded")
    wait_idle(page, timeout_ms=240_000)
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Your data").click()
    uploader(page, "Mask").wait_for(state="visible")
    assert_no_exception_box(page)


def _errors(page) -> list[str]:
    return page.locator(ERROR).all_inner_texts()


def _info(page) -> str:
    return "\n".join(page.locator(INFO).all_inner_texts())


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


@pytest.mark.parametrize("url", PAGES)
def test_a_mask_an_image_and_every_bad_file(page, app_url, tmp_path, url):
    """Every bad file: one message, nothing shown changes. Then a mask alone (the page computes on
    it, shrunk to the page's limit), the image beside it, and an image of another size (refused)."""
    _open(page, app_url, url)
    built_in = _main_text(page)
    for case, label, path, words in _bad_files(tmp_path):
        shown_before = _info(page)
        upload(page, label, path, refused=words if case == "over 5 MB" else None)
        errors = _errors(page)
        if case == "over 5 MB":  # the uploader itself refuses it (max_upload_size): it never arrives
            assert words in uploader(page, label).inner_text(), case
        else:
            assert len(errors) == 1, (case, errors)
            assert words in errors[0], (case, errors)
            assert "Traceback" not in errors[0]
        assert page.locator('[data-testid="stSidebar"] u').count() == 0, "a file name is never HTML"
        assert_no_exception_box(page)
        assert _info(page) == shown_before, f"{case}: a bad file changes nothing"

    mask = _mask(80)
    mask_file = write_npy(tmp_path / "truth.npy", mask)
    upload(page, "Mask", mask_file)
    assert _errors(page) == []
    assert_no_exception_box(page)
    assert _main_text(page) != built_in, "the page computes on the upload"
    with_mask = _info(page)
    if url in ("iou_jaccard", "sorting_errors"):
        side = _max_side(url)
        expected = read_mask(mask_file.read_bytes(), "truth.npy", max_side=side)
        assert expected.void_pixels > 0
        assert f"Showing your mask ({side}×{side}, 3 classes, shrunk from 80×80)" in with_mask
        if url == "sorting_errors":  # void kept as void: counted and left out of the sort
            assert f"{expected.void_pixels} void pixels" in with_mask and "are ignored" in with_mask
        else:
            assert f"its {expected.void_pixels} void pixels are shown as background" in with_mask
    else:
        assert "truth.npy" in _main_text(page)

    upload(page, "Image", write_png(tmp_path / "photo.png", _image(mask)))
    assert _errors(page) == []
    assert_no_exception_box(page)
    if url != "live_training":  # there the image is the network's input: the note names it
        assert _info(page) == with_mask
    with_image = _info(page)
    upload(page, "Image", write_png(tmp_path / "small.png", _image(mask)[:10]))
    errors = _errors(page)
    assert len(errors) == 1 and "the mask must have the image's size" in errors[0], errors
    assert _info(page) == with_image
    assert_no_exception_box(page)
