"""URL-bound parameters of the "Gradients" and "Live training" pages, in ``state``'s pattern.

Each page's scalar parameters are one frozen dataclass of :func:`state.param` fields,
registered once with :func:`state.register` (importing this module registers them), so every
control is a shareable link. Things a URL cannot hold well stay out of it: the set of losses to
train (a multiselect bound to its own query parameter) and the device (what this machine has).

Also here: :func:`freeze_long_lived_objects`, which both pages call once so that Streamlit's
``gc.collect(2)`` after every run stays cheap.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import state
import torch
from state import param

from lovasz_core.images import IMAGE_NAMES
from lovasz_core.models import MODEL_NAMES
from lovasz_core.training import MODES, OPTIMIZERS

GRADIENT_CLASSES = ("small disk", "large disk", "background")
LEARNING_RATES = ("0.0003", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "10", "1000", "1000000")


@dataclass(frozen=True)
class GradientsParams:
    """Page "Gradients: Lovász vs cross-entropy"."""

    size: int = param(40, "Image size (pixels per side)", lo=16, hi=64, step=4)
    radius: float = param(3.0, "Small disk radius (px): class imbalance", lo=0.5, hi=8.0, step=0.5,
                          help="The small disk's share of the pixels; the large disk stays the same.")
    quality: float = param(0.5, "Prediction quality", lo=0.0, hi=1.0, step=0.05,
                           help="1: confident and right; 0: weak, with blobs of confident mistakes.")
    blur: float = param(1.5, "Boundary blur σ (px)", lo=0.0, hi=6.0, step=0.25,
                        help="Blurs the predicted classes: uncertain boundaries, shrunken small objects.")
    seed: int = param(0, "Noise seed", lo=0, hi=999, step=1)
    cls: str = param("small disk", "Map the logit of class", options=GRADIENT_CLASSES)
    shared: bool = param(True, "One colour scale for all maps",
                         help="Off: each map is scaled to its own largest value (shapes, not sizes).")
    row: int = param(-1, "Selected pixel: row (−1 none)", lo=-1, hi=63, step=1)
    col: int = param(-1, "Selected pixel: column (−1 none)", lo=-1, hi=63, step=1)


@dataclass(frozen=True)
class LiveTrainingParams:
    """Page "Live training" (settings of the next run; the losses are chosen separately)."""

    image: str = param("horse", "Image", options=IMAGE_NAMES)
    size: int = param(64, "Size (pixels per side)", lo=16, hi=128, step=8)
    classes: int = param(2, "Classes", lo=2, hi=4, step=1)
    model: str = param("tiny_fcn", "Model", options=tuple(MODEL_NAMES))
    mode: str = param("scratch", "Mode", options=tuple(MODES))
    warmup: int = param(100, "Fine-tune: CE steps before the switch", lo=10, hi=1000, step=10)
    optimizer: str = param("adam", "Optimizer", options=tuple(OPTIMIZERS))
    lr: str = param("0.01", "Learning rate", options=LEARNING_RATES)
    steps: int = param(300, "Steps", lo=20, hi=2000, step=20)
    seed: int = param(0, "Seed", lo=0, hi=999, step=1)


state.register("gradients", "gr", GradientsParams, {
    "Default": GradientsParams(),
    "Tiny object (rare class)": GradientsParams(radius=1.0, quality=0.5, blur=1.5),
    "Large object": GradientsParams(radius=8.0),
    "Good prediction, blurry boundaries": GradientsParams(quality=0.9, blur=3.0),
    "Poor prediction": GradientsParams(quality=0.1, blur=1.0),
})
state.register("live_training", "lt", LiveTrainingParams, {
    "Default": LiveTrainingParams(),
    "Rare class (imbalance)": LiveTrainingParams(image="rare_object", classes=3, steps=400),
    "Lovász from scratch vs fine-tuned": LiveTrainingParams(mode="finetune", warmup=100, steps=400),
    "Free logits (the loss's own geometry)": LiveTrainingParams(model="free_logits", lr="0.1", steps=200),
    "Diverging (huge learning rate)": LiveTrainingParams(optimizer="sgd", lr="1000000", steps=100),
    "Camera, 3 classes": LiveTrainingParams(image="camera", classes=3, size=64, steps=400),
})


_FROZEN = {"done": False}


def freeze_long_lived_objects() -> None:
    """Once per server process: collect, then move every object alive now out of the GC's reach.

    Streamlit runs ``gc.collect(2)`` after every script *and fragment* run (``runner.postScriptGC``);
    with torch, pandas and plotly loaded that full collection walks ~400 k long-lived objects and
    costs 200–600 ms on this CPU, which alone would cap the live page below 4 refreshes per second.
    After ``gc.freeze()`` those objects (modules, classes, caches) sit in a permanent generation and
    each collection only scans what was allocated since. Objects frozen here are never freed, which
    is fine for what is alive at start-up; per-run garbage created later is collected as usual.
    """
    if not _FROZEN["done"]:
        # torch imports its compiler stack (torch._dynamo, ~10⁵ objects) lazily, at the first
        # optimizer: build one now so that those modules are frozen too
        parameter = torch.zeros(1, requires_grad=True)
        torch.optim.Adam([parameter])
        torch.optim.SGD([parameter], lr=0.1)
        gc.collect()
        gc.freeze()
        _FROZEN["done"] = True
