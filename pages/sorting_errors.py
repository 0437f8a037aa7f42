"""Page "Sorting errors": the Lovász extension of the Jaccard loss computed step by step.

Error map → errors sorted → Δ of each prefix → Jaccard gradients g → g on the image →
loss = Σ m·g. A step k walks through the sort order; every view highlights the k worst pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
import torch

from app import params, presentation, state, widgets
from app.figures import sorting as figures
from lovasz_core import jaccard_loss_of_set, lovasz_extension, lovasz_softmax, lovasz_trace
from lovasz_core.lab.predictions import PredictionSpec, hinge_errors, softmax_errors

PAGE = "sorting_errors"
PLAYING = "_se_playing"
SELECTED = "_se_selected"
PANELS_GENERATION = "_se_panels_generation"
K_KEY = state.key(PAGE, "k")


@st.cache_data(max_entries=64, show_spinner=False)
def compute(
    labels: np.ndarray, num_classes: int, spec: PredictionSpec, cls: int, kind: str, absent: bool
) -> dict[str, Any]:
    """Every number the page draws, as numpy arrays and floats (cached per parameter set).

    The prediction is made from the original mask; with ``absent`` the class is then removed
    from the ground truth (relabelled as background, or as class 1 when c = 0).
    """
    logits = torch.from_numpy(widgets.load_logits(labels, num_classes, spec))
    truth = torch.from_numpy(labels).clone()
    if absent:
        truth[truth == cls] = 1 if cls == 0 else 0
    probas = logits.softmax(0)
    fg = truth == cls
    if kind == "hinge":
        errors, threshold = hinge_errors(logits, cls, fg), 1.0
        predicted_c = (logits[cls] - torch.cat([logits[:cls], logits[cls + 1 :]]).max(0).values) > 0
    else:
        errors, threshold = softmax_errors(probas[cls], fg), 0.5
        predicted_c = probas[cls] > 0.5
    trace = lovasz_trace(errors.to(torch.float64), fg)
    ranks = torch.empty_like(trace.order).scatter_(0, trace.order, torch.arange(1, fg.numel() + 1))
    wrong = errors > threshold
    union = int((fg | predicted_c).sum())
    iou_threshold = float((fg & predicted_c).sum()) / union if union else float("nan")
    binary = wrong.to(torch.float64)
    both = {"softmax": softmax_errors(probas[cls], fg), "hinge": hinge_errors(logits, cls, fg)}
    loss_all = lovasz_softmax(probas[None], truth[None], classes="all")
    loss_present = lovasz_softmax(probas[None], truth[None], classes="present")
    return {
        "shape": tuple(labels.shape),
        "truth": truth.numpy(),
        "fg": fg.numpy(),
        "errors": errors.numpy().astype(np.float64),
        "order": trace.order.numpy(),
        "ranks": ranks.numpy().reshape(labels.shape),
        "errors_sorted": trace.errors_sorted.numpy(),
        "fg_sorted": trace.fg_sorted.numpy(),
        "intersection": trace.intersection.numpy(),
        "union": trace.union.numpy(),
        "jaccard": trace.jaccard.numpy(),
        "grad": trace.grad.numpy(),
        "contributions": trace.contributions.numpy(),
        "weights": trace.weights.numpy(),
        "loss": float(trace.loss),
        "threshold": threshold,
        "k_star": int(wrong.sum()),
        "iou_threshold": iou_threshold,
        "binary_extension": float(lovasz_extension(binary, fg)),
        "binary_delta": float(jaccard_loss_of_set(wrong, fg)),
        "num_fg": int(fg.sum()),
        "max_error": float(errors.max()),
        "softmax_errors": both["softmax"].numpy().astype(np.float64),
        "hinge_errors": both["hinge"].numpy().astype(np.float64),
        "softmax_loss": float(lovasz_extension(both["softmax"].to(torch.float64), fg)),
        "hinge_loss": float(lovasz_extension(both["hinge"].to(torch.float64), fg)),
        "loss_all": float(loss_all),
        "loss_present": float(loss_present),
        "num_classes": num_classes,
    }


# ------------------------------------------------------------------------------------------
# Callbacks (run before the script, so they may set widget values)


def _set_k(value: int) -> None:
    st.session_state[K_KEY] = int(value)


def _step(delta: int, total: int) -> None:
    st.session_state[K_KEY] = int(min(max(st.session_state.get(K_KEY, 0) + delta, 0), total))


def _toggle_play() -> None:
    st.session_state[PLAYING] = not st.session_state.get(PLAYING, False)


def _points(chart_key: str) -> list[dict]:
    event = st.session_state.get(chart_key)
    if not event:
        return []
    selection = event.get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    return list(selection.get("points", []) or [])


def _on_pixel_click(chart_key: str, width: int) -> None:
    """A click on a pixel of any map selects it (and resets the charts' own selection state)."""
    st.session_state[PANELS_GENERATION] = st.session_state.get(PANELS_GENERATION, 0) + 1
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
    """A click on a bar (its transparent marker) moves k there and selects that pixel.

    The chart then gets a new key, so that plotly does not keep the clicked point selected and
    dim every other bar.
    """
    st.session_state[PANELS_GENERATION] = st.session_state.get(PANELS_GENERATION, 0) + 1
    for point in _points(chart_key):
        custom = point.get("customdata")
        rank = custom[0] if isinstance(custom, list) and custom else point.get("x")
        if rank is not None and 1 <= round(rank) <= len(order):
            rank = round(rank)
            st.session_state[K_KEY] = rank
            st.session_state[SELECTED] = int(order[rank - 1])
            return


# ------------------------------------------------------------------------------------------
# Layout


def pixel_hover(data: dict[str, Any]) -> list[str]:
    errors, weights, ranks = (
        data["errors"].reshape(-1),
        data["weights"].reshape(-1),
        data["ranks"].reshape(-1),
    )
    fg = data["fg"].reshape(-1)
    width = data["shape"][1]
    return [
        f"pixel ({i // width}, {i % width}) {'in c' if fg[i] else 'not c'}<br>rank {ranks[i]}, "
        f"m = {errors[i]:.3f}, g = {weights[i]:.4f}<br>m·g = {errors[i] * weights[i]:.4f}"
        for i in range(errors.size)
    ]


def step_controls(total: int) -> int:
    """Play/Pause, the step slider and ⏮ ◀ ▶ ⏭ buttons on one row; returns k."""
    play, left, right = st.columns([1.1, 5, 2], vertical_alignment="bottom")
    playing = bool(st.session_state.get(PLAYING, False))
    if play.button(
        "Pause" if playing else "Play",
        icon=":material/pause:" if playing else ":material/play_arrow:",
        key="_se_play",
        type="primary",
        width="stretch",
        help="Walk k through the sort order, one pixel every 0.8 s.",
    ):
        _toggle_play()
        st.rerun()  # the whole page: the fragment's timer is set there
    with right:
        b1, b2, b3, b4 = st.columns(4)
        b1.button(
            "",
            icon=":material/first_page:",
            key="_se_first",
            on_click=_set_k,
            args=(0,),
            help="k = 0",
            width="stretch",
        )
        b2.button(
            "",
            icon=":material/chevron_left:",
            key="_se_prev",
            on_click=_step,
            args=(-1, total),
            help="k − 1",
            width="stretch",
        )
        b3.button(
            "",
            icon=":material/chevron_right:",
            key="_se_next",
            on_click=_step,
            args=(1, total),
            help="k + 1",
            width="stretch",
        )
        b4.button(
            "",
            icon=":material/last_page:",
            key="_se_last",
            on_click=_set_k,
            args=(total,),
            help="k = P",
            width="stretch",
        )
    with left:
        return int(
            widgets.control(
                PAGE,
                "k",
                hi=total,
                help="The prefix {π1, …, πk}: the k pixels with the largest errors. Play, the buttons, and "
                "clicks on bars or pixels move it too.",
            )
        )


def running_numbers(data: dict[str, Any], k: int) -> None:
    """I_k, U_k, Δ_k and the loss so far, as metrics."""
    cols = st.columns(5)
    if k == 0:
        num_fg = data["num_fg"]
        values = (num_fg, num_fg, 0.0, 0.0)
    else:
        values = (
            data["intersection"][k - 1],
            data["union"][k - 1],
            data["jaccard"][k - 1],
            float(np.sum(data["contributions"][:k])),
        )
    cols[0].metric("I_k = |F| − #fg in prefix", f"{values[0]:.0f}")
    cols[1].metric("U_k = |F| + #bg in prefix", f"{values[1]:.0f}")
    cols[2].metric("Δ_k = 1 − I_k / U_k", f"{values[2]:.4f}")
    cols[3].metric("Σ_{i≤k} m·g (loss so far)", f"{values[3]:.4f}")
    cols[4].metric("Lovász loss = Σ m·g", f"{data['loss']:.4f}")


def linked_views(data: dict[str, Any]) -> None:
    """Step controls, the three pixel maps and the four rank panels, all at the same k."""
    total = len(data["errors_sorted"])
    if st.session_state.get(PLAYING) and K_KEY in st.session_state:
        st.session_state[K_KEY] = (int(st.session_state[K_KEY]) + 1) % (total + 1)
    k = step_controls(total)
    running_numbers(data, k)
    shape = data["shape"]
    prefix = (data["ranks"] <= k) & (k > 0)
    selected = st.session_state.get(SELECTED)
    if selected is not None and not 0 <= selected < total:
        selected = None
    hover = pixel_hover(data)
    maps = st.columns(4)
    specs = (
        ("fg", data["fg"].astype(float), "Ground truth of c"),
        ("errors", data["errors"], "Errors m"),
        ("weights", data["weights"], "Jaccard gradients g"),
        ("contributions", data["errors"] * data["weights"], "Contributions m·g"),
    )
    for column, (kind, values, title) in zip(maps, specs, strict=True):
        chart_key = f"_se_map_{kind}_{st.session_state.get(PANELS_GENERATION, 0)}"
        fig = figures.pixel_map_figure(values, kind, data["fg"], prefix, selected, title, hover, height=270)
        presentation.plotly_chart(
            fig,
            key=chart_key,
            container=column,
            alt=f"{title}: one value per pixel; the k pixels with the largest errors are outlined",
            numbers=False,  # the captions below describe it; a click on a pixel gives its numbers
            on_select=lambda ck=chart_key: _on_pixel_click(ck, shape[1]),
            selection_mode="points",
        )
    captions = st.columns(4)
    captions[0].caption(
        "Vermillion: class c. Black outline: the k pixels with the largest errors; dotted: the "
        "class's ground truth. Click any pixel for its numbers."
    )
    captions[1].caption("Largest where the prediction is confidently wrong: these come first in the sort.")
    captions[2].caption(
        "g put back on each pixel: the weight of its error in the loss, i.e. its gradient. "
        "g ≥ 0, since adding a pixel to the wrong set never lowers Δ."
    )
    captions[3].caption("Each pixel's share of the loss; they add up to the Lovász loss.")
    selected_rank = int(data["ranks"].reshape(-1)[selected]) if selected is not None else None
    show_all = bool(widgets.control(PAGE, "all_ranks"))
    visible = None if show_all else max(40, 3 * data["k_star"], k + 10, (selected_rank or 0) + 10)
    panels = figures.sorted_panels_figure(
        data["errors_sorted"],
        data["fg_sorted"],
        data["jaccard"],
        data["grad"],
        k,
        data["k_star"],
        selected_rank,
        visible,
        threshold=data["threshold"],
        height=760,
    )
    panels_key = f"_se_panels_{st.session_state.get(PANELS_GENERATION, 0)}"
    presentation.plotly_chart(
        panels,
        key=panels_key,
        alt="The errors sorted in decreasing order (coloured by foreground or background), the "
        "Jaccard loss of each prefix, and the Jaccard gradients g, with a cursor at k",
        numbers=False,  # the caption below describes it; the metrics above give the numbers at k
        on_select=lambda: _on_rank_click(panels_key, data["order"]),
        selection_mode="points",
    )
    st.caption(
        "Vermillion bars are pixels of class c (false negatives when their error is large), sky-blue "
        "bars are other pixels (false positives). Click a bar to move k there. The dashed pink line "
        f"k* marks the pixels that are actually wrong (m > {data['threshold']:g})."
    )
    if selected is not None:
        pixel_details(data, selected)
    widgets.share_link(PAGE, state.current(PAGE))


def pixel_details(data: dict[str, Any], index: int) -> None:
    width = data["shape"][1]
    rank = int(data["ranks"].reshape(-1)[index])
    m, g = float(data["errors"].reshape(-1)[index]), float(data["weights"].reshape(-1)[index])
    in_c = bool(data["fg"].reshape(-1)[index])
    st.info(
        f"**Selected pixel** (row {index // width}, column {index % width}), "
        f"{'in class c' if in_c else 'not in class c'}: rank **{rank}** of {data['errors'].size}, "
        f"error m = **{m:.4f}**, Jaccard gradient g = **{g:.4f}**, contribution m·g = **{m * g:.4f}** "
        f"({100 * m * g / data['loss']:.1f}% of the loss)."
        if data["loss"] > 0
        else f"**Selected pixel** (row {index // width}, column {index % width}): rank {rank}, m = {m:.4f}, "
        f"g = {g:.4f}.",
        icon=":material/ads_click:",
    )


def facts(data: dict[str, Any], chosen: params.SortingParams) -> None:
    """The four facts the page shows with the current numbers."""
    st.subheader("What the numbers prove")
    tabs = st.tabs(["Prefix sums of g = Δ", "Binary errors", "An absent class", "Hinge vs softmax"])
    k_star, threshold = data["k_star"], data["threshold"]
    with tabs[0]:
        st.latex(r"\sum_{i \le k} g_i = \Delta_k = \Delta_J(\{\pi_1,\dots,\pi_k\})")
        st.markdown(
            "The k-th prefix sum of g is the Jaccard loss **if exactly the k worst pixels were "
            "wrong**. The pixels that *are* wrong at the threshold are the k* with "
            f"m > {threshold:g}, so at k = k* it must equal 1 − IoU of the thresholded prediction."
        )
        cols = st.columns(3)
        cols[0].metric(f"k* = #{{m > {threshold:g}}}", f"{k_star}")
        delta_k_star = float(np.cumsum(data["grad"])[k_star - 1]) if k_star > 0 else 0.0
        cols[1].metric("Σ_{i ≤ k*} g_i", f"{delta_k_star:.4f}")
        iou = data["iou_threshold"]
        cols[2].metric("1 − IoU (thresholded)", "undefined" if np.isnan(iou) else f"{1 - iou:.4f}")
        st.button("Jump to k = k*", on_click=_set_k, args=(k_star,), key="_se_jump")
    with tabs[1]:
        st.markdown(
            "At a corner of the cube (errors 0 or 1) the extension **is** the set function: "
            "binarize the errors, m̂ = 1[m > threshold], and compare."
        )
        cols = st.columns(2)
        cols[0].metric("Lovász extension at m̂", f"{data['binary_extension']:.4f}")
        cols[1].metric("Δ_J(M) = |M| / |F ∪ M|", f"{data['binary_delta']:.4f}")
    with tabs[2]:
        st.latex(
            r"F=\varnothing \;\Rightarrow\; \Delta_J(M) = \tfrac{|M|}{|M|} = 1 \text{ for every } "
            r"M \ne \varnothing \;\Rightarrow\; g = (1, 0, \dots, 0),\ \text{loss} = \max_i m_i"
        )
        if data["num_fg"] == 0:
            st.warning(
                f"Class {chosen.cls} is absent from the ground truth, so its loss is its **largest "
                f"error**: {data['loss']:.4f} = max m = {data['max_error']:.4f}. "
                "Every pixel predicted as c is a false positive, but only the worst one is pushed."
            )
        else:
            st.markdown(
                f"Class {chosen.cls} has {data['num_fg']} pixels here. Turn on "
                "*Remove class c from the ground truth* in the sidebar (or pick the preset "
                "*Absent class*) to see what an absent class costs."
            )
        cols = st.columns(2)
        cols[0].metric(
            'lovasz_softmax(classes="present")',
            f"{data['loss_present']:.4f}",
            help="Mean over the classes present in the labels: an absent class is skipped.",
        )
        cols[1].metric(
            'lovasz_softmax(classes="all")',
            f"{data['loss_all']:.4f}",
            help="Mean over all C classes: an absent class adds its largest probability.",
        )
    with tabs[3]:
        st.latex(
            r"m^{\text{softmax}}_i = |1[y_i = c] - p_i(c)| \in [0,1] \qquad "
            r"m^{\text{hinge}}_i = \max(0,\ 1 - s_i y^*_i),\ s_i = z_i(c) - \max_{c' \ne c} z_i(c')"
        )
        st.markdown(
            "Switch **Errors** in the sidebar. Hinge errors are 0 for pixels classified with a "
            "margin (they drop out of the sort entirely) and grow without bound for confident "
            "mistakes, so the first ranks dominate; softmax errors saturate at 1. The threshold "
            "between right and wrong is m = 0.5 for softmax, m = 1 for hinge (s·y* = 0)."
        )
        left, right = st.columns([3, 2])
        with left:
            fig = figures.error_comparison_figure(data["softmax_errors"], data["hinge_errors"], data["fg"])
            presentation.plotly_chart(
                fig, key="_se_hinge_vs_softmax", alt="Each pixel's hinge error against its softmax error"
            )
            st.caption(
                "One dot per pixel. Dots on the floor (hinge = 0) are classified with a margin: hinge "
                "ignores them. Right of the dashed line (softmax m > 0.5) the pixel is wrong; above m = 1 "
                "hinge agrees, and the more confident the mistake, the higher it climbs."
            )
        with right:
            st.metric("Errors in use", chosen.errors, help="threshold " + f"{threshold:g}")
            st.metric("Lovász extension, softmax errors", f"{data['softmax_loss']:.4f}")
            st.metric(
                "Lovász extension, hinge errors",
                f"{data['hinge_loss']:.4f}",
                help="The per-class term of lovasz_hinge (binary case: s = z₁ − z₀).",
            )


def main() -> None:
    widgets.page_header(
        PAGE,
        "Sorting errors",
        "The Lovász loss sorts the pixels by error and charges each one the increase of "
        "the Jaccard loss it would cause if it were added to the set of wrong pixels.",
    )
    st.latex(
        r"\text{loss}(m) = \sum_{i=1}^{P} m_{\pi(i)}\, g_i,\qquad g_i = \Delta_i - \Delta_{i-1},\qquad "
        r"\Delta_i = 1 - \frac{|F| - \#\{\text{fg among } \pi_1..\pi_i\}}{|F| + \#\{\text{bg among } "
        r"\pi_1..\pi_i\}}"
    )
    sidebar = st.sidebar
    labels, num_classes, spec = widgets.scene_sidebar(PAGE)
    sidebar.subheader("Loss")
    cls = int(widgets.control(PAGE, "cls", sidebar, hi=num_classes - 1))
    kind = widgets.control(PAGE, "errors", sidebar, horizontal=True)
    absent = bool(widgets.control(PAGE, "absent", sidebar))
    try:
        data = compute(labels, num_classes, spec, cls, kind, absent)
    except (ValueError, TypeError) as error:
        st.error(f"Cannot compute the trace: {error}")
        return
    if labels.size < 4:
        st.warning(
            f"A {labels.shape[0]}×{labels.shape[1]} image has only {labels.size} pixel(s): "
            "the walk-through is trivial. Try 8×8 or more."
        )

    playing = bool(st.session_state.get(PLAYING, False))
    st.fragment(linked_views, run_every=0.8 if playing else None)(data)
    facts(data, state.current(PAGE))
    st.success(
        "**Takeaway.** The Lovász loss is a weighted sum of the errors whose weights g come from "
        "the sort: each wrong pixel is charged how much it raises the Jaccard loss of its class, so "
        "the gradient concentrates on the errors that hurt IoU most.",
        icon=":material/lightbulb:",
    )
    sidebar.caption("Computed live with torch on the CPU (tiny tensors: milliseconds).")


main()
