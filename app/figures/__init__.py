"""Pure plotly builders, one module per page, plus :mod:`app.figures.common` for the shared pieces.

No Streamlit here: every builder takes numpy arrays (or pandas frames) and returns a plotly
figure or a frame, so each is unit-tested alone. Every colour comes from :mod:`app.palette`.
"""
