"""The one colour meaning of the whole app: every figure takes its colours from here.

- **Classes** have one colour each, everywhere (label maps, masks, per-class bars and curves):
  :data:`CLASS_COLORS`, colour-blind-safe (Okabe-Ito and Paul Tol), none of them reused below.
- **Pixel outcomes** for one class c have their own colours, never a class colour:
  true positive (intersection) green, false positive vermillion, false negative purple,
  true negative light grey (:data:`OUTCOME_COLORS`). On "Sorting errors" a pixel of class c
  with a large error is a false negative and another pixel a false positive, so the bars use
  the same two colours.
- **Losses** (lanes of the training race, lines of the comparisons) have dark colours of their own
  (:data:`LOSS_COLORS`), distinct from the light class colours.
- **Scales**: a quantity with one sign (errors m, Jaccard gradients g ≥ 0, contributions m·g,
  magnitudes) uses the sequential :data:`SEQUENTIAL_SCALE`; a signed one (∂L/∂z) uses the
  diverging :data:`DIVERGING_SCALE` on a symmetric range (blue negative, white 0, red positive).
- **Marks**: the prefix outline and cursors are :data:`MARK_COLOR` (black); the selected pixel is
  white with a black ring (:data:`SELECTED_FILL`); thresholds and reference lines are
  :data:`REFERENCE_COLOR` (grey, dashed); grid lines :data:`GRID_COLOR`.
"""

from __future__ import annotations

CLASS_COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#44AA99",  # teal
    "#CC79A7",  # reddish purple (light pink)
    "#999933",  # olive
    "#DDCC77",  # sand
    "#CC6677",  # rose
    "#66A61E",  # leaf green
    "#7570B3",  # slate violet
    "#E7298A",  # magenta
    "#88CCEE",  # pale cyan
    "#BBCC33",  # pear
    "#F4A582",  # peach
    "#BEBADA",  # lavender
)  # 16: the most classes an uploaded mask may have (no grey: grey is void)

TRUE_POSITIVE_COLOR = "#009E73"  # bluish green: the intersection
FALSE_POSITIVE_COLOR = "#D55E00"  # vermillion: predicted c, is not c
FALSE_NEGATIVE_COLOR = "#882E99"  # purple: is c, predicted something else
TRUE_NEGATIVE_COLOR = "#EEEEEE"
VOID_COLOR = "#9E9E9E"  # mid grey: void pixels (label 255), left out of the loss
OUTCOME_COLORS: dict[str, str] = {
    "true negative": TRUE_NEGATIVE_COLOR,
    "intersection (TP)": TRUE_POSITIVE_COLOR,
    "false positive": FALSE_POSITIVE_COLOR,
    "false negative": FALSE_NEGATIVE_COLOR,
}

LOSS_COLORS: dict[str, str] = {
    "cross_entropy": "#222222",  # near black
    "lovasz_softmax": "#AA3377",  # wine
    "ce_lovasz": "#225588",  # dark blue
    "soft_jaccard": "#997700",  # dark ochre
    "dice": "#666666",  # grey
    "focal": "#117755",  # dark teal
    # lanes of "Training on a data set" (Lovász per batch is the registry's lovasz_softmax)
    "lovasz_image": "#8C510A",  # brown
    "bce": "#5555AA",  # slate blue
    "lovasz_hinge": "#CC3311",  # red
    "lovasz_sigmoid": "#661100",  # maroon
}
LANE_COLOR_KEYS: dict[str, str] = {"lovasz_batch": "lovasz_softmax"}  # the same loss, the same colour
OTHER_LOSS_COLOR = "#777777"

MARK_COLOR = "#000000"
SELECTED_FILL = "#FFFFFF"
REFERENCE_COLOR = "#888888"
GRID_COLOR = "#DDDDDD"
FAINT_GRID_COLOR = "#EEEEEE"
LEGEND_FILL = "rgba(255,255,255,0.8)"
LEGEND_BORDER = "#CCCCCC"
TRANSPARENT = "rgba(0,0,0,0)"
POINT_CLOUD_COLOR = "rgba(60,60,60,0.55)"
PLOT_BACKGROUND = "#FFFFFF"
REGION_COLORS: dict[str, str] = {  # pixel regions of the gradient histograms
    "foreground": "#332288",  # indigo
    "background": "#88CCEE",  # cyan
    "boundary": MARK_COLOR,
}
SURFACE_SCALE: list[list[float | str]] = [[0.0, "#999999"], [1.0, "#333333"]]  # grey shading of a 3-D surface

DIVERGING_SCALE = "RdBu_r"
SEQUENTIAL_SCALE = "Viridis"


def class_color(index: int) -> str:
    """Colour of class ``index``: one of 16 (the most an upload may have), cycling beyond."""
    return CLASS_COLORS[index % len(CLASS_COLORS)]


def loss_color(key: str) -> str:
    """Colour of the loss or lane ``key`` (grey for a loss without its own colour)."""
    return LOSS_COLORS.get(LANE_COLOR_KEYS.get(key, key), OTHER_LOSS_COLOR)
