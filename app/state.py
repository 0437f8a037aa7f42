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
