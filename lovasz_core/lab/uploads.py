"""Bring your own data: parse and check uploaded images, masks and logits, all in memory.

Every reader takes what a file uploader gives — the raw ``bytes`` and the file name — and
returns a frozen dataclass, or raises :class:`UploadError` (a ``ValueError``) with one message
that can be shown as is. Nothing is written to disk.

Limits: :data:`MAX_BYTES` (5 MB) per file, :data:`MAX_PIXELS` (512²) before resizing,
:data:`MAX_CLASSES` (16) classes. Larger inputs are shrunk to a page's ``max_side`` with
nearest-neighbour resizing (``order=0``, no anti-aliasing), so masks keep exact class values
and image, mask and logits stay aligned pixel for pixel.

API:
    * :func:`read_image` ``(data, filename, max_side=128) -> UploadedImage`` — PNG or JPEG →
      float32 ``[H, W]`` or ``[H, W, 3]`` in [0, 1] (alpha dropped).
    * :func:`read_mask` ``(data, filename, max_side=128, ignore_index=255) -> UploadedMask`` —
      palette or grayscale PNG (values are the classes; an RGB PNG whose three channels are equal
      counts as grayscale) or ``.npy`` of class indices → int64 ``[H, W]``; C = largest class + 1.
    * :func:`read_logits` ``(data, filename, num_classes=None, shape=None, max_side=128) ->
      UploadedLogits`` — ``.npy`` or ``.pt`` holding one ``[C, H, W]`` (or ``[1, C, H, W]``) array.
    * :func:`check_same_size` ``(image, mask)`` — the original sizes agree.
    * :func:`resize_nearest` ``(array [H, W, *], max_side) -> array`` — the resizing used above.

Example:
    >>> buffer = io.BytesIO(); np.save(buffer, np.array([[0, 1], [255, 2]]))
    >>> read_mask(buffer.getvalue(), "mask.npy").num_classes
    3
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
import torch
from torch import Tensor

from ..validation import is_integer

__all__ = [
    "MAX_BYTES",
    "MAX_CLASSES",
    "MAX_PIXELS",
    "UploadError",
    "UploadedImage",
    "UploadedLogits",
    "UploadedMask",
    "check_same_size",
    "read_image",
    "read_logits",
    "read_mask",
    "resize_nearest",
]

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 512 * 512
MAX_CLASSES = 16


class UploadError(ValueError):
    """An uploaded file that cannot be used; the message says which file and why."""


@dataclass(frozen=True, eq=False)
class UploadedImage:
    """An uploaded image.

    Attributes:
        name: the file name; image: float32 ``[H, W]`` (grey) or ``[H, W, 3]`` (RGB) in [0, 1],
        after resizing; original_shape: ``(H, W)`` as uploaded.
    """

    name: str
    image: np.ndarray
    original_shape: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` after resizing."""
        return (int(self.image.shape[0]), int(self.image.shape[1]))


