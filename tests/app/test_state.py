"""app/state.py: typed page parameters ⇄ URL query parameters, presets, the registry."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from app import state
from app.params import GeometryParams, SortingParams
from app.state import param

MY_PAGES = ("home", "iou_jaccard", "sorting_errors", "geometry")


@pytest.mark.parametrize("page", MY_PAGES)
def test_defaults_give_an_empty_query(page):
    assert state.to_query(page, state.PAGES[page].cls()) == {}
    assert state.query_string(page, state.PAGES[page].cls()) == ""


@pytest.mark.parametrize("page", MY_PAGES)
def test_every_preset_round_trips_through_the_url(page):
    for name, preset in state.PAGES[page].presets.items():
        query = state.to_query(page, preset)
        restored, problems = state.from_query(page, query)
        assert problems == [], (name, problems)
        assert restored == preset, name


@pytest.mark.parametrize("page", MY_PAGES)
def test_defaults_and_presets_respect_their_bounds(page):
    entry = state.PAGES[page]
    for preset in [entry.cls(), *entry.presets.values()]:
        for name, (spec, _, kind) in state.specs(entry.cls).items():
            value = getattr(preset, name)
            assert isinstance(value, kind), (name, value)
            if spec.options is not None:
                assert value in spec.options
            if spec.lo is not None:
                assert spec.lo <= value <= spec.hi, (name, value)


def test_query_keys_are_prefixed_and_unique():
    keys = [state.key(p, f) for p in MY_PAGES for f in state.specs(state.PAGES[p].cls)]
    assert len(keys) == len(set(keys))
    assert state.key("sorting_errors", "k") == "se_k"


def test_values_are_encoded_like_streamlit_binds_them():
    params = SortingParams(size=8, noise=0.25, absent=True, errors="hinge")
    assert state.to_query("sorting_errors", params) == {
        "se_size": "8",
        "se_noise": "0.25",
        "se_errors": "hinge",
        "se_absent": "true",
    }
    assert state.query_string("sorting_errors", params).startswith("?se_size=8&")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"se_size": "abc"}, "expected a number"),
        ({"se_size": "99"}, "expected a value in"),
        ({"se_size": "7.5"}, "expected an integer"),
        ({"se_absent": "maybe"}, "true or false"),
        ({"se_errors": "l2"}, "expected one of"),
        ({"se_noise": "nan"}, "finite"),
        ({"se_bogus": "1"}, "not a parameter"),
    ],
)
def test_malformed_values_fall_back_to_defaults_with_a_message(raw, message):
    params, problems = state.from_query("sorting_errors", raw)
    assert params == SortingParams()
    assert len(problems) == 1 and message in problems[0]


def test_from_query_accepts_lists_and_other_pages_keys():
    params, problems = state.from_query("sorting_errors", {"se_k": ["3", "5"], "ij_size": "9"})
    assert params.k == 5 and problems == []


def test_adding_a_page_is_one_dataclass_and_one_register_call():
    @dataclass(frozen=True)
    class DemoParams:
        n: int = param(3, "n", lo=0, hi=9, step=1)
        on: bool = param(False, "on")

    try:
        state.register("demo_page", "demo", DemoParams, {"Big": DemoParams(n=9)})
        assert state.key("demo_page", "n") == "demo_n"
        assert state.from_query("demo_page", {"demo_n": "9"})[0] == state.PAGES["demo_page"].presets["Big"]
        with pytest.raises(ValueError, match="prefix"):
            state.register("other", "demo", DemoParams)
    finally:
        state.PAGES.pop("demo_page", None)


def test_specs_expose_label_bounds_and_type():
    spec, default, kind = state.specs(GeometryParams)["m1"]
    assert (spec.lo, spec.hi, default, kind) == (0.0, 1.0, 0.7, float)
    assert all(f.metadata.get("spec") for f in dataclasses.fields(SortingParams))
