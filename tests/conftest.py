"""Shared pytest configuration.

Under CI (``CI`` set in the environment) hypothesis runs derandomized: the same examples on
every run, so a failure is reproducible and a pass is not luck. Locally it explores freely.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
