"""Tests of lovasz_core.lab.datasets: seeded, cached, split disjointly, with a rare class and void."""

from __future__ import annotations

import numpy as np
import pytest

from lovasz_core.lab.datasets import _make_cached, make_dataset
from lovasz_core.lab.void import VOID, add_void_band


def test_same_arguments_give_the_same_cached_data_set():
    a = make_dataset(scenes=60, size=32, seed=3)
    assert make_dataset(scenes=60, size=32, seed=3) is a
    fresh = _make_cached.__wrapped__(60, 32, 4, 0, 0.25, 3, 0.5, 0.25)  # rebuilt, not cached
    assert fresh is not a
    np.testing.assert_array_equal(a.masks, fresh.masks)
    np.testing.assert_array_equal(a.images, fresh.images)
    c = make_dataset(scenes=60, size=32, seed=4)
    assert not np.array_equal(a.masks, c.masks)
    assert not np.array_equal(a.images, c.images)


def test_shapes_ranges_and_read_only_arrays():
    data = make_dataset(scenes=50, size=48, num_classes=5, seed=1)
    assert data.images.shape == (50, 3, 48, 48) and data.images.dtype == np.float32
    assert data.masks.shape == (50, 48, 48) and data.masks.dtype == np.int64
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert set(np.unique(data.masks)) <= set(range(5))
    assert len(data) == 50 and data.size == 48 and data.num_classes == 5
    with pytest.raises(ValueError):
        data.masks[0, 0, 0] = 1


def test_split_is_disjoint_and_covers_every_scene():
    data = make_dataset(scenes=101, size=32, val_fraction=0.3, seed=2)
    train, val = set(data.train_index.tolist()), set(data.val_index.tolist())
    assert train.isdisjoint(val)
    assert train | val == set(range(101))
    assert len(val) == round(0.3 * 101)
    images, masks = data.split("val")
    np.testing.assert_array_equal(masks, data.masks[data.val_index])
    assert images.shape[0] == len(val)


def test_rare_class_is_rare_small_and_in_both_splits():
    data = make_dataset(scenes=240, size=32, num_classes=4, seed=0, rare_rate=0.5)
    rare = data.rare_class
    assert rare == 3 and data.class_names[rare] == "rare object"
    for split in ("train", "val"):
        fractions = data.class_pixel_fractions(split)
        presence = data.class_presence(split)
        assert 0 < fractions[rare] < 0.25 * min(fractions[1:rare])
        assert 0.2 < presence[rare] < 0.8, "present in some scenes, absent from others"
        assert presence[0] == 1.0


def test_object_sizes_vary_across_images():
    data = make_dataset(scenes=100, size=32, num_classes=3, seed=5)
    areas = (data.masks == 1).sum(axis=(1, 2))
    present = areas[areas > 0]
    assert present.max() >= 3 * present.min()


def test_images_carry_the_classes():
    """The mean colour of each class differs across classes: there is something to learn."""
    data = make_dataset(scenes=80, size=32, num_classes=4, seed=0)
    means = np.stack([data.images.transpose(0, 2, 3, 1)[data.masks == c].mean(0) for c in range(4)])
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert distances[~np.eye(4, dtype=bool)].min() > 0.1


def test_void_band_is_the_band_of_the_clean_masks():
    clean = make_dataset(scenes=30, size=32, num_classes=3, seed=7)
    void = make_dataset(scenes=30, size=32, num_classes=3, seed=7, void_width=1)
    np.testing.assert_array_equal(void.images, clean.images)
    for a, b in zip(clean.masks, void.masks, strict=True):
        np.testing.assert_array_equal(b, add_void_band(a, 1))
    assert 0 < void.void_fraction() < 0.5
    assert clean.void_fraction() == 0.0 and (void.masks == VOID).any()


def test_binary_data_set_has_no_rare_class():
    data = make_dataset(scenes=30, size=32, num_classes=2, seed=0)
    assert data.rare_class is None and data.num_classes == 2
    assert set(np.unique(data.masks)) == {0, 1}


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"scenes": 4}, ValueError, "scenes"),
        ({"size": 8}, ValueError, "size"),
        ({"size": 32.0}, TypeError, "size"),
        ({"num_classes": 7}, ValueError, "num_classes"),
        ({"void_width": 5}, ValueError, "void_width"),
        ({"val_fraction": 0.9}, ValueError, "val_fraction"),
        ({"val_fraction": "0.2"}, TypeError, "val_fraction"),
        ({"seed": -1}, ValueError, "seed"),
        ({"rare_rate": 0.0}, ValueError, "rare_rate"),
        ({"noise": 2.0}, ValueError, "noise"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, error, name):
    with pytest.raises(error, match=f"`{name}`"):
        make_dataset(**kwargs)


def test_split_name_is_checked():
    with pytest.raises(ValueError, match="`name`"):
        make_dataset(scenes=20).split("test")
