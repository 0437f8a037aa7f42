"""Every page's parameters, bounds, labels and presets, in one place.

Each page's parameters are one frozen dataclass whose fields carry their label and bounds
(:func:`app.state.param`), registered once with :func:`app.state.register` together with the
page's URL prefix and named presets. Importing this module registers every page; the machinery
(params ⇄ widgets ⇄ URL) is in :mod:`app.state`.

**Adding a page = one dataclass + one** :func:`register` **call here.**
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.state import param, register
from lovasz_core.lab.images import IMAGE_NAMES
from lovasz_core.lab.lanes import BINARY_LANES, CLASS_SELECTIONS, LANES, MULTICLASS_LANES
from lovasz_core.lab.models import MODEL_NAMES
from lovasz_core.lab.registry import LOSSES
from lovasz_core.lab.shapes import SCENES, image_sources
from lovasz_core.lab.training import MODES, OPTIMIZERS


def void_band_param() -> Any:
    """The "void band" control of a page: 0–3 pixels along every object outline labelled 255."""
    return param(
        0,
        "Void band around objects (px, label 255)",
        lo=0,
        hi=3,
        step=1,
        help="Pascal VOC marks a band along every object outline as void (255): unlabelled pixels.",
    )


def ignore_void_param(when_off: str) -> Any:
    """The ``ignore_index=255`` toggle of a page; ``when_off`` says what the page shows without it."""
    return param(True, "ignore_index=255: leave void pixels out", help=f"Off: {when_off}.")


_SCENE_HELP = "; ".join(f"{k}: {v}" for k, v in SCENES.items())


@dataclass(frozen=True)
class IouJaccardParams:
    """Page "IoU and the Jaccard loss"."""

    scene: str = param("disks", "Ground-truth scene", options=image_sources(), help=_SCENE_HELP)
    size: int = param(24, "Image size (pixels per side)", lo=1, hi=64, step=1)
    classes: int = param(3, "Number of classes (incl. background 0)", lo=2, hi=5, step=1)
    seed: int = param(0, "Seed", lo=0, hi=999, step=1)
    shift_x: float = param(2.0, "Shift right (px)", lo=-8.0, hi=8.0, step=0.5)
    shift_y: float = param(1.0, "Shift down (px)", lo=-8.0, hi=8.0, step=0.5)
    scale: float = param(1.0, "Scale (>1 grows objects)", lo=0.5, hi=1.5, step=0.05)
    noise: float = param(0.5, "Logit noise σ", lo=0.0, hi=4.0, step=0.1)
    temp: float = param(1.0, "Temperature T", lo=0.25, hi=4.0, step=0.05)
    cls: int = param(1, "Class c to inspect", lo=0, hi=4, step=1)
    offset: float = param(0.0, "Offset b added to class c's logit", lo=-6.0, hi=6.0, step=0.1)


@dataclass(frozen=True)
class SortingParams:
    """Page "Sorting errors"."""

    scene: str = param("disks", "Ground-truth scene", options=image_sources(), help=_SCENE_HELP)
    size: int = param(16, "Image size (pixels per side)", lo=1, hi=32, step=1)
    classes: int = param(2, "Number of classes (incl. background 0)", lo=2, hi=5, step=1)
    seed: int = param(0, "Seed", lo=0, hi=999, step=1)
    shift_x: float = param(1.0, "Shift right (px)", lo=-6.0, hi=6.0, step=0.5)
    shift_y: float = param(0.0, "Shift down (px)", lo=-6.0, hi=6.0, step=0.5)
    scale: float = param(1.0, "Scale (>1 grows objects)", lo=0.5, hi=1.5, step=0.05)
    noise: float = param(0.6, "Logit noise σ", lo=0.0, hi=4.0, step=0.1)
    temp: float = param(1.5, "Temperature T", lo=0.25, hi=4.0, step=0.05)
    cls: int = param(1, "Class c", lo=0, hi=4, step=1)
    errors: str = param(
        "softmax",
        "Errors",
        options=("softmax", "hinge"),
        help="softmax: m = |1[y=c] − p(c)| ∈ [0, 1]; hinge: m = max(0, 1 − s·y*), s = margin of c",
    )
    absent: bool = param(
        False,
        "Remove class c from the ground truth",
        help="Relabel its pixels as background, to see what an absent class costs.",
    )
    void: int = void_band_param()
    ignore: bool = ignore_void_param(
        "the void pixels stay in the sort as 'not c', and lovasz_softmax refuses the labels"
    )
    k: int = param(12, "Step k: the k largest errors", lo=0, hi=1024, step=1)
    all_ranks: bool = param(
        False,
        "Show all ranks",
        help="Off: the charts show the first ranks, where the "
        "errors are; on: every pixel (the long tail of small errors).",
    )


@dataclass(frozen=True)
class GeometryParams:
    """Page "Geometry of the Lovász extension"."""

    pixels: int = param(2, "Number of pixels", lo=2, hi=3, step=1)
    y1: bool = param(True, "Pixel 1 is foreground")
    y2: bool = param(False, "Pixel 2 is foreground")
    y3: bool = param(True, "Pixel 3 is foreground")
    m1: float = param(0.7, "Error m₁ at the probe point", lo=0.0, hi=1.0, step=0.05)
    m2: float = param(0.3, "Error m₂ at the probe point", lo=0.0, hi=1.0, step=0.05)
    m3: float = param(0.5, "Slice: error m₃ (3 pixels)", lo=0.0, hi=1.0, step=0.05)
    planes: bool = param(True, "Show the linear pieces (planes)")
    soft: bool = param(False, "Compare with soft-Jaccard")


@dataclass(frozen=True)
class HomeParams:
    """Page "Home" (the live figure)."""

    offset: float = param(0.0, "Logit offset b of the object class", lo=-5.0, hi=5.0, step=0.1)


GRADIENT_CLASSES = ("small disk", "large disk", "background")
LEARNING_RATES = ("0.0003", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "10", "1000", "1000000")


@dataclass(frozen=True)
class GradientsParams:
    """Page "Gradients: Lovász vs cross-entropy"."""

    size: int = param(40, "Image size (pixels per side)", lo=16, hi=64, step=4)
    radius: float = param(
        3.0,
        "Small disk radius (px): class imbalance",
        lo=0.5,
        hi=8.0,
        step=0.5,
        help="The small disk's share of the pixels; the large disk stays the same.",
    )
    quality: float = param(
        0.5,
        "Prediction quality",
        lo=0.0,
        hi=1.0,
        step=0.05,
        help="1: confident and right; 0: weak, with blobs of confident mistakes.",
    )
    blur: float = param(
        1.5,
        "Boundary blur σ (px)",
        lo=0.0,
        hi=6.0,
        step=0.25,
        help="Blurs the predicted classes: uncertain boundaries, shrunken small objects.",
    )
    void: int = void_band_param()
    ignore: bool = ignore_void_param(
        "the losses refuse labels 255; the maps then show the labels without the band"
    )
    seed: int = param(0, "Noise seed", lo=0, hi=999, step=1)
    cls: str = param("small disk", "Map the logit of class", options=GRADIENT_CLASSES)
    shared: bool = param(
        False,
        "One colour scale for all maps",
        help="Off: each map on its own scale, ± its largest value (where each loss pushes). "
        "On: one scale for all (how hard each pushes; weak maps look empty).",
    )
    row: int = param(-1, "Selected pixel's row (−1: none)", lo=-1, hi=63, step=1)
    col: int = param(-1, "Selected pixel's column (−1: none)", lo=-1, hi=63, step=1)


@dataclass(frozen=True)
class LiveTrainingParams:
    """Page "Live training" (the settings of the next run).

    The default is the scene with a rare class (0.66 % of the pixels), where the losses differ
    the most: Lovász-Softmax finds the rare class first, cross-entropy last.
    """

    image: str = param("rare_object", "Image", options=IMAGE_NAMES)
    size: int = param(64, "Size (pixels per side)", lo=16, hi=128, step=8)
    classes: int = param(3, "Classes", lo=2, hi=4, step=1)
    model: str = param("tiny_fcn", "Model", options=tuple(MODEL_NAMES))
    losses: tuple[str, ...] = param(
        ("cross_entropy", "lovasz_softmax", "ce_lovasz"), "Losses to compare", options=tuple(LOSSES)
    )
    mode: str = param("scratch", "Mode", options=tuple(MODES))
    warmup: int = param(100, "Fine-tune: CE steps before the switch", lo=10, hi=1000, step=10)
    optimizer: str = param("adam", "Optimizer", options=tuple(OPTIMIZERS))
    lr: str = param("0.003", "Learning rate", options=LEARNING_RATES)
    steps: int = param(200, "Steps", lo=20, hi=2000, step=20)
    seed: int = param(0, "Seed", lo=0, hi=999, step=1)
    device: str = param(
        "cpu", "Device", options=("cpu", "cuda"), help="CUDA is offered when this machine has a GPU."
    )


register(
    "gradients",
    "gr",
    GradientsParams,
    {
        "Default": GradientsParams(),
        "Tiny object (rare class)": GradientsParams(radius=1.0, quality=0.5, blur=1.5),
        "Large object": GradientsParams(radius=8.0),
        "Good prediction, blurry boundaries": GradientsParams(quality=0.9, blur=3.0),
        "Poor prediction": GradientsParams(quality=0.1, blur=1.0),
        "Void band, ignored": GradientsParams(void=1),
    },
)
register(
    "live_training",
    "lt",
    LiveTrainingParams,
    {
        "Default: a rare class (imbalance)": LiveTrainingParams(),
        "Horse, from scratch": LiveTrainingParams(image="horse", classes=2, lr="0.01", steps=300),
        "Lovász from scratch vs fine-tuned": LiveTrainingParams(
            image="horse", classes=2, lr="0.01", mode="finetune", warmup=100, steps=400
        ),
        "Free logits (the loss's own geometry)": LiveTrainingParams(model="free_logits", lr="0.1", steps=200),
        "Diverging (huge learning rate)": LiveTrainingParams(
            image="horse", classes=2, optimizer="sgd", lr="1000000", steps=100
        ),
        "Camera, 3 classes": LiveTrainingParams(image="camera", classes=3, lr="0.01", steps=400),
    },
)


register("home", "h", HomeParams)
register(
    "iou_jaccard",
    "ij",
    IouJaccardParams,
    {
        "Default": IouJaccardParams(),
        "Perfect prediction": IouJaccardParams(shift_x=0.0, shift_y=0.0, noise=0.0),
        "Objects too large": IouJaccardParams(shift_x=0.0, shift_y=0.0, scale=1.3, noise=0.2),
        "Rare class": IouJaccardParams(scene="rare", classes=4, cls=3, shift_x=1.0, shift_y=1.0),
        "Five classes, noisy": IouJaccardParams(scene="mixed", classes=5, noise=1.5, shift_x=1.0),
    },
)
register(
    "sorting_errors",
    "se",
    SortingParams,
    {
        "Default": SortingParams(),
        "Tiny 8×8": SortingParams(size=8, k=5),
        "Boundary errors only": SortingParams(shift_x=0.0, noise=0.0, temp=2.0, k=20),
        "Absent class": SortingParams(absent=True, k=1),
        "Hinge errors": SortingParams(errors="hinge", k=10),
        "Rare class, 3 classes": SortingParams(scene="rare", classes=3, cls=2, size=24, k=8),
        "Void band, ignored": SortingParams(shift_x=0.0, noise=0.0, temp=2.0, void=1, k=20),
        "Void band, not ignored": SortingParams(shift_x=0.0, noise=0.0, temp=2.0, void=1, ignore=False, k=20),
    },
)
register(
    "geometry",
    "geo",
    GeometryParams,
    {
        "Default": GeometryParams(),
        "Both foreground": GeometryParams(y1=True, y2=True),
        "Both background": GeometryParams(y1=False, y2=False),
        "Three pixels": GeometryParams(pixels=3, y1=True, y2=False, y3=True),
        "vs soft-Jaccard": GeometryParams(soft=True, planes=False),
    },
)


@dataclass(frozen=True)
class YourDataParams:
    """Page "Your data and your model" (the uploaded files themselves stay in the session)."""

    cls: int = param(1, "Class c to inspect", lo=0, hi=15, step=1)
    shared: bool = param(
        False,
        "One colour scale for both maps",
        help="Off: each map on its own scale, ± its largest |∂L/∂z_c| (where each loss pushes). "
        "On: one scale for both (how hard each pushes).",
    )
    shift_x: float = param(2.0, "Shift right (px)", lo=-8.0, hi=8.0, step=0.5)
    shift_y: float = param(1.0, "Shift down (px)", lo=-8.0, hi=8.0, step=0.5)
    noise: float = param(1.0, "Logit noise σ", lo=0.0, hi=4.0, step=0.1)
    temp: float = param(1.5, "Temperature T", lo=0.25, hi=4.0, step=0.05)


register("your_data", "yd", YourDataParams)


@dataclass(frozen=True)
class DatasetTrainingParams:
    """Page "Training on a data set" (the settings of the next run).

    The default trains the four multi-class lanes on 240 generated scenes of 32×32 with a rare
    class (a small disk in half of the scenes), batches of 8, Adam, 300 steps.
    """

    lanes: tuple[str, ...] = param(
        MULTICLASS_LANES,
        "Lanes (losses) to compare",
        options=tuple(LANES),
        help="Binary lanes (binary cross-entropy, Lovász hinge, Lovász sigmoid) need 2 classes.",
    )
    classes: str = param(
        "present",
        "Lovász classes (`classes=`)",
        options=tuple(CLASS_SELECTIONS),
        help="; ".join(f"{k}: {v}" for k, v in CLASS_SELECTIONS.items()),
    )
    batch: int = param(8, "Batch size (images per step)", lo=1, hi=64, step=1)
    void: bool = param(
        False,
        "Void band (label 255) along every outline",
        help="Ignored by every loss (cross-entropy too: ignore_index=255) and by every IoU.",
    )
    void_width: int = param(1, "Void band width (pixels on each side)", lo=1, hi=3, step=1)
    num_classes: int = param(
        4, "Classes (incl. background)", lo=2, hi=6, step=1, help="3 or more: the last class is rare."
    )
    rare_rate: float = param(0.5, "Share of scenes with the rare object", lo=0.1, hi=1.0, step=0.05)
    scenes: int = param(240, "Scenes in the data set (¼ for validation)", lo=40, hi=800, step=40)
    lr: str = param("0.01", "Learning rate (Adam)", options=LEARNING_RATES)
    steps: int = param(300, "Steps", lo=20, hi=2000, step=20)
    seed: int = param(0, "Seed (scenes, initial weights, batch order)", lo=0, hi=999, step=1)


register(
    "dataset_training",
    "dt",
    DatasetTrainingParams,
    {
        "Per image vs per batch": DatasetTrainingParams(),
        "Small batches (2)": DatasetTrainingParams(batch=2),
        "Large batches (32)": DatasetTrainingParams(batch=32),
        "Void band on": DatasetTrainingParams(void=True),
        "classes=all vs present": DatasetTrainingParams(
            lanes=("lovasz_batch", "lovasz_image"), classes="all", rare_rate=0.3
        ),
        "Binary: Lovász hinge vs BCE vs Lovász sigmoid": DatasetTrainingParams(
            lanes=BINARY_LANES, num_classes=2
        ),
    },
)
