"""A preset sets every control of its page, whatever was shown before; the address bar then holds
the whole view, and opening that address shows the same view with no warning."""

from __future__ import annotations

import pytest

from app import params, state  # noqa: F401  (params registers every page)

from ..app_harness import assert_no_exception, run_page

PAGES_WITH_PRESETS = [name for name, entry in state.PAGES.items() if len(entry.presets) > 1]


def _cases() -> list[tuple[str, str, str]]:
    """Every preset P of every page, chosen after another preset Q (the next one in the list)."""
    cases = []
    for page in PAGES_WITH_PRESETS:
        names = list(state.PAGES[page].presets)
        cases += [(page, name, names[(i + 1) % len(names)]) for i, name in enumerate(names)]
    return cases


CASES = _cases()


def _shown(at, page: str) -> dict:
    values = {}
    for name, (_, _, kind) in state.specs(state.PAGES[page].cls).items():
        value = at.session_state[state.key(page, name)]
        values[name] = tuple(value) if kind is tuple else value
    return values


def _address(at) -> dict[str, list[str]]:
    return {k: (v if isinstance(v, list) else [v]) for k, v in at.query_params.items()}


def _choose(at, page: str, preset: str) -> None:
    at.selectbox(key=f"_{state.PAGES[page].prefix}_preset").set_value(preset).run()
    assert_no_exception(at)


@pytest.mark.parametrize(("page", "preset", "before"), CASES)
def test_a_preset_after_another_equals_the_preset_alone(page, preset, before):
    expected = state.PAGES[page].presets[preset]
    at = run_page(f"{page}.py")
    _choose(at, page, before)
    _choose(at, page, preset)
    assert _shown(at, page) == {name: getattr(expected, name) for name in state.specs(expected.__class__)}
    wanted = {k: (v if isinstance(v, list) else [v]) for k, v in state.view_query(page, expected).items()}
    address = _address(at)
    assert {k: address.get(k) for k in wanted} == wanted

    reopened = run_page(f"{page}.py", {k: v if len(v) > 1 else v[0] for k, v in address.items()})
    assert _shown(reopened, page) == _shown(at, page)
    assert not [w.value for w in reopened.warning if "link" in w.value.lower()]
