"""Speed of the training engine and of the live page (issue 5's targets).

Targets: ≥ 20 training steps per second per loss for a 64×64 image with the tiny net on a 2-core
CPU, and the live page refreshing ≥ 4 times per second while it trains.

Usage::

    python benchmarks/bench_training.py            # engine + server-side refresh cost
    python benchmarks/bench_training.py --browser  # also a real server + headless Chromium

Prints one line per measurement; no assertion (timings depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import numpy as np
import torch

from app.serving import CHROMIUM, CHROMIUM_FLAGS, MAIN, cpu_by_process, serve
from lovasz_core.lab.registry import LOSSES
from lovasz_core.lab.training import TrainingConfig, TrainingRun

ROOT = Path(__file__).resolve().parent.parent


def engine(
    size: int = 64,
    steps: int = 200,
    losses: tuple[str, ...] = tuple(LOSSES),
    model: str = "tiny_fcn",
    device: str = "cpu",
    threads: int | None = 1,
) -> dict[str, float]:
    """Steps per second per loss: ``{lane: steps/s}`` from the engine's own per-step timings."""
    run = TrainingRun(
        TrainingConfig(image="horse", size=size, steps=steps + 10, losses=losses, model=model, device=device),
        threads=threads,
    )
    run.step(10)  # warm-up
    began = time.perf_counter()
    run.step(steps)
    wall = time.perf_counter() - began
    per_lane = {
        key: 1.0 / float(np.median([r.seconds for r in run.records[10 * len(losses) :] if r.loss_key == key]))
        for key in losses
    }
    per_lane["_side_by_side"] = steps / wall  # every lane advanced this many steps per second
    return per_lane


def render_cost(repeats: int = 20) -> float:
    """Milliseconds to build what one refresh of the live view draws (figures, images, table)."""
    import pandas as pd

    from app.figures.training import class_iou_table, mask_overlay, training_curves_figure, upscale

    run = TrainingRun(TrainingConfig(image="horse", size=64, steps=400))
    run.step(300)
    titles = {k: v.label for k, v in LOSSES.items()}
    began = time.perf_counter()
    for _ in range(repeats):
        records = run.records
        frame = pd.DataFrame(
            {
                "step": [r.step for r in records],
                "loss_key": [r.loss_key for r in records],
                "loss": [r.loss for r in records],
                "mean_iou": [r.mean_iou for r in records],
            }
        )
        training_curves_figure(frame, titles).to_json()
        for mask in run.latest_masks().values():
            upscale(mask_overlay(run.sample.image, mask))
        latest = pd.DataFrame(run.record_rows()[-len(run.lanes) :])
        class_iou_table(latest, run.class_names, titles).round(3)
    return 1000 * (time.perf_counter() - began) / repeats


BASELINE_APP = """
import streamlit as st
st.session_state.setdefault("n", 0)
st.button("Start")
@st.fragment(run_every=0.2)
def tick():
    st.session_state.n += 1
    st.progress(0.5, text=f"Step {st.session_state.n} / 1000000")
tick()
"""


def _cpu_seconds(root: int, exclude: int | None = None) -> float:
    """CPU seconds of a process tree (the server we started, or this script's browser)."""
    return sum(seconds for pid, seconds in cpu_by_process(root, exclude).items() if pid != os.getpid())


def _count_refreshes(browser, url: str, server_pid: int, seconds: float) -> tuple[float, float, float, float]:
    """Open ``url``, press Start, and count changes of the progress text.

    Returns (refreshes/s, steps/s, server CPU ms per refresh, browser CPU ms per refresh): the CPU
    costs do not depend on what else the machine runs, the rates do.
    """
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
    page.get_by_role("button", name="Start").click()
    page.wait_for_timeout(2000)
    pattern = re.compile(r"Step (\d+) /")

    def cpu() -> tuple[float, float]:  # the server's tree; Chromium (and its driver): ours but the server
        return _cpu_seconds(server_pid), _cpu_seconds(os.getpid(), exclude=server_pid)

    server_cpu, browser_cpu = cpu()
    changes, last, first, step, began = 0, None, None, 0, time.monotonic()
    while time.monotonic() - began < seconds:
        text = page.locator('[data-testid="stProgress"]').first.inner_text()
        if text != last:
            changes, last = changes + 1, text
            step = int(pattern.search(text).group(1))
            first = step if first is None else first
        page.wait_for_timeout(20)
    elapsed = time.monotonic() - began
    server_end, browser_end = cpu()
    server_ms = 1000 * (server_end - server_cpu) / max(changes, 1)
    browser_ms = 1000 * (browser_end - browser_cpu) / max(changes, 1)
    page.close()
    return changes / elapsed, (step - (first or 0)) / elapsed, server_ms, browser_ms


def browser_refresh_rates(seconds: float = 12.0) -> dict[str, tuple[float, float, float, float]]:
    """Refreshes/s and steps/s in headless Chromium: the live page, and a bare counter fragment.

    The bare fragment (same ``run_every``, nothing drawn but a progress bar) is the ceiling this
    machine gives any Streamlit fragment right now: compare the two, not the page alone. The last
    run turns off Streamlit's ``gc.collect(2)`` after every script/fragment run, which costs
    hundreds of milliseconds once torch, pandas and plotly are loaded.
    """
    import tempfile

    from playwright.sync_api import sync_playwright

    results: dict[str, tuple[float, float, float, float]] = {}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        baseline = Path(folder) / "baseline.py"
        baseline.write_text(BASELINE_APP)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        live = MAIN
        no_gc = ("--runner.postScriptGC", "false")
        for name, script, path, options in (
            ("bare fragment", baseline, "", ()),
            ("live page", live, "/live_training?lt_steps=2000", ()),
            ("live page, runner.postScriptGC=false", live, "/live_training?lt_steps=2000", no_gc),
        ):
            with serve(script, options, log_name="bench-training") as (url, server):
                results[name] = _count_refreshes(browser, url + path, server.pid, seconds)
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="store_true", help="also measure the live page in Chromium")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for model in ("tiny_fcn", "free_logits"):
        for threads in (1, None):
            speeds = engine(steps=args.steps, model=model, threads=threads)
            side = speeds.pop("_side_by_side")
            label = "1 thread" if threads == 1 else f"{torch.get_num_threads()} threads"
            print(
                f"{model:11s} 64×64, {label}: all 6 losses side by side {side:6.1f} steps/s per loss; "
                "1 / median step time: " + ", ".join(f"{k} {v:.0f}" for k, v in speeds.items())
            )
    if torch.cuda.is_available():
        speeds = engine(steps=args.steps, device="cuda")
        print(f"cuda: side by side {speeds.pop('_side_by_side'):.1f} steps/s per loss")
    print(f"server-side cost of one live refresh (6 lanes, 300 steps drawn): {render_cost():.1f} ms")
    if args.browser:
        for name, (rate, steps, server_ms, browser_ms) in browser_refresh_rates().items():
            print(
                f"browser, {name}: {rate:.1f} refreshes/s, {steps:.0f} steps/s"
                + (" per loss (3 losses)" if name.startswith("live page") else " (counter)")
                + f"; CPU per refresh: server {server_ms:.0f} ms, Chromium {browser_ms:.0f} ms"
            )
        print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
