"""A real ``streamlit run`` server and the processes around it, for the browser tests and the
benchmarks that drive a browser (``benchmarks/load_test.py``, ``benchmarks/bench_training.py``).

One place for: the Chromium binary and its flags, a free loopback port, starting a server and
waiting until it is healthy, stopping it, and the CPU seconds of a process tree (Linux /proc).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "app" / "main.py"
# The Chromium that Playwright drives: $CHROMIUM, else $CHROMIUM_PATH, else Debian's.
CHROMIUM = os.environ.get("CHROMIUM") or os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(
    script: Path, port: int, log_path: Path, options: Sequence[str] = (), timeout: float = 60.0
) -> subprocess.Popen:
    """``streamlit run script`` on 127.0.0.1:``port``, output to ``log_path``; returns once healthy."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *options,
    ]
    with open(log_path, "w") as log:  # the child keeps its own handle
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early ({process.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    stop(process)
    raise RuntimeError(f"streamlit did not become healthy at {url} within {timeout:.0f} s; see {log_path}")


def stop(process: subprocess.Popen, timeout: float = 15.0) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def serve(
    script: Path = MAIN, options: Sequence[str] = (), log_name: str = "streamlit"
) -> Iterator[tuple[str, subprocess.Popen]]:
    """A running server for the ``with`` block: ``(base url, process)``; the log goes to $TMPDIR."""
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{log_name}-{port}.log"
    process = start(script, port, log_path, options)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        stop(process)


# ------------------------------------------------------------------------ CPU time of processes
def _stat(pid: int) -> tuple[int, float] | None:
    """``(parent pid, CPU seconds)`` of a process, from /proc/<pid>/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def _processes() -> dict[int, tuple[int, float]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                stats[int(entry.name)] = stat
    return stats


def _under(pid: int, root: int, stats: dict[int, tuple[int, float]]) -> bool:
    current, hops = pid, 0
    while current in stats and hops < 64:
        if current == root:
            return True
        current, hops = stats[current][0], hops + 1
    return False


def cpu_by_process(root: int, exclude: int | None = None) -> dict[int, float]:
    """CPU seconds of every live descendant of ``root`` (itself included), minus ``exclude``'s tree."""
    stats = _processes()
    return {
        pid: seconds
        for pid, (_, seconds) in stats.items()
        if _under(pid, root, stats) and not (exclude is not None and _under(pid, exclude, stats))
    }
