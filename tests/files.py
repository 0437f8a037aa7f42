"""Bytes of the files the upload tests hand to the app: ``.npy``, PNG and ``.pt``."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image


def npy(array: np.ndarray) -> bytes:
    """``array`` as the bytes of a ``.npy`` file."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def png(array: np.ndarray) -> bytes:
    """``[H, W]`` or ``[H, W, 3]`` uint8 ``array`` as the bytes of a PNG file."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def pt(value: object) -> bytes:
    """``value`` as the bytes of a ``torch.save`` file."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()
