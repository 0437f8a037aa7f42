"""Page "Geometry of the Lovász extension": two or three pixels, the loss over the error cube.

For n pixels with foreground F, the extension of Δ_J is ``f(m) = Σ_i g_i(π) m_{π(i)}`` with π
sorting m; each sort order is one linear piece, and f is their maximum (Δ_J is submodular), hence
convex in the errors m. The naive soft-Jaccard matches Δ_J at the corners but is in general not
convex; the page draws the segment where the grid midpoint test finds it furthest above its chord.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..teaching import (
    cube_corners,
    extension_at,
    grid_convexity_witness,
    permutation_weights,
    soft_jaccard_at,
)

__all__ = ["GRID_POINTS", "SECTION_POINTS", "TEST_STEPS", "GeometryView", "ProbeReadout", "geometry_view"]

GRID_POINTS = 41  # per axis of the surface
SECTION_POINTS = 101  # along the section; the middle one is the midpoint t = 1/2
TEST_STEPS = 5  # the convexity test uses every pair of points of {0, 1/4, .., 1}^n
CONVEX_TOLERANCE = 1e-9
SUBSCRIPTS = "₁₂₃"


@dataclass(frozen=True)
class ProbeReadout:
    """The extension at one probe point m: value, the sort order there, and the gradient ``[n]``."""

    point: tuple[float, ...]
    value: float
    order: str
    gradient: tuple[float, ...]


def order_label(perm: tuple[int, ...]) -> str:
    """``(1, 0)`` → ``"m₂ ≥ m₁"``: pixel perm[0] has the largest error."""
    return " ≥ ".join(f"m{SUBSCRIPTS[i]}" for i in perm)


def point_label(point: np.ndarray) -> str:
    """``(0.5, 1)``-style text of a point of the cube."""
    return "(" + ", ".join(f"{v:g}" for v in np.asarray(point, dtype=float)) + ")"


@dataclass(frozen=True)
class GeometryView:
    """Everything the page draws for foreground bits ``fg`` (and, with 3 pixels, the slice m₃).

    Surface over the (m₁, m₂) grid ``[G]``: ``values``, ``soft`` and ``region`` ``[G, G]`` (rows =
    m₂), ``planes [n!, G, G]`` (each linear piece over the whole square), ``weights [n!, n]``.
    ``corners [2^n, n]``/``corner_values [2^n]``: Δ_J at every corner; ``slice_corners [k, n]`` the
    ones on the drawn slice. Section ``start → end`` (``[n]`` each) at ``t [T]``; ``gap_*``: the
    largest midpoint gap of the grid test, ``section_kinks``: sort-order changes along the section.
    """

    fg: tuple[bool, ...]
    m3: float
    grid: np.ndarray
    values: np.ndarray
    soft: np.ndarray
    region: np.ndarray
    planes: np.ndarray
    order_labels: tuple[str, ...]
    weights: np.ndarray
    corners: np.ndarray
    corner_values: np.ndarray
    slice_corners: np.ndarray
    slice_corner_values: np.ndarray
    boundaries: tuple[tuple[tuple[float, float], tuple[float, float]], ...]
    gap_lovasz: float
    gap_soft: float
    pairs_tested: int
    soft_is_convex: bool
    section_start: np.ndarray
    section_end: np.ndarray
    t: np.ndarray
    section_lovasz: np.ndarray
    section_soft: np.ndarray
    section_soft_chord: np.ndarray
    section_kinks: int
    section_lovasz_convex: bool
    chord_on_lovasz: bool

    @property
    def n(self) -> int:
        return len(self.fg)

    @property
    def fg_label(self) -> str:
        members = [str(i + 1) for i, bit in enumerate(self.fg) if bit]
        return "{" + ", ".join(members) + "}" if members else "∅"

    def probe(self, point: tuple[float, ...]) -> ProbeReadout:
        """Value, sort order and gradient (g put back on the pixels) of the extension at ``point``."""
        value, region = extension_at(torch.tensor([point], dtype=torch.float64), torch.tensor(self.fg))
        r = int(region[0])
        return ProbeReadout(
            point=tuple(float(v) for v in point),
            value=float(value[0]),
            order=self.order_labels[r],
            gradient=tuple(float(g) for g in self.weights[r]),
        )


def _boundaries(n: int, m3: float) -> tuple[tuple[tuple[float, float], tuple[float, float]], ...]:
    """Lines m_i = m_j in the (m₁, m₂) plane, as ``((x0, x1), (y0, y1))``: where the order changes."""
    lines = [((0.0, 1.0), (0.0, 1.0))]
    if n == 3:
        lines += [((m3, m3), (0.0, 1.0)), ((0.0, 1.0), (m3, m3))]
    return tuple(lines)


def geometry_view(fg_bits: tuple[bool, ...], m3: float = 0.5) -> GeometryView:
    """Surfaces, pieces, corners, the grid convexity test of both losses, and the section.

    The section runs between the pair of grid points where soft-Jaccard's midpoint lies furthest
    above its chord (:func:`grid_convexity_witness`); where soft-Jaccard is convex (F holds every
    pixel: it is then linear) no pair lies above, and the section is the longest tied pair.
    """
    n = len(fg_bits)
    fg = torch.tensor(fg_bits)
    grid = np.linspace(0.0, 1.0, GRID_POINTS)
    xx, yy = np.meshgrid(grid, grid)
    columns = [xx.ravel(), yy.ravel()] + ([np.full(xx.size, m3)] if n == 3 else [])
    points = torch.from_numpy(np.stack(columns, axis=1))
    values, region = extension_at(points, fg)
    perms, weights = permutation_weights(fg)
    corners, corner_values = cube_corners(fg)
    on_slice = np.ones(len(corners), dtype=bool) if n == 2 else np.isclose(corners[:, 2].numpy(), m3)

    def lovasz(p: torch.Tensor) -> torch.Tensor:
        return extension_at(p, fg)[0]

    def soft(p: torch.Tensor) -> torch.Tensor:
        return soft_jaccard_at(p, fg)

    gap_lovasz, _, _ = grid_convexity_witness(lovasz, n, TEST_STEPS)
    gap_soft, start, end = grid_convexity_witness(soft, n, TEST_STEPS)
    t = np.linspace(0.0, 1.0, SECTION_POINTS)
    tt = torch.from_numpy(t).unsqueeze(1)
    segment = (1 - tt) * start + tt * end
    section_lovasz, section_region = extension_at(segment, fg)
    section_soft = soft(segment).numpy()
    chord = (1 - t) * section_soft[0] + t * section_soft[-1]
    section_values = section_lovasz.numpy()
    test_points = TEST_STEPS**n
    return GeometryView(
        fg=tuple(bool(b) for b in fg_bits),
        m3=float(m3),
        grid=grid,
        values=values.numpy().reshape(xx.shape),
        soft=soft(points).numpy().reshape(xx.shape),
        region=region.numpy().reshape(xx.shape),
        planes=(weights @ points.T).numpy().reshape(len(perms), *xx.shape),
        order_labels=tuple(order_label(p) for p in perms),
        weights=weights.numpy(),
        corners=corners.numpy(),
        corner_values=corner_values.numpy(),
        slice_corners=corners.numpy()[on_slice],
        slice_corner_values=corner_values.numpy()[on_slice],
        boundaries=_boundaries(n, m3),
        gap_lovasz=gap_lovasz,
        gap_soft=gap_soft,
        pairs_tested=test_points * (test_points - 1) // 2,
        soft_is_convex=gap_soft < CONVEX_TOLERANCE,
        section_start=start.numpy(),
        section_end=end.numpy(),
        t=t,
        section_lovasz=section_values,
        section_soft=section_soft,
        section_soft_chord=chord,
        section_kinks=int((np.diff(section_region.numpy()) != 0).sum()),
        section_lovasz_convex=bool((np.diff(section_values, 2) >= -CONVEX_TOLERANCE).all()),
        chord_on_lovasz=bool(np.allclose(chord, section_values, atol=1e-9)),
    )
