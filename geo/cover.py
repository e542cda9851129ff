"""How a view is split between the pre-aggregated map layer and the live statement.

Pure arithmetic on integer Web Mercator coordinates (``FINE_BITS`` per axis, y from the
north, the same clamped formula as :mod:`geo.viewport`'s SQL). A level-``l`` cell is a square
of ``2**(FINE_BITS - l)`` fine units; cells nest. For a box and the view's cluster level
``Lc`` (zoom + ``CELL_BITS``):

- the *inner rectangle* is the block of level-``F`` cells (``F = MAX_LEVEL``, about 38 m)
  lying at least ``EDGE_FINE`` fine units inside the box on every side, so every store in it
  is in the view whatever the rounding of the box test (``&&`` compares float4 boxes) and of
  the Mercator formula;
- the inner rectangle is cut into aligned cells, coarsest first: at level ``Lc`` the cells
  that fit, then at each finer level the ring of cells that fit but whose parent did not.
  Each level's ring is at most four rectangles (:class:`Rect`), so a view needs at most
  ``1 + 4 * (F - Lc)`` index ranges, not thousands of cells;
- a *taint* (the layer's position of a deal changed since the layer was built) removes the
  cells that contain it at every level down to :func:`taint_level` (``Lc + REFINE``, or the
  level of the rectangle holding it if finer); its cell of that level goes live;
- everything of the box outside the rectangles (a sliver thinner than two level-``F`` cells
  along the edges, and tainted cells) is answered live; :func:`live_envelopes` gives lat/lng
  rectangles that cover it, for the GiST index, and the statement decides exactly with
  integer coordinates;
- a deal whose stores fall in different cells of level ``s`` (its *split*) is in no cell of
  level ``s`` or finer: where the rectangles are that fine, it is placed from its stores.
  :func:`spread_bands` gives, per split, the fine ranges where that is so (so the statement
  reads only those stores, by index): a point of the inner rectangle lies in a rectangle of
  level ``s`` or finer exactly when its level ``s - 1`` cell does not fit in the inner
  rectangle (then no coarser one does either) or holds a taint (which cut it finer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FINE_BITS = 32
CELL_BITS = 2
MIN_LEVEL = CELL_BITS
"""The level of zoom 0's cluster cells."""
MAX_LEVEL = 20
"""The finest level the layer stores (zoom 13's cluster cells refined ``REFINE`` times), and
the level of the inner rectangle at every zoom: the live sliver along the edges is under two
of its cells (about 80 m) wide, so a view's edge through a city leaves few stores live."""
REFINE = 5
"""Levels below the cluster level down to which a taint cuts the cover: its live cell is
1/32 of a cluster cell (2 px at the view's zoom) wide."""
EDGE_FINE = 4096
"""Fine units (about 38 m at the equator) kept between the box's edges and the layer."""
MERCATOR_MAX_LAT = 85.0511287798066
_SIDE = float(1 << FINE_BITS)
_MARGIN_DEG = 1e-6


@dataclass(frozen=True, slots=True)
class Rect:
    """Cells ``x0..x1`` by ``y0..y1`` (inclusive) of one level."""

    level: int
    x0: int
    x1: int
    y0: int
    y1: int

    def holds(self, x: int, y: int) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1


@dataclass(frozen=True, slots=True)
class Envelope:
    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True, slots=True)
class Band:
    """Fine units ``x0 <= fx < x1``, ``y0 <= fy < y1`` where a deal that splits at level
    ``split`` lies in a rectangle of that level or finer (so no cell counts it)."""

    split: int
    x0: int
    x1: int
    y0: int
    y1: int


@dataclass(frozen=True, slots=True)
class Cover:
    """The layer's rectangles of one view and the lat/lng envelopes of its live part."""

    rects: tuple[Rect, ...]
    envelopes: tuple[Envelope, ...]
    inner: tuple[Rect, ...] = ()
    """Each box's inner rectangle (at the finest level), bounding its rectangles."""
    taints: tuple[tuple[int, int], ...] = ()
    spread: tuple[Band, ...] = ()
    """Where the layer's deals of each split level lie in rectangles as fine as their split."""


def fine_x(lng: float) -> float:
    return (lng + 180.0) / 360.0 * _SIDE


