"""Helpers of the browser upload tests: files written for the sidebar's uploaders, and uploading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import RUNS_ENDED_JS, rerun_and_wait, wait_quiet


def write_npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


def write_png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path, format="PNG")
    return path


def uploader(page, label: str):
    """The sidebar's file uploader whose label contains ``label`` ("Image", "Mask", "Logits")."""
    return page.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"]').filter(has_text=label)


def upload(page, label: str, path: Path, refused: str | None = None) -> None:
    """Give ``path`` to that uploader and wait for the script run it starts to end.

    ``refused``: the uploader itself refuses the file (over ``max_upload_size``): the file never
    arrives; wait until the uploader shows these words and any run it started (dropping the file
    the uploader held) has ended.
    """
    chooser = uploader(page, label).locator('input[type="file"]')
    if refused is not None:
        page.evaluate(RUNS_ENDED_JS)  # count from here
        chooser.set_input_files(str(path))
        uploader(page, label).get_by_text(refused).wait_for(timeout=120_000)
        wait_quiet(page)
        return
    rerun_and_wait(page, lambda: chooser.set_input_files(str(path)))
