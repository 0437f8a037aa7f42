"""A small seeded data set of generated scenes, split into train and validation, for minibatch training.

Every scene is a ``size × size`` label map (0 = background; objects drawn with the shape makers
of :mod:`lovasz_core.lab.shapes`) and an RGB image: one colour per class, a per-image
brightness jitter, Gaussian noise and a light blur. Object sizes vary across images (a scale
drawn per object); with ``num_classes >= 3`` the last class is *rare*: a small disk (radius
about 6–10 % of the side) present in only ``rare_rate`` of the scenes. ``void_width > 0`` adds
a Pascal-VOC-like void band (label 255) along every outline (:func:`~lovasz_core.lab.void.add_void_band`).

API:
    * :func:`make_dataset` ``(scenes=240, size=32, num_classes=4, void_width=0, val_fraction=0.25,
      seed=0, rare_rate=0.5, noise=0.25) -> SceneDataset`` — cached on its arguments
      (``functools.lru_cache``); the arrays are read-only.
    * :class:`SceneDataset` — ``images [N, 3, H, W]`` float32 in [0, 1], ``masks [N, H, W]``
      int64 (255 = void), ``train_index`` / ``val_index`` (disjoint, covering ``0..N−1``),
      ``split(name)`` and the per-class statistics the pages plot.

Example:
    >>> data = make_dataset(scenes=40, size=32, num_classes=3, seed=1)
    >>> data.images.shape, len(data.train_index) + len(data.val_index)
    ((40, 3, 32, 32), 40)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from skimage.filters import gaussian

from ..validation import check_choice, is_integer
from .shapes import _centres, _disk, _rectangle, _triangle
from .void import VOID, add_void_band

__all__ = ["MAX_SCENES", "SPLITS", "SceneDataset", "make_dataset"]

SPLITS: tuple[str, ...] = ("train", "val")
MAX_SCENES = 2000
_DRAWERS = (_disk, _rectangle, _triangle)
_PALETTE = np.array(
    [
        (0.30, 0.30, 0.30),  # background
        (0.85, 0.25, 0.20),
        (0.20, 0.45, 0.85),
        (0.25, 0.75, 0.30),
        (0.85, 0.80, 0.20),
        (0.70, 0.30, 0.80),
        (0.20, 0.80, 0.80),
        (0.95, 0.55, 0.10),  # the rare class takes the last colour
    ]
)
_NAMES = ("background", "red object", "blue object", "green object", "yellow object", "violet object")


@dataclass(frozen=True, eq=False)
class SceneDataset:
    """Generated scenes with their labels and a train/validation split.

    Attributes:
        images: ``[N, 3, H, W]`` float32 in [0, 1] (read-only).
        masks: ``[N, H, W]`` int64 class indices ``0..C−1``, or ``ignore_index`` (read-only).
        class_names: one name per class; the last is ``"rare object"`` when ``C >= 3``.
        train_index, val_index: disjoint sorted int64 scene indices, together ``0..N−1``.
        rare_class: index of the rare class, or ``None`` (binary data sets have none).
        ignore_index: the void label (255).
        seed: the generating seed.
    """

    images: np.ndarray
    masks: np.ndarray
    class_names: tuple[str, ...]
    train_index: np.ndarray
    val_index: np.ndarray
    rare_class: int | None
    ignore_index: int
    seed: int

    @property
    def num_classes(self) -> int:
        """C."""
        return len(self.class_names)

    @property
    def size(self) -> int:
        """Side of every scene in pixels."""
        return int(self.masks.shape[-1])

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(images [n, 3, H, W], masks [n, H, W])`` of split ``name`` (``"train"`` or ``"val"``)."""
        check_choice("name", name, SPLITS)
        index = self.train_index if name == "train" else self.val_index
        return self.images[index], self.masks[index]

    def class_pixel_fractions(self, name: str = "train") -> np.ndarray:
        """Share of the non-void pixels of split ``name`` in each class, ``[C]`` float64."""
        _, masks = self.split(name)
        counts = np.bincount(masks[masks != self.ignore_index], minlength=self.num_classes)
        return counts / max(int(counts.sum()), 1)

    def class_presence(self, name: str = "train") -> np.ndarray:
        """Share of the scenes of split ``name`` with at least one non-void pixel of each class, ``[C]``."""
        _, masks = self.split(name)
        present = masks[..., None] == np.arange(self.num_classes)
        return present.any(axis=(1, 2)).mean(axis=0)

    def void_fraction(self) -> float:
        """Share of all pixels that are void."""
        return float((self.masks == self.ignore_index).mean())


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if not is_integer(value):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if not low <= int(value) <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}], got {value}")
    return int(value)


