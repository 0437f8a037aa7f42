"""app/state.py: typed page parameters ⇄ URL query parameters, presets, the registry."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from app import state
from app.params import GeometryParams, SortingParams
from app.state import param

MY_PAGES = tuple(state.PAGES)


@pytest.mark.parametrize("page", MY_PAGES)
def test_the_link_holds_every_parameter_even_at_its_default(page):
    fields = state.specs(state.PAGES[page].cls)
    query = state.view_query(page, state.PAGES[page].cls())
    assert sorted(query) == sorted(state.key(page, name) for name in fields)
    assert state.from_query(page, query) == (state.PAGES[page].cls(), [])


@pytest.mark.parametrize("page", MY_PAGES)
def test_every_preset_round_trips_through_the_url(page):
    for name, preset in state.PAGES[page].presets.items():
        query = state.view_query(page, preset)
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
            if kind is tuple:
                assert set(value) <= set(spec.options or ()), (name, value)
            elif spec.options is not None:
                assert value in spec.options
            if spec.lo is not None:
                assert spec.lo <= value <= spec.hi, (name, value)


def test_query_keys_are_prefixed_and_unique():
    keys = [state.key(p, f) for p in MY_PAGES for f in state.specs(state.PAGES[p].cls)]
    assert len(keys) == len(set(keys))
    assert state.key("sorting_errors", "k") == "se_k"


def test_values_are_encoded_as_text_and_a_preset_equal_to_a_default_is_kept():
    params = SortingParams(size=8, noise=0.0, absent=True, errors="hinge")
    query = state.view_query("sorting_errors", params)
    assert (query["se_size"], query["se_noise"], query["se_errors"], query["se_absent"]) == (
        "8",
        "0.0",
        "hinge",
        "true",
    )
    assert "se_noise=0.0" in state.query_string("sorting_errors", params)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("yes", True), ("1", True), ("on", True), ("off", False), ("0", False), (" true ", True)],
)
def test_every_spelling_the_validator_accepts_is_applied(raw, expected):
    params, problems = state.from_query("sorting_errors", {"se_absent": raw, "se_errors": " hinge"})
    assert problems == [] and params.absent is expected and params.errors == "hinge"


def test_options_match_without_regard_to_case():
    params, problems = state.from_query("sorting_errors", {"se_errors": "Hinge"})
    assert problems == [] and params.errors == "hinge"
    losses, problems = state.from_query("live_training", {"lt_losses": ["Dice", "CROSS_ENTROPY"]})
    assert problems == [] and losses.losses == ("dice", "cross_entropy")


def test_tuple_fields_are_repeated_parameters():
    @dataclass(frozen=True)
    class ChoiceParams:
        picks: tuple[str, ...] = param(("a",), "picks", options=("a", "b", "c"))

    try:
        state.register("choice_page", "ch", ChoiceParams)
        query = state.view_query("choice_page", ChoiceParams(picks=("c", "a")))
        assert query == {"ch_picks": ["c", "a"]}
        assert state.from_query("choice_page", {"ch_picks": ["b", "b", "a"]}) == (
            ChoiceParams(("b", "a")),
            [],
        )
        assert "expected values among" in state.from_query("choice_page", {"ch_picks": ["z"]})[1][0]
        assert state.query_string("choice_page", ChoiceParams(("a", "b"))) == "?ch_picks=a&ch_picks=b"
    finally:
        state.PAGES.pop("choice_page", None)


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
