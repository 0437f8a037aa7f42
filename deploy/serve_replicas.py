"""Several Streamlit replicas of the app behind nginx, on one machine.

Starts ``--replicas`` servers (``streamlit run app/main.py``) on free loopback ports, writes
``deploy/nginx.conf.template`` filled in for them into a temporary folder, and runs nginx from
there in the foreground (``nginx -p <dir> -c <dir>/nginx.conf``; no system configuration is
read or changed). Students open the proxy's address; each browser is pinned to one replica by
a cookie. Ctrl-C stops everything::

    python -m deploy.serve_replicas --replicas 2 --listen 0.0.0.0:8501

The replicas share one ``server.cookieSecret`` (``$STREAMLIT_SERVER_COOKIE_SECRET``, or made up
at start), so that a cookie signed by
one is accepted by another when a student is moved after a replica goes down.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from app.serving import MAIN, free_port, start, stop

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
SECRET_VARIABLE = "STREAMLIT_SERVER_COOKIE_SECRET"
NGINX = os.environ.get("NGINX_PATH", shutil.which("nginx") or "/usr/sbin/nginx")


def render_config(template: str, prefix: Path, listen: str, ports: Sequence[int]) -> str:
    """The nginx configuration for replicas on 127.0.0.1:``ports``, listening on ``listen``."""
    if not ports:
        raise ValueError("at least one replica port is needed, got none")
    servers = "\n        ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in ports)
    text = template.replace("{{PREFIX}}", str(prefix)).replace("{{LISTEN}}", listen)
    return text.replace("{{SERVERS}}", servers)


@dataclass
class Replicas:
    """The running replicas and their proxy."""

    url: str
    ports: list[int]
    processes: list[subprocess.Popen]
    nginx: subprocess.Popen
    workdir: Path
    killed: list[int] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        """Process ids of the replicas still running."""
        return [p.pid for p in self.processes if p.poll() is None]

    def kill(self, index: int) -> None:
        """Kill replica ``index`` at once (SIGKILL), as a crash would."""
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=10)
        self.killed.append(index)


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited at start ({process.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the proxy did not answer at {url} within {timeout:.0f} s")


@contextmanager
def serve_replicas(
    replicas: int,
    listen: str | None = None,
    options: Sequence[str] = (),
    entrypoint: Path = MAIN,
    warm: bool = True,
) -> Iterator[Replicas]:
    """``replicas`` servers and nginx in front of them, for the ``with`` block; with ``warm``, each
    replica is visited once on every page before the proxy opens (see ``app/warmup.py``)."""
    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, got {replicas}")
    if not Path(NGINX).exists():
        raise RuntimeError(f"nginx not found at {NGINX} (apt-get install nginx, or set NGINX_PATH)")
    workdir = Path(tempfile.mkdtemp(prefix="lovasz-replicas-"))
    workdir.chmod(0o755)  # nginx's workers may run as another user and need its temp folders
    listen = listen or f"127.0.0.1:{free_port()}"
    # one cookie secret for all (Streamlit takes it from the environment only, not the command line)
    secret_before = os.environ.get(SECRET_VARIABLE)
    os.environ[SECRET_VARIABLE] = secret_before or secrets.token_hex(16)
    processes: list[subprocess.Popen] = []
    nginx: subprocess.Popen | None = None
    try:
        ports = []
        for i in range(replicas):
            port = free_port()
            log = workdir / f"replica-{i}.log"
            processes.append(start(entrypoint, port, log, ("--server.fileWatcherType", "none", *options)))
            ports.append(port)
        config = workdir / "nginx.conf"
        config.write_text(render_config(TEMPLATE.read_text(), workdir, listen, ports))
        with open(workdir / "nginx.log", "w") as log:
            nginx = subprocess.Popen(
                [NGINX, "-p", str(workdir), "-c", str(config), "-g", "daemon off;"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if warm:  # imports and first-use costs, paid before the class arrives
            import asyncio

            from benchmarks.protocol import warm_up

            for port in ports:
                asyncio.run(warm_up(f"http://127.0.0.1:{port}"))
        host, port = listen.rsplit(":", 1)
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
        _wait_for(url, nginx)
        yield Replicas(url, ports, processes, nginx, workdir)
    finally:
        if secret_before is None:
            os.environ.pop(SECRET_VARIABLE, None)
        if nginx is not None:
            stop(nginx)
        for process in processes:
            if process.poll() is None:
                stop(process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit processes (about one per core)")
    parser.add_argument("--listen", default="127.0.0.1:8501", help="address:port of the proxy")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error(f"--replicas must be at least 1, got {args.replicas}")
    with serve_replicas(args.replicas, args.listen) as running:
        print(f"{args.replicas} replicas on ports {running.ports} behind nginx at {running.url}")
        print(f"configuration and logs: {running.workdir}; Ctrl-C stops everything")
        reported: set[int] = set()
        try:
            while running.nginx.poll() is None:
                for i, process in enumerate(running.processes):
                    if process.poll() is not None and i not in reported:
                        reported.add(i)
                        print(f"replica {i} exited ({process.returncode}); its students move to the others")
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
