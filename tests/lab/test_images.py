"""Tests of lovasz_core.lab.images: shapes, dtypes, ranges, class counts, caching, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lovasz_core.lab.images import IMAGE_NAMES, MAX_SIZE, MIN_SIZE, class_range, load_image


@pytest.mark.parametrize("name", IMAGE_NAMES)
@pytest.mark.parametrize("size", [MIN_SIZE, 40, MAX_SIZE])
def test_every_image_has_the_right_shapes_and_ranges(name, size):
    low, high = class_range(name)
    for classes in range(low, high + 1):
        sample = load_image(name, size, classes)
        assert sample.mask.shape == (size, size)
        assert sample.mask.dtype == np.int64
        assert sample.image.shape[:2] == (size, size)
        assert sample.image.dtype == np.float32
        assert sample.image.min() >= 0.0 and sample.image.max() <= 1.0
        assert sample.num_classes == classes == len(sample.class_names)
        assert sample.mask.min() >= 0 and sample.mask.max() < classes
        assert set(np.unique(sample.mask)) == set(range(classes)), "every class is present"
        np.testing.assert_allclose(sample.class_fractions().sum(), 1.0)


def test_tensors_have_network_layout():
    sample = load_image("rare_object", 32, 3)
    x, y = sample.input_tensor(), sample.label_tensor()
    assert x.shape == (1, 3, 32, 32) and x.dtype == torch.float32
    assert y.shape == (1, 32, 32) and y.dtype == torch.int64
    grey = load_image("horse", 32).input_tensor()
    assert grey.shape == (1, 1, 32, 32)


def test_rare_object_has_a_rare_class():
    fractions = load_image("rare_object", 64, 3).class_fractions()
    assert fractions[2] < 0.03 < fractions[1]


def test_cached_and_read_only():
    a = load_image("coins", 48, 3)
    assert load_image("coins", 48, 3) is a
    with pytest.raises(ValueError):
        a.mask[0, 0] = 1


def test_seed_changes_generated_images_only_through_the_seed():
    a = load_image("blobs", 32, seed=1)
    b = load_image("blobs", 32, seed=2)
    assert not np.array_equal(a.mask, b.mask)
    camera = [load_image("camera", 32, seed=s).mask for s in (1, 2)]
    np.testing.assert_array_equal(*camera)


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"name": "lena"}, ValueError, "`name`"),
        ({"name": 3}, TypeError, "`name`"),
        ({"name": "horse", "size": 8}, ValueError, "`size`"),
        ({"name": "horse", "size": 200}, ValueError, "`size`"),
        ({"name": "horse", "size": 32.0}, TypeError, "`size`"),
        ({"name": "horse", "num_classes": 3}, ValueError, "horse"),
        ({"name": "camera", "num_classes": 9}, ValueError, "`num_classes`"),
        ({"name": "blobs", "seed": -1}, ValueError, "`seed`"),
    ],
)
def test_validation(kwargs, error, text):
    with pytest.raises(error, match=text):
        load_image(**kwargs)


def test_blob_density():
    sparse = load_image("blobs", 64, density=0.1).class_fractions()[1]
    dense = load_image("blobs", 64, density=0.7).class_fractions()[1]
    assert sparse < 0.25 < 0.5 < dense
    assert load_image("horse", 32, density=0.9) is load_image("horse", 32), "ignored elsewhere"
    with pytest.raises(ValueError, match="`density`"):
        load_image("blobs", 32, density=1.5)
