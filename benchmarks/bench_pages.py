"""Server time of one interaction on each "Understand" page, measured with AppTest.

For every page: open it once (warm-up), then time (a) reruns with a *new* value of a control that
changes the computation (a cache miss: compute + figures + layout), and (b) reruns that only move
a view control (cache hit: figures + layout). AppTest runs the real script in-process, so the
numbers are an upper bound of what ``streamlit run`` spends on the server per interaction.

    .venv/bin/python benchmarks/bench_pages.py            # default settings, 5 repeats
    .venv/bin/python benchmarks/bench_pages.py --repeat 9
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from tests.app_harness import assert_no_exception, run_page

ROOT = Path(__file__).resolve().parent.parent

BUDGET_MS = 300.0

# page → (label, action(at, i)) pairs; i varies the value so that every run is a new parameter set.
# A "setup" query opens the page in another state first.
Action = Callable[[object, int], None]
SETUP: dict[str, dict[str, str]] = {
    "3 pixels, move the slice": {"geo_pixels": "3"},
    "32×32, step k": {"se_size": "32"},
    "32×32, new shift (recompute)": {"se_size": "32"},
}
SCENARIOS: dict[str, list[tuple[str, Action]]] = {
    "home.py": [
        (
            "move the offset b (no recompute)",
            lambda at, i: at.slider(key="h_offset").set_value(0.1 * (i + 1)),
        ),
    ],
    "iou_jaccard.py": [
        ("new shift (recompute)", lambda at, i: at.slider(key="ij_shift_x").set_value(-4.0 + 0.5 * i)),
        ("new offset b (recompute)", lambda at, i: at.slider(key="ij_offset").set_value(0.1 * (i + 1))),
    ],
    "sorting_errors.py": [
        ("step k (cached trace)", lambda at, i: at.slider(key="se_k").set_value(20 + i)),
        ("new noise (recompute)", lambda at, i: at.slider(key="se_noise").set_value(0.1 * (i + 1))),
        ("32×32, step k", lambda at, i: at.slider(key="se_k").set_value(40 + i)),
        ("32×32, new shift (recompute)", lambda at, i: at.slider(key="se_shift_x").set_value(-3.0 + 0.5 * i)),
    ],
    "geometry.py": [
        ("move the probe (recompute)", lambda at, i: at.slider(key="geo_m1").set_value(0.05 * (i + 1))),
        ("3 pixels, move the slice", lambda at, i: at.slider(key="geo_m3").set_value(0.05 * (i + 2))),
    ],
}


def time_scenario(page: str, label: str, action: Action, repeat: int) -> list[float]:
    at = run_page(page, SETUP.get(label))
    assert_no_exception(at)
    times = []
    for i in range(repeat + 1):
        action(at, i)
        start = time.perf_counter()
        at.run()
        elapsed = (time.perf_counter() - start) * 1000
        assert_no_exception(at)
        if i > 0:  # the first run may warm up imports and caches of this path
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'page':22} {'interaction':34} {'median ms':>10} {'max ms':>8}  budget {BUDGET_MS:.0f} ms")
    worst = 0.0
    for page, scenarios in SCENARIOS.items():
        for label, action in scenarios:
            times = time_scenario(page, label, action, args.repeat)
            median = statistics.median(times)
            worst = max(worst, median)
            flag = "ok" if median <= BUDGET_MS else "OVER"
            print(f"{page:22} {label:34} {median:10.0f} {max(times):8.0f}  {flag}")
    print(f"worst median: {worst:.0f} ms")


if __name__ == "__main__":
    main()
