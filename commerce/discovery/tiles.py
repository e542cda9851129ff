"""Vector tile rules: parse and check ``z/x/y`` and the filter query parameters, then build
the tile with the same viewport rules as ``dealsInView`` (clusters below
``CLUSTER_BELOW_ZOOM``, deals from it on, at most ``MAX_TILE_DEALS`` per tile)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.discovery.filters import DealFilterRules, validate_deal_filter
from commerce.discovery.viewport import (
    CLUSTER_BELOW_ZOOM,
    check_cluster_load,
    check_zoom,
    criteria_for,
    layer_clusters,
)
from commerce.errors import UserInputError
from domain.filters import DealFilterValues
from geo import tiles
from geo.viewport import Box

MAX_TILE_DEALS = 5000
FILTER_PARAMETERS = ("categories", "priceMin", "priceMax", "minRating", "openNow", "openAt")
MAX_PARAMETER_LENGTH = 2000
_PLUS_AS_SPACE = re.compile(r" (\d{2}:?\d{2})$")


@dataclass(frozen=True, slots=True)
class TileRequest:
    """A tile request as the edge received it: path segments and query parameters."""

    z: str
    x: str
    y: str
    query: Mapping[str, Sequence[str]]
    now: datetime


def tile_coordinates(z: str, x: str, y: str) -> tuple[int, int, int]:
    values = []
    for name, raw in (("z", z), ("x", x), ("y", y)):
        if not raw.isdigit() or len(raw) > 8:
            raise UserInputError(name, f"{name} must be a non-negative integer")
        values.append(int(raw))
    zoom, column, row = values
    check_zoom(zoom, "z")
    side = 2**zoom
    if column >= side or row >= side:
        name = "x" if column >= side else "y"
        raise UserInputError(name, f"x and y must be below {side} at zoom {zoom}")
    return zoom, column, row


def tile_box(z: int, x: int, y: int) -> Box:
    """The tile's lat/lng rectangle (Web Mercator tile scheme, y from the north)."""
    side = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / side))))

    return Box(
        west=x / side * 360 - 180, south=lat(y + 1), east=(x + 1) / side * 360 - 180, north=lat(y)
    )


def filter_from_query(query: Mapping[str, Sequence[str]]) -> DealFilterValues:
    """The ``DealFilter`` fields as query parameters (``categories`` comma-separated or
    repeated); an unknown or repeated parameter is an error, not silently ignored."""
    for name, values in query.items():
        if name not in FILTER_PARAMETERS:
            known = ", ".join(FILTER_PARAMETERS)
            raise UserInputError(name, f"unknown query parameter {name!r}; known: {known}")
        if name != "categories" and len(values) > 1:
            raise UserInputError(name, f"{name} is given more than once")
        if any(len(value) > MAX_PARAMETER_LENGTH for value in values):
            raise UserInputError(name, f"{name} is too long")
    return DealFilterValues(
        categories=_categories(query.get("categories")),
        price_min=_single(query, "priceMin"),
        price_max=_single(query, "priceMax"),
        min_rating=_float(query, "minRating"),
        open_now=_bool(query, "openNow"),
        open_at=_instant(query, "openAt"),
    )


def _single(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _categories(values: Sequence[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(slug.strip() for value in values for slug in value.split(",") if slug.strip())


def _float(query: Mapping[str, Sequence[str]], name: str) -> float | None:
    raw = _single(query, name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError as error:
        raise UserInputError(f"filter.{name}", f"{name} must be a number") from error


def _bool(query: Mapping[str, Sequence[str]], name: str) -> bool | None:
    raw = _single(query, name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise UserInputError(f"filter.{name}", f"{name} must be true or false")
    return raw == "true"


def _instant(query: Mapping[str, Sequence[str]], name: str) -> datetime | None:
    raw = _single(query, name)
    if raw is None:
        return None
    # An unencoded "+" of the UTC offset arrives as a space after URL decoding.
    raw = _PLUS_AS_SPACE.sub(r"+\1", raw)
    try:
        return datetime.fromisoformat(raw)
    except ValueError as error:
        raise UserInputError(
            f"filter.{name}", f"{name} must be an ISO 8601 instant such as 2026-06-01T12:00+03:00"
        ) from error


@dataclass(frozen=True, slots=True)
class ValidTile:
    """A checked tile request: coordinates, their lat/lng box and the filter rules."""

    tile: tuple[int, int, int]
    box: Box
    rules: DealFilterRules
    now: datetime


def validate_tile(request: TileRequest) -> ValidTile:
    """Judge the request before any database work (a bad one is a 400 even when PostgreSQL
    is down)."""
    tile = tile_coordinates(request.z, request.x, request.y)
    rules = validate_deal_filter(filter_from_query(request.query), request.now)
    return ValidTile(tile, tile_box(*tile), rules, request.now)


async def deal_tile(conn: AsyncConnection, valid: ValidTile) -> bytes:
    """The tile's MVT bytes (empty when nothing matches, a valid empty tile)."""
    clustered = valid.tile[0] < CLUSTER_BELOW_ZOOM
    if clustered:
        zoom, box = valid.tile[0], valid.box
        clusters = await layer_clusters(conn, (box,), zoom, valid.rules, valid.now)
        if clusters is not None:
            return await tiles.clusters_tile(conn, valid.tile, clusters)
        await check_cluster_load(conn, (valid.box,), "z")
    criteria = await criteria_for(conn, (valid.box,), valid.rules, valid.now)
    if clustered:
        return await tiles.cluster_tile(conn, valid.tile, valid.box, criteria, CLUSTER_BELOW_ZOOM)
    return await tiles.deal_tile(conn, valid.tile, valid.box, criteria, MAX_TILE_DEALS)
