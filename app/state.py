"""The machinery behind every page's parameters: params ⇄ widgets ⇄ URL, presets, the registry.

How it fits together:

- A page's parameters are a frozen dataclass (declared in :mod:`app.params`) whose fields carry a
  :class:`ParamSpec` (label, bounds, options) through :func:`param`. Every widget of a page is made
  from that spec by :func:`app.widgets.control`, keyed ``"<prefix>_<field>"``: the key is also
  the query-parameter name.
- :data:`PAGES` registers each page once (:func:`register`): its dataclass, URL prefix, presets.
- **The address bar always holds the whole view.** Streamlit's own ``bind="query-params"`` drops a
  value equal to the widget's default and ignores values it cannot parse, so a link would not
  restore the view it was copied from. Instead, :func:`sync_from_url` (top of a page, before any
  widget) applies a link that arrived from outside (a new tab, a lesson step, a pasted address)
  to every control, reporting what it could not use; :func:`publish` (after the widgets) writes
  every parameter of the page back into the address bar and remembers the view for the next visit.
  :func:`view_query` is the one encoding used by both the address bar and "Link to this view".
- The pure half (:func:`view_query`, :func:`from_query`, :func:`query_string`, :func:`parse_value`)
  never touches Streamlit and is unit-tested.
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
    hints = {"int": int, "float": float, "bool": bool, "str": str, "tuple[str, ...]": tuple}
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

QueryValue = str | list[str]


def format_value(value: Any) -> QueryValue:
    """Encode one value for the URL: ``true``/``false``, ints, floats, strings; a tuple of
    options becomes repeated parameters (a list)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, tuple | list):
        return [str(v) for v in value]
    return str(value)


def _option(text: str, options: Sequence[str] | None) -> str | None:
    """The option ``text`` names, matched without regard to case (``Dice`` is ``dice``)."""
    if options is None:
        return text
    if text in options:
        return text
    folded = {option.casefold(): option for option in options}
    return folded.get(text.casefold())


def _parse_choices(raw: Sequence[str], spec: ParamSpec) -> tuple[str, ...]:
    chosen: list[str] = []
    for item in raw:
        text = item.strip()
        if not text:
            continue
        option = _option(text, spec.options)
        if option is None:
            raise ValueError(f"expected values among {', '.join(spec.options or ())}, got {item!r}")
        if option not in chosen:
            chosen.append(option)
    return tuple(chosen)


def parse_value(raw: str | Sequence[str], spec: ParamSpec, kind: type) -> Any:
    """Decode one URL value (the last one given, or all of them for a tuple field); raise
    ValueError with a readable reason if it is malformed."""
    if kind is tuple:
        return _parse_choices([raw] if isinstance(raw, str) else list(raw), spec)
    if not isinstance(raw, str):
        raw = raw[-1] if len(raw) else ""
    text = raw.strip()
    if kind is bool:
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if kind is str:
        option = _option(text, spec.options)
        if option is None:
            raise ValueError(f"expected one of {', '.join(spec.options or ())}, got {raw!r}")
        return option
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


def view_query(page: str, params: Any) -> dict[str, QueryValue]:
    """Every parameter of ``page`` as query parameters: the link that restores this exact view."""
    return {key(page, name): format_value(getattr(params, name)) for name in specs(PAGES[page].cls)}


def from_query(page: str, query: Mapping[str, str | Sequence[str]]) -> tuple[Any, list[str]]:
    """The view a link describes: its values, the defaults for fields it leaves out, and one
    message per value it could not use (a malformed value, or a key this page does not have)."""
    entry = PAGES[page]
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, (spec, _default, kind) in specs(entry.cls).items():
        url_key = key(page, name)
        if url_key not in query:
            continue
        raw = query[url_key]
        try:
            values[name] = parse_value(raw if isinstance(raw, str) else list(raw), spec, kind)
        except ValueError as error:
            problems.append(f"{url_key} ({spec.label}): {error}; using the default instead.")
    known = {key(page, n) for n in specs(entry.cls)}
    for url_key in query:
        if url_key.startswith(f"{entry.prefix}_") and url_key not in known:
            problems.append(f"{url_key!r} is not a parameter of this page; it is ignored.")
    return entry.cls(**values), problems


