"""Nearby queries: one PostGIS statement each, ``ST_DWithin`` on geography with the GiST index.

Every sort is an ascending key tuple ``(leading key..., distance, id)``; descending sorts
negate their leading key. A keyset cursor is then one row-value comparison, and the same
tuple orders rows identically in SQL and in Python (used when hours must be evaluated).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import CTE, ColumnElement, Select, bindparam, cast, func, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import DEAL_COLUMNS, MERCHANT_COLUMNS, STORE_COLUMNS
from db.offer_sql import on_offer
from db.rows import DealRow, MerchantRow, StoreRow
from db.tables import deal_stores, deals, merchants, stores
from domain.filters import DealConditions
from domain.sorting import SortOrder


class Entity(enum.Enum):
    DEAL = "deal"
    MERCHANT = "merchant"


@dataclass(frozen=True, slots=True)
class NearbyParams:
    """Validated parameters of a nearby query (``commerce.discovery.nearby`` enforces the rules);
    ``sort`` is never RELEVANCE, which has no meaning without a text query."""

    entity: Entity
    lat: float
    lng: float
    radius_m: float
    sort: SortOrder
    limit: int
    now: datetime
    after: tuple[Any, ...] | None = None
    conditions: DealConditions = field(default_factory=DealConditions)
    with_total: bool = False


@dataclass(frozen=True, slots=True)
class NearbyHit:
    """One result: the entity (deal or merchant row), its nearest store, distance, sort key."""

    entity: DealRow | MerchantRow
    merchant: MerchantRow
    store: StoreRow
    distance_m: float
    sort_key: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class NearbyPage:
    hits: list[NearbyHit]
    total: int | None
    has_next: bool


@dataclass(frozen=True, slots=True)
class Shape:
    """What decides a statement's text. Values travel as bind parameters, so each shape's
    statement is built once and SQLAlchemy's compiled cache is always hit."""

    entity: Entity
    sort: SortOrder
    categories: bool
    price_min: bool
    price_max: bool
    min_rating: bool
    after: bool
    with_total: bool


def shape_of(params: NearbyParams) -> Shape:
    return Shape(
        entity=params.entity,
        sort=params.sort,
        categories=bool(params.conditions.categories),
        price_min=params.conditions.price_min is not None,
        price_max=params.conditions.price_max is not None,
        min_rating=params.conditions.min_rating is not None,
        after=params.after is not None,
        with_total=params.with_total,
    )


def bind_values(params: NearbyParams, limit: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "lat": params.lat,
        "lng": params.lng,
        "radius": params.radius_m,
        "now": params.now,
        "limit": limit,
        "categories": list(params.conditions.categories),
        "price_min": params.conditions.price_min,
        "price_max": params.conditions.price_max,
        "min_rating": params.conditions.min_rating,
    }
    for index, value in enumerate(params.after or ()):
        values[f"after_{index}"] = value
    return values


def query_point() -> ColumnElement[Any]:
    """The query point as bind parameters, so the planner sees a constant (index-friendly)."""
    point = func.ST_SetSRID(func.ST_MakePoint(bindparam("lng"), bindparam("lat")), 4326)
    return cast(point, Geography(geometry_type="POINT", srid=4326))


def _leading_key(sort: SortOrder) -> ColumnElement[Any] | None:
    return {
        SortOrder.DISTANCE: None,
        SortOrder.RATING: -func.coalesce(merchants.c.rating, 0),
        SortOrder.PRICE_ASC: deals.c.price,
        SortOrder.PRICE_DESC: -deals.c.price,
        SortOrder.DISCOUNT: -deals.c.discount_percent,
    }[sort]


def _filters(shape: Shape) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if shape.entity is Entity.DEAL:
        filters.append(on_offer(deals))
        if shape.price_min:
            filters.append(deals.c.price >= bindparam("price_min"))
        if shape.price_max:
            filters.append(deals.c.price <= bindparam("price_max"))
    if shape.categories:
        filters.append(merchants.c.category_slug == func.any(bindparam("categories")))
    if shape.min_rating:
        filters.append(merchants.c.rating >= bindparam("min_rating"))
    return filters


def _needs_merchants(shape: Shape) -> bool:
    """Whether choosing deals looks at merchant columns (else the join is pure cost)."""
    return shape.categories or shape.min_rating or shape.sort is SortOrder.RATING