@dataclass(frozen=True, eq=False)
class UploadedMask:
    """An uploaded ground truth.

    Attributes:
        name: the file name; mask: int64 ``[H, W]`` class indices or ``ignore_index`` (after
        resizing); num_classes: C = largest class value + 1 (at least 2); void_pixels: count of
        ``ignore_index`` pixels; original_shape: ``(H, W)`` as uploaded; ignore_index: the void label.
    """

    name: str
    mask: np.ndarray
    num_classes: int
    void_pixels: int
    original_shape: tuple[int, int]
    ignore_index: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` after resizing."""
        return (int(self.mask.shape[0]), int(self.mask.shape[1]))


@dataclass(frozen=True, eq=False)
class UploadedLogits:
    """Uploaded logits: ``logits`` float32 ``[C, H, W]`` after resizing, ``original_shape`` ``(H, W)``."""

    name: str
    logits: Tensor
    original_shape: tuple[int, int]

    @property
    def num_classes(self) -> int:
        """C."""
        return int(self.logits.shape[0])


# ------------------------------------------------------------------------------------ checks
def _check_upload(data: object, filename: object, extensions: tuple[str, ...], expected: str) -> str:
    """Common door checks; returns the lower-case extension."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"`data` must be the file's bytes, got {type(data).__name__}")
    if not isinstance(filename, str):
        raise TypeError(f"`filename` must be a str, got {type(filename).__name__}")
    extension = PurePath(filename).suffix.lower()
    if extension not in extensions:
        got = repr(extension) if extension else "no extension"
        raise UploadError(f"{filename}: expected {expected} ({', '.join(extensions)}), got {got}.")
    size = len(data)
    if size > MAX_BYTES:
        raise UploadError(f"{filename} is {size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB.")
    if size == 0:
        raise UploadError(f"{filename} is empty.")
    return extension


def _check_max_side(max_side: object) -> int:
    if not is_integer(max_side):
        raise TypeError(f"`max_side` must be an int, got {type(max_side).__name__}")
    if max_side < 1:
        raise ValueError(f"`max_side` must be >= 1, got {max_side}")
    return int(max_side)


def _check_pixels(filename: str, height: int, width: int) -> None:
    if height * width > MAX_PIXELS:
        raise UploadError(
            f"{filename} is {height}×{width} = {height * width:,} pixels; the limit is "
            f"512² = {MAX_PIXELS:,} pixels before resizing."
        )
    if height < 1 or width < 1:
        raise UploadError(f"{filename} has no pixels (size {height}×{width}).")


def _decode_png_or_jpeg(data: bytes, filename: str, formats: tuple[str, ...]) -> tuple[np.ndarray, str]:
    """Pixels of a PNG/JPEG (palette PNGs as indices) and the PIL mode; size checked first."""
    import imageio.v3 as iio
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as header:
            kind, mode, (width, height) = header.format, header.mode, header.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UploadError(
            f"{filename} is not an image that can be read: its content is not a PNG or JPEG image."
        ) from error
    if kind not in formats:
        raise UploadError(f"{filename} holds a {kind} image; expected {' or '.join(formats)}.")
    _check_pixels(filename, height, width)
    try:
        pixels = iio.imread(bytes(data), extension=f".{kind.lower()}", mode="P" if mode == "P" else None)
    except Exception as error:  # every decoder failure means the same to the user
        raise UploadError(
            f"{filename} could not be decoded: the file is truncated or corrupt ({error})."
        ) from error
    return np.asarray(pixels), mode


def resize_nearest(array: np.ndarray, max_side: int) -> np.ndarray:
    """``array`` ``[H, W, *]`` shrunk so that its longer side is ``max_side`` (nearest neighbour).

    Scale ``s = max_side / max(H, W)``; the new size is ``max(1, round(s·H)) × max(1, round(s·W))``.
    Arrays that already fit are returned unchanged; values (and dtype) are kept exactly.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"`array` must be a numpy array [H, W, *], got {type(array).__name__}")
    if array.ndim < 2 or 0 in array.shape[:2]:
        raise ValueError(f"`array` must have shape [H, W, *] with H, W >= 1, got {array.shape}")
    max_side = _check_max_side(max_side)
    height, width = array.shape[:2]
    if max(height, width) <= max_side:
        return array
    from skimage.transform import resize

    scale = max_side / max(height, width)
    shape = (max(1, round(scale * height)), max(1, round(scale * width)), *array.shape[2:])
    out = resize(array, shape, order=0, anti_aliasing=False, preserve_range=True, mode="edge")
    return out.astype(array.dtype)


# ------------------------------------------------------------------------------------ images
_IMAGE_KINDS = (".png", ".jpg", ".jpeg")


def read_image(data: bytes, filename: str, max_side: int = 128) -> UploadedImage:
    """An uploaded PNG or JPEG as float32 ``[H, W]`` or ``[H, W, 3]`` in [0, 1].

    Grey + alpha keeps the grey channel, RGBA drops alpha; 8- and 16-bit values are scaled by
    their type's maximum (``skimage.util.img_as_float``).

    Raises:
        UploadError: not a PNG/JPEG, truncated or corrupt, over 5 MB or 512² pixels.
    """
    from skimage.util import img_as_float

    _check_upload(data, filename, _IMAGE_KINDS, "a PNG or JPEG image")
    max_side = _check_max_side(max_side)
    pixels, _ = _decode_png_or_jpeg(data, filename, ("PNG", "JPEG"))
    if pixels.ndim == 3:
        pixels = pixels[..., 0] if pixels.shape[-1] in (1, 2) else pixels[..., :3]
    if pixels.ndim != 2 and not (pixels.ndim == 3 and pixels.shape[-1] == 3):
        raise UploadError(f"{filename} has pixel shape {pixels.shape}; expected grey or RGB.")
    image = np.clip(img_as_float(pixels), 0.0, 1.0).astype(np.float32)
    original = (int(image.shape[0]), int(image.shape[1]))
    return UploadedImage(filename, resize_nearest(image, max_side), original)


# ------------------------------------------------------------------------------------ masks
_MASK_KINDS = (".png", ".npy")


def _mask_from_png(data: bytes, filename: str) -> np.ndarray:
    if data[:3] == b"\xff\xd8\xff":
        raise UploadError(
            f"{filename} is a JPEG: lossy compression changes class values; save the mask as PNG."
        )
    pixels, _ = _decode_png_or_jpeg(data, filename, ("PNG",))
    if pixels.ndim == 3:
        colour = pixels[..., :3] if pixels.shape[-1] >= 3 else pixels[..., :1]
        if not (colour == colour[..., :1]).all():
            raise UploadError(
                f"{filename} is a colour image whose colours are not class indices: save the mask "
                "as a palette or grayscale PNG whose values are the classes (255 = void)."
            )
        pixels = colour[..., 0]
    return pixels


def _mask_from_npy(data: bytes, filename: str) -> np.ndarray:
    array = _load_npy(data, filename)
    if array.dtype == np.bool_:
        array = array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise UploadError(f"{filename} must hold integer class indices, got dtype {array.dtype}.")
    if array.ndim != 2:
        raise UploadError(f"{filename} must be a 2-D array [H, W] of class indices, got shape {array.shape}.")
    _check_pixels(filename, *array.shape)
    return array


def _load_npy(data: bytes, filename: str) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(bytes(data)), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise UploadError(f"{filename} is not a readable .npy array ({error}).") from error
    if not isinstance(array, np.ndarray):
        raise UploadError(f"{filename} holds several arrays (.npz); expected one .npy array.")
    return array


def read_mask(data: bytes, filename: str, max_side: int = 128, ignore_index: int = 255) -> UploadedMask:
    """An uploaded ground truth as int64 ``[H, W]``: values are classes, ``ignore_index`` is void.

    Raises:
        UploadError: unreadable, a colour PNG, negative values, more than 16 classes, no
            non-void pixel, over 5 MB or 512² pixels.
    """
    extension = _check_upload(data, filename, _MASK_KINDS, "a PNG mask or a .npy array of class indices")
    max_side = _check_max_side(max_side)
    if not is_integer(ignore_index):
        raise TypeError(f"`ignore_index` must be an int, got {type(ignore_index).__name__}")
    raw = _mask_from_npy(data, filename) if extension == ".npy" else _mask_from_png(data, filename)
    mask = raw.astype(np.int64)
    classes = mask[mask != ignore_index]
    if classes.size == 0:
        raise UploadError(f"{filename} is void everywhere (every pixel is {ignore_index}).")
    low, high = int(classes.min()), int(classes.max())
    if low < 0:
        raise UploadError(f"{filename} has negative values (down to {low}); classes are 0, 1, 2, …")
    if high >= MAX_CLASSES:
        raise UploadError(
            f"{filename} has class values up to {high}: at most {MAX_CLASSES} classes "
            f"(0–{MAX_CLASSES - 1}) and {ignore_index} for void are supported."
        )
    original = (int(mask.shape[0]), int(mask.shape[1]))
    mask = resize_nearest(mask, max_side)
    mask.setflags(write=False)
    return UploadedMask(
        name=filename,
        mask=mask,
        num_classes=max(2, high + 1),
        void_pixels=int((mask == ignore_index).sum()),
        original_shape=original,
        ignore_index=int(ignore_index),
    )


def check_same_size(image: UploadedImage, mask: UploadedMask) -> None:
    """Raise :class:`UploadError` unless ``image`` and ``mask`` were uploaded at the same size."""
    if not isinstance(image, UploadedImage):
        raise TypeError(f"`image` must be an UploadedImage, got {type(image).__name__}")
    if not isinstance(mask, UploadedMask):
        raise TypeError(f"`mask` must be an UploadedMask, got {type(mask).__name__}")
    if image.original_shape != mask.original_shape:
        (ih, iw), (mh, mw) = image.original_shape, mask.original_shape
        raise UploadError(
            f"{mask.name} is {mh}×{mw} pixels but {image.name} is {ih}×{iw}: the mask must have "
            "the image's size."
        )


# ------------------------------------------------------------------------------------ logits
_LOGITS_KINDS = (".npy", ".pt")


def _logits_from_pt(data: bytes, filename: str) -> np.ndarray:
    try:
        value = torch.load(io.BytesIO(bytes(data)), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError) as error:
        raise UploadError(
            f"{filename} could not be loaded as one tensor: it is not a file saved with torch.save, "
            "or it holds Python objects other than tensors (only plain tensors are accepted)."
        ) from error
    if not isinstance(value, Tensor):
        raise UploadError(f"{filename} holds a {type(value).__name__}; expected one tensor [C, H, W].")
    if value.is_complex() or not value.is_floating_point():
        raise UploadError(f"{filename} must hold real floating-point logits, got dtype {value.dtype}.")
    return value.detach().to(torch.float32).numpy()


def read_logits(
    data: bytes,
    filename: str,
    num_classes: int | None = None,
    shape: tuple[int, int] | None = None,
    max_side: int = 128,
) -> UploadedLogits:
    """Uploaded logits as float32 ``[C, H, W]`` (a leading batch of 1 is dropped).

    Args:
        num_classes: the C the mask needs (``None``: any C from 2 to 16).
        shape: the ``(H, W)`` the mask was uploaded at (``None``: any size).
        max_side: resize like the mask (nearest neighbour) when larger.

    Raises:
        UploadError: unreadable, not one tensor, wrong dimensions, wrong C or size, NaN/inf.
    """
    extension = _check_upload(data, filename, _LOGITS_KINDS, "logits [C, H, W] as .npy or .pt")
    max_side = _check_max_side(max_side)
    if num_classes is not None and (not is_integer(num_classes) or num_classes < 2):
        raise ValueError(f"`num_classes` must be None or an int >= 2, got {num_classes!r}")
    if shape is not None and (
        not isinstance(shape, tuple) or len(shape) != 2 or not all(is_integer(s) for s in shape)
    ):
        raise TypeError(f"`shape` must be None or a tuple (H, W) of ints, got {shape!r}")
    if extension == ".pt":
        array = _logits_from_pt(data, filename)
    else:
        array = _load_npy(data, filename)
        if not np.issubdtype(array.dtype, np.floating):
            raise UploadError(f"{filename} must hold floating-point logits, got dtype {array.dtype}.")
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise UploadError(f"{filename} must have shape [C, H, W], got {tuple(array.shape)}.")
    classes, height, width = (int(s) for s in array.shape)
    _check_pixels(filename, height, width)
    if not 2 <= classes <= MAX_CLASSES:
        raise UploadError(f"{filename} has C = {classes} channels; expected 2 to {MAX_CLASSES} classes.")
    if num_classes is not None and classes != num_classes:
        raise UploadError(f"{filename} has C = {classes} classes but the mask has {num_classes}.")
    if shape is not None and (height, width) != tuple(shape):
        raise UploadError(
            f"{filename} is {height}×{width} pixels but the mask is {shape[0]}×{shape[1]}: they must match."
        )
    if not np.isfinite(array).all():
        raise UploadError(f"{filename} contains NaN or infinite values; logits must be finite.")
    resized = resize_nearest(np.ascontiguousarray(array.transpose(1, 2, 0)), max_side)
    logits = torch.from_numpy(np.ascontiguousarray(resized.transpose(2, 0, 1)).astype(np.float32))
    return UploadedLogits(filename, logits, (height, width))
