"""One colour meaning for the whole app: classes, outcomes and losses never share a colour,
and no figure or page spells a colour outside app/palette.py."""

from __future__ import annotations

import re
from pathlib import Path

from app import palette

ROOT = Path(__file__).resolve().parents[2]
COLOUR_LITERAL = re.compile(r"[\"']#[0-9A-Fa-f]{3,8}[\"']|(?<!\w)rgba?\(")


def test_outcome_colours_are_never_class_colours():
    outcomes = {palette.TRUE_POSITIVE_COLOR, palette.FALSE_POSITIVE_COLOR, palette.FALSE_NEGATIVE_COLOR}
    assert len(outcomes) == 3
    assert not outcomes & set(palette.CLASS_COLORS)
    assert not outcomes & set(palette.LOSS_COLORS.values())


def test_loss_colours_are_not_class_colours_and_are_distinct():
    losses = list(palette.LOSS_COLORS.values())
    assert len(set(losses)) == len(losses)
    assert not set(losses) & set(palette.CLASS_COLORS)


def test_class_colours_are_distinct_and_cycle():
    assert len(set(palette.CLASS_COLORS)) == len(palette.CLASS_COLORS)
    assert palette.class_color(len(palette.CLASS_COLORS)) == palette.class_color(0)


def test_every_class_an_upload_may_have_gets_its_own_colour_and_none_is_void_grey():
    from lovasz_core.lab.uploads import MAX_CLASSES

    colours = [palette.class_color(c) for c in range(MAX_CLASSES)]
    assert len(set(colours)) == MAX_CLASSES
    assert palette.VOID_COLOR not in colours


def test_no_colour_literal_outside_the_palette():
    offenders = []
    for path in [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("pages").glob("*.py")]:
        if path.name == "palette.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if COLOUR_LITERAL.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "colour literals outside app/palette.py:\n" + "\n".join(offenders)
