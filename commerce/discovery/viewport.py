"""Viewport rules for maps (``dealsInView`` and vector tiles): validate, cluster or list.

Below ``CLUSTER_BELOW_ZOOM`` a view is answered with server-side clusters on a fixed Web
Mercator grid (see :mod:`geo.viewport`): from the pre-aggregated layer (:mod:`geo.layer`, any
size of view) when one is usable, no filter is given and the view holds at least
``LAYER_FROM_STORES`` stores; else live (at most ``MAX_CLUSTER_STORES`` stores in view).
From that zoom on, with the deals themselves (at most ``MAX_LIMIT`` per request;
``truncated`` says when there were more). A deal counts once per view, at its lowest-id
matching store inside the view.

A view may not be larger than ``MAX_VIEW_TILES`` tiles of its zoom on either axis (a 4096-px
screen), so the work of a request is bounded by the zoom it claims. A view whose west edge
is east of its east edge crosses the antimeridian and is split into two boxes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.discovery.filters import DealFilterRules, validate_deal_filter
from commerce.errors import UserInputError
from commerce.hours import is_open
from domain.filters import DealFilterValues
from geo import layer, viewport
from geo.viewport import Box, DealCriteria
from geo.viewport import ClusterRow as ClusterRow
from geo.viewport import ViewDeal as ViewDeal

MIN_ZOOM = 0
MAX_ZOOM = 22
CLUSTER_BELOW_ZOOM = 14
"""Zooms below this get clusters; this zoom and above get individual deals."""
MAX_VIEW_TILES = 16
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
MAX_HOURS_CANDIDATES = 20_000
MAX_CLUSTER_STORES = 30_000
"""Clustering reads every deal in view; more stores than this in a view is refused (zoom
in): about half a second of PostgreSQL time on the benchmark machine, so the statement
timeout is never the limit."""
LAYER_FROM_STORES = 500
"""Views with fewer stores than this are clustered live even when the layer could answer:
the live statement reads a few thousand pairs in less time than the layer's fixed cost
(bench/README.md "Every zoom over the densest area"). The layer's probe counts them."""
MERCATOR_MAX_LAT = viewport.MERCATOR_MAX_LAT


@dataclass(frozen=True, slots=True)
class ViewRequest:
    """A ``dealsInView`` request as the edge decoded it."""

    west: float
    south: float
    east: float
    north: float
    zoom: int
    now: datetime
    filter: DealFilterValues = field(default_factory=DealFilterValues)
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class ViewResult:
    total: int
    clustered: bool
    clusters: list[ClusterRow]
    deals: list[ViewDeal]
    truncated: bool


