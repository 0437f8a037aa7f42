"""Showing the app to a room: projector mode, accessible charts, chart export, links to a view.

- **Projector mode** (a sidebar toggle, also ``?projector=true`` in a link): larger type,
  taller figures, fewer secondary controls, and a layout for a 1024 × 768 or 1280 × 720
  projector: the sidebar starts collapsed (its arrow opens it) and nothing is cut off. Pages
  ask :func:`is_projector` and :func:`figure_height`; :func:`apply_style` injects the CSS once
  per run.
- **Layout in every mode** (:data:`LAYOUT_CSS`): metric labels, button labels, navigation
  links, tabs and code wrap, and display formulas break after ``=``, ``+`` or ``−``, instead of
  being cut off with an ellipsis or scrolling sideways.
- **Charts**: :func:`plotly_chart` wraps ``st.plotly_chart`` with an accessible name (``alt``),
  a text alternative (an expander with the numbers of every trace, from :func:`figure_tables`)
  and the toolbar's camera button set to save PNG or SVG (:func:`chart_config`). Both formats
  are drawn by plotly.js in the browser, so they work offline and need no kaleido.
- **Links**: :func:`view_url` is the full address of the current view, for the "copy link"
  box of the sidebar.

The pure helpers (:func:`chart_config`, :func:`figure_tables`, :func:`scaled_height`) do not
touch Streamlit and are unit-tested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

PROJECTOR_KEY = "projector"
EXPORT_KEY = "chart_format"
EXPORT_FORMATS = ("png", "svg")
PROJECTOR_SCALE = 1.35
MAX_TABLE_ROWS = 100  # rows of a trace listed in its text alternative
MAX_GRID_CELLS = 16 * 16  # an image's values are listed up to this size (a summary always)

# Every mode: text wraps instead of being cut off or scrolling sideways, at any window width.
# Streamlit ends a metric label, a button label in a column and a navigation link with an
# ellipsis when it does not fit, scrolls a long row of tabs and a long line of code sideways
# (st.code sets ``white-space: pre`` on the element itself, hence the ``!important``), and shows
# a wide formula (KaTeX) in a box that scrolls sideways. Here these labels wrap, tabs go on a
# second row, code lines (the links to a view) wrap, and KaTeX breaks a display formula after
# its relations and operators (=, +, −), as it does inline; a little padding (in a formula box
# and after the math of a metric label, which often ends it) holds the strut KaTeX puts 2 px past
# a formula's last subscript, which would otherwise stick out or scroll.
# Math in a metric label is set at the label's size (KaTeX's 1.21em is for body text), so that
# a label such as "U_k = |F| + #bg in prefix", unbreakable after its last operator, fits.
LAYOUT_CSS = """
<style>
  [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"],
  [data-testid="stMetricLabel"] p,
  [data-testid^="stBaseButton"] [data-testid="stMarkdownContainer"],
  [data-testid^="stBaseButton"] p,
  [data-testid="stSidebarNavLink"] span:not([data-testid="stIconMaterial"]),
  [data-testid="stSidebarNavLink"] [data-testid="stMarkdownContainer"],
  [data-testid="stSidebarNavLink"] p,
  [data-testid="stPageLink-NavLink"] span:not([data-testid="stIconMaterial"]),
  [data-testid="stPageLink-NavLink"] [data-testid="stMarkdownContainer"],
  [data-testid="stPageLink-NavLink"] p {
    white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: break-word;
    min-width: 0;
  }
  [data-testid="stSidebarNavLink"], [data-testid="stPageLink-NavLink"] { height: auto; }
  [data-testid="stMetricLabel"] { height: auto; }
  [data-testid="stMetricValue"] p { font-size: inherit; }
  [data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap; overflow-x: visible; }
  [data-testid="stCode"] code { white-space: pre-wrap !important; overflow-wrap: anywhere; }
  .katex-display { padding-inline: 0.2em; }
  [data-testid="stMetricLabel"] .katex { font-size: 1.05em; padding-inline-end: 2px; }
  .katex-display > .katex, .katex-display > .katex > .katex-html { white-space: normal; }
  .katex-display > .katex > .katex-html > .base { margin-block: 0.15em; }
</style>
"""

PROJECTOR_CSS = """
<style>
  /* Projector mode: everything readable from the back row, at 1024 × 768 too. */
  [data-testid="stMain"] { font-size: 1.3rem; }
  [data-testid="stMain"] p, [data-testid="stMain"] li,
  [data-testid="stMarkdownContainer"] p,
  [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.5; }
  [data-testid="stMain"] h1 { font-size: 3.1rem; }
  [data-testid="stMain"] h2 { font-size: 2.3rem; }
  [data-testid="stMain"] h3 { font-size: 1.9rem; }
  [data-testid="stCaptionContainer"] { font-size: 1.1rem; }
  [data-testid="stWidgetLabel"] p { font-size: 1.15rem; }
  [data-testid="stMetricLabel"] p { font-size: 1.15rem; line-height: 1.3; }
  [data-testid="stMetricValue"], [data-testid="stMetricValue"] p { font-size: 2.4rem; line-height: 1.2; }
  [data-testid="stMain"] [data-testid^="stBaseButton"] { padding-inline: 0.5rem; }
  [data-testid="stMain"] [data-testid^="stBaseButton"] p { font-size: 1.15rem; line-height: 1.3; }
  [data-testid="stMain"] code { font-size: 1.1rem; }
  [data-testid="stMainBlockContainer"] { padding: 2rem 1.5rem 4rem; max-width: 100%; }
</style>
"""


# ------------------------------------------------------------------------------------------
# Pure helpers


def scaled_height(base: int, projector: bool) -> int:
    """A figure height in pixels: ``base``, or larger on a projector."""
    return round(base * PROJECTOR_SCALE) if projector else int(base)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "figure"


def chart_config(filename: str, fmt: str = "png", scale: int = 2) -> dict[str, Any]:
    """The plotly ``config`` of a chart: the camera button saves ``fmt`` (png or svg) as ``filename``.

    Example:
        >>> chart_config("Sorted errors", "svg")["toImageButtonOptions"]["format"]
        'svg'
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"fmt must be one of {EXPORT_FORMATS}, got {fmt!r}")
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": fmt, "filename": f"lovasz_{_slug(filename)}", "scale": scale},
    }


