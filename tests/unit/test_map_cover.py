"""geo.cover: the layer's rectangles tile the inner rectangle exactly, stay inside the box
with a margin, and a taint removes its cells down to the finest level."""

from __future__ import annotations

import random

from geo.cover import (
    EDGE_FINE,
    FINE_BITS,
    Rect,
    cover,
    fine_x,
    fine_y,
    inner_rect,
    rings,
    spread_bands,
    taint,
)


def cells_at(rects: list[Rect] | tuple[Rect, ...], level: int) -> set[tuple[int, int]]:
    """Every cell of ``level`` covered by the rectangles (each of a coarser or equal level)."""
    out: set[tuple[int, int]] = set()
    for r in rects:
        scale = 2 ** (level - r.level)
        for x in range(r.x0 * scale, (r.x1 + 1) * scale):
            for y in range(r.y0 * scale, (r.y1 + 1) * scale):
                assert (x, y) not in out, "rectangles overlap"
                out.add((x, y))
    return out


def test_rings_tile_the_inner_rectangle_exactly() -> None:
    rng = random.Random(5)
    for _ in range(200):
        level = rng.randint(2, 8)
        finest = level + rng.randint(0, 4)
        x0, y0 = rng.randint(0, 40), rng.randint(0, 40)
        inner = Rect(finest, x0, x0 + rng.randint(0, 60), y0, y0 + rng.randint(0, 60))
        rects = rings(inner, level)
        assert all(level <= r.level <= finest for r in rects)
        expected = {
            (x, y) for x in range(inner.x0, inner.x1 + 1) for y in range(inner.y0, inner.y1 + 1)
        }
        assert cells_at(rects, finest) == expected
        assert len(rects) <= 1 + 4 * (finest - level)


def test_the_inner_rectangle_keeps_its_distance_from_the_edges() -> None:
    rng = random.Random(6)
    for _ in range(500):
        west, east = sorted(rng.uniform(-180, 180) for _ in range(2))
        south, north = sorted(rng.uniform(-90, 90) for _ in range(2))
        level = rng.randint(2, 20)
        inner = inner_rect(west, south, east, north, level)
        if inner is None:
            continue
        size = 2 ** (FINE_BITS - level)
        assert inner.x0 * size >= fine_x(west) + EDGE_FINE
        assert (inner.x1 + 1) * size <= fine_x(east) - EDGE_FINE
        assert inner.y0 * size >= fine_y(north) + EDGE_FINE
        assert (inner.y1 + 1) * size <= fine_y(south) - EDGE_FINE


def test_a_taint_leaves_only_its_finest_cell_uncovered() -> None:
    rects = rings(Rect(8, 3, 40, 5, 33), 4)
    before = cells_at(rects, 8)
    fx, fy = 17 << (FINE_BITS - 8), 20 << (FINE_BITS - 8)
    after, cell = taint(rects, fx, fy, 8)
    assert cell == Rect(8, 17, 17, 20, 20)
    assert cells_at(after, 8) == before - {(17, 20)}
    outside, none = taint(after, fx, fy, 8)  # already live: nothing changes
    assert none is None and outside == after


def test_a_view_across_the_antimeridian_has_parts_on_both_sides() -> None:
    chosen = cover(((170.0, -30.0, 180.0, -5.0), (-180.0, -30.0, -170.0, -5.0)), 7, ())
    assert chosen.rects and len(chosen.envelopes) == 8
    assert {r.x0 < 2 ** (r.level - 1) for r in chosen.rects} == {True, False}


def _level_holding(rects: list[Rect], fx: int, fy: int) -> int | None:
    """The level of the rectangle holding the fine point (None: in none, answered live)."""
    for r in rects:
        shift = FINE_BITS - r.level
        if r.holds(fx >> shift, fy >> shift):
            return r.level
    return None


def _point_in(rng: random.Random, inner: Rect) -> tuple[int, int]:
    shift = FINE_BITS - inner.level
    x = rng.randrange(inner.x0 << shift, (inner.x1 + 1) << shift)
    return x, rng.randrange(inner.y0 << shift, (inner.y1 + 1) << shift)


def test_spread_bands_hold_the_points_whose_rectangle_is_as_fine_as_the_split() -> None:
    rng = random.Random(8)
    for _ in range(150):
        level = rng.randint(2, 9)
        finest = level + rng.randint(0, 5)
        x0, y0 = rng.randint(0, 50), rng.randint(0, 50)
        inner = Rect(finest, x0, x0 + rng.randint(0, 70), y0, y0 + rng.randint(0, 70))
        taints = tuple(_point_in(rng, inner) for _ in range(rng.choice([0, 0, 1, 3])))
        rects = rings(inner, level)
        cut = rng.randint(level, finest)  # how deep taints cut (at least the rectangle's level)
        for fx, fy in taints:
            rects, _ = taint(rects, fx, fy, cut)
        bands = spread_bands(inner, level, taints)
        for _ in range(60):
            near = taints and rng.random() < 0.2
            fx, fy = rng.choice(taints) if near else _point_in(rng, inner)
            holding = _level_holding(rects, fx, fy)
            if holding is None:  # a taint's own cell: live, whatever the bands say
                continue
            for split in range(1, finest + 1):
                inside = any(
                    b.split == split and b.x0 <= fx < b.x1 and b.y0 <= fy < b.y1 for b in bands
                )
                assert inside == (holding >= split), (inner, level, taints, fx, fy, split)