def _check_float(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise TypeError(f"`{name}` must be a float, got {type(value).__name__}")
    if not low <= float(value) <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}], got {value}")
    return float(value)


def make_dataset(
    scenes: int = 240,
    size: int = 32,
    num_classes: int = 4,
    void_width: int = 0,
    val_fraction: float = 0.25,
    seed: int = 0,
    rare_rate: float = 0.5,
    noise: float = 0.25,
) -> SceneDataset:
    """The seeded data set of ``scenes`` generated scenes (equal arguments: the same cached object).

    Args:
        scenes: N, 8 to 2000.
        size: side of each scene, 16 to 64 pixels.
        num_classes: C, 2 to 6 (background included); C >= 3 makes the last class rare.
        void_width: depth in pixels of the void band on each side of every outline, 0 to 3.
        val_fraction: share of the scenes held out for validation, 0.1 to 0.5 (at least 2 each way).
        seed: seed of the scenes, the images and the split.
        rare_rate: share of the scenes holding the rare class, 0.05 to 1.
        noise: standard deviation of the pixel noise, 0 to 1.

    Raises:
        TypeError / ValueError naming the argument, the expected and the received value.
    """
    scenes = _check_int("scenes", scenes, 8, MAX_SCENES)
    size = _check_int("size", size, 16, 64)
    num_classes = _check_int("num_classes", num_classes, 2, 6)
    void_width = _check_int("void_width", void_width, 0, 3)
    val_fraction = _check_float("val_fraction", val_fraction, 0.1, 0.5)
    seed = _check_int("seed", seed, 0, 2**31 - 1)
    rare_rate = _check_float("rare_rate", rare_rate, 0.05, 1.0)
    noise = _check_float("noise", noise, 0.0, 1.0)
    return _make_cached(scenes, size, num_classes, void_width, val_fraction, seed, rare_rate, noise)


def _scene(rng: np.random.Generator, size: int, num_classes: int, rare_rate: float) -> np.ndarray:
    """One ``[size, size]`` label map; regular classes appear with probability 0.85."""
    labels = np.zeros((size, size), np.int64)
    rare = num_classes - 1 if num_classes >= 3 else None
    centres = _centres(rng, size, num_classes - 1)
    for cls in range(1, num_classes):
        if cls == rare:
            if rng.random() < rare_rate:
                rows, cols = _disk(rng, size, centres[cls - 1], rng.uniform(0.3, 0.4))
                labels[rows, cols] = cls
            continue
        if num_classes > 2 and rng.random() > 0.85:
            continue
        drawer = _DRAWERS[(cls - 1 + int(rng.integers(len(_DRAWERS)))) % len(_DRAWERS)]
        rows, cols = drawer(rng, size, centres[cls - 1], rng.uniform(0.5, 1.5))
        labels[rows, cols] = cls
    return labels


@lru_cache(maxsize=16)
def _make_cached(
    scenes: int,
    size: int,
    num_classes: int,
    void_width: int,
    val_fraction: float,
    seed: int,
    rare_rate: float,
    noise: float,
) -> SceneDataset:
    rng = np.random.default_rng(seed)
    clean = np.stack([_scene(rng, size, num_classes, rare_rate) for _ in range(scenes)])
    palette = _PALETTE[:num_classes].copy()
    if num_classes >= 3:
        palette[-1] = _PALETTE[-1]
    brightness = rng.uniform(0.8, 1.2, (scenes, 1, 1, 1))
    images = palette[clean] * brightness + noise * rng.standard_normal((scenes, size, size, 3))
    images = gaussian(images, sigma=(0, 0.6, 0.6), channel_axis=-1)
    images = np.clip(images, 0.0, 1.0).astype(np.float32).transpose(0, 3, 1, 2).copy()
    masks = np.stack([add_void_band(m, void_width) for m in clean]) if void_width else clean
    order = rng.permutation(scenes)
    n_val = min(max(2, round(val_fraction * scenes)), scenes - 2)
    val_index, train_index = np.sort(order[:n_val]), np.sort(order[n_val:])
    names = [*_NAMES[: num_classes - 1], "rare object"] if num_classes >= 3 else list(_NAMES[:2])
    for array in (images, masks, train_index, val_index):
        array.setflags(write=False)
    return SceneDataset(
        images=images,
        masks=masks,
        class_names=tuple(names),
        train_index=train_index,
        val_index=val_index,
        rare_class=num_classes - 1 if num_classes >= 3 else None,
        ignore_index=VOID,
        seed=seed,
    )
