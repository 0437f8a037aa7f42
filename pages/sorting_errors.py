"""Page "Sorting errors": the Lovász extension of the Jaccard loss computed step by step.

Error map → errors sorted → Δ of each prefix → Jaccard gradients g → g on the image →
loss = Σ m·g. A step k walks through the sort order; every view highlights the k worst pixels.
Every number comes from :func:`lovasz_core.lab.views.sorting_errors.sorting_view`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import params, presentation, state, widgets
from app.figures import sorting as figures
from lovasz_core.lab.views.sorting_errors import SortingView, prefix_numbers, sorting_view

PAGE = "sorting_errors"
PLAYING = "_se_playing"
SELECTED = "_se_selected"
PANELS_GENERATION = "_se_panels_generation"
K_KEY = state.key(PAGE, "k")
PLAY_SECONDS = 0.8


@st.cache_data(max_entries=64, show_spinner=False)
def cached_view(
    labels: np.ndarray, logits: np.ndarray, cls: int, kind: str, absent: bool, void: int, ignore: bool
) -> SortingView:
    return sorting_view(labels, logits, cls, kind, absent, void, ignore)


# ------------------------------------------------------------------------------------------
# Callbacks (they run before the script, so they may set widget values)


def _set_k(value: int) -> None:
    st.session_state[K_KEY] = int(value)


def _step(delta: int, total: int) -> None:
    st.session_state[K_KEY] = int(min(max(st.session_state.get(K_KEY, 0) + delta, 0), total))


def _points(chart_key: str) -> list[dict]:
    event = st.session_state.get(chart_key)
    if not event:
        return []
    selection = event.get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    return list(selection.get("points", []) or [])


def _new_chart_keys() -> None:
    """Charts get new keys after a click, so plotly does not keep the clicked point selected."""
    st.session_state[PANELS_GENERATION] = st.session_state.get(PANELS_GENERATION, 0) + 1


def _on_pixel_click(chart_key: str, width: int) -> None:
    """A click on a pixel of any map selects it."""
    _new_chart_keys()
    for point in _points(chart_key):
        index = point.get("customdata")
        if isinstance(index, list):
            index = index[0] if index else None
        if index is None and "x" in point and "y" in point:
            index = round(point["y"]) * width + round(point["x"])
        if index is not None:
            st.session_state[SELECTED] = int(index)
            return


def _on_rank_click(chart_key: str, order: np.ndarray) -> None:
    """A click on a bar moves k there and selects that pixel."""
    _new_chart_keys()
    for point in _points(chart_key):
        custom = point.get("customdata")
        rank = custom[0] if isinstance(custom, list) and custom else point.get("x")
        if rank is not None and 1 <= round(rank) <= len(order):
            st.session_state[K_KEY] = round(rank)
            st.session_state[SELECTED] = int(order[round(rank) - 1])
            return


# ------------------------------------------------------------------------------------------
# Pieces of the screen


def step_controls(total: int) -> int:
    """Play/Pause, the step slider and ⏮ ◀ ▶ ⏭ on one row; returns k."""
    play, slider, buttons = st.columns([1.3, 5, 2.4], vertical_alignment="bottom")
    playing = bool(st.session_state.get(PLAYING, False))
    if play.button(
        "Pause" if playing else "Play",
        icon=":material/pause:" if playing else ":material/play_arrow:",
        key="_se_play",
        type="primary",
        width="stretch",
        help=f"Walk k through the sort order, one pixel every {PLAY_SECONDS:g} s.",
    ):
        st.session_state[PLAYING] = not playing
        st.rerun()  # the whole page: the fragment's timer is set there
    first, previous, following, last = buttons.columns(4)
    first.button("", icon=":material/first_page:", key="_se_first", on_click=_set_k, args=(0,), help="k = 0")
    previous.button(
        "", icon=":material/chevron_left:", key="_se_prev", on_click=_step, args=(-1, total), help="k − 1"
    )
    following.button(
        "", icon=":material/chevron_right:", key="_se_next", on_click=_step, args=(1, total), help="k + 1"
    )
    last.button("", icon=":material/last_page:", key="_se_last", on_click=_set_k, args=(total,), help="k = P")
    with slider:
        return int(
            widgets.control(
                PAGE,
                "k",
                hi=total,
                help="The prefix {π1, …, πk}: the k pixels with the largest errors. Play, the buttons, and "
                "clicks on bars or pixels move it too.",
            )
        )


def running_numbers(view: SortingView, k: int) -> None:
    """I_k, U_k, Δ_k, the loss so far and the whole loss, as metrics with formula labels."""
    numbers = prefix_numbers(view, k)
    cols = st.columns(5)
    cols[0].metric(r"$I_k = |F| - \#\text{fg in prefix}$", f"{numbers.intersection}")
    cols[1].metric(r"$U_k = |F| + \#\text{bg in prefix}$", f"{numbers.union}")
    cols[2].metric(r"$\Delta_k = 1 - I_k / U_k$", f"{numbers.jaccard:.4f}")
    cols[3].metric(r"loss so far $\sum_{i \le k} m_i g_i$", f"{numbers.loss_so_far:.4f}")
    cols[4].metric(r"Lovász loss $\sum_i m_i g_i$", f"{view.loss:.4f}")


def pixel_hover(view: SortingView) -> list[str]:
    errors, weights, ranks = view.errors.reshape(-1), view.weights.reshape(-1), view.ranks.reshape(-1)
    fg, width = view.fg.reshape(-1), view.shape[1]
    return [
        f"pixel ({i // width}, {i % width}) {'in c' if fg[i] else 'not c'}<br>rank {ranks[i]}, "
        f"m = {errors[i]:.3f}, g = {weights[i]:.4f}<br>m·g = {errors[i] * weights[i]:.4f}"
        for i in range(errors.size)
    ]


def pixel_maps(view: SortingView, k: int, selected: int | None, cls: int) -> None:
    """Ground truth, errors, g and m·g side by side, the k worst pixels outlined; click a pixel."""
    prefix = (view.ranks <= k) & (k > 0)
    hover = pixel_hover(view)
    generation = st.session_state.get(PANELS_GENERATION, 0)
    maps = (
        ("fg", view.fg.astype(float), "Ground truth of c", "Class c in its colour. Click any pixel."),
        ("errors", view.errors, "Errors m", "Largest where the prediction is confidently wrong."),
        ("weights", view.weights, "Jaccard gradients g", "g ≥ 0: the weight of each pixel's error."),
        ("contributions", view.contributions_map, "Contributions m·g", "They add up to the Lovász loss."),
    )
    for column, (kind, values, title, caption) in zip(st.columns(4), maps, strict=True):
        chart_key = f"_se_map_{kind}_{generation}"
        fig = figures.pixel_map_figure(
            values,
            kind,
            view.fg,
            prefix,
            selected,
            title,
            hover,
            height=270,
            class_index=cls,
            void=view.void,
        )
        presentation.plotly_chart(
            fig,
            key=chart_key,
            container=column,
            alt=f"{title}: one value per pixel; the k pixels with the largest errors are outlined",
            numbers=False,
            on_select=lambda ck=chart_key: _on_pixel_click(ck, view.shape[1]),
            selection_mode="points",
        )
        column.caption(caption)


def pixel_details(view: SortingView, index: int) -> None:
    """The selected pixel's rank, error, g and contribution."""
    width = view.shape[1]
    rank = int(view.ranks.reshape(-1)[index])
    m, g = float(view.errors.reshape(-1)[index]), float(view.weights.reshape(-1)[index])
    where = "in class c" if view.fg.reshape(-1)[index] else "not in class c"
    share = f" ({100 * m * g / view.loss:.1f}% of the loss)" if view.loss > 0 else ""
    st.info(
        f"**Selected pixel** (row {index // width}, column {index % width}), {where}: rank **{rank}** of "
        f"{view.size}, error m = **{m:.4f}**, Jaccard gradient g = **{g:.4f}**, contribution "
        f"m·g = **{m * g:.4f}**{share}.",
        icon=":material/ads_click:",
    )


