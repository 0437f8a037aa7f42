"""AppTest runs of the page "Training on a data set".

AppTest never fires the live fragment's timer, so the training tests press the buttons and rerun
by hand: each full run executes the fragment once (one tick of training). Runs are kept small
(40 scenes, batches of 4) so that a tick is short.
"""

from __future__ import annotations

import json

from ..app_harness import assert_no_exception
from ..app_harness import run_page as _run_page

PAGE = "dataset_training.py"
SMALL = {"dt_scenes": "40", "dt_batch": "4", "dt_steps": "20"}


def run_page(page: str, query: dict[str, str] | None = None):
    """The page under AppTest, with room for a slow shared machine (a rerun may train)."""
    return _run_page(page, query, timeout=300.0)


def texts(at, kind: str) -> str:
    """The text of every element of ``kind``, Markdown escapes removed (link text is escaped)."""
    return "\n".join(str(e.value) for e in getattr(at, kind)).replace("\\", "")


def buttons(at) -> list[str]:
    return [b.label for b in at.button]


def phase(at) -> str:
    return at.session_state["dt_life"].phase


def test_before_start_the_data_set_is_described_and_start_is_offered():
    at = run_page(PAGE)
    assert_no_exception(at)
    assert "Start" in buttons(at) and "dt_run" not in at.session_state
    assert list(at.multiselect(key="dt_lanes").value) == [
        "cross_entropy",
        "lovasz_batch",
        "lovasz_image",
        "ce_lovasz",
    ]
    assert at.multiselect(key="dt_lanes").format_func("lovasz_image") == "Lovász per image"
    table = at.table[0].value
    assert list(table.index) == ["background", "red object", "blue object", "rare object (rare)"]
    assert "Next run: **240 scenes 32×32, 4 classes · batch 8" in texts(at, "caption")
    assert "absent from" in texts(at, "caption")
    assert len(at.get("image")) == 8  # four validation scenes: image and labels


def test_start_pause_resume_stop_reset_and_the_runs_kept():
    at = run_page(PAGE, SMALL)
    at.button(key="dt_start").click().run()
    assert_no_exception(at)
    run = at.session_state["dt_run"]
    assert phase(at) == "running" and run.steps_done > 0
    assert buttons(at)[:2] == ["Pause", "Stop"]
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert len(charts) == 2  # curves, batch-size sweep
    names = {t["name"] for t in charts[0]["data"]}
    assert names == {"Cross-entropy", "Lovász per batch", "Lovász per image", "CE + Lovász"}
    lanes = at.table[-1].value
    assert list(lanes.index) == ["Cross-entropy", "Lovász per batch", "Lovász per image", "CE + Lovász"]
    assert set(lanes["step"]) == {str(run.steps_done)}, "the table ends at the progress bar's step"
    at.button(key="dt_pause").click().run()
    paused_at = at.session_state["dt_run"].steps_done
    at.run()
    assert at.session_state["dt_run"].steps_done == paused_at, "a paused run does not train"
    assert phase(at) == "paused" and "Resume" in buttons(at)
    at.button(key="dt_resume").click().run()
    assert at.session_state["dt_run"].steps_done > paused_at
    at.button(key="dt_stop").click().run()
    assert_no_exception(at)
    assert phase(at) == "stopped" and len(at.session_state["dt_kept"]) == 1
    at.button(key="dt_reset").click().run()
    assert at.session_state["dt_run"] is None and len(at.session_state["dt_kept"]) == 1
    kept = at.dataframe[0].value
    assert set(kept["lane"]) == set(names) and (kept["run"] == "#1").all()


def test_a_control_change_or_a_page_switch_keeps_the_run():
    at = run_page(PAGE, SMALL)
    at.button(key="dt_start").click().run()
    run = at.session_state["dt_run"]
    at.slider(key="dt_batch").set_value(8).run()
    assert_no_exception(at)
    assert at.session_state["dt_run"] is run and run.config.batch_size == 4
    assert "apply when you press **Reset**" in texts(at, "info")
    steps = run.steps_done
    at.switch_page("../pages/live_training.py").run()
    at.switch_page("../pages/dataset_training.py").run()
    assert_no_exception(at)
    assert at.session_state["dt_run"] is run and run.steps_done >= steps
    assert at.session_state["dt_batch"] == 8


def test_binary_lanes_with_four_classes_cannot_start_and_say_why():
    at = run_page(PAGE, {"dt_lanes": "lovasz_hinge"})
    assert_no_exception(at)
    error = texts(at, "error")
    assert "cannot run" in error and "`lanes`" in error and "num_classes" in error
    assert at.button(key="dt_start").disabled


def test_a_bad_link_value_is_a_warning_not_a_traceback():
    at = run_page(PAGE, {"dt_batch": "many", "dt_classes": "<b>some</b>"})
    assert_no_exception(at)
    assert "dt_batch" in texts(at, "warning")


def test_void_band_shows_zero_gradient_on_void_pixels_for_every_lane():
    at = run_page(PAGE, {**SMALL, "dt_void": "true"})
    assert_no_exception(at)
    text = texts(at, "markdown")
    assert "pixels are void" in text
    for lane in ("Cross-entropy 0 ", "Lovász per batch 0 ", "Lovász per image 0 ", "CE + Lovász 0 "):
        assert lane in text, text
    assert "(white: void)" not in text  # the examples are drawn only once a run exists


def test_binary_preset_trains():
    at = run_page(PAGE, {"dt_scenes": "40", "dt_steps": "20"})
    at.selectbox(key="_dt_preset").set_value("Binary: Lovász hinge vs BCE vs Lovász sigmoid").run()
    assert list(at.multiselect(key="dt_lanes").value) == ["bce", "lovasz_hinge", "lovasz_sigmoid"]
    at.button(key="dt_start").click().run()
    assert_no_exception(at)
    run = at.session_state["dt_run"]
    assert run.steps_done > 0 and run.num_classes == 2
    assert "rare class" not in texts(at, "caption")
