"""Small seeded ground-truth masks made of simple shapes, for the teaching pages.

A scene is an ``[H, W]`` int64 label map: 0 is the background, classes 1..C−1 are objects
(disks, rectangles, triangles) drawn with :mod:`skimage.draw`. The same ``(kind, size,
num_classes, seed)`` always gives the same mask.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage import draw
from torch import Tensor

from . import images

__all__ = ["MAX_SIZE", "SCENES", "class_counts", "ground_truth", "image_sources", "make_scene"]

SCENES: dict[str, str] = {
    "disks": "one disk per class, random centres and radii",
    "rectangles": "one axis-aligned rectangle per class",
    "polygons": "one random triangle per class",
    "mixed": "a disk, a rectangle and a triangle in turn",
    "rare": "one large object and, for the last class, a tiny one (class imbalance)",
}
MAX_SIZE = 256


def _check_args(kind: object, size: object, num_classes: object, seed: object) -> None:
    if not isinstance(kind, str) or kind not in SCENES:
        raise ValueError(f"`kind` must be one of {sorted(SCENES)}, got {kind!r}")
    counts: dict[str, int] = {}
    for name, value in (("size", size), ("num_classes", num_classes), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
        counts[name] = int(value)
    if not 1 <= counts["size"] <= MAX_SIZE:
        raise ValueError(f"`size` must be in [1, {MAX_SIZE}] pixels, got {size}")
    if not 2 <= counts["num_classes"] <= 8:
        raise ValueError(f"`num_classes` must be in [2, 8], got {num_classes}")
    if counts["seed"] < 0:
        raise ValueError(f"`seed` must be >= 0, got {seed}")


Shape = tuple[np.ndarray, np.ndarray]


def _disk(rng: np.random.Generator, size: int, centre: np.ndarray, scale: float) -> Shape:
    radius = max(0.8, scale * size * rng.uniform(0.16, 0.26))
    inside = np.clip(centre, radius - 0.5, size - radius - 0.5) if 2 * radius < size else centre
    return draw.disk(tuple(inside), radius, shape=(size, size))


def _rectangle(rng: np.random.Generator, size: int, centre: np.ndarray, scale: float) -> Shape:
    height, width = (max(1, round(scale * size * rng.uniform(0.3, 0.5))) for _ in range(2))
    top = int(np.clip(round(centre[0] - height / 2), 0, size - height))
    left = int(np.clip(round(centre[1] - width / 2), 0, size - width))
    return draw.rectangle((top, left), extent=(height, width), shape=(size, size))


def _triangle(rng: np.random.Generator, size: int, centre: np.ndarray, scale: float) -> Shape:
    angles = rng.uniform(0, 2 * np.pi) + np.array([0.0, 2.1, 4.2]) + rng.uniform(-0.3, 0.3, 3)
    radius = max(1.0, scale * size * rng.uniform(0.25, 0.33))
    inside = np.clip(centre, radius - 0.5, size - radius - 0.5) if 2 * radius < size else centre
    rows = inside[0] + radius * np.sin(angles)
    cols = inside[1] + radius * np.cos(angles)
    return draw.polygon(rows, cols, shape=(size, size))


def _centres(rng: np.random.Generator, size: int, count: int) -> np.ndarray:
    """One jittered centre per object, spread over the quadrants so objects overlap little
    (a single object sits near the middle)."""
    slots = np.array([[0.3, 0.3], [0.7, 0.7], [0.3, 0.7], [0.7, 0.3], [0.5, 0.5], [0.5, 0.2], [0.2, 0.5]])
    chosen = slots[4:5] if count == 1 else slots[rng.permutation(len(slots))][:count]
    return (chosen + rng.uniform(-0.07, 0.07, chosen.shape)) * size


_DRAWERS = {
    "disks": (_disk,),
    "rectangles": (_rectangle,),
    "polygons": (_triangle,),
    "mixed": (_disk, _rectangle, _triangle),
    "rare": (_disk, _rectangle),
}


def make_scene(kind: str = "disks", size: int = 16, num_classes: int = 3, seed: int = 0) -> Tensor:
    """A seeded ``[size, size]`` int64 label map with classes ``0..num_classes−1`` (0 = background).

    Objects are drawn in class order, so a later class may cover part of an earlier one; at tiny
    sizes a class can vanish entirely (pages check :func:`class_counts`).

    Example:
        >>> make_scene("disks", 8, 2, seed=0).shape
        torch.Size([8, 8])
    """
    _check_args(kind, size, num_classes, seed)
    size, num_classes = int(size), int(num_classes)
    rng = np.random.default_rng(int(seed))
    labels = np.zeros((size, size), dtype=np.int64)
    drawers = _DRAWERS[kind]
    centres = _centres(rng, size, num_classes - 1)
    for cls in range(1, num_classes):
        scale = 1.0
        if kind == "rare":
            scale = 0.25 if cls == num_classes - 1 else 1.0
        rows, cols = drawers[(cls - 1) % len(drawers)](rng, size, centres[cls - 1], scale)
        labels[rows, cols] = cls
    return torch.from_numpy(labels)


def class_counts(labels: Tensor, num_classes: int) -> list[int]:
    """Number of pixels of each class in an integer label map (any shape)."""
    counts = torch.bincount(labels.reshape(-1).long().clamp(0, num_classes - 1), minlength=num_classes)
    return [int(c) for c in counts[:num_classes]]


def ground_truth(source: str, size: int, num_classes: int, seed: int) -> tuple[Tensor, list[str]]:
    """Labels ``[H, W]`` int64 from a generated scene (:data:`SCENES`) or,
    otherwise, an image of :mod:`lovasz_core.lab.images`; plus notes on adjusted arguments.

    Image sources need 16 ≤ size and have their own class range: both are clamped, with a note.
    """
    if source in SCENES:
        return make_scene(source, size, num_classes, seed), []
    if source not in images.IMAGE_NAMES:
        raise ValueError(f"`source` must be one of {list(image_sources())}, got {source!r}")
    notes = []
    if size < images.MIN_SIZE or size > images.MAX_SIZE:
        clamped = min(max(size, images.MIN_SIZE), images.MAX_SIZE)
        notes.append(f"Image {source!r} comes in sizes {images.MIN_SIZE}–{images.MAX_SIZE}: using {clamped}.")
        size = clamped
    low, high = images.class_range(source)
    if not low <= num_classes <= high:
        clamped = min(max(num_classes, low), high)
        notes.append(f"Image {source!r} has {low}–{high} classes: using {clamped}.")
        num_classes = clamped
    sample = images.load_image(source, size=size, num_classes=num_classes, seed=seed)
    return torch.from_numpy(np.array(sample.mask, dtype=np.int64)), notes


def image_sources() -> tuple[str, ...]:
    """Every source :func:`ground_truth` accepts: the scenes, then the bundled images."""
    extra = tuple(images.IMAGE_NAMES)
    return tuple(SCENES) + extra