def _array(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, Mapping):  # plotly's typed-array encoding {"dtype", "bdata", "shape"}
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.size else None


def _summary(name: str, z: np.ndarray) -> pd.DataFrame:
    numeric = np.asarray(z, dtype=float)
    finite = numeric[np.isfinite(numeric)]
    stats = {
        "shape": " × ".join(map(str, numeric.shape)),
        "min": float(finite.min()) if finite.size else float("nan"),
        "mean": float(finite.mean()) if finite.size else float("nan"),
        "max": float(finite.max()) if finite.size else float("nan"),
    }
    return pd.DataFrame([{"trace": name, **stats}])


def _is_click_layer(trace: Any) -> bool:
    """An invisible helper trace (transparent markers that make pixels or bars clickable)."""
    marker = getattr(trace, "marker", None)
    if marker is None:
        return False
    color = getattr(marker, "color", None)
    transparent = (
        isinstance(color, str)
        and re.fullmatch(r"rgba\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*0\s*\)", color.strip()) is not None
    )
    opacity = getattr(marker, "opacity", None)
    return transparent or (opacity is not None and np.ndim(opacity) == 0 and opacity == 0)


def figure_tables(fig: Any, max_rows: int = MAX_TABLE_ROWS) -> list[tuple[str, pd.DataFrame]]:
    """The numbers behind a plotly figure, one ``(title, table)`` per trace that has data.

    x/y (and z) traces become columns (at most ``max_rows`` rows); images and surfaces
    (a 2-D ``z``) become a summary (shape, min, mean, max) plus the grid itself when it is small.
    Invisible click layers (transparent markers) are left out.
    """
    tables: list[tuple[str, pd.DataFrame]] = []
    for index, trace in enumerate(getattr(fig, "data", ()) or ()):
        if _is_click_layer(trace):
            continue
        kind = getattr(trace, "type", "trace")
        name = getattr(trace, "name", None) or f"{kind} {index + 1}"
        title = f"{name} ({kind})"
        z = _array(getattr(trace, "z", None)) if hasattr(trace, "z") else None
        if z is not None and z.ndim >= 2:
            tables.append((f"{title}: summary", _summary(str(name), z)))
            if z.ndim == 2 and z.shape[0] * z.shape[1] <= MAX_GRID_CELLS:
                tables.append((f"{title}: values (rows × columns)", pd.DataFrame(z)))
            continue
        columns: dict[str, np.ndarray] = {}
        for axis in ("x", "y", "z"):
            if hasattr(trace, axis):
                values = _array(getattr(trace, axis))
                if values is not None and values.ndim == 1:
                    columns[axis] = values
        if not columns:
            continue
        length = min(len(v) for v in columns.values())
        frame = pd.DataFrame({k: v[:length] for k, v in columns.items()})
        if len(frame) > max_rows:
            title += f": first {max_rows} of {len(frame)} points"
            frame = frame.head(max_rows)
        tables.append((title, frame))
    return tables


