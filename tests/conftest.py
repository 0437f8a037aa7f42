"""Shared pytest configuration.

Under CI (``CI`` set in the environment) hypothesis runs derandomized: the same examples on
every run, so a failure is reproducible and a pass is not luck. Locally it explores freely.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# The browser modules the second worker runs after the rest, against its own server and Chromium.
LATE_BROWSER_MODULES = {"test_uploads_browser.py"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadscope`` (pyproject.toml's addopts, with ``-n 2``) in an order that keeps both
    workers busy: the browser tests are two scopes. The first worker starts on the larger one and
    runs it in order against one Streamlit server and one Chromium; the other worker runs the rest,
    a module at a time (a module-scoped fixture, a training run or a data set, is built once),
    then the browser modules in ``LATE_BROWSER_MODULES``."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsInTwoScopes(LoadScopeScheduling):
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0]
            *folders, name = module.split("/")
            if "browser" not in folders:
                return module
            return "browser-late" if name in LATE_BROWSER_MODULES else "browser"

        def _assign_work_unit(self, node) -> None:
            if not self.ordered:
                self.ordered = True
                if "browser" in self.workqueue:
                    self.workqueue.move_to_end("browser", last=False)
                if "browser-late" in self.workqueue:
                    self.workqueue.move_to_end("browser-late")
            super()._assign_work_unit(node)

    return BrowserTestsInTwoScopes(config, log)
