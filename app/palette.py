"""The app's colours, used by every figure: one colour-blind-safe class palette, one diverging scale.

Classes use the Okabe-Ito palette (safe for the common colour-vision deficiencies); gradients and
signed quantities use plotly's diverging ``RdBu_r`` (blue negative, white zero, red positive)
on a symmetric range; errors and magnitudes use the sequential ``Viridis``.
"""

from __future__ import annotations

CLASS_COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
FOREGROUND_COLOR = "#D55E00"  # vermillion: the class being studied
BACKGROUND_COLOR = "#56B4E9"  # sky blue: everything else
HIGHLIGHT_COLOR = "#000000"
DIVERGING_SCALE = "RdBu_r"
SEQUENTIAL_SCALE = "Viridis"
LOSS_COLORS: dict[str, str] = {
    "cross_entropy": "#0072B2",
    "lovasz_softmax": "#D55E00",
    "ce_lovasz": "#009E73",
    "soft_jaccard": "#CC79A7",
    "dice": "#E69F00",
    "focal": "#56B4E9",
}


def class_color(index: int) -> str:
    """Colour of class ``index`` (cycles after eight classes)."""
    return CLASS_COLORS[index % len(CLASS_COLORS)]