# ------------------------------------------------------------------------------------------
# Streamlit side


def is_projector() -> bool:
    """Whether projector mode is on for this session."""
    import streamlit as st

    return bool(st.session_state.get(PROJECTOR_KEY, False))


def figure_height(base: int) -> int:
    """A figure's height for this session: ``base`` px, taller in projector mode."""
    return scaled_height(base, is_projector())


def export_format() -> str:
    """``"png"`` or ``"svg"``: what the charts' camera button saves (sidebar setting)."""
    import streamlit as st

    value = st.session_state.get(EXPORT_KEY, "png")
    return value if value in EXPORT_FORMATS else "png"


def apply_style() -> None:
    """Inject the layout CSS, and the projector CSS when projector mode is on (once per run).

    In projector mode the sidebar starts collapsed, so the page gets the whole width of a
    1024 × 768 projector; its arrow (top left) opens it with every control.
    """
    import streamlit as st

    st.html(LAYOUT_CSS)
    if is_projector():
        st.set_page_config(initial_sidebar_state="collapsed")
        st.html(PROJECTOR_CSS)


def sidebar_controls() -> None:
    """Projector toggle (and its CSS), for the top of the sidebar; call before the page runs."""
    import streamlit as st

    st.sidebar.toggle(
        "Projector mode",
        key=PROJECTOR_KEY,
        bind="query-params",
        help="Larger text and figures and fewer secondary controls, for a classroom "
        "projector. A link with `projector=true` opens in this mode.",
    )
    apply_style()


def share_controls(url_path: str = "", note: str | None = None) -> None:
    """The "copy link" box of the sidebar (the code box has a copy button) and the export format.

    The link carries every query parameter of this view except projector mode; ``url_path``
    (the current page's, ``st.navigation(...).url_path``) is only used outside a browser.
    ``note``: what the link leaves out, shown under it.
    """
    import streamlit as st

    query = {k: st.query_params.get_all(k) for k in st.query_params if k != PROJECTOR_KEY}
    with st.sidebar.expander("Share and export", icon=":material/share:"):
        st.caption("Link to this view (copy it with the button on the right of the box):")
        st.code(view_url(query, url_path), language=None, wrap_lines=True)
        if note:
            st.caption(note)
        st.radio(
            "The camera button of the charts saves",
            EXPORT_FORMATS,
            key=EXPORT_KEY,
            horizontal=True,
            format_func=str.upper,
            help="The camera icon in each chart's toolbar saves the chart as PNG (slides) or SVG "
            "(vector, for print). Both are drawn by your browser, offline.",
        )


def plotly_chart(
    fig: Any, *, alt: str, key: str | None = None, numbers: bool = True, container: Any = None, **kwargs: Any
) -> Any:
    """``st.plotly_chart`` with an accessible name, a text alternative and PNG/SVG export.

    ``alt`` is a one-sentence description for screen readers; the numbers of every trace are
    listed in a collapsed expander under the chart (``numbers=False`` to skip it, e.g. for a
    chart that already has a table next to it, or one redrawn several times a second). The
    toolbar is always available (its camera button exports); in projector mode the chart is
    taller with larger text and the numbers are left out. Other keyword arguments go to
    ``st.plotly_chart``.
    """
    import streamlit as st

    where = container if container is not None else st
    config = {**chart_config(key or alt, export_format()), **kwargs.pop("config", {})}
    config.pop("displayModeBar", None)  # the toolbar (shown on hover) carries the export button
    projector = is_projector()
    if projector:
        fig = projector_figure(fig)
    result = where.plotly_chart(fig, key=key, config=config, alt=alt, **kwargs)
    if numbers and not projector:
        text_alternative(fig, alt, container=where)
    return result


