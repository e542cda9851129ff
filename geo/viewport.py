"""Viewport queries: deals whose valid stores fall in lat/lng boxes, as clusters or as deals.

A deal counts once per view: at its *representative* store, the lowest-id store in the view
where it is valid and that passes the filters (``DISTINCT ON (deal)``). Totals, clusters and
vector tiles all use that same rule, so their counts agree.

Boxes are matched with ``location::geometry && envelope`` (exact lat/lng rectangles, served by
the GiST expression index ``ix_stores_location_geometry``); an antimeridian-crossing view is
two boxes. Clusters snap the representative points to a fixed Web Mercator grid whose cells
are ``256 / 2**CELL_BITS`` pixels at the requested zoom: the grid depends on the zoom only,
so clusters do not move while a map pans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import deal_category_text, special_hours_text
from db.offer_sql import on_offer_text
from db.rows import DealRow
from domain.filters import DealConditions

CELL_BITS = 2
"""A cluster cell is a quarter tile (64 px) wide at the zoom it is computed for."""
FINE_BITS = 32
"""Resolution of the integer Mercator coordinates the clusters compare (zoom 24 pixels)."""
MERCATOR_MAX_LAT = 85.0511287798066
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Box:
    """A lat/lng rectangle with ``west <= east`` (views across the antimeridian use two)."""

    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True, slots=True)
class DealCriteria:
    """The SQL side of a validated ``DealFilter``; ``store_ids`` limits to stores open then."""

    now: datetime
    conditions: DealConditions = field(default_factory=DealConditions)
    store_ids: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class ClusterRow:
    cell_x: int
    cell_y: int
    count: int
    lng: float
    lat: float
    expansion_zoom: int


@dataclass(frozen=True, slots=True)
class ViewDeal:
    """A deal in view at its representative store."""

    deal: DealRow
    store_id: int
    lng: float
    lat: float
    category: str


@dataclass(frozen=True, slots=True)
class StoreHours:
    id: int
    opening_hours: str | None
    timezone: str
    country_code: str
    special_hours: str | None = None  # upcoming special days (db.catalog_sql)


def area_sql(boxes: tuple[Box, ...], geometry: str = "s.location::geometry") -> str:
    parts = [
        f"{geometry} && ST_MakeEnvelope(:w{i}, :s{i}, :e{i}, :n{i}, 4326)"
        for i in range(len(boxes))
    ]
    return "(" + " OR ".join(parts) + ")"


def criteria_sql(criteria: DealCriteria) -> tuple[str, bool]:
    """Extra ``AND`` conditions and whether they need the merchants join."""
    conditions = [on_offer_text("d")]
    wanted = criteria.conditions
    if wanted.price_min is not None:
        conditions.append("d.price >= :price_min")
    if wanted.price_max is not None:
        conditions.append("d.price <= :price_max")
    if wanted.categories:
        conditions.append(f"{deal_category_text('d', 'm')} = ANY(:categories)")
    if wanted.min_rating is not None:
        conditions.append("m.rating >= :min_rating")
    if criteria.store_ids is not None:
        conditions.append("s.id = ANY(:store_ids)")
    needs_merchants = bool(wanted.categories) or wanted.min_rating is not None
    return " AND ".join(conditions), needs_merchants


def bind_values(boxes: tuple[Box, ...], criteria: DealCriteria) -> dict[str, Any]:
    values: dict[str, Any] = {
        "now": criteria.now,
        "price_min": criteria.conditions.price_min,
        "price_max": criteria.conditions.price_max,
        "categories": list(criteria.conditions.categories),
        "min_rating": criteria.conditions.min_rating,
        "store_ids": list(criteria.store_ids or ()),
    }
    for i, box in enumerate(boxes):
        values.update({f"w{i}": box.west, f"s{i}": box.south})
        values.update({f"e{i}": box.east, f"n{i}": box.north})
    return values


def in_view_cte(boxes: tuple[Box, ...], criteria: DealCriteria) -> str:
    """``in_view(deal_id, store_id, lng, lat)``: each matching deal once, at its lowest-id
    store in the boxes."""
    conditions, needs_merchants = criteria_sql(criteria)
    merchants_join = "JOIN merchants m ON m.id = d.merchant_id" if needs_merchants else ""
    return f"""in_view AS (
  SELECT DISTINCT ON (d.id) d.id AS deal_id, s.id AS store_id,
         ST_X(s.location::geometry) AS lng, ST_Y(s.location::geometry) AS lat
  FROM stores s
  JOIN deal_stores ds ON ds.store_id = s.id
  JOIN deals d ON d.id = ds.deal_id
  {merchants_join}
  WHERE {area_sql(boxes)} AND {conditions}
  ORDER BY d.id, s.id
)"""


def _fine(expression: str) -> str:
    return f"LEAST(GREATEST(floor({expression} * {2**FINE_BITS}::float8), 0), {2**FINE_BITS - 1})"


# Integer Web Mercator coordinates at 2**FINE_BITS per world side (y grows southwards).
_LAT = f"LEAST(GREATEST(lat, {-MERCATOR_MAX_LAT}), {MERCATOR_MAX_LAT})"
FINE_X = _fine("((lng + 180.0) / 360.0)")
FINE_Y = _fine(f"((1 - ln(tan(radians({_LAT})) + 1 / cos(radians({_LAT}))) / pi()) / 2)")


def _bit_length(expression: str) -> str:
    return f"length(ltrim(({expression})::bit({FINE_BITS})::text, '0'))"


def clusters_cte() -> str:
    """``clusters(cell_x, cell_y, count, lng, lat, expansion_zoom)`` from ``in_view``.

    Cells nest from one zoom to the next, so the members of a cluster stay together until
    the first zoom at which their integer coordinates differ in a cell bit: that zoom follows
    from the highest differing bit of (min xor max) on each axis. Never beyond
    ``:max_expansion`` (the zoom where individual deals replace clusters)."""
    split_level = (
        f"{FINE_BITS + 1} - GREATEST({_bit_length('min(fx) # max(fx)')}, "
        f"{_bit_length('min(fy) # max(fy)')})"
    )
    return f"""fine AS (
  SELECT deal_id, lng, lat, {FINE_X}::bigint AS fx, {FINE_Y}::bigint AS fy FROM in_view
),
clusters AS (
  SELECT fx >> :shift AS cell_x, fy >> :shift AS cell_y, count(*) AS count,
         avg(lng) AS lng, avg(lat) AS lat,
         LEAST(({split_level}) - {CELL_BITS}, :max_expansion) AS expansion_zoom
  FROM fine GROUP BY 1, 2
)"""


def cluster_binds(zoom: int, max_expansion: int) -> dict[str, Any]:
    return {"shift": FINE_BITS - (zoom + CELL_BITS), "max_expansion": max_expansion}


async def clusters_in_view(
    conn: AsyncConnection,
    boxes: tuple[Box, ...],
    criteria: DealCriteria,
    zoom: int,
    max_expansion: int,
) -> list[ClusterRow]:
    """Every cluster of the view (bounded by the view's size in cells), west-north first."""
    statement = text(
        f"WITH {in_view_cte(boxes, criteria)},\n{clusters_cte()}\n"
        "SELECT cell_x, cell_y, count, lng, lat, expansion_zoom FROM clusters"
        " ORDER BY cell_y, cell_x"
    )
    values = {**bind_values(boxes, criteria), **cluster_binds(zoom, max_expansion)}
    result = await conn.execute(statement, values)
    return [
        ClusterRow(int(r[0]), int(r[1]), int(r[2]), float(r[3]), float(r[4]), int(r[5]))
        for r in result.all()
    ]


DEAL_FIELDS = tuple(DealRow.__dataclass_fields__)


async def deals_in_view(
    conn: AsyncConnection, boxes: tuple[Box, ...], criteria: DealCriteria, limit: int
) -> tuple[list[ViewDeal], int]:
    """The first ``limit`` deals in view by id, and how many there are in all."""
    columns = ", ".join(f"d.{name}" for name in DEAL_FIELDS)
    statement = text(
        f"WITH {in_view_cte(boxes, criteria)},\n"
        "page AS (SELECT deal_id, store_id, lng, lat, count(*) OVER () AS total"
        " FROM in_view ORDER BY deal_id LIMIT :limit)\n"
        "SELECT page.store_id, page.lng, page.lat, page.total,"
        f" {deal_category_text('d', 'm')}, {columns}\n"
        "FROM page JOIN deals d ON d.id = page.deal_id JOIN merchants m ON m.id = d.merchant_id\n"
        "ORDER BY page.deal_id"
    )
    result = await conn.execute(statement, {**bind_values(boxes, criteria), "limit": limit})
    rows = result.all()
    found = [
        ViewDeal(
            deal=DealRow(*row[5:]),
            store_id=int(row[0]),
            lng=float(row[1]),
            lat=float(row[2]),
            category=str(row[4]),
        )
        for row in rows
    ]
    return found, int(rows[0][3]) if rows else 0


async def stores_for_hours(
    conn: AsyncConnection, boxes: tuple[Box, ...], criteria: DealCriteria, cap: int
) -> list[StoreHours]:
    """Stores in the boxes with at least one deal passing the SQL filters (at most cap + 1),
    so opening hours can be judged in Python before the main query."""
    conditions, needs_merchants = criteria_sql(criteria)
    merchants_join = "JOIN merchants m ON m.id = d.merchant_id" if needs_merchants else ""
    statement = text(
        "SELECT s.id, s.opening_hours, s.timezone, s.country_code,"
        f" {special_hours_text('s')} FROM stores s\n"
        f"WHERE {area_sql(boxes)} AND EXISTS (\n"
        "  SELECT 1 FROM deal_stores ds JOIN deals d ON d.id = ds.deal_id\n"
        f"  {merchants_join} WHERE ds.store_id = s.id AND {conditions})\n"
        "ORDER BY s.id LIMIT :cap"
    )
    result = await conn.execute(statement, {**bind_values(boxes, criteria), "cap": cap + 1})
    return [StoreHours(int(r[0]), r[1], str(r[2]), str(r[3]), r[4]) for r in result.all()]


async def count_stores(conn: AsyncConnection, boxes: tuple[Box, ...], cap: int) -> int:
    """How many stores lie in the boxes, counting no further than ``cap + 1`` (cheap: the
    index alone answers; it bounds the work a clustering query may take on)."""
    statement = text(
        f"SELECT count(*) FROM (SELECT 1 FROM stores s WHERE {area_sql(boxes)} LIMIT :cap) t"
    )
    values = {**bind_values(boxes, DealCriteria(now=_EPOCH)), "cap": cap + 1}
    return int((await conn.execute(statement, values)).scalar_one())
