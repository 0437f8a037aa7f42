"""Speed and peak memory of Lovász-Softmax: ours vs kornia vs a per-class loop, in one run.

Forward + backward from logits, with matching semantics (classes="all", per_image=True, softmax
inside), on the CPU and, when present, on CUDA. Prints times, ratios and peak memory, and the
"one-sort floor": a single ``torch.sort`` of the same number of elements, by rows (what kornia
sorts), and our kernel's own sort step on them (NumPy's SIMD sort of int64 keys on the CPU where
it is the faster; else int32 keys with ``torch.sort``: rows of at least 2¹⁵ one by one, shorter
rows in chunks of truncated keys, then runs of equal keys by their full keys; keys made and
order read back included).

    python benchmarks/bench_core.py [--device cpu|cuda] [--repeats 7] [--threads 1,2] [--json out.json]

``--threads 1,2`` runs everything once per torch thread count (``torch.set_num_threads``); on
the CPU the kernel sorts rows on as many threads as torch uses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor

from lovasz_core import LovaszSoftmaxLoss, _kernel, lovasz_grad
from lovasz_core._kernel import sort_rows

CONFIGS = [(16, 4, 32), (8, 21, 64), (2, 21, 256)]  # (batch, classes, side)


def per_class_loop(logits: Tensor, labels: Tensor) -> Tensor:
    """The paper's reference algorithm, a plain loop over images and classes (classes="all")."""
    probas = torch.softmax(logits, dim=1)
    image_losses = []
    for b in range(probas.shape[0]):
        class_losses = []
        for c in range(probas.shape[1]):
            fg = (labels[b] == c).reshape(-1).to(probas.dtype)
            errors = (fg - probas[b, c].reshape(-1)).abs()
            errors_sorted, order = torch.sort(errors, descending=True)
            class_losses.append(torch.dot(errors_sorted, lovasz_grad(fg[order])))
        image_losses.append(torch.stack(class_losses).mean())
    return torch.stack(image_losses).mean()


def _kornia_loss() -> Callable[[Tensor, Tensor], Tensor] | None:
    try:
        from kornia.losses import lovasz_softmax_loss
    except ImportError:
        return None
    return lovasz_softmax_loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _once_forward_backward(fn, logits: Tensor, labels: Tensor) -> float:
    x = logits.detach().requires_grad_(True)
    _sync(x.device)
    start = time.perf_counter()
    fn(x, labels).backward()
    _sync(x.device)
    return time.perf_counter() - start


def _kernel_sort(errors: Tensor, fg: Tensor) -> None:
    """The sort our kernel does on [G, N] errors < 2 and 0/1 fg on the CPU (unless NumPy's sort
    is the faster): int32 keys, rows of at least 2¹⁵ one by one and shorter rows in chunks of
    truncated keys (:func:`_kernel._sort_int32_chunk`); else :func:`sort_rows`."""
    rows, length = errors.shape
    per_chunk = _kernel.int32_rows_per_chunk(errors.device, rows, length)
    if per_chunk is None or _kernel._numpy_sort_applies(errors.device, rows, length):
        sort_rows(errors, fg)
        return
    full = errors.view(torch.int32).mul(2).add_(fg.to(torch.int32))
    size = min(rows, per_chunk) * length
    keys, ordered = torch.empty(size, dtype=torch.int32), torch.empty(size, dtype=torch.int32)
    order = torch.empty(size, dtype=torch.int64)
    for start in range(0, rows, per_chunk):
        chunk = full[start : start + per_chunk]
        count = chunk.numel()
        _kernel._sort_int32_chunk(chunk, keys[:count], ordered[:count], order[:count])


def _once_kernel_sort(errors: Tensor, fg: Tensor) -> float:
    """Our kernel's sort step (keys, sort, order) on [G, N] errors and 0/1 fg."""
    _sync(errors.device)
    start = time.perf_counter()
    _kernel_sort(errors, fg)
    _sync(errors.device)
    return time.perf_counter() - start


def _once_sort(values: Tensor) -> float:
    _sync(values.device)
    start = time.perf_counter()
    torch.sort(values, dim=-1, descending=True)
    _sync(values.device)
    return time.perf_counter() - start


