"""The app shell's classroom controls under AppTest: projector mode and the share link."""

from __future__ import annotations

from tests.app_harness import assert_no_exception, run_page


def _projector_css(at) -> bool:
    return any("Projector mode" in str(getattr(h, "proto", "")) for h in at.get("html"))


def test_projector_toggle_is_in_the_sidebar_and_off_by_default():
    at = run_page("lesson.py")
    assert_no_exception(at)
    toggle = at.sidebar.toggle(key="projector")
    assert toggle.value is False
    assert not _projector_css(at)
    assert at.expander  # teacher notes / link boxes are shown when not projecting


def test_projector_mode_from_the_link_hides_secondary_controls():
    at = run_page("lesson.py", query_params={"projector": "true", "lesson": "lovasz_in_45_minutes"})
    assert_no_exception(at)
    assert at.sidebar.toggle(key="projector").value is True
    assert _projector_css(at)
    labels = [e.label for e in at.expander]
    assert "Teacher notes" not in labels


def test_share_box_holds_the_link_to_this_view_without_projector():
    at = run_page("sorting_errors.py", query_params={"se_k": "5", "projector": "true"})
    assert_no_exception(at)
    codes = [c.value for c in at.sidebar.code]
    assert any(c.startswith("/sorting_errors?") and "se_k=5" in c and "projector" not in c for c in codes), (
        codes
    )
