"""Helpers of the browser upload tests: files written for the sidebar's uploaders, and uploading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import wait_idle


def write_npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


def write_png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path, format="PNG")
    return path


def uploader(page, label: str):
    """The sidebar's file uploader whose label contains ``label`` ("Image", "Mask", "Logits")."""
    return page.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"]').filter(has_text=label)


def upload(page, label: str, path: Path) -> None:
    """Give ``path`` to that uploader and wait for the reruns it starts."""
    uploader(page, label).locator('input[type="file"]').set_input_files(str(path))
    wait_idle(page, timeout_ms=120_000)
    page.wait_for_timeout(500)
    wait_idle(page, timeout_ms=120_000)
