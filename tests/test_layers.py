"""The layout shows the design: the loss library needs torch and numpy only, each layer imports only
the ones below it, and nothing edits ``sys.path``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
APP_ONLY = ("streamlit", "plotly", "pandas", "skimage", "scipy", "PIL")


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_importing_the_loss_library_loads_no_app_dependency():
    code = "import sys, lovasz_core; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert not {m for m in loaded if m.split(".")[0] in APP_ONLY}


def test_the_loss_library_depends_on_torch_and_numpy_only():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {dep.split(">")[0].split("=")[0].split("<")[0].strip() for dep in project["dependencies"]}
    assert names == {"torch", "numpy"}
    assert {"streamlit", "plotly"} <= {d.split(">")[0] for d in project["optional-dependencies"]["app"]}


def test_each_layer_imports_only_the_layers_below():
    for path in (ROOT / "lovasz_core").glob("*.py"):
        assert not _imported_roots(path) & {"app", "streamlit", "plotly", "pandas", "skimage"}, path
    for path in (ROOT / "lovasz_core").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
        assert not [m for m in relative if m and m.startswith("lab")], f"{path} imports the lab"
    for path in (ROOT / "lovasz_core" / "lab").rglob("*.py"):
        assert not _imported_roots(path) & {"app", "streamlit", "plotly", "pandas"}, path


def test_no_file_edits_sys_path():
    offenders = []
    for folder in ("app", "pages", "tests", "benchmarks", "lovasz_core", "deploy", "tools"):
        for path in (ROOT / folder).rglob("*.py"):
            if "sys" + ".path." in path.read_text(encoding="utf-8"):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
