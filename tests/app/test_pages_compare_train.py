"""AppTest runs of "Gradients: Lovász vs cross-entropy" and "Live training".

AppTest never fires the live fragment's timer, so the training tests press the buttons and
rerun by hand: each full run executes the fragment once (one tick of training).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from ..app_harness import assert_no_exception, run_page


def plotly_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(value, dtype=float)


def texts(at, kind: str) -> str:
    """The text of every element of ``kind``, as the reader sees it (Markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(str(e.value) for e in getattr(at, kind)))


def buttons(at) -> list[str]:
    return [b.label for b in at.button]


# ------------------------------------------------------------------------------------ gradients
def test_gradients_default_four_maps_each_on_its_own_scale():
    at = run_page("gradients.py")
    assert_no_exception(at)
    specs = plotly_specs(at)
    assert len(specs) == 4  # masks, gradient maps, histograms, size sweep
    maps = specs[1]
    heatmaps = [t for t in maps["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 4 and {t["coloraxis"] for t in heatmaps} == {"coloraxis"}
    axis = maps["layout"]["coloraxis"]
    assert (axis["cmin"], axis["cmax"]) == (-1.0, 1.0), "each map divided by its own largest value"
    for trace in heatmaps:
        assert np.abs(array(trace["z"])).max() == pytest.approx(1.0)
    titles = [a["text"].split("<br>")[0] for a in maps["layout"]["annotations"]]
    assert titles == ["Cross-entropy", "Lovász-Softmax", "Soft Jaccard", "Dice"]
    assert all("own scale" in a["text"] for a in maps["layout"]["annotations"])
    assert "its own colour scale" in texts(at, "caption")
    assert any(t["type"] == "scatter" and "customdata" in t for t in maps["data"]), "clickable overlay"
    sweep = specs[3]
    assert {t["name"] for t in sweep["data"]} >= {"Cross-entropy", "Lovász-Softmax"}
    assert "Click a pixel" in texts(at, "info")
    assert len(at.metric) == 4
    assert "‖∂L/∂z_i‖₁" in texts(at, "caption") and "‖∂L/∂z_i‖₂" in texts(at, "caption")
    assert not any("row" in s.label.lower() or "column" in s.label.lower() for s in at.slider)


def test_gradients_shared_scale_says_so():
    at = run_page("gradients.py", {"gr_shared": "true", "gr_radius": "1.0"})
    assert_no_exception(at)
    axis = plotly_specs(at)[1]["layout"]["coloraxis"]
    assert axis["cmax"] > 0 and axis["cmax"] != 1.0
    assert "one shared colour scale" in texts(at, "caption")


def test_gradients_selected_pixel_shows_its_numbers_and_clears():
    at = run_page("gradients.py", {"gr_row": "8", "gr_col": "8"})
    assert_no_exception(at)
    assert "Selected pixel (row 8, col 8)" in texts(at, "markdown")
    frame = at.dataframe[0].value
    assert list(frame.index) == ["Cross-entropy", "Lovász-Softmax", "Soft Jaccard", "Dice"]
    assert "‖∂L/∂z‖₂" in frame.columns
    at.button(key="gr_clear").click().run()
    assert_no_exception(at)
    assert at.session_state["gr_row"] == -1 and "Click a pixel" in texts(at, "info")
    assert at.query_params["gr_row"] == "-1"


def test_gradients_click_callback_sets_the_pixel():
    at = run_page("gradients.py")
    at.session_state["gr_row"] = 3
    at.session_state["gr_col"] = 4
    at.run()
    assert_no_exception(at)
    assert "Selected pixel (row 3, col 4)" in texts(at, "markdown")
    assert at.query_params["gr_row"] == "3", "the selection goes into the link"


@pytest.mark.parametrize(
    "query",
    [
        {"gr_size": "16", "gr_radius": "0.5", "gr_quality": "0.0", "gr_blur": "0.0"},
        {"gr_size": "64", "gr_radius": "8.0", "gr_quality": "1.0", "gr_blur": "6.0", "gr_shared": "true"},
        {"gr_cls": "background", "gr_row": "63", "gr_col": "0"},
        {"gr_size": "16", "gr_row": "40", "gr_col": "40"},
    ],
)
def test_gradients_edge_parameters(query):
    at = run_page("gradients.py", query)
    assert_no_exception(at)
    assert len(at.get("plotly_chart")) == 4


# ------------------------------------------------------------------------------------ training
def phase(at) -> str:
    return at.session_state["lt_life"].phase


def run_until_done(at, limit: int = 60) -> None:
    for _ in range(limit):
        if phase(at) != "running":
            return
        at.run()


def test_before_start_the_image_and_its_mask_are_shown_with_labels():
    at = run_page("live_training.py")
    assert_no_exception(at)
    assert "Start" in buttons(at) and "lt_run" not in at.session_state
    captions = [str(img.proto) for img in at.get("image")]
    assert any("Ground truth" in c for c in captions) and any("Image" in c for c in captions)
    text = texts(at, "caption")
    assert "Next run: **Rare object (generated) 64×64 · Tiny conv net · from scratch · Adam lr 0.003" in text
    assert at.selectbox(key="lt_image").format_func("rare_object") == "Rare object (generated)"
    assert "rare square 0.66 %" in text
    assert at.selectbox(key="lt_model").format_func("tiny_fcn") == "Tiny conv net"
    assert at.selectbox(key="lt_optimizer").format_func("adam") == "Adam"
    assert list(at.multiselect(key="lt_losses").value) == ["cross_entropy", "lovasz_softmax", "ce_lovasz"]


def test_a_link_may_choose_the_losses():
    at = run_page("live_training.py", {"lt_losses": "dice"})
    assert_no_exception(at)
    assert not at.warning, [w.value for w in at.warning]
    assert list(at.multiselect(key="lt_losses").value) == ["dice"]


def test_live_training_start_pause_resume_stop_reset():
    at = run_page("live_training.py", {"lt_size": "32"})
    assert_no_exception(at)
    assert "Start" in buttons(at)
    at.button(key="lt_start").click().run()
    assert_no_exception(at)
    run = at.session_state["lt_run"]
    assert phase(at) == "running" and run.steps_done > 0
    assert buttons(at)[:2] == ["Pause", "Stop"]
    assert len(at.get("plotly_chart")) == 1  # the curves; masks are images
    assert len(at.get("image")) == 4  # ground truth + one mask per loss
    at.button(key="lt_pause").click().run()
    paused_at = at.session_state["lt_run"].steps_done
    at.run()
    assert at.session_state["lt_run"].steps_done == paused_at, "a paused run does not train"
    assert "Resume" in buttons(at) and phase(at) == "paused"
    assert len(at.get("download_button")) == 2, "a paused run can be downloaded"
    at.button(key="lt_resume").click().run()
    assert at.session_state["lt_run"].steps_done > paused_at
    at.button(key="lt_stop").click().run()
    assert_no_exception(at)
    assert phase(at) == "stopped" and len(at.session_state["lt_saved"]) == 1
    assert "Start" in buttons(at)
    at.button(key="lt_reset").click().run()
    assert at.session_state["lt_run"] is None and len(at.session_state["lt_saved"]) == 1


def test_changing_settings_mid_run_keeps_the_run_and_says_so():
    at = run_page("live_training.py", {"lt_size": "32"})
    at.button(key="lt_start").click().run()
    run = at.session_state["lt_run"]
    at.slider(key="lt_seed").set_value(7).run()
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
    assert at.session_state["lt_size"] == 32, "the widgets come back with the page"
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
        "live_training.py",
        {"lt_image": "horse", "lt_size": "32", "lt_optimizer": "sgd", "lt_lr": "1000000", "lt_steps": "20"},
    )
    at.button(key="lt_start").click().run()
    run_until_done(at)
    at.run()
    assert_no_exception(at)
    assert "diverged" in texts(at, "error") and "learning rate" in texts(at, "error")
    at.selectbox(key="lt_grad_lane").set_value("cross_entropy").run()
    assert_no_exception(at)
    assert "no gradient to show" in texts(at, "warning")


def test_a_finished_run_ends_on_the_bars_step_and_can_be_overlaid():
    at = run_page("live_training.py", {"lt_size": "16", "lt_steps": "20", "lt_model": "free_logits"})
    at.button(key="lt_start").click().run()
    run_until_done(at)
    assert phase(at) == "finished" and at.session_state["lt_run"].finished
    table = at.table[0].value
    assert set(table["step"]) == {"20"}, "the table's step is the progress bar's 20 / 20"
    assert at.select_slider(key="lt_replay").value == 20, "the replay ends at the last step"
    assert "Look for:" in texts(at, "markdown") and "at the end (step 20)" in texts(at, "markdown")
    at.button(key="lt_start").click().run()  # a new run; the finished one is kept
    assert len(at.session_state["lt_saved"]) == 1
    name = at.session_state["lt_saved"][0]["name"]
    at.multiselect(key="lt_overlay").set_value([name]).run()
    assert_no_exception(at)
    curves = plotly_specs(at)[0]
    headings = {t.get("legendgrouptitle", {}).get("text") for t in curves["data"]}
    assert {"This run", "#1 (dot)"} <= headings
    assert {t["legendgroup"] for t in curves["data"]} == {"This run", "#1 (dot)"}, "one heading per run"
    assert all(t["line"]["width"] < 2.5 for t in curves["data"] if t["legendgroup"].startswith("#1"))


@pytest.mark.parametrize(
    "preset",
    [
        "Horse, from scratch",
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
    expected = sorted({*range(0, done, 10), done})
    assert slider.options == [str(s) for s in expected]
    assert slider.value == done
    slider.set_value(0).run()
    assert_no_exception(at)
    assert at.select_slider(key="lt_replay").value == 0
    captions = [str(img.proto) for img in at.get("image")]
    assert any("Lovász-Softmax · step 0" in c for c in captions)
    grads = plotly_specs(at)[-1]
    assert [a["text"].split("<br>")[0] for a in grads["layout"]["annotations"]] == [
        "Cross-entropy",
        "Lovász-Softmax",
    ]


def test_a_device_failure_mid_run_is_reported_and_keeps_the_run(monkeypatch):
    from lovasz_core.lab.training import TrainingRun

    at = run_page("live_training.py", {"lt_size": "16"})
    at.button(key="lt_start").click().run()
    run = at.session_state["lt_run"]

    def out_of_memory(self, k=1):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(TrainingRun, "step", out_of_memory)
    at.run()
    assert_no_exception(at)
    assert "Training stopped at step" in texts(at, "error") and "out of memory" in texts(at, "error")
    assert at.session_state["lt_run"] is run and phase(at) == "idle"
    assert not at.button(key="lt_start").disabled


def test_postscriptgc_off_is_the_one_gc_strategy():
    """Streamlit's full collection after every run is turned off in the config; no page or app
    module freezes the heap instead."""
    root = Path(__file__).resolve().parents[2]
    config = (root / ".streamlit" / "config.toml").read_text()
    runner = config.split("[runner]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"(?m)^postScriptGC\s*=\s*false\s*$", runner)
    sources = [*root.joinpath("pages").glob("*.py"), *root.joinpath("app").rglob("*.py")]
    offenders = [p.name for p in sources if "gc.freeze" in p.read_text() or "gc.collect" in p.read_text()]
    assert not offenders, offenders


def test_gradients_void_band_is_counted_and_drawn():
    at = run_page("gradients.py", {"gr_void": "1"})
    assert_no_exception(at)
    assert "void pixels" in texts(at, "info") and "exactly 0" in texts(at, "info")
    at = run_page("gradients.py", {"gr_void": "1", "gr_ignore": "false"})
    assert_no_exception(at)
    assert "refuse" in texts(at, "warning")
