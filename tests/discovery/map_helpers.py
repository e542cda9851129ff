"""Brute-force references for the map tests: boxes, representative stores, grid cells."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from commerce.discovery.map_layer import refresh_once
from db.database import Database, DatabaseConfig

CELL_BITS = 2  # a cluster cell is a quarter tile (64 px) at the zoom it is computed for
CLUSTER_BELOW_ZOOM = 14
HELSINKI_BOX = {"west": 24.930, "south": 60.160, "east": 24.960, "north": 60.185}


@dataclass(frozen=True)
class Point:
    deal_id: int
    store_id: int
    lng: float
    lat: float


def in_box(point: dict[str, Any], box: dict[str, float]) -> bool:
    if not box["south"] <= point["lat"] <= box["north"]:
        return False
    if box["west"] <= box["east"]:
        return bool(box["west"] <= point["lng"] <= box["east"])
    return bool(point["lng"] >= box["west"] or point["lng"] <= box["east"])


def representatives(points: list[dict[str, Any]], box: dict[str, float]) -> dict[int, Point]:
    """Each deal with a store in the box, at its lowest-id store in the box."""
    chosen: dict[int, Point] = {}
    for p in points:
        if not in_box(p, box):
            continue
        current = chosen.get(p["deal_id"])
        if current is None or p["store_id"] < current.store_id:
            chosen[p["deal_id"]] = Point(p["deal_id"], p["store_id"], p["lng"], p["lat"])
    return chosen


def fine_xy(lng: float, lat: float) -> tuple[int, int]:
    """Integer Web Mercator coordinates at 2**32 per world side (y from the north)."""
    side = 2**32
    lat = max(-85.0511287798066, min(85.0511287798066, lat))
    phi = math.radians(lat)
    x = math.floor((lng + 180.0) / 360.0 * side)
    y = math.floor((1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * side)
    return min(max(x, 0), side - 1), min(max(y, 0), side - 1)


def cell(point: Point, zoom: int) -> tuple[int, int]:
    x, y = fine_xy(point.lng, point.lat)
    shift = 32 - (zoom + CELL_BITS)
    return x >> shift, y >> shift


def expected_clusters(members: list[Point], zoom: int) -> dict[str, tuple[int, int]]:
    """cluster id -> (count, expansion zoom), the expansion zoom found by trying each zoom."""
    groups: dict[tuple[int, int], list[Point]] = defaultdict(list)
    for point in members:
        groups[cell(point, zoom)].append(point)
    clusters = {}
    for (cx, cy), group in groups.items():
        expansion = CLUSTER_BELOW_ZOOM
        for finer in range(zoom + 1, CLUSTER_BELOW_ZOOM):
            if len({cell(p, finer) for p in group}) > 1:
                expansion = finer
                break
        clusters[f"{zoom}/{cx}/{cy}"] = (len(group), expansion)
    return clusters


def tile_of(lat: float, lng: float, zoom: int) -> tuple[int, int]:
    side = 2**zoom
    x = int((lng + 180) / 360 * side)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * side)
    return x, y


def tile_box(zoom: int, x: int, y: int) -> dict[str, float]:
    side = 2**zoom

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / side))))

    return {
        "west": x / side * 360 - 180,
        "east": (x + 1) / side * 360 - 180,
        "south": lat(y + 1),
        "north": lat(y),
    }


async def build_layer(database_url: str) -> None:
    """Build and publish a map layer generation now (waiting while a test gateway's
    refresher holds the builders' lock)."""
    database = Database(DatabaseConfig(url=database_url, pool_size=1, max_overflow=1))
    try:
        for _ in range(600):
            built = await refresh_once(
                database, timedelta(minutes=1), timedelta(minutes=15), force=True
            )
            if built is not None:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the map layer's lock stayed taken")
    finally:
        await database.dispose()
