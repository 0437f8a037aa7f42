"""AppTest runs of Home and the three "Understand" pages: defaults, edge parameters, URL round
trips, presets, and the numbers each page shows."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

from app import state
from app.params import IouJaccardParams
from lovasz_core import per_class_iou
from lovasz_core.lab.predictions import PredictionSpec, make_logits
from lovasz_core.lab.shapes import ground_truth, make_scene
from lovasz_core.lab.views.geometry import geometry_view, point_label
from lovasz_core.lab.views.home import home_view
from lovasz_core.lab.views.iou_jaccard import iou_view

from ..app_harness import assert_no_exception, run_page


def metric(at, label_start: str) -> str:
    for m in at.metric:
        if m.label.startswith(label_start):
            return m.value
    raise AssertionError(f"no metric {label_start!r} in {[m.label for m in at.metric]}")


def plotly_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def decode(array) -> list:
    """A plotly JSON array: a list, or ``{"dtype", "bdata"}`` (base64 typed array)."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


def texts(at, kind: str) -> str:
    """The text of every element of ``kind``, as the reader sees it (Markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(e.value for e in getattr(at, kind)))


# -- Home ----------------------------------------------------------------------------------


def test_home_defaults():
    at = run_page("home.py")
    assert_no_exception(at)
    assert at.title[0].value == "Lovász-Softmax, explained"
    assert len(at.get("page_link")) == 6
    assert len(plotly_specs(at)) == 2
    assert "CPU" in texts(at, "caption") or "CUDA" in texts(at, "caption")


def test_home_offset_moves_the_marker():
    at = run_page("home.py", {"h_offset": "2.5"})
    assert_no_exception(at)
    assert at.slider(key="h_offset").value == 2.5
    assert plotly_specs(at)[0]["layout"]["shapes"][0]["x0"] == 2.5


@pytest.mark.parametrize("offset", [0.0, -1.5, 3.0])
def test_home_numbers_are_the_view_s(offset):
    at = run_page("home.py", {"h_offset": str(offset)})
    assert_no_exception(at)
    view = home_view(offset)
    captions = texts(at, "caption")
    assert f"changes at {view.jumps} values of b only" in captions
    assert f"lowest at b = {view.lovasz_best_offset:+.2f}" in captions
    assert f"({view.best_jaccard:.3f}, b ≈ {view.best_offset:+.2f})" in captions
    assert f"1 − IoU = {view.jaccard_at:.3f}, Lovász loss = {view.lovasz_at:.3f}" in captions
    assert "bends both ways" in captions and not view.lovasz_convex_in_b
    stairs = plotly_specs(at)[0]["data"][0]
    assert stairs["line"]["shape"] == "hv" and np.allclose(decode(stairs["x"]), view.step_x)


def test_home_says_convex_in_the_errors_m():
    at = run_page("home.py")
    assert "convex in the errors m" in texts(at, "markdown")
    assert "convex in the errors m" in texts(at, "caption")


def test_home_device_line_ignores_the_torch_thread_count():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # as a training run on another page may leave it
        at = run_page("home.py")
    finally:
        torch.set_num_threads(threads)
    assert_no_exception(at)
    captions = texts(at, "caption")
    assert "torch threads" not in captions
    assert home_view(0.0).device in captions


# -- IoU and the Jaccard loss --------------------------------------------------------------


def test_iou_default_numbers_match_the_core():
    at = run_page("iou_jaccard.py")
    assert_no_exception(at)
    labels = make_scene("disks", 24, 3, 0)
    logits = make_logits(labels, 3, PredictionSpec(shift_x=2.0, shift_y=1.0, noise=0.5))
    ious = per_class_iou(logits.argmax(0), labels, 3)
    assert metric(at, "IoU of class 1") == f"{float(ious[1]):.3f}"
    assert metric(at, "Mean IoU") == f"{float(ious.mean()):.3f}"
    intersection = int(((labels == 1) & (logits.argmax(0) == 1)).sum())
    assert metric(at, "Intersection") == str(intersection)
    assert len(plotly_specs(at)) == 6  # truth, prediction, overlay, IoU bars, staircase and its zoom


def test_iou_perfect_prediction_preset():
    at = run_page("iou_jaccard.py")
    at.selectbox(key="_ij_preset").select("Perfect prediction").run()
    assert_no_exception(at)
    assert at.slider(key="ij_shift_x").value == 0.0
    assert metric(at, "IoU of class 1") == "1.000"
    assert metric(at, "Mean IoU") == "1.000"


def test_iou_shift_slider_changes_the_intersection():
    at = run_page("iou_jaccard.py")
    before = metric(at, "Intersection")
    at.slider(key="ij_shift_x").set_value(-6.0).run()
    assert_no_exception(at)
    assert metric(at, "Intersection") != before


def _iou_view_of(params) -> object:
    labels, _ = ground_truth(params.scene, params.size, params.classes, params.seed)
    classes = max(params.classes, int(labels.max()) + 1)
    spec = PredictionSpec(
        params.shift_x, params.shift_y, params.scale, params.noise, params.temp, seed=params.seed
    )
    return iou_view(labels.numpy(), classes, spec, min(params.cls, classes - 1), params.offset)


def test_iou_staircase_is_flat_almost_everywhere():
    at = run_page("iou_jaccard.py", {"ij_noise": "0", "ij_size": "16"})
    wide, zoom = plotly_specs(at)[-2:]
    assert wide["data"][0]["line"]["shape"] == "hv" and zoom["data"][0]["line"]["shape"] == "hv"
    view = _iou_view_of(IouJaccardParams(noise=0.0, size=16))
    assert np.allclose(decode(wide["data"][0]["x"]), view.step_x)
    assert view.flat_fraction > 0.5
    assert f"unchanged over {view.flat_fraction:.0%} of the steps" in texts(at, "caption")


IOU_PRESETS = list(state.PAGES["iou_jaccard"].presets.items())


@pytest.mark.parametrize(("name", "params"), IOU_PRESETS, ids=[n for n, _ in IOU_PRESETS])
def test_iou_presets_set_every_control_and_the_texts_match_the_view(name, params):
    at = run_page("iou_jaccard.py")
    at.selectbox(key="_ij_preset").select(name).run()
    assert_no_exception(at)
    for field, value in vars(params).items():
        assert at.session_state[state.key("iou_jaccard", field)] == value, field
    view = _iou_view_of(params)
    cls = params.cls
    captions = texts(at, "caption")
    assert f"changes only at the {view.jumps} values of b" in captions
    assert f"({view.zoom_jumps or 'none'} in the zoom)" in captions
    assert f"unchanged over {view.flat_fraction:.0%} of the steps" in captions
    assert view.flat_fraction > 0.5  # "flat in between": constant on most sampled b
    assert metric(at, "Mean IoU") == (f"{view.mean_iou:.3f}" if not np.isnan(view.mean_iou) else "undefined")
    latex = texts(at, "latex")
    assert f"frac{{{view.num_mispredicted}}}{{{view.union}}} = {view.delta:.4f}" in latex
    bars = plotly_specs(at)[3]
    assert not bars["layout"].get("annotations")
    assert [t.get("name") for t in bars["data"]][1] == f"mean IoU {view.mean_iou:.3f}"
    assert f"M_{{{cls}}}" in captions


@pytest.mark.parametrize(
    ("query", "warning"),
    [
        ({"ij_size": "1"}, "too small"),
        (
            {"ij_scene": "rare", "ij_classes": "5", "ij_size": "4", "ij_seed": "1", "ij_cls": "1"},
            "has no pixel",
        ),
        ({"ij_size": "banana"}, "not understood"),
        ({"ij_cls": "17"}, "not understood"),
    ],
)
def test_iou_edge_parameters_warn(query, warning):
    at = run_page("iou_jaccard.py", query)
    assert_no_exception(at)
    assert warning in texts(at, "warning")


@pytest.mark.parametrize(
    "query",
    [
        {"ij_size": "64", "ij_classes": "5", "ij_scene": "mixed"},
        {"ij_scene": "coins"},
        {"ij_scale": "1.5", "ij_noise": "4", "ij_temp": "0.25"},
        {"ij_cls": "0"},
    ],
)
def test_iou_other_settings_do_not_raise(query):
    at = run_page("iou_jaccard.py", query)
    assert_no_exception(at)
    assert not at.error


def test_iou_class_index_is_clamped_to_the_number_of_classes():
    at = run_page("iou_jaccard.py", {"ij_classes": "2", "ij_cls": "4"})
    assert_no_exception(at)
    assert at.slider(key="ij_cls").value <= 1


# -- Sorting errors ------------------------------------------------------------------------


def test_sorting_default_shows_the_facts():
    at = run_page("sorting_errors.py")
    assert_no_exception(at)
    assert len(plotly_specs(at)) == 6  # 4 maps, the rank panels, hinge vs softmax
    assert metric(at, r"$\sum_{i \le k^*} g_i$") == metric(at, "1 − IoU (thresholded)")
    assert metric(at, "Lovász extension at m̂") == metric(at, r"$\Delta_J(M)")
    k = at.slider(key="se_k").value
    assert k == 12
    i_k, u_k = int(metric(at, "$I_k")), int(metric(at, "$U_k"))
    assert metric(at, r"$\Delta_k") == f"{1 - i_k / u_k:.4f}"


def test_sorting_url_round_trip_and_share_link():
    query = {"se_size": "8", "se_k": "3", "se_errors": "hinge", "se_seed": "4"}
    at = run_page("sorting_errors.py", query)
    assert_no_exception(at)
    assert at.slider(key="se_size").value == 8
    assert at.slider(key="se_k").value == 3
    assert at.radio(key="se_errors").value == "hinge"
    link = at.code[-1].value
    for key, value in query.items():
        assert f"{key}={value}" in link


def test_sorting_step_buttons_and_k_bounds():
    at = run_page("sorting_errors.py", {"se_size": "8"})
    at.button(key="_se_next").click().run()
    assert at.slider(key="se_k").value == 13
    at.button(key="_se_last").click().run()
    assert at.slider(key="se_k").value == 64
    at.button(key="_se_next").click().run()
    assert at.slider(key="se_k").value == 64
    assert metric(at, "loss so far") == metric(at, "Lovász loss")
    at.button(key="_se_first").click().run()
    assert at.slider(key="se_k").value == 0
    assert_no_exception(at)


def test_sorting_play_button_toggles():
    at = run_page("sorting_errors.py")
    at.button(key="_se_play").click().run()
    assert_no_exception(at)
    assert at.button(key="_se_play").label == "Pause"
    at.button(key="_se_play").click().run()
    assert at.button(key="_se_play").label == "Play"


def test_sorting_jump_to_k_star():
    at = run_page("sorting_errors.py")
    at.button(key="_se_jump").click().run()
    assert str(at.slider(key="se_k").value) == metric(at, "k* = #{m > 0.5}")
    assert metric(at, r"$\Delta_k")[:4] == metric(at, "1 − IoU (thresholded)")[:4]


def test_sorting_absent_class_costs_its_largest_error():
    at = run_page("sorting_errors.py", {"se_absent": "true"})
    assert_no_exception(at)
    warning = texts(at, "warning")
    assert "absent from the ground truth" in warning
    assert metric(at, 'lovasz_softmax(classes="present")') != metric(at, 'lovasz_softmax(classes="all")')
    loss = metric(at, "Lovász loss")
    assert f"{loss} = max m = {loss}" in warning


def test_sorting_preset_sets_every_control():
    at = run_page("sorting_errors.py")
    at.selectbox(key="_se_preset").select("Tiny 8×8").run()
    assert_no_exception(at)
    assert at.slider(key="se_size").value == 8
    assert at.slider(key="se_k").value == 5


@pytest.mark.parametrize(
    "query",
    [
        {"se_size": "1"},
        {"se_size": "2", "se_classes": "5", "se_cls": "4"},
        {"se_size": "32", "se_k": "1024"},
        {"se_scene": "horse"},
        {"se_classes": "5", "se_cls": "4", "se_scene": "rare", "se_errors": "hinge"},
    ],
)
def test_sorting_edge_parameters_do_not_raise(query):
    at = run_page("sorting_errors.py", query)
    assert_no_exception(at)
    assert not at.error


def test_sorting_hinge_and_softmax_losses_are_both_shown():
    at = run_page("sorting_errors.py", {"se_errors": "hinge"})
    assert metric(at, "Lovász extension, hinge errors") == metric(at, "Lovász loss")
    at.radio(key="se_errors").set_value("softmax").run()
    assert metric(at, "Lovász extension, softmax errors") == metric(at, "Lovász loss")


def test_sorting_one_pixel_image_warns():
    at = run_page("sorting_errors.py", {"se_size": "1"})
    assert "only 1 pixel" in texts(at, "warning")


def test_sorting_malformed_url_warns():
    at = run_page("sorting_errors.py", {"se_size": "abc", "se_k": "-3", "se_nope": "1"})
    assert_no_exception(at)
    warning = texts(at, "warning")
    assert "se_size" in warning and "se_k" in warning and "se_nope" in warning
    assert at.slider(key="se_size").value == 16


def test_sorting_charts_highlight_the_prefix():
    at = run_page("sorting_errors.py", {"se_k": "5"})
    panels = plotly_specs(at)[4]
    opacity_at: dict[int, float] = {}  # panel ①'s bars: class c and the others, one trace each
    for bar in (t for t in panels["data"] if t.get("name") in ("m, class c", "m, not c")):
        opacity_at.update(zip(decode(bar["x"]), decode(bar["marker"]["opacity"]), strict=True))
    opacity = [opacity_at[rank] for rank in sorted(opacity_at)]
    assert sorted(opacity_at) == list(range(1, len(opacity) + 1))
    assert opacity[:5] == [1.0] * 5 and opacity[5] < 1.0
    truth_map = plotly_specs(at)[0]
    assert "the k largest errors" in [t.get("name") for t in truth_map["data"]]


# -- Geometry ------------------------------------------------------------------------------


def test_geometry_default_two_pixels():
    at = run_page("geometry.py")
    assert_no_exception(at)
    surface, _regions, section = plotly_specs(at)
    assert [t["type"] for t in surface["data"]].count("surface") == 3  # extension + 2 pieces
    assert metric(at, "Lovász").startswith("≤ 0")
    assert "✗" in metric(at, "soft-Jaccard")
    # At m = (0.7, 0.3) with F = {1}: order m₁ ≥ m₂, loss = 0.7, gradient (1, 0).
    info = texts(at, "info")
    assert "0.7000" in info and "(1.000, 0.000)" in info
    assert at.subheader[0].value == "Convex in the errors m; soft-Jaccard is not"
    assert section["layout"]["title"]["text"] == "Along the segment from m = (0, 0) to (1, 1)"


GEOMETRY_PRESETS = list(state.PAGES["geometry"].presets.items())


@pytest.mark.parametrize(("name", "params"), GEOMETRY_PRESETS, ids=[n for n, _ in GEOMETRY_PRESETS])
def test_geometry_presets_and_what_the_section_shows(name, params):
    at = run_page("geometry.py")
    at.selectbox(key="_geo_preset").select(name).run()
    assert_no_exception(at)
    for field, value in vars(params).items():
        assert at.session_state[state.key("geometry", field)] == value, field
    bits = tuple(getattr(params, f"y{i}") for i in range(1, params.pixels + 1))
    view = geometry_view(bits, params.m3 if params.pixels == 3 else 0.0)
    # the drawn section shows what the heading says: soft-Jaccard above its chord, Lovász not
    heading = at.subheader[0].value
    assert heading.startswith("Convex in the errors m")
    assert ("soft-Jaccard is not" in heading) == (not view.soft_is_convex)
    section = plotly_specs(at)[2]
    drawn = {t["name"]: np.array(decode(t["y"]), dtype=float) for t in section["data"]}
    lovasz, soft = drawn["Lovász extension"], drawn["soft-Jaccard"]
    middle = len(lovasz) // 2
    assert lovasz[middle] <= (lovasz[0] + lovasz[-1]) / 2 + 1e-9
    assert (np.diff(lovasz, 2) >= -1e-9).all()
    soft_gap = soft[middle] - (soft[0] + soft[-1]) / 2
    if view.soft_is_convex:
        assert soft_gap < 1e-9 and "No pair of test points" in texts(at, "caption")
    else:
        assert soft_gap == pytest.approx(view.gap_soft) and soft_gap > 0.05
        assert f"midpoint lies {view.gap_soft:.3f} above its chord" in texts(at, "caption")
        assert metric(at, "soft-Jaccard").startswith(f"{view.gap_soft:.3f}")
    start, end = point_label(view.section_start), point_label(view.section_end)
    assert section["layout"]["title"]["text"] == f"Along the segment from m = {start} to {end}"
    # the surface caption describes what is drawn
    surface = plotly_specs(at)[0]
    planes = [t for t in surface["data"] if t.get("name", "").startswith("piece")]
    caption = next(c for c in texts(at, "caption").split("\n") if c.startswith("Drag to rotate"))
    assert ("Translucent planes" in caption) == bool(planes)
    assert ("soft-Jaccard" in caption) == params.soft
    corners = next(t for t in surface["data"] if t.get("mode") == "markers+text")
    assert (f"at the {len(decode(corners['x']))} corners" in caption) == bool(len(view.slice_corners))


def test_geometry_caption_never_mentions_planes_that_are_off():
    at = run_page("geometry.py", {"geo_planes": "false"})
    assert_no_exception(at)
    assert "plane" not in texts(at, "caption").lower()
    at = run_page("geometry.py", {"geo_pixels": "3", "geo_m3": "1.0"})
    caption = texts(at, "caption")
    assert "Translucent planes" not in caption and "six pieces are left out" in caption
    assert "at the 4 corners of the slice m₃ = 1.00" in caption


def test_geometry_three_pixels_and_absent_class():
    at = run_page("geometry.py", {"geo_pixels": "3", "geo_y1": "false", "geo_y2": "false", "geo_y3": "false"})
    assert_no_exception(at)
    assert "largest error" in texts(at, "info")
    assert at.slider(key="geo_m3").value == 0.5


def test_geometry_soft_jaccard_toggle_adds_a_surface():
    at = run_page("geometry.py")
    n_before = len(plotly_specs(at)[0]["data"])
    at.toggle(key="geo_soft").set_value(True).run()
    assert_no_exception(at)
    assert len(plotly_specs(at)[0]["data"]) == n_before + 1


def test_geometry_malformed_url_warns():
    at = run_page("geometry.py", {"geo_pixels": "7", "geo_m1": "x"})
    assert_no_exception(at)
    assert "geo_pixels" in texts(at, "warning") and "geo_m1" in texts(at, "warning")
    assert at.slider(key="geo_pixels").value == 2


def test_sorting_contributions_add_up_to_the_loss():
    at = run_page("sorting_errors.py")
    contributions = plotly_specs(at)[3]["data"][0]["z"]
    values = np.array(
        decode(contributions) if isinstance(contributions, dict) else contributions, dtype=float
    )
    assert f"{values.sum():.4f}" == metric(at, "Lovász loss")


def test_geometry_probe_sliders_move_the_probe():
    at = run_page("geometry.py", {"geo_m1": "0.2", "geo_m2": "0.9"})
    assert_no_exception(at)
    assert "m₂ ≥ m₁" in texts(at, "info")


def test_torch_is_the_engine():
    assert torch.__version__


def test_geometry_moving_the_probe_updates_the_readout_not_the_surface():
    at = run_page("geometry.py")
    surface_before = plotly_specs(at)[0]
    at.slider(key="geo_m1").set_value(0.2).run()
    assert_no_exception(at)
    # F = {1}, m = (0.2, 0.3): pixel 2 first, Δ({2}) = 1/2, Δ({1, 2}) = 1, so g = (0.5, 0.5)
    info = texts(at, "info")
    assert "m₂ ≥ m₁" in info and "0.2500" in info and "(0.500, 0.500)" in info
    assert plotly_specs(at)[0] == surface_before  # the surface does not depend on the probe


def test_controls_keep_their_values_across_a_visit_to_another_page():
    at = run_page("geometry.py")
    at.slider(key="geo_m1").set_value(0.2).run()
    at.toggle(key="geo_soft").set_value(True).run()
    at.switch_page("../pages/iou_jaccard.py").run()
    assert_no_exception(at)
    for name in list(at.query_params):  # a sidebar link opens the page without query parameters
        del at.query_params[name]
    at.switch_page("../pages/geometry.py").run()
    assert_no_exception(at)
    assert at.slider(key="geo_m1").value == 0.2
    assert at.toggle(key="geo_soft").value is True
    assert "m₂ ≥ m₁" in texts(at, "info")


def test_a_value_in_the_url_wins_over_the_kept_one():
    at = run_page("geometry.py")
    at.slider(key="geo_m1").set_value(0.2).run()
    at.switch_page("../pages/iou_jaccard.py").run()
    for name in list(at.query_params):
        del at.query_params[name]
    at.query_params["geo_m1"] = "0.9"
    at.switch_page("../pages/geometry.py").run()
    assert_no_exception(at)
    assert at.slider(key="geo_m1").value == 0.9


def test_a_linked_class_index_beyond_the_class_count_is_reported():
    at = run_page("iou_jaccard.py", {"ij_classes": "2", "ij_cls": "4"})
    assert_no_exception(at)
    assert at.slider(key="ij_cls").value == 1
    assert "ij_cls" in texts(at, "warning") and "outside 0–1" in texts(at, "warning")
    fine = run_page("iou_jaccard.py", {"ij_classes": "3", "ij_cls": "2"})
    assert fine.slider(key="ij_cls").value == 2 and "ij_cls" not in texts(fine, "warning")


def test_sorting_void_band_is_counted_and_left_out_of_the_sort():
    at = run_page("sorting_errors.py", {"se_void": "1", "se_shift_x": "0", "se_noise": "0", "se_temp": "2"})
    assert_no_exception(at)
    assert "void pixels" in texts(at, "info") and "are ignored" in texts(at, "info")
    at = run_page("sorting_errors.py", {"se_void": "1", "se_ignore": "false"})
    assert_no_exception(at)
    assert "refuses these labels" in texts(at, "warning")


def _uploaded_mask_store():
    import io

    from app import uploads

    mask = np.zeros((40, 40), dtype=np.int64)
    mask[5:20, 5:20] = 1
    mask[25:30, 25:35] = 2
    mask[19:21, 5:20] = 255
    buffer = io.BytesIO()
    np.save(buffer, mask)
    return uploads.STORE_KEY, uploads.with_mask(uploads.UploadStore(), buffer.getvalue(), "mine.npy")


@pytest.mark.parametrize(("page", "side"), [("sorting_errors.py", 32), ("iou_jaccard.py", 40)])
def test_an_uploaded_mask_replaces_the_scene_resized_to_the_page(page, side):
    from streamlit.testing.v1 import AppTest

    from ..app_harness import MAIN

    key, store = _uploaded_mask_store()
    at = AppTest.from_file(str(MAIN), default_timeout=60)
    at.session_state[key] = store
    at.run()
    at.switch_page(f"../pages/{page}")
    at.run()
    assert_no_exception(at)
    info = texts(at, "info")
    assert f"Showing your mask ({side}×{side}, 3 classes" in info
    if page == "iou_jaccard.py":
        assert "void pixels are shown as background" in info
    else:
        assert "void pixels" in info and "are ignored" in info  # kept as void: out of the sort
