"""Input checks shared by every public function of :mod:`lovasz_core`.

Each helper raises :class:`TypeError` (wrong kind of object or dtype) or :class:`ValueError`
(wrong shape, range or value) with a message that names the argument, what was expected and
what was received, so that a user (or the app) can show it as is.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import TypeGuard

import numpy as np
import torch
from torch import Tensor

_INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def check_tensor(name: str, value: object) -> Tensor:
    """Return ``value`` if it is a non-empty dense (strided) tensor with data, else raise."""
    if not isinstance(value, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(value).__name__}")
    if value.is_nested:
        raise TypeError(f"`{name}` must be a dense (strided) tensor, got a nested tensor")
    if value.layout != torch.strided:
        raise TypeError(f"`{name}` must be a dense (strided) tensor, got layout {value.layout}")
    if value.is_meta:
        raise ValueError(f"`{name}` must be on a device that holds data (cpu, cuda), got device meta")
    if value.numel() == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(value.shape)}")
    return value


def check_floating(name: str, value: Tensor) -> None:
    """Require a floating-point dtype (half, bfloat16, float32 or float64)."""
    if not value.is_floating_point():
        raise TypeError(
            f"`{name}` must be a floating-point tensor (float16/bfloat16/float32/float64), "
            f"got dtype {value.dtype}"
        )


def check_finite(name: str, value: Tensor) -> None:
    """Reject NaN and ±inf, which would silently poison a sort-based loss.

    One ``aminmax`` pass (NaN propagates to both ends, ±inf shows at one), ~10× cheaper than
    ``isfinite().all()`` on the CPU.
    """
    lo, hi = torch.aminmax(value.detach())
    if not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        raise ValueError(f"`{name}` must be finite, but it contains NaN or inf values")


def integer_labels(name: str, value: Tensor, check_values: bool = True) -> Tensor:
    """Labels as class indices: integer and bool tensors as they are; a floating-point tensor
    holding whole numbers (a mask loaded as float) as int64. ``check_values=False`` skips the
    data-dependent check that the floats are whole (under ``torch.compile`` and ``torch.func``)."""
    if not value.is_floating_point():
        check_integer_labels(name, value)
        return value
    if check_values:
        lo, hi = torch.aminmax(value.detach())
        if not (math.isfinite(float(lo)) and math.isfinite(float(hi))) or not bool(
            (value == value.round()).all()
        ):
            raise ValueError(
                f"`{name}` must hold class indices; a floating-point `{name}` must hold whole "
                f"numbers, got values such as {_first_fraction(value)}"
            )
        if float(lo) < -(2.0**63) or float(hi) >= 2.0**63:
            raise ValueError(
                f"`{name}` must hold int64 class indices, got values in [{float(lo)}, {float(hi)}]"
            )
    return value.to(torch.int64)


def _first_fraction(value: Tensor) -> float:
    """The first element of ``value`` that is not a whole number (NaN and ±inf included)."""
    flat = value.detach().reshape(-1)
    bad = ~torch.isfinite(flat) | (flat != flat.round())
    return float(flat[bad][0])


def check_integer_labels(name: str, value: Tensor) -> None:
    """Labels are class indices: an integer or boolean tensor."""
    if value.dtype not in _INTEGER_DTYPES and value.dtype != torch.bool:
        raise TypeError(
            f"`{name}` must be an integer (or bool) tensor of class indices, got dtype {value.dtype}"
        )


def check_same_device(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    if a.device != b.device:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must be on the same device, got {a.device} and {b.device}"
        )


def check_ndim(name: str, value: Tensor, expected: str, min_dim: int, max_dim: int) -> None:
    if not min_dim <= value.dim() <= max_dim:
        raise ValueError(f"`{name}` must have shape {expected}, got shape {tuple(value.shape)}")


def check_shape(name: str, value: Tensor, shape: Sequence[int], expected: str) -> None:
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"`{name}` must have shape {expected} = {tuple(shape)}, got {tuple(value.shape)}")


def is_integer(value: object) -> TypeGuard[int]:
    """True for Python and numpy integers (``numbers.Integral``), False for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_ignore_index(ignore_index: object) -> int | None:
    """``ignore_index`` is ``None`` or an integer (255 is the usual void label)."""
    if ignore_index is None:
        return None
    if not is_integer(ignore_index):
        raise TypeError(f"`ignore_index` must be an int or None, got {type(ignore_index).__name__}")
    return int(ignore_index)


def representable(dtype: torch.dtype, value: int) -> bool:
    """True if an integer (or bool) tensor of ``dtype`` can hold ``value`` exactly."""
    if dtype == torch.bool:
        return value in (0, 1)
    info = torch.iinfo(dtype)
    return info.min <= value <= info.max


def valid_mask(labels: Tensor, ignore_index: int | None) -> Tensor | None:
    """Boolean mask of the labels that count, or ``None`` when nothing is ignored.

    An ``ignore_index`` that the label dtype cannot hold (256 for uint8, -1 for uint8, 2**40 for
    int32) matches no label: it is never converted to the label dtype, where it would wrap.
    """
    if ignore_index is None or not representable(labels.dtype, ignore_index):
        return None
    return labels != ignore_index


def check_label_range(
    name: str, labels: Tensor, low: int, high: int, valid: Tensor | None, what: str
) -> None:
    """Every label that is not ignored must lie in ``[low, high]``."""
    kept = labels if valid is None else labels[valid]
    if kept.numel() == 0:
        return
    lo, hi = int(kept.min()), int(kept.max())
    if lo < low or hi > high:
        raise ValueError(
            f"`{name}` must hold {what} in [{low}, {high}] (or ignore_index), got values in [{lo}, {hi}]"
        )


def check_probability_range(name: str, value: Tensor, tolerance: float = 1e-3) -> None:
    """Probabilities must lie in [0, 1] (a small tolerance absorbs half-precision rounding)."""
    lo, hi = torch.aminmax(value.detach())
    if float(lo) < -tolerance or float(hi) > 1 + tolerance:
        raise ValueError(
            f"`{name}` must hold probabilities in [0, 1] (did you pass logits? use "
            f"from_logits=True or softmax first), got values in [{float(lo):.4g}, {float(hi):.4g}]"
        )


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """``value`` must be one of the strings ``choices`` (a registry key, a mode, a model name…)."""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}")
    return value


def check_bool_flag(name: str, value: object) -> bool:
    """A Python or NumPy bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool (or numpy.bool_), got {type(value).__name__}")
    return bool(value)
