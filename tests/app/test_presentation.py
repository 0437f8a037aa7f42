"""app/presentation.py: chart export config, text alternatives, projector sizes and CSS."""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest

from app.presentation import chart_config, figure_tables, scaled_height


def test_chart_config_sets_the_camera_button_format_and_filename():
    config = chart_config("Sorted errors (k = 3)", "svg")
    assert config["toImageButtonOptions"] == {
        "format": "svg",
        "filename": "lovasz_sorted_errors_k_3",
        "scale": 2,
    }
    assert config["displaylogo"] is False
    assert chart_config("x")["toImageButtonOptions"]["format"] == "png"
    with pytest.raises(ValueError, match="fmt"):
        chart_config("x", "pdf")


def test_figure_tables_lists_the_numbers_of_every_trace():
    fig = go.Figure(
        [
            go.Bar(x=[1, 2, 3], y=[0.5, 0.25, 0.1], name="errors"),
            go.Scatter(x=np.arange(1000), y=np.arange(1000) ** 2, name="curve"),
            go.Heatmap(z=np.arange(16).reshape(4, 4), name="map"),
            go.Heatmap(z=np.zeros((64, 64))),
        ]
    )
    tables = dict(figure_tables(fig, max_rows=50))
    assert tables["errors (bar)"]["y"].tolist() == [0.5, 0.25, 0.1]
    assert len(tables["curve (scatter): first 50 of 1000 points"]) == 50
    summary = tables["map (heatmap): summary"].iloc[0]
    assert (summary["shape"], summary["min"], summary["max"]) == ("4 × 4", 0.0, 15.0)
    assert tables["map (heatmap): values (rows × columns)"].shape == (4, 4)
    assert "heatmap 4 (heatmap): summary" in tables
    assert "heatmap 4 (heatmap): values (rows × columns)" not in tables  # too large to list


def test_figure_tables_skip_invisible_click_layers():
    fig = go.Figure(
        [
            go.Scatter(x=[0, 1], y=[0, 1], name="pixels", marker={"color": "rgba(0,0,0,0)"}),
            go.Scatter(x=[0], y=[0], name="hidden", marker={"opacity": 0}),
            go.Bar(x=[0, 1], y=[1, 2], name="faded", marker={"opacity": [1.0, 0.3]}),
            go.Scatter(x=[0, 1], y=[2, 3], name="curve"),
        ]
    )
    assert [title for title, _ in figure_tables(fig)] == ["faded (bar)", "curve (scatter)"]


def test_figure_tables_of_an_empty_figure():
    assert figure_tables(go.Figure()) == []


def test_projector_heights_are_larger():
    assert scaled_height(400, False) == 400
    assert scaled_height(400, True) > 400


def test_projector_figure_is_a_taller_copy_with_larger_text():
    from app.presentation import projector_figure

    fig = go.Figure(go.Bar(x=[1], y=[2]), layout={"height": 300})
    big = projector_figure(fig)
    assert big.layout.height > 300 and big.layout.font.size > 12
    assert fig.layout.height == 300 and fig.layout.font.size is None  # the original is untouched


def test_projector_figure_enlarges_every_text_streamlit_sizes_on_its_own():
    """Streamlit's chart theme sets ticks, axis titles and legends to 12–14 px, out of the
    layout font's reach: the projector copy sets each of them, and titles and notes, larger."""
    from app.presentation import PROJECTOR_FONT_STEP, projector_figure

    fig = go.Figure(
        [go.Scatter(x=[1], y=[2], name="a"), go.Heatmap(z=[[1, 2]], coloraxis="coloraxis")],
        layout={"font": {"size": 14}, "title": {"text": "T", "font": {"size": 16}}},
    )
    fig.add_annotation(text="panel title", font={"size": 14}, x=0, y=1, showarrow=False)
    fig.add_annotation(text="follows the layout font", x=0, y=0, showarrow=False)
    big = projector_figure(fig)
    size = 14 + PROJECTOR_FONT_STEP
    assert big.layout.font.size == size
    assert big.layout.xaxis.tickfont.size == big.layout.yaxis.tickfont.size == size - 2 > 12
    assert big.layout.xaxis.title.font.size == big.layout.yaxis.title.font.size == size > 14
    assert big.layout.legend.font.size == size - 2
    assert big.layout.coloraxis.colorbar.tickfont.size == size - 2
    assert big.layout.title.font.size == 16 + PROJECTOR_FONT_STEP
    assert [note.font.size for note in big.layout.annotations] == [14 + PROJECTOR_FONT_STEP, None]
    assert fig.layout.xaxis.tickfont.size is None and fig.layout.annotations[0].font.size == 14  # a copy
    plain = projector_figure(go.Figure(go.Bar(x=[1], y=[2])))
    assert plain.layout.coloraxis.to_plotly_json() == {}  # no colour axis made up


