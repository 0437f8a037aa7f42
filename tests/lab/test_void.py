"""Tests of lovasz_core.lab.void: the void band, void boxes, and the extension without void pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lovasz_core import lovasz_softmax, lovasz_trace
from lovasz_core.lab.shapes import make_scene
from lovasz_core.lab.void import (
    VOID,
    VOID_PRESETS,
    VoidSettings,
    add_void_band,
    paint_void_box,
    void_mask,
    void_trace,
)


def _slow_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixel by pixel: void where the (2w+1)² window holds another label."""
    rows, cols = mask.shape
    out = mask.copy()
    for r in range(rows):
        for c in range(cols):
            window = mask[max(0, r - width) : r + width + 1, max(0, c - width) : c + width + 1]
            if (window != mask[r, c]).any():
                out[r, c] = VOID
    return out


@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("kind", ["disks", "mixed", "rare"])
def test_void_band_is_every_pixel_near_another_label(kind, width):
    mask = make_scene(kind, 24, 4, seed=5).numpy()
    np.testing.assert_array_equal(add_void_band(mask, width), _slow_band(mask, width))


def test_void_band_grows_with_width_and_leaves_the_input_alone():
    mask = make_scene("disks", 32, 3, seed=1).numpy()
    before = mask.copy()
    counts = [int((add_void_band(mask, w) == VOID).sum()) for w in range(4)]
    assert counts[0] == 0
    assert counts == sorted(counts) and len(set(counts)) == 4
    np.testing.assert_array_equal(mask, before)


def test_void_band_keeps_labels_off_the_band_and_marks_no_uniform_mask():
    mask = make_scene("rectangles", 20, 3, seed=2).numpy()
    banded = add_void_band(mask, 1, ignore_index=99)
    kept = banded != 99
    np.testing.assert_array_equal(banded[kept], mask[kept])
    assert not (add_void_band(np.zeros((8, 8), np.int64), 2) == VOID).any()


def test_paint_void_box_clips_to_the_mask():
    mask = np.zeros((6, 7), np.int64)
    out = paint_void_box(mask, top=4, left=5, height=10, width=10)
    assert int((out == VOID).sum()) == 2 * 2
    assert (out[4:, 5:] == VOID).all() and (mask == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"mask": np.zeros((2, 2, 2), np.int64)}, ValueError, "`mask`"),
        ({"mask": np.zeros((4, 4))}, TypeError, "integer"),
        ({"mask": [[0, 1]]}, TypeError, "`mask`"),
        ({"width": -1}, ValueError, "`width`"),
        ({"width": 1.5}, TypeError, "`width`"),
    ],
)
def test_void_band_rejects_bad_input(kwargs, error, text):
    args = {"mask": np.zeros((4, 4), np.int64), "width": 1, **kwargs}
    with pytest.raises(error, match=text):
        add_void_band(args["mask"], args["width"])


def test_paint_void_box_rejects_a_box_outside():
    with pytest.raises(ValueError, match="overlap"):
        paint_void_box(np.zeros((4, 4), np.int64), 4, 0, 1, 1)
    with pytest.raises(ValueError, match="`height`"):
        paint_void_box(np.zeros((4, 4), np.int64), 0, 0, 0, 1)


def test_void_trace_equals_the_trace_of_the_kept_pixels():
    generator = torch.Generator().manual_seed(0)
    errors = torch.rand(6, 6, generator=generator)
    labels = torch.from_numpy(add_void_band(make_scene("disks", 6, 2, seed=3).numpy(), 1))
    labels[0, :3] = VOID
    view = void_trace(errors, labels, cls=1)
    keep = labels != VOID
    direct = lovasz_trace(errors[keep], labels[keep] == 1)
    assert view.ignored == int((~keep).sum()) > 0
    torch.testing.assert_close(view.loss, direct.loss)
    assert set(view.order.tolist()).isdisjoint(torch.nonzero(~keep.reshape(-1)).reshape(-1).tolist())
    torch.testing.assert_close(errors.reshape(-1)[view.order], direct.errors_sorted)
    assert (view.weights[~keep] == 0).all()
    torch.testing.assert_close(view.weights[keep], direct.weights.to(view.weights.dtype))


def test_void_trace_of_an_all_void_input_is_empty():
    view = void_trace(torch.rand(3, 3), torch.full((3, 3), VOID), cls=0)
    assert view.trace is None and view.ignored == 9 and float(view.loss) == 0.0
    assert view.order.numel() == 0 and (view.weights == 0).all()


def test_void_trace_rejects_mismatched_input():
    with pytest.raises(ValueError, match="`labels`"):
        void_trace(torch.rand(3, 3), torch.zeros(3, 4, dtype=torch.long), 0)
    with pytest.raises(TypeError, match="`errors`"):
        void_trace(torch.zeros(3, 3, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long), 0)
    with pytest.raises(ValueError, match="`cls`"):
        void_trace(torch.rand(3, 3), torch.zeros(3, 3, dtype=torch.long), -1)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", ["present", "all"])
def test_lovasz_softmax_gradient_is_exactly_zero_at_void_pixels(per_image, classes):
    labels = torch.from_numpy(
        np.stack([add_void_band(make_scene("mixed", 16, 4, s).numpy(), 1) for s in (0, 1)])
    )
    logits = torch.randn(2, 4, 16, 16, generator=torch.Generator().manual_seed(1), requires_grad=True)
    loss = lovasz_softmax(torch.softmax(logits, 1), labels, classes, per_image, ignore_index=VOID)
    loss.backward()
    void = (labels == VOID).unsqueeze(1).expand_as(logits)
    assert bool(void.any())
    assert (logits.grad[void] == 0).all()
    assert (logits.grad[~void] != 0).any()


def test_void_trace_weights_are_the_lovasz_softmax_gradient_of_one_class():
    """For one image and classes=[c], d loss / d p_c = −g at foreground, +g at background."""
    labels = torch.from_numpy(add_void_band(make_scene("disks", 12, 3, seed=4).numpy(), 1))
    probas = torch.softmax(torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(2)), 1)
    probas.requires_grad_(True)
    lovasz_softmax(probas, labels[None], classes=[1], ignore_index=VOID).backward()
    fg = labels == 1
    errors = torch.where(fg, 1 - probas[0, 1], probas[0, 1]).detach()
    view = void_trace(errors, labels, cls=1)
    expected = torch.where(fg, -view.weights, view.weights)
    torch.testing.assert_close(probas.grad[0, 1], expected.to(probas.grad.dtype))


def test_void_presets_build_their_masks():
    for name, settings in VOID_PRESETS.items():
        mask = void_mask(settings)
        assert mask.shape == (settings.size, settings.size), name
        assert (mask == VOID).any(), f"{name} has void pixels"
    with pytest.raises(TypeError, match="`settings`"):
        void_mask({"scene": "disks"})
    with pytest.raises(ValueError, match="`box`"):
        void_mask(VoidSettings(box=(1, 2)))