def rank_panels(view: SortingView, k: int, selected: int | None) -> None:
    """The four linked panels over the rank axis, cursor at k; click a bar to move k there."""
    selected_rank = int(view.ranks.reshape(-1)[selected]) if selected is not None else None
    show_all = bool(widgets.control(PAGE, "all_ranks"))
    visible = None if show_all else max(40, 3 * view.k_star, k + 10, (selected_rank or 0) + 10)
    panels = figures.sorted_panels_figure(
        view.errors_sorted,
        view.fg_sorted,
        view.jaccard,
        view.grad,
        k,
        view.k_star,
        selected_rank,
        visible,
        threshold=view.threshold,
        height=760,
    )
    panels_key = f"_se_panels_{st.session_state.get(PANELS_GENERATION, 0)}"
    presentation.plotly_chart(
        panels,
        key=panels_key,
        alt="The errors sorted in decreasing order, the Jaccard loss of each prefix, the Jaccard "
        "gradients g and the running loss, with a cursor at k",
        numbers=False,
        on_select=lambda: _on_rank_click(panels_key, view.order),
        selection_mode="points",
    )
    st.caption(
        "Purple bars are pixels of class c (false negatives when their error is large), vermillion "
        "bars other pixels (false positives). Click a bar to move k there. The dashed line k* marks "
        f"the pixels that are actually wrong (m > {view.threshold:g})."
    )