# Traces drawn in a 3-D scene: plotly scales the scene with the plot's height, so a taller plot
# in a narrow column (1024 px with the sidebar open) would cut the scene off left and right.
SCENE_TRACES = frozenset({"surface", "scatter3d", "mesh3d", "cone", "streamtube", "volume", "isosurface"})


# How much farther the camera of a 3-D scene stands in projector mode: the scene draws smaller,
# which leaves room for its larger axis titles in a narrow column.
PROJECTOR_CAMERA_DISTANCE = 1.12


# How much larger every text of a chart is in projector mode, in px.
PROJECTOR_FONT_STEP = 4


def projector_figure(fig: Any) -> Any:
    """A copy of ``fig`` for the projector: every text ``PROJECTOR_FONT_STEP`` px larger, and
    taller unless it has a 3-D scene (then the same height, seen from
    ``PROJECTOR_CAMERA_DISTANCE`` times farther).

    Streamlit's chart theme gives ticks, axis titles and legends sizes of their own (12–14 px),
    which the layout's font does not reach: those are set here explicitly.
    """
    import plotly.graph_objects as go

    big = go.Figure(fig)
    height = int(big.layout.height or 450)
    base = big.layout.font.size if big.layout.font and big.layout.font.size else 12
    size = base + PROJECTOR_FONT_STEP
    in_scene = any(trace.type in SCENE_TRACES for trace in big.data)
    big.update_layout(height=height if in_scene else scaled_height(height, True), font={"size": size})
    if big.layout.title.text:
        big.update_layout(title_font_size=(big.layout.title.font.size or base + 2) + PROJECTOR_FONT_STEP)
    for note in big.layout.annotations:  # subplot titles and notes with a size of their own
        if note.font.size:
            note.font.size += PROJECTOR_FONT_STEP
    small = size - 2  # ticks, legends, colour bars
    big.update_layout(legend_font_size=small)
    for name in {getattr(trace, "coloraxis", None) for trace in big.data} - {None}:
        big.layout[name].colorbar.tickfont.size = small  # a shared colour axis's colour bar
    if not in_scene:  # (axis settings on a scene-only figure would draw empty 2-D axes)
        big.update_xaxes(tickfont_size=small, title_font_size=size)
        big.update_yaxes(tickfont_size=small, title_font_size=size)
    else:
        eye = big.layout.scene.camera.eye
        x, y, z = (1.25 if value is None else value for value in (eye.x, eye.y, eye.z))  # plotly's default
        big.update_layout(
            scene_camera_eye={
                "x": x * PROJECTOR_CAMERA_DISTANCE,
                "y": y * PROJECTOR_CAMERA_DISTANCE,
                "z": z * PROJECTOR_CAMERA_DISTANCE,
            }
        )
    return big


def text_alternative(fig: Any, alt: str, container: Any = None) -> None:
    """A collapsed expander with ``alt`` and the numbers of every trace of ``fig``."""
    import streamlit as st

    where = container if container is not None else st
    with where.expander("Numbers behind this chart", icon=":material/table:"):
        st.caption(alt)
        tables = figure_tables(fig)
        if not tables:
            st.caption("This chart has no tabular data.")
        for title, frame in tables:  # static HTML tables: what screen readers read best
            st.markdown(f"**{title}**")
            st.table(frame.round(4))


def view_url(query: Mapping[str, Any] | None = None, url_path: str | None = None) -> str:
    """The full address of this view: the browser's URL of the current page, with ``query``.

    ``query`` defaults to the current ``st.query_params``. Outside a browser session (AppTest)
    the address is ``/url_path?query``.
    """
    from urllib.parse import urlencode, urlsplit

    import streamlit as st

    try:
        parts = urlsplit(str(st.context.url or ""))
    except Exception:  # no URL outside a browser session (AppTest)
        parts = urlsplit("")
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    # st.context.url already ends with the current page's path (and any server base path)
    path = parts.path if parts.netloc or url_path is None else "/" + url_path.strip("/")
    if query is None:
        query = {k: st.query_params.get_all(k) for k in st.query_params}
    text = urlencode({k: v for k, v in query.items() if v not in ("", [], None)}, doseq=True)
    return f"{origin}{path or '/'}" + (f"?{text}" if text else "")