def test_projector_figure_keeps_the_height_of_a_3d_scene():
    """plotly sizes a 3-D scene by the plot's height: taller would cut it off in a narrow column."""
    from app.presentation import projector_figure

    fig = go.Figure(go.Surface(z=[[0, 1], [1, 2]]), layout={"height": 560})
    fig.update_layout(scene_camera_eye={"x": 2.0, "y": -2.1, "z": 1.0})
    big = projector_figure(fig)
    assert big.layout.height == 560 and big.layout.font.size > 12
    # the larger titles get room: the camera stands farther on the same line of sight
    eye = big.layout.scene.camera.eye
    ratio = eye.x / 2.0
    assert ratio > 1 and eye.y == pytest.approx(-2.1 * ratio) and eye.z == pytest.approx(1.0 * ratio)
    assert fig.layout.scene.camera.eye.x == 2.0  # the original is untouched
    default = projector_figure(go.Figure(go.Surface(z=[[0, 1], [1, 2]]))).layout.scene.camera.eye
    assert default.x == default.y == default.z > 1.25  # plotly's default eye, moved back
    assert big.layout.xaxis.to_plotly_json() == {}  # no 2-D axes drawn over the scene


def _font_rem(css: str, selector: str) -> float:
    """The ``font-size`` (in rem) of the first rule of ``css`` whose selector list ends with ``selector``."""
    match = re.search(re.escape(selector) + r"\s*\{[^}]*font-size:\s*([\d.]+)rem", css)
    assert match, f"no font-size for {selector}"
    return float(match.group(1))


def test_projector_metric_values_are_at_least_as_large_as_their_labels():
    from app.presentation import PROJECTOR_CSS

    value = _font_rem(PROJECTOR_CSS, '[data-testid="stMetricValue"] p')
    label = _font_rem(PROJECTOR_CSS, '[data-testid="stMetricLabel"] p')
    text = _font_rem(PROJECTOR_CSS, '[data-testid="stMarkdownContainer"] li')
    assert value >= label and value >= text


def test_layout_css_lets_labels_and_formulas_wrap_in_every_mode():
    from app.presentation import LAYOUT_CSS, PROJECTOR_CSS

    assert '[data-testid="stMetricLabel"] p' in LAYOUT_CSS and "white-space: normal" in LAYOUT_CSS
    assert '[data-testid^="stBaseButton"] p' in LAYOUT_CSS
    assert ".katex-display > .katex" in LAYOUT_CSS
    # the app shell's tests tell projector mode apart by this phrase of the projector CSS alone
    assert "Projector mode" in PROJECTOR_CSS and "Projector mode" not in LAYOUT_CSS


def _styled_page() -> None:
    import streamlit as st

    from app import presentation

    st.toggle("Projector mode", key=presentation.PROJECTOR_KEY)
    presentation.apply_style()


def test_apply_style_adds_the_projector_css_only_in_projector_mode():
    from streamlit.testing.v1 import AppTest

    from app.presentation import LAYOUT_CSS, PROJECTOR_CSS

    at = AppTest.from_function(_styled_page).run()
    bodies = [h.proto.body.strip() for h in at.get("html")]
    assert bodies == [LAYOUT_CSS.strip()]
    at.toggle(key="projector").set_value(True).run()
    assert not at.exception
    bodies = [h.proto.body.strip() for h in at.get("html")]
    assert bodies == [LAYOUT_CSS.strip(), PROJECTOR_CSS.strip()]