def linked_views(view: SortingView, cls: int) -> None:
    """Step controls, running numbers, pixel maps and rank panels, all at the same k."""
    total = view.size
    if st.session_state.get(PLAYING) and K_KEY in st.session_state:
        st.session_state[K_KEY] = (int(st.session_state[K_KEY]) + 1) % (total + 1)
    k = step_controls(total)
    running_numbers(view, k)
    selected = st.session_state.get(SELECTED)
    if selected is not None and not 0 <= selected < total:
        selected = None
    pixel_maps(view, k, selected, cls)
    if selected is not None:
        pixel_details(view, selected)
    rank_panels(view, k, selected)
    widgets.share_link(PAGE, state.current(PAGE))
    state.publish(PAGE)  # a fragment rerun: keep the address bar at this k


def void_notes(view: SortingView) -> None:
    """How many pixels are void, and what the loss does with them."""
    count = int(view.void.sum())
    if count == 0:
        return
    if view.ignored:
        st.info(
            f"**{view.ignored} void pixels** (label 255, grey on the maps) are ignored: they are not "
            f"in the sort (P = {view.size} of {view.errors.size} pixels), count in neither I nor U, and "
            "get g = 0, so no gradient.",
            icon=":material/texture:",
        )
    else:
        st.warning(
            f"**{count} void pixels** (label 255) are in the sort as 'not c'. lovasz_softmax refuses "
            f"these labels without ignore_index=255: {view.loss_error}",
            icon=":material/texture:",
        )


def facts(view: SortingView, chosen: params.SortingParams) -> None:
    """Four facts the page proves on the current numbers."""
    st.subheader("What the numbers prove")
    tabs = st.tabs(["Prefix sums of g = Δ", "Binary errors", "An absent class", "Hinge vs softmax"])
    with tabs[0]:
        st.latex(r"\sum_{i \le k} g_i = \Delta_k = \Delta_J(\{\pi_1,\dots,\pi_k\})")
        st.markdown(
            "The k-th prefix sum of g is the Jaccard loss **if exactly the k worst pixels were "
            "wrong**. The pixels that *are* wrong at the threshold are the k* with "
            f"m > {view.threshold:g}, so at k = k* it equals 1 − IoU of the thresholded prediction."
        )
        cols = st.columns(3)
        cols[0].metric(f"k* = #{{m > {view.threshold:g}}}", f"{view.k_star}")
        cols[1].metric(r"$\sum_{i \le k^*} g_i$", f"{view.prefix_sum_at_k_star:.4f}")
        iou = view.iou_threshold
        cols[2].metric("1 − IoU (thresholded)", "undefined" if np.isnan(iou) else f"{1 - iou:.4f}")
        st.button("Jump to k = k*", on_click=_set_k, args=(view.k_star,), key="_se_jump")
    with tabs[1]:
        st.markdown(
            "At a corner of the cube (errors 0 or 1) the extension **is** the set function: "
            "binarize the errors, m̂ = 1[m > threshold], and compare."
        )
        cols = st.columns(2)
        cols[0].metric("Lovász extension at m̂", f"{view.binary_extension:.4f}")
        cols[1].metric(r"$\Delta_J(M) = |M| / |F \cup M|$", f"{view.binary_delta:.4f}")
    with tabs[2]:
        st.latex(r"F=\varnothing \;\Rightarrow\; \Delta_J(M) = 1 \text{ for every } M \ne \varnothing")
        st.latex(r"\Rightarrow\; g = (1, 0, \dots, 0),\quad \text{loss} = \max_i m_i")
        if view.num_fg == 0:
            st.warning(
                f"Class {chosen.cls} is absent from the ground truth, so its loss is its **largest "
                f"error**: {view.loss:.4f} = max m = {view.max_error:.4f}. Every pixel predicted as c "
                "is a false positive, but only the worst one is pushed."
            )
        else:
            st.markdown(
                f"Class {chosen.cls} has {view.num_fg} pixels here. Turn on *Remove class c from the "
                "ground truth* in the sidebar (or pick the preset *Absent class*) to see what an "
                "absent class costs."
            )
        cols = st.columns(2)
        cols[0].metric(
            'lovasz_softmax(classes="present")',
            f"{view.loss_present:.4f}",
            help="Mean over the classes present in the labels: an absent class is skipped.",
        )
        cols[1].metric(
            'lovasz_softmax(classes="all")',
            f"{view.loss_all:.4f}",
            help="Mean over all C classes: an absent class adds its largest probability.",
        )
    with tabs[3]:
        st.latex(r"m^{\text{softmax}}_i = |1[y_i = c] - p_i(c)| \in [0,1]")
        st.latex(r"m^{\text{hinge}}_i = \max(0,\ 1 - s_i y^*_i),\quad s_i = z_i(c) - \max_{c' \ne c} z_i(c')")
        st.markdown(
            "Switch **Errors** in the sidebar. Hinge errors are 0 for pixels classified with a "
            "margin (they drop out of the sort entirely) and grow without bound for confident "
            "mistakes, so the first ranks dominate; softmax errors saturate at 1. The threshold "
            "between right and wrong is m = 0.5 for softmax, m = 1 for hinge (s·y* = 0)."
        )
        left, right = st.columns([3, 2])
        fig = figures.error_comparison_figure(view.softmax_errors, view.hinge_errors, view.fg)
        presentation.plotly_chart(
            fig,
            key="_se_hinge_vs_softmax",
            container=left,
            alt="Each pixel's hinge error against its softmax error",
        )
        left.caption(
            "One dot per pixel. Dots on the floor (hinge = 0) are classified with a margin: hinge "
            "ignores them. Right of the dashed line (softmax m > 0.5) the pixel is wrong; above m = 1 "
            "hinge agrees, and the more confident the mistake, the higher it climbs."
        )
        right.metric("Errors in use", chosen.errors, help=f"threshold {view.threshold:g}")
        right.metric("Lovász extension, softmax errors", f"{view.softmax_loss:.4f}")
        right.metric(
            "Lovász extension, hinge errors",
            f"{view.hinge_loss:.4f}",
            help="The per-class term of lovasz_hinge (binary case: s = z₁ − z₀).",
        )