def mercator_y(lat: float) -> float:
    """Normalised Web Mercator y (0 at the top, 1 at the bottom), latitude clamped."""
    lat = max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat))
    phi = math.radians(lat)
    return (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2


def view_boxes(west: float, south: float, east: float, north: float, zoom: int) -> tuple[Box, ...]:
    """Validate a view and return its boxes (two when it crosses the antimeridian)."""
    for name, value, limit in (("west", west, 180), ("east", east, 180)):
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise UserInputError(f"bbox.{name}", f"{name} must be a longitude in [-180, 180]")
    for name, value in (("south", south), ("north", north)):
        if not math.isfinite(value) or not -90 <= value <= 90:
            raise UserInputError(f"bbox.{name}", f"{name} must be a latitude in [-90, 90]")
    if south > north:
        raise UserInputError("bbox.south", "south must not be north of north")
    check_zoom(zoom)
    crosses = west > east
    width = (east + 360 - west if crosses else east - west) / 360
    height = mercator_y(south) - mercator_y(north)
    most = MAX_VIEW_TILES / 2**zoom
    if max(width, height) > most + 1e-12:
        raise UserInputError(
            "bbox", f"the box is larger than {MAX_VIEW_TILES} tiles at zoom {zoom}; zoom out"
        )
    if crosses:
        return (Box(west, south, 180.0, north), Box(-180.0, south, east, north))
    return (Box(west, south, east, north),)


def check_zoom(zoom: int, argument: str = "zoom") -> None:
    if not MIN_ZOOM <= zoom <= MAX_ZOOM:
        raise UserInputError(argument, f"{argument} must be between {MIN_ZOOM} and {MAX_ZOOM}")


async def check_cluster_load(
    conn: AsyncConnection, boxes: tuple[Box, ...], argument: str = "bbox"
) -> None:
    cap = MAX_CLUSTER_STORES
    if await viewport.count_stores(conn, boxes, cap) > cap:
        raise UserInputError(argument, f"more than {cap} stores in this view to cluster; zoom in")


async def criteria_for(
    conn: AsyncConnection, boxes: tuple[Box, ...], rules: DealFilterRules, now: datetime
) -> DealCriteria:
    """The SQL criteria; with an opening-hours filter, the ids of the stores open then."""
    criteria = DealCriteria(now=now, conditions=rules)
    if rules.open_at is None:
        return criteria
    stores = await viewport.stores_for_hours(conn, boxes, criteria, MAX_HOURS_CANDIDATES)
    if len(stores) > MAX_HOURS_CANDIDATES:
        raise UserInputError(
            "filter.openNow", "too many stores in view to filter by opening hours; zoom in"
        )
    open_ids = tuple(
        s.id
        for s in stores
        if is_open(s.opening_hours, s.timezone, s.country_code, rules.open_at, s.special_hours)
    )
    return DealCriteria(now=now, conditions=rules, store_ids=open_ids)


@dataclass(frozen=True, slots=True)
class ValidView:
    """A checked ``dealsInView`` request: nothing in it needs the database to be judged."""

    boxes: tuple[Box, ...]
    zoom: int
    rules: DealFilterRules
    limit: int
    now: datetime


def validate_view(request: ViewRequest) -> ValidView:
    boxes = view_boxes(request.west, request.south, request.east, request.north, request.zoom)
    if not 1 <= request.limit <= MAX_LIMIT:
        raise UserInputError("limit", f"limit must be between 1 and {MAX_LIMIT}")
    rules = validate_deal_filter(request.filter, request.now)
    return ValidView(boxes, request.zoom, rules, request.limit, request.now)


def layer_answers(rules: DealFilterRules, zoom: int) -> bool:
    """The pre-aggregated layer answers unfiltered cluster views; filters stay live."""
    return zoom < CLUSTER_BELOW_ZOOM and rules == DealFilterRules()


async def layer_clusters(
    conn: AsyncConnection, boxes: tuple[Box, ...], zoom: int, rules: DealFilterRules, now: datetime
) -> list[ClusterRow] | None:
    """Clusters from the map layer, or None (no usable layer, a filter, or a sparse view):
    then live."""
    if not layer_answers(rules, zoom):
        return None
    return await layer.layer_clusters(
        conn, boxes, zoom, now, CLUSTER_BELOW_ZOOM, min_stores=LAYER_FROM_STORES
    )


async def deals_in_view(conn: AsyncConnection, view: ValidView) -> ViewResult:
    clustered = view.zoom < CLUSTER_BELOW_ZOOM
    if clustered:
        clusters = await layer_clusters(conn, view.boxes, view.zoom, view.rules, view.now)
        if clusters is not None:
            total = sum(c.count for c in clusters)
            return ViewResult(total, clustered=True, clusters=clusters, deals=[], truncated=False)
        await check_cluster_load(conn, view.boxes)
    criteria = await criteria_for(conn, view.boxes, view.rules, view.now)
    if clustered:
        clusters = await viewport.clusters_in_view(
            conn, view.boxes, criteria, view.zoom, CLUSTER_BELOW_ZOOM
        )
        total = sum(c.count for c in clusters)
        return ViewResult(total, clustered=True, clusters=clusters, deals=[], truncated=False)
    deals, total = await viewport.deals_in_view(conn, view.boxes, criteria, view.limit)
    return ViewResult(
        total, clustered=False, clusters=[], deals=deals, truncated=total > len(deals)
    )
