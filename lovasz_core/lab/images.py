"""Small images with ground-truth masks for the gradient and training pages, all offline.

Every image is built from scikit-image's bundled data or generated from a seed, resized to a
square ``size × size`` (16 ≤ size ≤ 128; nearest neighbour, ``order=0``, for masks) and cached.

===============  =========  ===================================================================
name             classes    what it is
===============  =========  ===================================================================
``horse``        2          the bundled horse silhouette, blurred and with seeded noise
``coins``        2 or 3     the bundled coins, Otsu threshold; 3 classes split large/small coins
``camera``       2 to 4     the bundled cameraman, multi-Otsu classes (dark → bright)
``blobs``        2          ``binary_blobs`` with a density and a seed, blurred, with noise
``rare_object``  2 to 4     a generated scene: background, a large disk and a *rare* small
                            class (a few tiny squares, ~1–2 % of the pixels) — class imbalance,
                            where Lovász-Softmax helps most
===============  =========  ===================================================================

Example:
    >>> sample = load_image("horse", size=32)
    >>> sample.mask.shape, sample.num_classes
    ((32, 32), 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from ..validation import check_choice

__all__ = [
    "IMAGE_NAMES",
    "MAX_SIZE",
    "MIN_SIZE",
    "SegmentationImage",
    "class_range",
    "load_image",
]

MIN_SIZE = 16
MAX_SIZE = 128
IMAGE_NAMES: tuple[str, ...] = ("horse", "coins", "camera", "blobs", "rare_object")
_CLASS_RANGES: dict[str, tuple[int, int]] = {
    "horse": (2, 2),
    "coins": (2, 3),
    "camera": (2, 4),
    "blobs": (2, 2),
    "rare_object": (2, 4),
}
_DEFAULT_CLASSES: dict[str, int] = {"horse": 2, "coins": 2, "camera": 3, "blobs": 2, "rare_object": 3}


@dataclass(frozen=True, eq=False)
class SegmentationImage:
    """An image and its ground truth.

    Attributes:
        name: the image's key in ``IMAGE_NAMES``.
        image: float32 ``[H, W]`` (grey) or ``[H, W, 3]`` (RGB) in [0, 1].
        mask: int64 ``[H, W]`` class indices in ``0 .. num_classes − 1``.
        class_names: one name per class.
    """

    name: str
    image: np.ndarray
    mask: np.ndarray
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return len(self.class_names)

    @property
    def size(self) -> int:
        """Side of the square image in pixels."""
        return int(self.mask.shape[0])

    def class_fractions(self) -> np.ndarray:
        """Share of the pixels in each class, ``[C]`` float64 summing to 1."""
        return class_fractions(self.mask, self.num_classes)

    def input_tensor(self, device: str | torch.device = "cpu") -> Tensor:
        """The image as a network input ``[1, channels, H, W]`` float32 (channels 1 or 3)."""
        return input_tensor(self.image, device)

    def label_tensor(self, device: str | torch.device = "cpu") -> Tensor:
        """The mask as labels ``[1, H, W]`` int64."""
        return label_tensor(self.mask, device)


def class_fractions(mask: np.ndarray, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """Share of the pixels of ``mask`` ``[H, W]`` in each class, ``[C]`` float64 summing to 1
    (pixels labelled ``ignore_index`` left out)."""
    labels = mask.ravel() if ignore_index is None else mask[mask != ignore_index]
    counts = np.bincount(labels, minlength=num_classes)
    return counts / counts.sum()


def input_tensor(image: np.ndarray, device: str | torch.device = "cpu") -> Tensor:
    """``[H, W]`` or ``[H, W, 3]`` float32 image → network input ``[1, channels, H, W]``."""
    array = image if image.ndim == 3 else image[..., None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy())[None].to(device)


def label_tensor(mask: np.ndarray, device: str | torch.device = "cpu") -> Tensor:
    """``[H, W]`` int64 mask → labels ``[1, H, W]``."""
    return torch.from_numpy(mask.copy())[None].to(device)


def class_range(name: str) -> tuple[int, int]:
    """Smallest and largest number of classes image ``name`` can be split into."""
    _check_name(name)
    return _CLASS_RANGES[name]


def _check_name(name: object) -> str:
    return check_choice("name", name, IMAGE_NAMES)


def _check_int(arg: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{arg}` must be an int, got {type(value).__name__}")
    if not low <= int(value) <= high:
        raise ValueError(f"`{arg}` must be in [{low}, {high}], got {value}")
    return int(value)


def load_image(
    name: str, size: int = 64, num_classes: int | None = None, seed: int = 0, density: float = 0.35
) -> SegmentationImage:
    """The image ``name`` at ``size × size`` with ``num_classes`` classes (default per image).

    Args:
        name: one of ``IMAGE_NAMES``.
        size: side in pixels, 16 to 128.
        num_classes: C; must lie in ``class_range(name)``, e.g. ``horse`` has only 2.
        seed: seed of the noise and of the generated shapes (ignored by ``camera``, ``coins``).
        density: share of the pixels covered by ``blobs`` (``binary_blobs``' volume fraction),
            0.05 to 0.95; ignored by the other images.

    Raises:
        ValueError: unknown name, size out of range, more classes than the image has.
    """
    _check_name(name)
    size = _check_int("size", size, MIN_SIZE, MAX_SIZE)
    low, high = _CLASS_RANGES[name]
    if num_classes is None:
        num_classes = _DEFAULT_CLASSES[name]
    num_classes = _check_int("num_classes", num_classes, 2, 64)
    if not low <= num_classes <= high:
        raise ValueError(f"`num_classes` for image {name!r} must be in [{low}, {high}], got {num_classes}")
    seed = _check_int("seed", seed, 0, 2**31 - 1)
    if isinstance(density, bool) or not isinstance(density, int | float):
        raise TypeError(f"`density` must be a float, got {type(density).__name__}")
    if not 0.05 <= density <= 0.95:
        raise ValueError(f"`density` must be in [0.05, 0.95], got {density}")
    density = float(density) if name == "blobs" else 0.35
    return _load_cached(name, size, num_classes, seed, density)


@lru_cache(maxsize=64)
def _load_cached(name: str, size: int, num_classes: int, seed: int, density: float) -> SegmentationImage:
    builders = {
        "horse": _horse,
        "coins": _coins,
        "camera": _camera,
        "blobs": _blobs,
        "rare_object": _rare_object,
    }
    image, mask, names = builders[name](size, num_classes, seed, density)
    image = np.clip(image, 0.0, 1.0).astype(np.float32)
    image.setflags(write=False)
    mask = mask.astype(np.int64)
    mask.setflags(write=False)
    return SegmentationImage(name, image, mask, tuple(names))


_Built = tuple[np.ndarray, np.ndarray, list[str]]  # image, mask, class names


def _resize_pair(image: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    from skimage.transform import resize

    small = resize(image.astype(np.float64), (size, size), order=1, anti_aliasing=True)
    labels = resize(mask, (size, size), order=0, preserve_range=True, anti_aliasing=False)
    return small, labels.astype(np.int64)


def _noisy(image: np.ndarray, sigma_blur: float, noise: float, seed: int) -> np.ndarray:
    from skimage.filters import gaussian

    rng = np.random.default_rng(seed)
    smooth = gaussian(image, sigma=sigma_blur) if sigma_blur > 0 else image
    return smooth + noise * rng.standard_normal(image.shape)


def _horse(size: int, _classes: int, seed: int, _density: float) -> _Built:
    from skimage import data

    horse = ~data.horse()  # True on the horse
    image, mask = _resize_pair(horse.astype(np.float64), horse.astype(np.int64), size)
    return _noisy(0.2 + 0.6 * image, 1.0, 0.12, seed), mask, ["background", "horse"]


def _coins(size: int, num_classes: int, _seed: int, _density: float) -> _Built:
    from skimage import data, filters, measure, morphology

    coins = data.coins().astype(np.float64) / 255.0
    binary = coins > filters.threshold_otsu(coins)
    binary = morphology.opening(binary, morphology.disk(2)).astype(bool)
    regions = measure.label(binary)
    areas = np.bincount(regions.ravel())
    areas[0] = 0
    binary = areas[regions] >= 64  # drop specks
    regions = measure.label(binary)
    mask = binary.astype(np.int64)
    names = ["background", "coin"]
    if num_classes == 3:
        areas = np.bincount(regions.ravel())
        areas[0] = 0
        median = np.median(areas[areas > 0])
        large = areas[regions] >= median
        mask = np.where(binary, np.where(large, 1, 2), 0)
        names = ["background", "large coin", "small coin"]
    image, labels = _resize_pair(coins, mask, size)
    return image, labels, names


def _camera(size: int, num_classes: int, _seed: int, _density: float) -> _Built:
    from skimage import data, filters

    camera = data.camera().astype(np.float64) / 255.0
    small, _ = _resize_pair(camera, np.zeros(camera.shape, np.int64), size)
    thresholds = filters.threshold_multiotsu(small, classes=num_classes)
    mask = np.digitize(small, thresholds)
    names = (
        ["dark", "bright"]
        if num_classes == 2
        else [["dark", "mid", "bright"], ["dark", "mid-dark", "mid-bright", "bright"]][num_classes - 3]
    )
    return small, mask, names


def _blobs(size: int, _classes: int, seed: int, density: float) -> _Built:
    from skimage import data

    blobs = data.binary_blobs(length=size, blob_size_fraction=0.15, volume_fraction=density, rng=seed)
    mask = blobs.astype(np.int64)
    return _noisy(0.25 + 0.5 * blobs, 0.8, 0.15, seed), mask, ["background", "blob"]


def _rare_object(size: int, num_classes: int, seed: int, _density: float) -> _Built:
    """Background, a large disk (class 1), tiny squares (class 2, rare), a thin bar (class 3)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size] / size
    mask = np.zeros((size, size), np.int64)
    center = 0.5 + 0.08 * rng.uniform(-1, 1, 2)
    mask[(rows - center[0]) ** 2 + (cols - center[1]) ** 2 < 0.3**2] = 1
    names = ["background", "large disk"]
    colors = [(0.35, 0.35, 0.35), (0.2, 0.45, 0.85)]
    if num_classes >= 3:
        side = max(1, size // 20)
        for _ in range(3):
            r, c = rng.integers(1, size - side - 1, 2)
            mask[r : r + side, c : c + side] = 2
        names.append("rare square")
        colors.append((0.95, 0.55, 0.1))
    if num_classes >= 4:
        row = int(rng.integers(size // 8, size // 5))
        mask[row : row + max(1, size // 32), size // 6 : size - size // 6] = 3
        names.append("thin bar")
        colors.append((0.3, 0.8, 0.35))
    palette = np.array(colors)
    image = palette[mask] + 0.4 * rng.standard_normal((size, size, 3))
    from skimage.filters import gaussian

    image = gaussian(image, sigma=0.6, channel_axis=-1)
    return image, mask, names