@lru_cache(maxsize=256)
def pairs_statement(shape: Shape) -> Select[Any]:
    """Every (entity, store) pair in the radius passing the SQL-side filters, nearest first,
    with everything a result needs (used when opening hours are filtered in Python)."""
    point = query_point()
    entity_id = deals.c.id if shape.entity is Entity.DEAL else merchants.c.id
    statement = select(
        entity_id.label("entity_id"),
        func.ST_Distance(stores.c.location, point).label("distance"),
        *[c.label(f"s_{c.key}") for c in STORE_COLUMNS],
        *[c.label(f"m_{c.key}") for c in MERCHANT_COLUMNS],
    )
    if shape.entity is Entity.DEAL:
        statement = statement.add_columns(*[c.label(f"e_{c.key}") for c in DEAL_COLUMNS])
    leading = _leading_key(shape.sort)
    if leading is not None:
        statement = statement.add_columns(leading.label("lead"))
    if shape.entity is Entity.DEAL:
        statement = (
            statement.select_from(deal_stores)
            .join(stores, stores.c.id == deal_stores.c.store_id)
            .join(deals, deals.c.id == deal_stores.c.deal_id)
            .join(merchants, merchants.c.id == deals.c.merchant_id)
        )
    else:
        statement = statement.select_from(stores).join(
            merchants, merchants.c.id == stores.c.merchant_id
        )
    return (
        statement.where(
            func.ST_DWithin(stores.c.location, point, bindparam("radius")), *_filters(shape)
        )
        .order_by("distance", "entity_id", "s_id")
        .limit(bindparam("limit"))
    )


def _near_stores() -> CTE:
    """Stores in the radius with their geodesic distance, computed once per store."""
    point = query_point()
    near = select(
        stores.c.id.label("store_id"),
        stores.c.merchant_id,
        func.ST_Distance(stores.c.location, point).label("distance"),
    ).where(func.ST_DWithin(stores.c.location, point, bindparam("radius")))
    return near.cte("near_stores").prefix_with("MATERIALIZED")


def _nearest_per_entity(shape: Shape) -> CTE:
    """Narrow rows: each entity once, with its nearest store, distance and sort key."""
    near = _near_stores()
    is_deal = shape.entity is Entity.DEAL
    entity_id = deals.c.id if is_deal else merchants.c.id
    columns: list[ColumnElement[Any]] = [
        entity_id.label("entity_id"),
        near.c.store_id,
        near.c.distance,
    ]
    leading = _leading_key(shape.sort)
    if leading is not None:
        columns.append(leading.label("lead"))
    statement = select(*columns)
    if is_deal:
        statement = (
            statement.select_from(near)
            .join(deal_stores, deal_stores.c.store_id == near.c.store_id)
            .join(deals, deals.c.id == deal_stores.c.deal_id)
        )
        if _needs_merchants(shape):
            statement = statement.join(merchants, merchants.c.id == deals.c.merchant_id)
    else:
        statement = statement.select_from(near).join(
            merchants, merchants.c.id == near.c.merchant_id
        )
    return (
        statement.where(*_filters(shape))
        .ext(distinct_on(entity_id))
        .order_by(entity_id, near.c.distance, near.c.store_id)
        .cte("nearest")
    )


def page_statement(params: NearbyParams) -> Select[Any]:
    """The statement for ``params``' shape; bind its values with :func:`bind_values`."""
    return _page_statement(shape_of(params))


@lru_cache(maxsize=256)
def _page_statement(shape: Shape) -> Select[Any]:
    """One page (plus one row) in sort-key order; wide columns joined for that page only."""
    nearest = _nearest_per_entity(shape)
    order = [nearest.c.distance, nearest.c.entity_id]
    if shape.sort is not SortOrder.DISTANCE:
        order.insert(0, nearest.c.lead)
    page = select(nearest).order_by(*order).limit(bindparam("limit"))
    if shape.after:
        after: list[ColumnElement[Any]] = [
            bindparam(f"after_{index}") for index in range(len(order))
        ]
        page = page.where(tuple_(*order) > tuple_(*after))
    chosen = page.subquery("page")
    # Deals come with their merchant (every deal list shows it): one statement, no loader.
    statement = (
        select(
            *chosen.c,
            *[c.label(f"s_{c.key}") for c in STORE_COLUMNS],
            *[c.label(f"m_{c.key}") for c in MERCHANT_COLUMNS],
        )
        .select_from(chosen)
        .join(stores, stores.c.id == chosen.c.store_id)
        .order_by(*[chosen.c[column.key] for column in order])
    )
    if shape.entity is Entity.DEAL:
        statement = (
            statement.add_columns(*[c.label(f"e_{c.key}") for c in DEAL_COLUMNS])
            .join(deals, deals.c.id == chosen.c.entity_id)
            .join(merchants, merchants.c.id == deals.c.merchant_id)
        )
    else:
        statement = statement.join(merchants, merchants.c.id == chosen.c.entity_id)
    if shape.with_total:
        total = select(func.count()).select_from(nearest).scalar_subquery()
        statement = statement.add_columns(total.label("total"))
    return statement


