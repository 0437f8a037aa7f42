"""Each page's parameters as one typed, frozen dataclass, bound to the URL and to named presets.

How it fits together:

- A page's parameters are a dataclass whose fields carry a :class:`ParamSpec` (label, bounds,
  options) through :func:`param`. Every widget of a page is made from that spec by
  :func:`app.widgets.control`, keyed ``"<prefix>_<field>"`` and bound to the URL
  (``bind="query-params"``), so the key *is* the query-parameter name and every view is a link.
- :data:`PAGES` registers each page once: its dataclass, URL prefix and presets.
  **Adding a page = one dataclass + one** :func:`register` **call.**
- The pure half (:func:`to_query`, :func:`from_query`, :func:`query_string`) never touches
  Streamlit and is unit-tested; the Streamlit half (:func:`current`, :func:`apply_preset`,
  :func:`url_problems`) reads and writes ``st.session_state`` / ``st.query_params``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from lovasz_core.shapes import SCENES, image_sources

# ------------------------------------------------------------------------------------------
# Field specs


@dataclass(frozen=True)
class ParamSpec:
    """What a widget needs to show one parameter and what a URL value must satisfy."""

    label: str
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    options: tuple[str, ...] | None = None
    help: str | None = None


def param(
    default: Any,
    label: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    step: float | None = None,
    options: Sequence[str] | None = None,
    help: str | None = None,
) -> Any:
    """A dataclass field with a :class:`ParamSpec` in its metadata."""
    spec = ParamSpec(label, lo, hi, step, tuple(options) if options else None, help)
    return field(default=default, metadata={"spec": spec})


def specs(cls: type) -> dict[str, tuple[ParamSpec, Any, type]]:
    """``{field name: (spec, default, type)}`` of a parameter dataclass, in declaration order."""
    hints = {"int": int, "float": float, "bool": bool, "str": str}
    out: dict[str, tuple[ParamSpec, Any, type]] = {}
    for f in dataclasses.fields(cls):
        kind = f.type if isinstance(f.type, type) else hints[str(f.type)]
        out[f.name] = (f.metadata["spec"], f.default, kind)
    return out


# ------------------------------------------------------------------------------------------
# The pages' parameters

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


# ------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class PageState:
    """One page's entry: its parameter dataclass, URL prefix and named presets."""

    name: str
    prefix: str
    cls: type
    presets: Mapping[str, Any]


PAGES: dict[str, PageState] = {}


def register(name: str, prefix: str, cls: type, presets: Mapping[str, Any] | None = None) -> PageState:
    """Register a page (``name`` is its file stem); prefixes must be unique (they name URL keys)."""
    if any(p.prefix == prefix and p.name != name for p in PAGES.values()):
        raise ValueError(f"URL prefix {prefix!r} is already used by another page")
    entry = PageState(name, prefix, cls, dict(presets or {"Default": cls()}))
    PAGES[name] = entry
    return entry


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


def key(page: str, name: str) -> str:
    """Widget key and URL query-parameter name of field ``name`` of ``page``."""
    return f"{PAGES[page].prefix}_{name}"


# ------------------------------------------------------------------------------------------
# Pure URL (de)serialization


def format_value(value: Any) -> str:
    """Encode like Streamlit's query-param binding: ``true``/``false``, ints, floats, strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def parse_value(raw: str, spec: ParamSpec, kind: type) -> Any:
    """Decode one URL value; raise ValueError with a readable reason if it is malformed."""
    text = raw.strip()
    if kind is bool:
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if kind is str:
        if spec.options is not None and text not in spec.options:
            raise ValueError(f"expected one of {', '.join(spec.options)}, got {raw!r}")
        return text
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {raw!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {raw!r}")
    if kind is int:
        if number != int(number):
            raise ValueError(f"expected an integer, got {raw!r}")
        number = int(number)
    if (spec.lo is not None and number < spec.lo) or (spec.hi is not None and number > spec.hi):
        raise ValueError(
            f"expected a value in [{format_value(spec.lo)}, {format_value(spec.hi)}], got {raw!r}"
        )
    return number


def to_query(page: str, params: Any) -> dict[str, str]:
    """Query parameters of the fields that differ from their defaults (short, shareable links)."""
    out: dict[str, str] = {}
    for name, (_, default, _) in specs(PAGES[page].cls).items():
        value = getattr(params, name)
        if value != default:
            out[key(page, name)] = format_value(value)
    return out


def from_query(page: str, query: Mapping[str, str | Sequence[str]]) -> tuple[Any, list[str]]:
    """Parameters from a query mapping, plus one message per malformed value (which is ignored)."""
    entry = PAGES[page]
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, (spec, _default, kind) in specs(entry.cls).items():
        url_key = key(page, name)
        if url_key not in query:
            continue
        raw = query[url_key]
        raw = raw[-1] if isinstance(raw, list | tuple) else raw
        try:
            values[name] = parse_value(str(raw), spec, kind)
        except ValueError as error:
            problems.append(f"`{url_key}` ({spec.label}): {error}; using the default instead.")
    known = {key(page, n) for n in specs(entry.cls)}
    for url_key in query:
        if url_key.startswith(f"{entry.prefix}_") and url_key not in known:
            problems.append(f"`{url_key}` is not a parameter of this page; it is ignored.")
    return entry.cls(**values), problems


def query_string(page: str, params: Any) -> str:
    """``"?se_size=16&se_k=3"`` (or ``""`` for all defaults)."""
    query = to_query(page, params)
    return f"?{urlencode(query)}" if query else ""


# ------------------------------------------------------------------------------------------
# Streamlit side


def current(page: str) -> Any:
    """The page's parameters now: widget values from ``st.session_state``, defaults elsewhere."""
    entry = PAGES[page]
    values = {}
    for name in specs(entry.cls):
        state_key = key(page, name)
        if state_key in st.session_state:
            values[name] = st.session_state[state_key]
    return entry.cls(**values)


def apply_preset(page: str, preset: str) -> None:
    """Set every widget of ``page`` to the preset's values (call from a callback, before widgets)."""
    params = PAGES[page].presets[preset]
    for name in specs(PAGES[page].cls):
        st.session_state[key(page, name)] = getattr(params, name)


def url_problems(page: str) -> list[str]:
    """Messages about malformed URL parameters of ``page`` (Streamlit silently drops them)."""
    query = {k: st.query_params.get_all(k) for k in st.query_params}
    _, problems = from_query(page, query)
    return problems


# ------------------------------------------------------------------------------------------
# Pages "Gradients" (prefix ``gr``) and "Live training" (``lt``): their dataclasses and presets
# live in training_state.py, registered here so that ``PAGES`` always lists every page.

import training_state  # noqa: E402, F401
