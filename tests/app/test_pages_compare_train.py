"""AppTest runs of "Gradients: Lovász vs cross-entropy" and "Live training".

AppTest never fires the live fragment's timer, so the training tests press the buttons and
rerun by hand: each full run executes the fragment once (one tick of training).
"""

from __future__ import annotations

import json

import pytest

from ..app_harness import assert_no_exception, run_page


def plotly_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def texts(at, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def buttons(at) -> list[str]:
    return [b.label for b in at.button]


# ------------------------------------------------------------------------------------ gradients
def test_gradients_default_four_maps_on_one_scale():
    at = run_page("gradients.py")
    assert_no_exception(at)
    specs = plotly_specs(at)
    assert len(specs) == 4  # masks, gradient maps, histograms, size sweep
    maps = specs[1]
    heatmaps = [t for t in maps["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 4 and {t["coloraxis"] for t in heatmaps} == {"coloraxis"}
    axis = maps["layout"]["coloraxis"]
    assert axis["cmin"] == pytest.approx(-axis["cmax"]) and axis["cmax"] > 0
    titles = [a["text"] for a in maps["layout"]["annotations"]]
    assert titles == ["Cross-entropy", "Lovász-Softmax", "Soft Jaccard", "Dice"]
    assert any(t["type"] == "scatter" and "customdata" in t for t in maps["data"]), "clickable overlay"
    sweep = specs[3]
    assert {t["name"] for t in sweep["data"]} >= {"Cross-entropy", "Lovász-Softmax"}
    assert "Click a pixel" in texts(at, "info")
    assert len(at.metric) == 4


def test_gradients_selected_pixel_shows_its_numbers():
    at = run_page("gradients.py", {"gr_row": "8", "gr_col": "8"})
    assert_no_exception(at)
    assert "Pixel (row 8, col 8)" in texts(at, "markdown")
    frame = at.dataframe[0].value
    assert list(frame.index) == ["Cross-entropy", "Lovász-Softmax", "Soft Jaccard", "Dice"]
    assert "‖∂L/∂z‖" in frame.columns


def test_gradients_click_callback_sets_the_pixel():
    at = run_page("gradients.py")
    at.session_state["gr_row"] = 3
    at.session_state["gr_col"] = 4
    at.run()
    assert_no_exception(at)
    assert "Pixel (row 3, col 4)" in texts(at, "markdown")


@pytest.mark.parametrize(
    "query",
    [
        {"gr_size": "16", "gr_radius": "0.5", "gr_quality": "0.0", "gr_blur": "0.0"},
        {"gr_size": "64", "gr_radius": "8.0", "gr_quality": "1.0", "gr_blur": "6.0", "gr_shared": "false"},
        {"gr_cls": "background", "gr_row": "63", "gr_col": "0"},
    ],
)
def test_gradients_edge_parameters(query):
    at = run_page("gradients.py", query)
    assert_no_exception(at)
    assert len(at.get("plotly_chart")) == 4


# ------------------------------------------------------------------------------------ training
def test_live_training_start_pause_resume_stop_reset():
    at = run_page("live_training.py", {"lt_size": "32"})
    assert_no_exception(at)
    assert "Start" in buttons(at) and at.session_state["lt_run"] is None
    at.button(key="lt_start").click().run()
    assert_no_exception(at)
    run = at.session_state["lt_run"]
    assert at.session_state["lt_running"] and run.steps_done > 0
    assert buttons(at)[:2] == ["Pause", "Stop"]
    assert len(at.get("plotly_chart")) == 1  # the curves; masks are images
    assert len(at.get("image")) >= 1  # ground truth + one mask per loss
    at.button(key="lt_pause").click().run()
    paused_at = at.session_state["lt_run"].steps_done
    at.run()
    assert at.session_state["lt_run"].steps_done == paused_at, "a paused run does not train"
    assert "Resume" in buttons(at)
    assert len(at.get("download_button")) == 2, "a paused run can be downloaded"
    at.button(key="lt_resume").click().run()
    assert at.session_state["lt_run"].steps_done > paused_at
    at.button(key="lt_stop").click().run()
    assert_no_exception(at)
    assert not at.session_state["lt_running"] and len(at.session_state["lt_saved"]) == 1
    assert "Start" in buttons(at)
    at.button(key="lt_reset").click().run()
    assert at.session_state["lt_run"] is None and len(at.session_state["lt_saved"]) == 1


def test_changing_settings_mid_run_keeps_the_run_and_says_so():
    at = run_page("live_training.py", {"lt_size": "32"})
    at.button(key="lt_start").click().run()
    run = at.session_state["lt_run"]
    at.session_state["lt_seed"] = 7
    at.run()
    assert_no_exception(at)
    assert at.session_state["lt_run"] is run and run.config.seed == 0
    assert "apply when you press **Reset**" in texts(at, "info")


def test_switching_pages_keeps_the_run():
    at = run_page("live_training.py", {"lt_size": "32"})
    at.button(key="lt_start").click().run()
    run = at.session_state["lt_run"]
    steps = run.steps_done
    at.switch_page("../pages/gradients.py").run()
    assert_no_exception(at)
    at.switch_page("../pages/live_training.py").run()
    assert_no_exception(at)
    assert at.session_state["lt_run"] is run and run.steps_done >= steps
    assert at.session_state["lt_size"] == 32, "the widgets are refilled from the kept run"
    assert not at.warning, [w.value for w in at.warning]


def test_invalid_settings_disable_start():
    at = run_page("live_training.py", {"lt_mode": "finetune", "lt_warmup": "500", "lt_steps": "100"})
    assert_no_exception(at)
    assert "cannot run" in texts(at, "error") and "warmup_steps" in texts(at, "error")
    assert at.button(key="lt_start").disabled


def test_no_loss_chosen_disables_start():
    at = run_page("live_training.py")
    at.multiselect(key="lt_losses").set_value([]).run()
    assert_no_exception(at)
    assert at.button(key="lt_start").disabled and "`losses`" in texts(at, "error")


def test_diverging_run_says_why():
    at = run_page(
        "live_training.py", {"lt_size": "32", "lt_optimizer": "sgd", "lt_lr": "1000000", "lt_steps": "40"}
    )
    at.button(key="lt_start").click().run()
    for _ in range(12):
        if at.session_state["lt_run"].finished:
            break
        at.run()
    at.run()
    assert_no_exception(at)
    assert "diverged" in texts(at, "error") and "learning rate" in texts(at, "error")
    at.selectbox(key="lt_grad_lane").set_value("cross_entropy").run()
    assert_no_exception(at)
    assert "no gradient to show" in texts(at, "warning")


def test_a_finished_run_can_be_overlaid():
    at = run_page("live_training.py", {"lt_size": "16", "lt_steps": "20", "lt_model": "free_logits"})
    at.button(key="lt_start").click().run()
    for _ in range(30):
        if not at.session_state["lt_running"]:
            break
        at.run()
    assert at.session_state["lt_run"].finished
    at.button(key="lt_start").click().run()  # a new run; the finished one is kept
    assert len(at.session_state["lt_saved"]) == 1
    name = at.session_state["lt_saved"][0]["name"]
    at.multiselect(key="lt_overlay").set_value([name]).run()
    assert_no_exception(at)
    curves = plotly_specs(at)[0]
    assert any(t["name"].endswith("· #1") for t in curves["data"])


@pytest.mark.parametrize(
    "preset",
    [
        "Rare class (imbalance)",
        "Lovász from scratch vs fine-tuned",
        "Free logits (the loss's own geometry)",
        "Camera, 3 classes",
    ],
)
def test_presets_run(preset):
    at = run_page("live_training.py")
    at.selectbox(key="_lt_preset").set_value(preset).run()
    at.button(key="lt_start").click().run()
    assert_no_exception(at)
    assert at.session_state["lt_run"].steps_done > 0


def test_replay_of_a_paused_run():
    at = run_page("live_training.py", {"lt_size": "16", "lt_model": "free_logits", "lt_steps": "2000"})
    at.button(key="lt_start").click().run()
    for _ in range(20):
        if at.session_state["lt_run"].steps_done >= 21:
            break
        at.run()
    at.button(key="lt_pause").click().run()
    assert_no_exception(at)
    slider = at.select_slider(key="lt_replay")
    done = at.session_state["lt_run"].steps_done
    assert slider.options == [str(s) for s in range(0, done, 10)]
    assert slider.value == int(slider.options[-1])
    slider.set_value(0).run()
    assert_no_exception(at)
    assert at.select_slider(key="lt_replay").value == 0
    captions = [str(img.proto) for img in at.get("image")]
    assert any("Lovász-Softmax · step 0" in c for c in captions)
    grads = plotly_specs(at)[-1]
    assert [a["text"] for a in grads["layout"]["annotations"]] == ["Cross-entropy", "Lovász-Softmax"]