class _RowReader:
    """Turns result tuples into typed rows by column position (looked up once per result)."""

    def __init__(self, params: NearbyParams, keys: Sequence[str]) -> None:
        index = {key: position for position, key in enumerate(keys)}
        self._store = [index[f"s_{f}"] for f in StoreRow.__dataclass_fields__]
        self._merchant = [index[f"m_{f}"] for f in MerchantRow.__dataclass_fields__]
        is_deal = params.entity is Entity.DEAL
        self._deal = [index[f"e_{f}"] for f in DealRow.__dataclass_fields__] if is_deal else []
        self._lead = index["lead"] if params.sort is not SortOrder.DISTANCE else None
        self._distance = index["distance"]
        self._entity_id = index["entity_id"]

    def hit(self, row: Sequence[Any]) -> NearbyHit:
        store = StoreRow(*[row[i] for i in self._store])
        merchant = MerchantRow(*[row[i] for i in self._merchant])
        entity = DealRow(*[row[i] for i in self._deal]) if self._deal else merchant
        distance = float(row[self._distance])
        lead = () if self._lead is None else (row[self._lead],)
        return NearbyHit(entity, merchant, store, distance, (*lead, distance, row[self._entity_id]))


async def nearby_page(conn: AsyncConnection, params: NearbyParams) -> NearbyPage:
    result = await conn.execute(page_statement(params), bind_values(params, params.limit + 1))
    reader = _RowReader(params, list(result.keys()))
    rows = result.all()
    hits = [reader.hit(row) for row in rows[: params.limit]]
    total = (rows[0].total if rows else 0) if params.with_total else None
    return NearbyPage(hits=hits, total=total, has_next=len(rows) > params.limit)


async def nearby_pairs(conn: AsyncConnection, params: NearbyParams, cap: int) -> list[NearbyHit]:
    """All (entity, store) pairs in the radius, at most ``cap + 1``, nearest first."""
    result = await conn.execute(pairs_statement(shape_of(params)), bind_values(params, cap + 1))
    reader = _RowReader(params, list(result.keys()))
    return [reader.hit(row) for row in result.all()]


@dataclass(frozen=True, slots=True)
class NearestStore:
    store: StoreRow
    distance_m: float


def _deal_store_distances(nearest_only: bool) -> Select[Any]:
    distance = func.ST_Distance(stores.c.location, query_point())
    statement = (
        select(deal_stores.c.deal_id, distance.label("distance"), *STORE_COLUMNS)
        .select_from(deal_stores)
        .join(stores, stores.c.id == deal_stores.c.store_id)
        .where(deal_stores.c.deal_id == func.any(bindparam("ids")))
        .order_by(deal_stores.c.deal_id, distance, stores.c.id)
    )
    return statement.ext(distinct_on(deal_stores.c.deal_id)) if nearest_only else statement


async def stores_of_deals_by_distance(
    conn: AsyncConnection, deal_ids: Sequence[int], lat: float, lng: float
) -> dict[int, list[NearestStore]]:
    """Each deal's valid stores with their geodesic distance to the point, nearest first."""
    found: dict[int, list[NearestStore]] = {}
    if deal_ids:
        values = {"ids": list(deal_ids), "lat": lat, "lng": lng}
        for row in await conn.execute(_deal_store_distances(False), values):
            store = NearestStore(store=StoreRow(*row[2:]), distance_m=float(row[1]))
            found.setdefault(row[0], []).append(store)
    return found


async def nearest_stores_of_deals(
    conn: AsyncConnection, deal_ids: Sequence[int], lat: float, lng: float
) -> dict[int, NearestStore]:
    """For each deal, its valid store nearest to the point (geodesic metres)."""
    if not deal_ids:
        return {}
    values = {"ids": list(deal_ids), "lat": lat, "lng": lng}
    result = await conn.execute(_deal_store_distances(True), values)
    return {
        row[0]: NearestStore(store=StoreRow(*row[2:]), distance_m=float(row[1])) for row in result
    }
