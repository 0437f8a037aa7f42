"""Import the heavy libraries once, fully, before any page runs (``import warmup`` in ``main.py``).

Streamlit runs each browser session's script in its own thread. When a class opens the app at
the same moment, one session can still be importing pandas while another session's plotly
looks it up in ``sys.modules`` (plotly checks for pandas that way, without importing it) and
finds a *partially initialized* module: ``AttributeError: partially initialized module 'pandas'
has no attribute 'Series'``; the load test (``benchmarks/load_test.py``) hit exactly this. A
plain ``import`` waits on the module's import lock, so importing everything here, at the top of
the entrypoint, means no page of any session starts before these modules are complete.
"""

from __future__ import annotations

import numpy  # noqa: F401
import pandas  # noqa: F401
import plotly.graph_objects
import plotly.subplots  # noqa: F401
import torch  # noqa: F401

import lovasz_core  # noqa: F401