def query_string(page: str, params: Any) -> str:
    """``"?se_scene=disks&se_size=16&…"``: every parameter of the view."""
    return "?" + urlencode(view_query(page, params), doseq=True)


def page_of_key(query_key: str) -> str | None:
    """The registered page whose prefix the query key carries, if any."""
    for name, entry in PAGES.items():
        if query_key.startswith(f"{entry.prefix}_"):
            return name
    return None


# ------------------------------------------------------------------------------------------
# Streamlit side

_PUBLISHED = "_url_published_{}"  # the page's query, as last written into the address bar
_SAVED = "_view_saved_{}"  # the page's parameters when it was last shown
_PROBLEMS = "_url_problems_{}"  # what the last link could not use
_LINKED = "_url_linked_{}"  # {field: value} the last link asked for


def _page_query(page: str) -> dict[str, list[str]]:
    prefix = f"{PAGES[page].prefix}_"
    return {k: st.query_params.get_all(k) for k in st.query_params if k.startswith(prefix)}


def _normalized(query: Mapping[str, QueryValue]) -> dict[str, list[str]]:
    return {k: [v] if isinstance(v, str) else list(v) for k, v in query.items()}


def sync_from_url(page: str) -> None:
    """Before the page's widgets: make every control of ``page`` hold the view to show.

    A link that arrived from outside (its page parameters differ from what this session last
    wrote into the address bar) sets every control: its values, the defaults where it is silent,
    and a message for each value it could not use (:func:`url_problems`). Otherwise each control
    keeps its value, or gets back the one it had when the page was last shown (Streamlit forgets
    the values of widgets that were not drawn), or its default.
    """
    session = st.session_state
    query = _page_query(page)
    published = session.get(_PUBLISHED.format(page))
    if query and query != published:
        params, problems = from_query(page, query)
        for name in specs(PAGES[page].cls):
            session[key(page, name)] = getattr(params, name)
        session[_PROBLEMS.format(page)] = problems
        session[_LINKED.format(page)] = {
            name: getattr(params, name) for name in specs(PAGES[page].cls) if key(page, name) in query
        }
        return
    session[_PROBLEMS.format(page)] = []
    session[_LINKED.format(page)] = {}
    saved = session.get(_SAVED.format(page), PAGES[page].cls())
    for name in specs(PAGES[page].cls):
        session.setdefault(key(page, name), getattr(saved, name))


def publish(page: str) -> None:
    """After the page's widgets: write every parameter into the address bar (and only this page's),
    and remember the view for the next visit to the page."""
    params = current(page)
    st.session_state[_SAVED.format(page)] = params
    wanted = _normalized(view_query(page, params))
    for query_key in list(st.query_params):
        owner = page_of_key(query_key)
        if owner is not None and query_key not in wanted:
            del st.query_params[query_key]
    for query_key, values in wanted.items():
        if st.query_params.get_all(query_key) != values:
            st.query_params[query_key] = values if len(values) != 1 else values[0]
    st.session_state[_PUBLISHED.format(page)] = wanted


def linked_value(page: str, name: str) -> Any | None:
    """The value the last link asked for field ``name`` (None if the link did not set it)."""
    return st.session_state.get(_LINKED.format(page), {}).get(name)


def current(page: str) -> Any:
    """The page's parameters now: widget values from ``st.session_state``, defaults elsewhere."""
    entry = PAGES[page]
    values = {}
    for name, (_, _, kind) in specs(entry.cls).items():
        state_key = key(page, name)
        if state_key in st.session_state:
            value = st.session_state[state_key]
            values[name] = tuple(value) if kind is tuple else value
    return entry.cls(**values)


def apply_preset(page: str, preset: str) -> None:
    """Set every widget of ``page`` to the preset's values (call from a callback, before widgets)."""
    params = PAGES[page].presets[preset]
    for name, (_, _, kind) in specs(PAGES[page].cls).items():
        value = getattr(params, name)
        st.session_state[key(page, name)] = list(value) if kind is tuple else value


def url_problems(page: str) -> list[str]:
    """What the link that opened ``page`` could not use (found by :func:`sync_from_url`)."""
    return list(st.session_state.get(_PROBLEMS.format(page), []))
