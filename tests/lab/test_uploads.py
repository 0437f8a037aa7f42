"""Tests of lovasz_core.lab.uploads with real files made in memory (PNG, JPEG, .npy, .pt)."""

from __future__ import annotations

import io

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from lovasz_core.lab.uploads import (
    MAX_BYTES,
    UploadError,
    check_same_size,
    read_image,
    read_logits,
    read_mask,
    resize_nearest,
)
from tests.files import npy, pt


def png(array: np.ndarray) -> bytes:
    return iio.imwrite("<bytes>", array, extension=".png")


def jpeg(array: np.ndarray) -> bytes:
    return iio.imwrite("<bytes>", array, extension=".jpg")


def palette_png(indices: np.ndarray) -> bytes:
    image = Image.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette([v for i in range(256) for v in ((37 * i) % 256, (91 * i) % 256, (53 * i) % 256)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _labels(height: int = 20, width: int = 30) -> np.ndarray:
    labels = np.zeros((height, width), np.uint8)
    labels[2:10, 3:12] = 1
    labels[12:18, 15:28] = 2
    labels[0, :] = 255
    return labels


# ------------------------------------------------------------------------------------ images
def test_rgb_png_round_trips_to_floats_in_unit_range():
    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    uploaded = read_image(png(pixels), "photo.png")
    assert uploaded.image.dtype == np.float32 and uploaded.image.shape == (20, 30, 3)
    np.testing.assert_allclose(uploaded.image, pixels / 255.0, atol=1e-6)
    assert uploaded.original_shape == (20, 30)


def test_grey_16_bit_and_rgba_images():
    grey = np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) * 100
    uploaded = read_image(png(grey), "grey.PNG")
    assert uploaded.image.shape == (20, 30)
    np.testing.assert_allclose(uploaded.image, grey / 65535.0, atol=1e-6)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    out = read_image(png(rgba), "alpha.png").image
    assert out.shape == (8, 8, 3) and np.allclose(out[..., 0], 200 / 255)


def test_jpeg_image_is_read():
    pixels = np.full((16, 16, 3), 128, np.uint8)
    uploaded = read_image(jpeg(pixels), "photo.jpeg")
    assert uploaded.image.shape == (16, 16, 3)
    assert abs(float(uploaded.image.mean()) - 128 / 255) < 0.02


def test_large_image_is_resized_with_nearest_neighbour():
    pixels = np.zeros((300, 150), np.uint8)
    pixels[:, 75:] = 255
    uploaded = read_image(png(pixels), "wide.png", max_side=100)
    assert uploaded.shape == (100, 50) and uploaded.original_shape == (300, 150)
    assert set(np.unique(uploaded.image).tolist()) == {0.0, 1.0}, "no blended values"


@pytest.mark.parametrize(
    ("data", "name", "text"),
    [
        (b"hello, this is not an image", "notes.png", "not an image"),
        (
            png(np.random.default_rng(5).integers(0, 256, (20, 20), dtype=np.uint8))[:80],
            "cut.png",
            "truncated",
        ),
        (png(np.zeros((4, 4), np.uint8)), "image.gif", "expected a PNG or JPEG"),
        (b"", "empty.png", "empty"),
        (png(np.zeros((600, 600), np.uint8)), "huge.png", "512²"),
    ],
)
def test_bad_images_give_one_readable_message(data, name, text):
    with pytest.raises(UploadError, match=text) as info:
        read_image(data, name)
    assert name in str(info.value)


def test_truncated_png_with_intact_header_is_reported():
    data = png(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    with pytest.raises(UploadError, match="truncated or corrupt"):
        read_image(data[: len(data) // 2], "half.png")


def test_file_over_the_byte_cap_is_refused_before_decoding():
    with pytest.raises(UploadError, match="5 MB"):
        read_image(b"\x89PNG" + bytes(MAX_BYTES), "big.png")


def test_wrong_argument_types_are_named():
    with pytest.raises(TypeError, match="`data`"):
        read_image("not bytes", "a.png")
    with pytest.raises(TypeError, match="`filename`"):
        read_image(b"x", None)
    with pytest.raises(ValueError, match="`max_side`"):
        read_image(png(np.zeros((4, 4), np.uint8)), "a.png", max_side=0)


# ------------------------------------------------------------------------------------ masks
@pytest.mark.parametrize(
    "encode",
    [png, palette_png, npy, lambda a: png(np.stack([a] * 3, -1))],
    ids=["grey", "palette", "npy", "grey-rgb"],
)
def test_mask_formats_give_the_class_indices(encode):
    labels = _labels()
    name = "mask.npy" if encode is npy else "mask.png"
    uploaded = read_mask(encode(labels), name)
    np.testing.assert_array_equal(uploaded.mask, labels.astype(np.int64))
    assert uploaded.mask.dtype == np.int64
    assert uploaded.num_classes == 3 and uploaded.void_pixels == 30
    assert uploaded.original_shape == (20, 30)


def test_mask_resizing_keeps_exact_classes():
    labels = np.kron(_labels(), np.ones((10, 10), np.uint8))  # 200 × 300
    uploaded = read_mask(npy(labels.astype(np.int64)), "big.npy", max_side=60)
    assert uploaded.shape == (40, 60)
    assert set(np.unique(uploaded.mask)) == {0, 1, 2, 255}
    np.testing.assert_array_equal(uploaded.mask, resize_nearest(labels.astype(np.int64), 60))


def test_a_mask_of_one_class_still_has_two_classes():
    assert read_mask(npy(np.zeros((5, 5), np.int64)), "bg.npy").num_classes == 2


@pytest.mark.parametrize(
    ("data", "name", "text"),
    [
        (png(np.stack([_labels(), _labels() // 2, _labels()], -1)), "colour.png", "colours are not class"),
        (png((_labels() * 20).astype(np.uint8)), "many.png", "at most 16 classes"),
        (npy(np.full((4, 4), 255)), "void.npy", "void everywhere"),
        (npy(np.array([[0, -1]])), "neg.npy", "negative"),
        (npy(np.zeros((4, 4), np.float32)), "float.npy", "integer class indices"),
        (npy(np.zeros((2, 4, 4), np.int64)), "cube.npy", "2-D"),
        (jpeg(np.zeros((8, 8, 3), np.uint8)), "mask.png", "JPEG"),
        (npy(np.array([object()], dtype=object)), "pickle.npy", "not a readable .npy"),
        (png(_labels())[:50], "cut.png", "truncated|not an image"),
        (png(_labels()), "mask.bmp", "expected a PNG mask"),
    ],
)
def test_bad_masks_give_one_readable_message(data, name, text):
    with pytest.raises(UploadError, match=text) as info:
        read_mask(data, name)
    assert name in str(info.value)


def test_mask_and_image_sizes_must_match():
    image = read_image(png(np.zeros((20, 30), np.uint8)), "img.png")
    check_same_size(image, read_mask(npy(_labels()), "ok.npy"))
    with pytest.raises(UploadError, match="must have the image's size"):
        check_same_size(image, read_mask(npy(_labels(20, 31)), "wide.npy"))
    with pytest.raises(TypeError, match="`mask`"):
        check_same_size(image, image)


# ------------------------------------------------------------------------------------ logits
@pytest.mark.parametrize("kind", ["npy", "pt"])
def test_logits_round_trip(kind):
    logits = np.random.default_rng(2).standard_normal((3, 20, 30)).astype(np.float32)
    data = npy(logits) if kind == "npy" else pt(torch.from_numpy(logits))
    uploaded = read_logits(data, f"logits.{kind}", num_classes=3, shape=(20, 30))
    assert isinstance(uploaded.logits, torch.Tensor) and uploaded.logits.dtype == torch.float32
    np.testing.assert_array_equal(uploaded.logits.numpy(), logits)
    assert uploaded.num_classes == 3


def test_logits_with_a_batch_of_one_and_resizing_like_the_mask():
    logits = np.random.default_rng(3).standard_normal((1, 2, 200, 300))
    uploaded = read_logits(npy(logits), "l.npy", max_side=60)
    assert tuple(uploaded.logits.shape) == (2, 40, 60) and uploaded.original_shape == (200, 300)
    mask = read_mask(npy(np.zeros((200, 300), np.int64)), "m.npy", max_side=60)
    assert uploaded.logits.shape[1:] == mask.shape


@pytest.mark.parametrize(
    ("data", "name", "kwargs", "text"),
    [
        (
            npy(np.zeros((4, 5, 5), np.float32)),
            "l.npy",
            {"num_classes": 3},
            "C = 4 classes but the mask has 3",
        ),
        (npy(np.full((2, 5, 5), np.nan, np.float32)), "nan.npy", {}, "NaN"),
        (npy(np.zeros((2, 5, 5), np.float32)), "l.npy", {"shape": (5, 6)}, "must match"),
        (npy(np.zeros((5, 5), np.float32)), "flat.npy", {}, r"\[C, H, W\]"),
        (npy(np.zeros((2, 5, 5), np.int64)), "int.npy", {}, "floating-point"),
        (npy(np.zeros((17, 5, 5), np.float32)), "wide.npy", {}, "2 to 16"),
        (pt({"logits": torch.zeros(2, 5, 5)}), "dict.pt", {}, "holds a dict"),
        (pt([torch.zeros(2, 5, 5)]), "list.pt", {}, "holds a list"),
        (pt(torch.nn.Linear(2, 2)), "module.pt", {}, "only plain tensors"),
        (pt(torch.zeros(2, 5, 5))[:40], "cut.pt", {}, "could not be loaded"),
        (npy(np.zeros((2, 600, 600), np.float32)), "huge.npy", {}, "512²"),
        (npy(np.zeros((2, 5, 5), np.float32)), "l.txt", {}, "expected logits"),
    ],
)
def test_bad_logits_give_one_readable_message(data, name, kwargs, text):
    with pytest.raises(UploadError, match=text) as info:
        read_logits(data, name, **kwargs)
    assert name in str(info.value)


def test_logits_arguments_are_checked():
    data = npy(np.zeros((2, 5, 5), np.float32))
    with pytest.raises(ValueError, match="`num_classes`"):
        read_logits(data, "l.npy", num_classes=1)
    with pytest.raises(TypeError, match="`shape`"):
        read_logits(data, "l.npy", shape=[5, 5])


def test_resize_nearest_leaves_small_arrays_alone_and_checks_input():
    small = np.arange(12).reshape(3, 4)
    assert resize_nearest(small, 4) is small
    shrunk = resize_nearest(np.arange(100).reshape(10, 10), 5)
    assert shrunk.shape == (5, 5) and set(shrunk.ravel()) <= set(range(100))
    with pytest.raises(TypeError, match="`array`"):
        resize_nearest([[1]], 4)
    with pytest.raises(ValueError, match="`array`"):
        resize_nearest(np.zeros(4), 4)
