"""Import the heavy libraries once, fully, before any page runs (``import warmup`` in ``main.py``).

Streamlit runs each browser session's script in its own thread. When a class opens the app at
the same moment, one session can still be importing pandas while another session's plotly
looks it up in ``sys.modules`` (plotly checks for pandas that way, without importing it) and
finds a *partially initialized* module: ``AttributeError: partially initialized module 'pandas'
has no attribute 'Series'``; the load test (``benchmarks/load_test.py``) hit exactly this. A
plain ``import`` waits on the module's import lock, so importing everything here, at the top of
the entrypoint, means no page of any session starts before these modules are complete.

Some imports are otherwise made late, in the middle of a student's action: ``torch._dynamo``
by the first optimizer (the first Start on Live training; 5–20 s on a busy 2-core machine),
Streamlit's emoji table by the first icon check, the parameter registry by the first page. They
are made here too, so that they cost the first session of the server, once (a warm-up visit,
``deploy/serve_replicas.py`` and ``benchmarks/load_test.py`` make one, pays it before the class).
"""

from __future__ import annotations

import numpy  # noqa: F401
import pandas  # noqa: F401
import plotly.graph_objects
import plotly.subplots  # noqa: F401
import streamlit.emojis  # noqa: F401
import torch
import torch._dynamo  # noqa: F401

import app.params  # noqa: F401
import lovasz_core  # noqa: F401