def interleaved_medians(contestants: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median seconds of each contestant, timed in turns (A B C, A B C, …) after one warm-up,
    so that a burst of background load hits all of them alike and the ratios stay fair."""
    times: dict[str, list[float]] = {name: [] for name in contestants}
    for round_index in range(repeats + 1):
        for name, once in contestants.items():
            elapsed = once()
            if round_index:
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_memory_bytes(fn, logits: Tensor, labels: Tensor) -> int:
    """Peak bytes allocated above the inputs during forward + backward."""
    x = logits.detach().requires_grad_(True)
    if logits.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn(x, labels).backward()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn(x, labels).backward()
    # Allocations are folded into the op that made them; frees outside any op are "[memory]"
    # events. Replaying both in time order gives the live-bytes curve and its peak.
    timeline = []
    for event in prof.events():
        if event.name == "[memory]":
            timeline.append((event.time_range.start, event.cpu_memory_usage))
        else:
            timeline.append((event.time_range.end, event.self_cpu_memory_usage))
    current = peak = 0
    for _, delta in sorted(timeline, key=lambda item: item[0]):
        current += delta
        peak = max(peak, current)
    return peak


def run(device: torch.device, repeats: int, include_loop: bool = True) -> list[dict]:
    ours = LovaszSoftmaxLoss(classes="all", per_image=True)
    kornia = _kornia_loss()
    rows = []
    for batch, classes, side in CONFIGS:
        generator = torch.Generator().manual_seed(0)
        logits = torch.randn(batch, classes, side, side, generator=generator).to(device)
        labels = torch.randint(0, classes, (batch, side, side), generator=generator).to(device)
        sort_input = torch.softmax(logits, dim=1).flatten(2)
        group_errors = sort_input.reshape(-1, sort_input.shape[-1]).contiguous()
        group_fg = (torch.rand(group_errors.shape, generator=generator) < 1 / classes).to(group_errors)
        contestants: dict[str, Callable[[], float]] = {
            "ours": lambda x=logits, y=labels: _once_forward_backward(ours, x, y),
            "sort_floor": lambda v=sort_input: _once_sort(v),
            "key_sort": lambda e=group_errors, f=group_fg: _once_kernel_sort(e, f),
        }
        if kornia is not None:
            reference = float(kornia(logits, labels))
            assert abs(reference - float(ours(logits, labels))) < 1e-4, "semantics differ from kornia"
            contestants["kornia"] = lambda x=logits, y=labels: _once_forward_backward(kornia, x, y)
        if include_loop:
            contestants["loop"] = lambda x=logits, y=labels: _once_forward_backward(per_class_loop, x, y)
        medians = interleaved_medians(contestants, repeats)
        row: dict = {"config": f"B{batch} C{classes} {side}²", "device": str(device)}
        row.update({f"{name}_ms": 1e3 * value for name, value in medians.items()})
        row["ours_peak_mb"] = peak_memory_bytes(ours, logits, labels) / 2**20
        if kornia is not None:
            row["kornia_peak_mb"] = peak_memory_bytes(kornia, logits, labels) / 2**20
        rows.append(row)
    return rows


def report(rows: list[dict]) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    lines = [
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, load average {load}",
        f"{'config':<16}{'ours ms':>9}{'kornia ms':>11}{'loop ms':>9}{'sort ms':>9}{'our sort':>10}"
        f"{'kornia/ours':>13}{'loop/ours':>11}{'ours/sort':>11}"
        f"{'mem ours MB':>13}{'mem k MB':>10}{'mem ratio':>11}",
    ]
    for r in rows:
        kornia_ms, loop_ms = r.get("kornia_ms", float("nan")), r.get("loop_ms", float("nan"))
        kmem = r.get("kornia_peak_mb", float("nan"))
        lines.append(
            f"{r['config']:<16}{r['ours_ms']:>9.2f}{kornia_ms:>11.2f}{loop_ms:>9.1f}{r['sort_floor_ms']:>9.2f}"
            f"{r['key_sort_ms']:>10.2f}"
            f"{kornia_ms / r['ours_ms']:>12.2f}×{loop_ms / r['ours_ms']:>10.1f}×"
            f"{r['ours_ms'] / r['sort_floor_ms']:>10.2f}×{r['ours_peak_mb']:>13.1f}{kmem:>10.1f}"
            f"{r['ours_peak_mb'] / kmem:>11.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-loop", action="store_true", help="skip the slow per-class loop")
    parser.add_argument(
        "--threads", help="comma-separated torch.set_num_threads values to sweep (default: torch's own)"
    )
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    sweep = [int(t) for t in args.threads.split(",")] if args.threads else [torch.get_num_threads()]
    rows = []
    for threads in sweep:
        torch.set_num_threads(threads)
        these = run(torch.device(args.device), args.repeats, include_loop=not args.no_loop)
        for row in these:
            row["threads"] = threads
        print(report(these), flush=True)
        rows.extend(these)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
