"""The type checker passes on the typed packages (configuration in pyproject.toml, [tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Packages and modules mypy checks; add a target here to bring it under the type checker.
TARGETS = ["lovasz_core", "app"]


def test_mypy_passes_on_every_target():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *TARGETS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