# ------------------------------------------------------------------------------------------
# The screen

widgets.page_header(
    PAGE,
    "Sorting errors",
    "The Lovász loss sorts the pixels by error and charges each one the increase of the Jaccard "
    "loss it would cause if it were added to the set of wrong pixels.",
)
st.latex(r"\text{loss}(m) = \sum_{i=1}^{P} m_{\pi(i)}\, g_i, \qquad g_i = \Delta_i - \Delta_{i-1}")
st.latex(
    r"\Delta_i = 1 - \frac{|F| - \#\{\text{fg among } \pi_1..\pi_i\}}"
    r"{|F| + \#\{\text{bg among } \pi_1..\pi_i\}}"
)
labels, num_classes, spec = widgets.scene_sidebar(PAGE, keep_void=True)
st.sidebar.subheader("Loss")
cls = int(widgets.control(PAGE, "cls", st.sidebar, hi=num_classes - 1))
kind = widgets.control(PAGE, "errors", st.sidebar, horizontal=True)
absent = bool(widgets.control(PAGE, "absent", st.sidebar))
st.sidebar.subheader("Void pixels")
void = int(widgets.control(PAGE, "void", st.sidebar))
ignore = bool(widgets.control(PAGE, "ignore", st.sidebar))
try:
    logits = widgets.load_logits(labels, num_classes, spec)
    view = cached_view(labels, logits, cls, kind, absent, void, ignore)
except (ValueError, TypeError) as error:
    st.error(f"Cannot compute the trace: {error}")
    st.stop()
if view.size < 4:
    st.warning(
        f"A {view.shape[0]}×{view.shape[1]} image has only {view.size} pixel(s): the walk-through is "
        "trivial. Try 8×8 or more."
    )
void_notes(view)
playing = bool(st.session_state.get(PLAYING, False))
st.fragment(linked_views, run_every=PLAY_SECONDS if playing else None)(view, cls)
facts(view, state.current(PAGE))
st.success(
    "**Takeaway.** The Lovász loss is a weighted sum of the errors whose weights g come from the "
    "sort: each wrong pixel is charged how much it raises the Jaccard loss of its class, so the "
    "gradient concentrates on the errors that hurt IoU most.",
    icon=":material/lightbulb:",
)