def fine_y(lat: float) -> float:
    lat = max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat))
    phi = math.radians(lat)
    return (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * _SIDE


def lng_of(x: float) -> float:
    return x / _SIDE * 360.0 - 180.0


def lat_of(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / _SIDE))))


def taint_level(cluster_level: int) -> int:
    return min(cluster_level + REFINE, MAX_LEVEL)


def inner_rect(west: float, south: float, east: float, north: float, level: int) -> Rect | None:
    """The level's cells lying ``EDGE_FINE`` inside the box (``west <= east``), if any."""
    size = 2 ** (FINE_BITS - level)
    x0 = math.ceil((fine_x(west) + EDGE_FINE) / size)
    x1 = math.floor((fine_x(east) - EDGE_FINE) / size) - 1
    y0 = math.ceil((fine_y(north) + EDGE_FINE) / size)
    y1 = math.floor((fine_y(south) - EDGE_FINE) / size) - 1
    if x0 > x1 or y0 > y1:
        return None
    return Rect(level, x0, x1, y0, y1)


def _fitting(inner: Rect, level: int) -> Rect | None:
    """The level's cells that fit inside ``inner`` (a finer rectangle)."""
    scale = 2 ** (inner.level - level)
    x0, y0 = -(-inner.x0 // scale), -(-inner.y0 // scale)
    x1, y1 = (inner.x1 + 1) // scale - 1, (inner.y1 + 1) // scale - 1
    return Rect(level, x0, x1, y0, y1) if x0 <= x1 and y0 <= y1 else None


def _minus(outer: Rect, hole: Rect) -> list[Rect]:
    """``outer`` without ``hole`` (same level, ``hole`` inside ``outer``): up to four."""
    pieces = [
        Rect(outer.level, outer.x0, outer.x1, outer.y0, hole.y0 - 1),
        Rect(outer.level, outer.x0, outer.x1, hole.y1 + 1, outer.y1),
        Rect(outer.level, outer.x0, hole.x0 - 1, hole.y0, hole.y1),
        Rect(outer.level, hole.x1 + 1, outer.x1, hole.y0, hole.y1),
    ]
    return [p for p in pieces if p.x0 <= p.x1 and p.y0 <= p.y1]


def _children(rect: Rect) -> Rect:
    """The rectangle's cells one level finer."""
    return Rect(rect.level + 1, 2 * rect.x0, 2 * rect.x1 + 1, 2 * rect.y0, 2 * rect.y1 + 1)


def rings(inner: Rect, cluster_level: int) -> list[Rect]:
    """Aligned rectangles, coarsest first, that exactly tile ``inner``."""
    rects: list[Rect] = []
    coarser: Rect | None = None
    for level in range(cluster_level, inner.level + 1):
        fitting = _fitting(inner, level)
        if fitting is None:
            continue
        if coarser is None:
            rects.append(fitting)
        else:
            hole = _children(coarser)
            rects.extend(_minus(fitting, hole))
        coarser = fitting
    return rects


def taint(rects: list[Rect], fx: int, fy: int, finest: int) -> tuple[list[Rect], Rect | None]:
    """Remove the cells holding the fine point from the rectangles: its cell at each level
    below the rectangle's, down to ``finest`` (or the rectangle's level if finer), is replaced
    by its three other children. Returns the new rectangles and the point's finest cell (to
    answer live), if covered."""
    for index, rect in enumerate(rects):
        shift = FINE_BITS - rect.level
        cx, cy = fx >> shift, fy >> shift
        if not rect.holds(cx, cy):
            continue
        finest = max(finest, rect.level)
        cell = Rect(rect.level, cx, cx, cy, cy)
        kept = rects[:index] + rects[index + 1 :] + _minus(rect, cell)
        for level in range(rect.level + 1, finest + 1):
            shift = FINE_BITS - level
            px, py = fx >> shift, fy >> shift
            for x in (2 * cx, 2 * cx + 1):
                for y in (2 * cy, 2 * cy + 1):
                    if (x, y) != (px, py):
                        kept.append(Rect(level, x, x, y, y))
            cx, cy = px, py
        return kept, Rect(finest, cx, cx, cy, cy)
    return rects, None


def _bounds(rect: Rect) -> tuple[int, int, int, int]:
    """The rectangle in fine units: ``x0, x1, y0, y1``, upper ends excluded."""
    shift = FINE_BITS - rect.level
    return rect.x0 << shift, (rect.x1 + 1) << shift, rect.y0 << shift, (rect.y1 + 1) << shift


def _at(rect: Rect, level: int) -> Rect:
    """The same cells as ``rect`` in cells of a finer ``level``."""
    k = 2 ** (level - rect.level)
    return Rect(level, rect.x0 * k, (rect.x1 + 1) * k - 1, rect.y0 * k, (rect.y1 + 1) * k - 1)


def spread_bands(
    inner: Rect, cluster_level: int, taints: tuple[tuple[int, int], ...] = ()
) -> list[Band]:
    """For each split level ``s`` up to ``inner``'s, the fine ranges of ``inner`` whose points
    lie in a rectangle of level ``s`` or finer once ``taints`` are cut out (or in a taint's
    own cell, answered live): all of it up to the cluster level; beyond, the ring outside the
    level ``s - 1`` cells that fit, and the fitting ``s - 1`` cells that hold a taint."""
    whole = _bounds(inner)
    bands = [Band(s, *whole) for s in range(1, min(cluster_level, inner.level) + 1)]
    for split in range(cluster_level + 1, inner.level + 1):
        fit = _fitting(inner, split - 1)
        if fit is None:
            bands.append(Band(split, *whole))
            continue
        bands.extend(Band(split, *_bounds(p)) for p in _minus(inner, _at(fit, inner.level)))
        shift = FINE_BITS - fit.level
        cut = {(fx >> shift, fy >> shift) for fx, fy in taints}
        bands.extend(
            Band(split, *_bounds(Rect(fit.level, x, x, y, y)))
            for x, y in sorted(cut)
            if fit.holds(x, y)
        )
    return bands


def envelope_of(rect: Rect) -> Envelope:
    """The lat/lng rectangle of the cells, widened by a small margin."""
    size = 2 ** (FINE_BITS - rect.level)
    return Envelope(
        west=lng_of(rect.x0 * size) - _MARGIN_DEG,
        east=lng_of((rect.x1 + 1) * size) + _MARGIN_DEG,
        north=lat_of(rect.y0 * size) + _MARGIN_DEG,
        south=lat_of((rect.y1 + 1) * size) - _MARGIN_DEG,
    )


def live_envelopes(
    west: float, south: float, east: float, north: float, inner: Rect | None
) -> list[Envelope]:
    """Lat/lng rectangles covering the box outside ``inner`` (overlapping it a little)."""
    if inner is None:
        return [Envelope(west, south, east, north)]
    core = envelope_of(inner)
    bands = [
        Envelope(west, core.north - 2 * _MARGIN_DEG, east, north),
        Envelope(west, south, east, core.south + 2 * _MARGIN_DEG),
        Envelope(west, south, core.west + 2 * _MARGIN_DEG, north),
        Envelope(core.east - 2 * _MARGIN_DEG, south, east, north),
    ]
    return [b for b in bands if b.west <= b.east and b.south <= b.north]


def cover(
    boxes: tuple[tuple[float, float, float, float], ...],
    cluster_level: int,
    taints: tuple[tuple[int, int], ...],
) -> Cover:
    """The layer's rectangles and the live envelopes of boxes ``(west, south, east, north)``."""
    rects: list[Rect] = []
    envelopes: list[Envelope] = []
    inners: list[Rect] = []
    for west, south, east, north in boxes:
        inner = inner_rect(west, south, east, north, MAX_LEVEL)
        if inner is not None:
            rects.extend(rings(inner, cluster_level))
            inners.append(inner)
        envelopes.extend(live_envelopes(west, south, east, north, inner))
    for fx, fy in taints:
        rects, cell = taint(rects, fx, fy, taint_level(cluster_level))
        if cell is not None:
            envelopes.append(envelope_of(cell))
    spread = [band for inner in inners for band in spread_bands(inner, cluster_level, taints)]
    return Cover(tuple(rects), tuple(envelopes), tuple(inners), taints, tuple(spread))
