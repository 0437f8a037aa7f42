"""Speed of minibatch training on the generated data set (target: ≥ 20 steps/s per lane at 32²).

For each batch size, measures every multi-class lane alone (1 lane) and the four lanes side by
side (one step = one update of every lane), each ``--repeats`` times, and prints the range of
steps per second with the machine's load average. Validation is timed separately (one pass over
the validation split per lane), since a page runs it only every ``eval_every`` steps.

Usage::

    python -m benchmarks.bench_dataset                 # 32², batch sizes 4, 8, 16
    python -m benchmarks.bench_dataset --size 64 --steps 40

Prints one line per measurement; no assertion (timings depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import os
import time

from lovasz_core.lab.dataset_training import DatasetTrainingConfig, DatasetTrainingRun
from lovasz_core.lab.lanes import MULTICLASS_LANES


def steps_per_second(
    lanes: tuple[str, ...], size: int, batch_size: int, steps: int, threads: int
) -> tuple[float, float]:
    """``(wall, cpu)`` training steps per second of a run with ``lanes``.

    ``wall`` counts elapsed time; ``cpu`` this process's CPU time, which is what a step costs on
    a core of its own (on a loaded machine the wall rate falls, the CPU rate much less).
    Validation runs only at step 0, before timing.
    """
    config = DatasetTrainingConfig(
        size=size, batch_size=batch_size, lanes=lanes, steps=steps + 5, eval_every=10**6
    )
    run = DatasetTrainingRun(config, threads=threads)
    run.step(5)  # warm-up, including the evaluation at step 0
    began, cpu = time.perf_counter(), time.process_time()
    run.step(steps)
    return steps / (time.perf_counter() - began), steps / (time.process_time() - cpu)


def validation_seconds(size: int, threads: int) -> float:
    """Seconds of one validation pass (data-set and per-image IoU) for one lane."""
    run = DatasetTrainingRun(
        DatasetTrainingConfig(size=size, lanes=("cross_entropy",), steps=1), threads=threads
    )
    run.evaluate("cross_entropy")
    began = time.perf_counter()
    run.evaluate("cross_entropy")
    return time.perf_counter() - began


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} on {os.cpu_count()} CPUs"


def _range(values: list[tuple[float, float]]) -> str:
    wall, cpu = [v[0] for v in values], [v[1] for v in values]
    return f"wall {min(wall):6.1f} – {max(wall):6.1f}, CPU time {min(cpu):6.1f} – {max(cpu):6.1f} steps/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(f"size {args.size}², {args.steps} steps per measurement, {args.repeats} repeats, {_load()}")
    for batch_size in args.batch_sizes:
        for lane in MULTICLASS_LANES:
            values = [
                steps_per_second((lane,), args.size, batch_size, args.steps, args.threads)
                for _ in range(args.repeats)
            ]
            print(f"batch {batch_size:2d}  1 lane   {lane:14s} {_range(values)}   ({_load()})")
        values = [
            steps_per_second(MULTICLASS_LANES, args.size, batch_size, args.steps, args.threads)
            for _ in range(args.repeats)
        ]
        print(f"batch {batch_size:2d}  4 lanes  side by side   {_range(values)}   ({_load()})")
    seconds = [validation_seconds(args.size, args.threads) for _ in range(args.repeats)]
    print(f"validation pass, 1 lane: {1000 * min(seconds):.1f} – {1000 * max(seconds):.1f} ms   ({_load()})")


if __name__ == "__main__":
    main()
