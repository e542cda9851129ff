"""Nearby queries: one PostGIS statement each, ``ST_DWithin`` on geography with the GiST index.

Every sort is an ascending key tuple ``(leading key..., distance, id)``; descending sorts
negate their leading key. A keyset cursor is then one row-value comparison, and the same
tuple orders rows identically in SQL and in Python (used when hours must be evaluated).

The DISTANCE sort first tries an exact KNN page: the k nearest stores in GiST order
(``location <-> point``, a sphere distance), the spheroid ``ST_Distance`` for those only, one
row per entity. That page is the true one when fewer than k stores are in the radius, or
when the page's last spheroid distance is below ``KNN_SAFETY`` times the k-th store's sphere
distance: sphere and spheroid distances differ by less than 0.6 % anywhere on Earth, so
every store left out is farther than every row of the page. It looks twice: first at a few
more stores than the page has rows, then at about twice as many (:func:`knn_tiers`);
when neither look is provably the page, the same statement runs the full plan (every store
in the radius). The three are branches of a ``UNION ALL`` behind one-time filters, and a
look's stores are only read when the look before it failed. Other sorts need every entity
in the radius and always run the full plan.
"""

from __future__ import annotations

import enum
import math
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from geoalchemy2 import Geography
from psycopg import AsyncRawCursor
from sqlalchemy import (
    CTE,
    ColumnElement,
    CompoundSelect,
    Float,
    FromClause,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import DEAL_COLUMNS, MERCHANT_COLUMNS, STORE_COLUMNS, deal_category
from db.database import DriverConnection
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


class NearbyHit(NamedTuple):
    """One result: the entity (deal or merchant row), its nearest store, distance, sort key
    (a named tuple: a page makes one per row, and a tuple is the cheapest to make)."""

    entity: DealRow | MerchantRow
    merchant: MerchantRow
    store: StoreRow
    distance_m: float
    sort_key: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Columns:
    """The row fields a caller reads (compiled operations): the page statement then selects
    only these, and each hit's store, merchant and deal are read-only views (named tuples)
    with these fields only, in this order, instead of full typed rows. Field names are those
    of :class:`StoreRow`, :class:`MerchantRow` and :class:`DealRow`; the merchant's ``id`` and
    the deal's ``id`` are always there."""

    store: tuple[str, ...] = ()
    merchant: tuple[str, ...] = ("id",)
    deal: tuple[str, ...] = ("id",)


@dataclass(frozen=True, slots=True)
class NearbyPage:
    hits: list[NearbyHit]
    total: int | None
    has_next: bool
    knn_tier: int | None = None
    """Which look gave the page: 1 or 2 for the first or second exact KNN page, 0 for the
    full statement (None: the statement has no KNN branch)."""


KNN_SAFETY = 0.994
"""Below this share of the k-th store's sphere distance, no store outside the k nearest can be
nearer on the spheroid (the WGS 84 geodesic and PostGIS's mean-radius sphere differ by
< 0.56 %)."""
KNN_MIN_CANDIDATES = 40


KNN_FIRST_MARGIN = 5
"""The first look's stores beyond the page's rows: room for a few stores that hold nothing
on offer, or an entity twice, while the page's last row stays short of the k-th store."""


def knn_candidates(limit: int, conditions: DealConditions) -> int:
    """How many nearest stores the second KNN look takes for a page of ``limit`` rows: twice
    the page and some, four times that when a filter may skip many of them."""
    k = max(KNN_MIN_CANDIDATES, 2 * limit + 10)
    return 4 * k if _filtered(conditions) else k


def knn_tiers(limit: int, conditions: DealConditions) -> tuple[int, int]:
    """How many nearest stores each KNN look takes for a page of ``limit`` rows. The first
    takes the page and a few more (a store holds one merchant and often several deals),
    or the second look's unfiltered size when a filter may skip many of them; the second
    takes :func:`knn_candidates`."""
    wide = knn_candidates(limit, conditions)
    if _filtered(conditions):
        return max(KNN_MIN_CANDIDATES, 2 * limit + 10), wide
    return limit + KNN_FIRST_MARGIN, wide


def _filtered(conditions: DealConditions) -> bool:
    return bool(
        conditions.categories
        or conditions.min_rating is not None
        or conditions.price_min is not None
        or conditions.price_max is not None
    )


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

    @property
    def knn(self) -> bool:
        """Whether the statement tries the exact KNN page first (the DISTANCE sort only)."""
        return self.sort is SortOrder.DISTANCE


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
    values["knn_k"], values["knn_k2"] = knn_tiers(limit, params.conditions)
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
        category = deal_category() if shape.entity is Entity.DEAL else merchants.c.category_slug
        filters.append(category == func.any(bindparam("categories")))
    if shape.min_rating:
        filters.append(merchants.c.rating >= bindparam("min_rating"))
    return filters


def _needs_merchants(shape: Shape) -> bool:
    """Whether choosing deals looks at merchant columns (else the join is pure cost)."""
    return shape.categories or shape.min_rating or shape.sort is SortOrder.RATING


@lru_cache(maxsize=256)
def pairs_statement(shape: Shape, knn: bool = False) -> Select[Any]:
    """Every (entity, store) pair in the radius passing the SQL-side filters, nearest first,
    with everything a result needs (used when opening hours are filtered in Python).
    With ``knn``, the pairs of the ``knn_k`` stores nearest on the sphere only, each row with
    ``candidates`` (how many stores) and ``kth_sphere`` (the farthest one's sphere distance)."""
    entity_id = deals.c.id if shape.entity is Entity.DEAL else merchants.c.id
    if knn:
        near = _knn_stores()
        distance: ColumnElement[Any] = near.c.distance
        in_radius: list[ColumnElement[bool]] = []
    else:
        distance = func.ST_Distance(stores.c.location, query_point())
        in_radius = [func.ST_DWithin(stores.c.location, query_point(), bindparam("radius"))]
    statement = select(
        entity_id.label("entity_id"),
        distance.label("distance"),
        *[c.label(f"s_{c.key}") for c in STORE_COLUMNS],
        *[c.label(f"m_{c.key}") for c in MERCHANT_COLUMNS],
    )
    if shape.entity is Entity.DEAL:
        statement = statement.add_columns(*[c.label(f"e_{c.key}") for c in DEAL_COLUMNS])
    leading = _leading_key(shape.sort)
    if leading is not None:
        statement = statement.add_columns(leading.label("lead"))
    if knn:
        statement = statement.add_columns(
            select(func.count()).select_from(near).scalar_subquery().label("candidates"),
            select(func.max(near.c.sphere)).scalar_subquery().label("kth_sphere"),
        ).select_from(near.join(stores, stores.c.id == near.c.store_id))
        if shape.entity is Entity.DEAL:
            statement = statement.join(deal_stores, deal_stores.c.store_id == stores.c.id)
    elif shape.entity is Entity.DEAL:
        statement = statement.select_from(deal_stores).join(
            stores, stores.c.id == deal_stores.c.store_id
        )
    else:
        statement = statement.select_from(stores)
    if shape.entity is Entity.DEAL:
        statement = statement.join(deals, deals.c.id == deal_stores.c.deal_id).join(
            merchants, merchants.c.id == deals.c.merchant_id
        )
    else:
        statement = statement.join(merchants, merchants.c.id == stores.c.merchant_id)
    return (
        statement.where(*in_radius, *_filters(shape))
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


def _knn_stores(name: str = "knn_stores", k: str = "knn_k") -> CTE:
    """The ``k`` stores of the radius nearest on the sphere (GiST-ordered ``<->``), with
    their spheroid distance (computed for these only) and their sphere distance."""
    point = query_point()
    sphere = stores.c.location.op("<->", return_type=Float)(point)
    near = (
        select(
            stores.c.id.label("store_id"),
            stores.c.merchant_id,
            func.ST_Distance(stores.c.location, point).label("distance"),
            sphere.label("sphere"),
        )
        .where(func.ST_DWithin(stores.c.location, point, bindparam("radius")))
        .order_by(sphere)
        .limit(bindparam(k))
    )
    return near.cte(name).prefix_with("MATERIALIZED")


def _nearest_per_entity(shape: Shape, near: CTE | None = None, name: str = "nearest") -> CTE:
    """Narrow rows: each entity once, with its nearest store (of ``near``: by default every
    store in the radius), distance and sort key."""
    near = _near_stores() if near is None else near
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
        .cte(name)
    )


def page_statement(
    params: NearbyParams, *, knn: bool = True, columns: Columns | None = None
) -> Select[Any] | CompoundSelect[Any]:
    """The statement for ``params``' shape; bind its values with :func:`bind_values`.
    ``knn=False`` gives the full statement alone (the reference the KNN page must equal);
    ``columns`` selects only those fields (the statement of a compiled operation)."""
    shape = shape_of(params)
    if knn and shape.knn:
        return _knn_page_statement(shape, columns)
    return _page_statement(shape, columns)


def _order_of(shape: Shape, nearest: CTE) -> list[ColumnElement[Any]]:
    order: list[ColumnElement[Any]] = [nearest.c.distance, nearest.c.entity_id]
    if shape.sort is not SortOrder.DISTANCE:
        order.insert(0, nearest.c.lead)
    return order


def _order_names(shape: Shape) -> list[str]:
    names = ["distance", "entity_id"]
    return names if shape.sort is SortOrder.DISTANCE else ["lead", *names]


def _page_of(shape: Shape, nearest: CTE) -> Select[Any]:
    """The page (plus one row) of ``nearest`` after the keyset cursor, in sort-key order."""
    order = _order_of(shape, nearest)
    page = select(nearest).order_by(*order).limit(bindparam("limit"))
    if shape.after:
        after: list[ColumnElement[Any]] = [
            bindparam(f"after_{index}") for index in range(len(order))
        ]
        page = page.where(tuple_(*order) > tuple_(*after))
    return page


_STORE_BY_NAME = {c.key: c for c in STORE_COLUMNS}
_MERCHANT_BY_NAME = {c.key: c for c in MERCHANT_COLUMNS}
_DEAL_BY_NAME = {c.key: c for c in DEAL_COLUMNS}


def selected_columns(
    columns: Columns | None,
) -> tuple[list[ColumnElement[Any]], list[ColumnElement[Any]], list[ColumnElement[Any]]]:
    """The store, merchant and deal columns to select: all of them, or ``columns``'."""
    if columns is None:
        return list(STORE_COLUMNS), list(MERCHANT_COLUMNS), list(DEAL_COLUMNS)
    return (
        [_STORE_BY_NAME[name] for name in columns.store],
        [_MERCHANT_BY_NAME[name] for name in columns.merchant],
        [_DEAL_BY_NAME[name] for name in columns.deal],
    )


def _widened(
    shape: Shape, chosen: FromClause, nearest: CTE, columns: Columns | None = None
) -> Select[Any]:
    """The chosen rows with their store, merchant and deal columns (and the total)."""
    # Deals come with their merchant (every deal list shows it): one statement, no loader.
    store_columns, merchant_columns, deal_columns = selected_columns(columns)
    statement = (
        select(
            *chosen.c,
            *[c.label(f"s_{c.key}") for c in store_columns],
            *[c.label(f"m_{c.key}") for c in merchant_columns],
        )
        .select_from(chosen)
        .join(stores, stores.c.id == chosen.c.store_id)
    )
    if shape.entity is Entity.DEAL:
        statement = (
            statement.add_columns(*[c.label(f"e_{c.key}") for c in deal_columns])
            .join(deals, deals.c.id == chosen.c.entity_id)
            .join(merchants, merchants.c.id == deals.c.merchant_id)
        )
    else:
        statement = statement.join(merchants, merchants.c.id == chosen.c.entity_id)
    if shape.with_total:
        total = select(func.count()).select_from(nearest).scalar_subquery()
        statement = statement.add_columns(total.label("total"))
    return statement


@lru_cache(maxsize=256)
def _page_statement(shape: Shape, columns: Columns | None = None) -> Select[Any]:
    """One page (plus one row) in sort-key order; wide columns joined for that page only."""
    nearest = _nearest_per_entity(shape)
    chosen = _page_of(shape, nearest).subquery("page")
    order = [chosen.c[name] for name in _order_names(shape)]
    return _widened(shape, chosen, nearest, columns).order_by(*order)


@dataclass(frozen=True, slots=True)
class _KnnLook:
    """One KNN look: its page (a CTE) and whether that page is provably the true one."""

    page: CTE
    nearest: CTE
    exact: ColumnElement[bool]


def _knn_look(shape: Shape, tier: int, k: str) -> _KnnLook:
    """The page of the ``k`` nearest stores, and when it is exact: fewer stores than ``k``
    in the radius, or (without the total, which needs every entity of the radius) a full
    page whose last distance is below ``KNN_SAFETY`` times the k-th store's sphere distance."""
    suffix = "" if tier == 1 else str(tier)
    candidates = _knn_stores(f"knn_stores{suffix}", k)
    nearest = _nearest_per_entity(shape, candidates, f"knn_nearest{suffix}")
    page = _page_of(shape, nearest).cte(f"knn_page{suffix}").prefix_with("MATERIALIZED")
    stored = select(func.count()).select_from(candidates).scalar_subquery()
    exact: ColumnElement[bool] = stored < bindparam(k)
    if not shape.with_total:
        filled = select(func.count()).select_from(page).scalar_subquery() == bindparam("limit")
        last = select(func.max(page.c.distance)).scalar_subquery()
        kth = select(func.max(candidates.c.sphere)).scalar_subquery()
        exact = or_(exact, and_(filled, last < literal_column(repr(KNN_SAFETY)) * kth))
    return _KnnLook(page, nearest, exact)


@lru_cache(maxsize=256)
def _knn_page_statement(shape: Shape, columns: Columns | None = None) -> CompoundSelect[Any]:
    """The first exact KNN page, else the second, else the full statement: branches of a
    ``UNION ALL`` behind one-time filters on one ``knn_tier`` (1, 2, or 0 for the full
    statement), so only one of them runs. ``CASE`` judges the looks in order: the second
    look's stores are read only when the first look's page is not provably the true one."""
    first, second = _knn_look(shape, 1, "knn_k"), _knn_look(shape, 2, "knn_k2")
    tier = case((first.exact, 1), (second.exact, 2), else_=0)
    gate = select(tier.label("tier")).cte("knn_gate")
    chosen = select(gate.c.tier).scalar_subquery()
    branches = [
        _widened(shape, look.page, look.nearest, columns)
        .add_columns(literal_column(str(number)).label("knn_tier"))
        .where(chosen == number)
        for number, look in ((1, first), (2, second))
    ]
    full_nearest = _nearest_per_entity(shape)
    full_page = _page_of(shape, full_nearest).subquery("page")
    full_branch = _widened(shape, full_page, full_nearest, columns).add_columns(
        literal_column("0").label("knn_tier")
    )
    order: list[ColumnElement[Any]] = [literal_column(name) for name in _order_names(shape)]
    return union_all(*branches, full_branch.where(chosen == 0)).order_by(*order)


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


@lru_cache(maxsize=64)
def view_type(name: str, fields: tuple[str, ...]) -> Any:
    """A named tuple class of ``fields``: a row with only the columns a caller reads."""
    return namedtuple(name, fields)


def view_slice(index: dict[str, int], prefix: str, fields: tuple[str, ...]) -> slice:
    """Where ``fields`` (labelled ``<prefix><field>``, side by side) are in a result row."""
    start = index[f"{prefix}{fields[0]}"] if fields else 0
    return slice(start, start + len(fields))


class _ViewReader:
    """Turns result tuples of a :class:`Columns` statement into hits with row views: each
    view is one slice of the row (the columns come in ``Columns`` order). One per statement
    shape and columns (:func:`_view_reader`)."""

    def __init__(self, entity: Entity, lead: bool, keys: Sequence[str], columns: Columns) -> None:
        index = {key: position for position, key in enumerate(keys)}
        self._store = view_type("StoreView", columns.store)
        self._merchant = view_type("MerchantView", columns.merchant)
        self._deal = view_type("DealView", columns.deal)
        self._store_at = view_slice(index, "s_", columns.store)
        self._merchant_at = view_slice(index, "m_", columns.merchant)
        is_deal = entity is Entity.DEAL
        self._deal_at = view_slice(index, "e_", columns.deal) if is_deal else None
        self._lead = index["lead"] if lead else None
        self._distance = index["distance"]
        self._entity_id = index["entity_id"]

    def hit(self, row: Sequence[Any]) -> NearbyHit:
        # tuple.__new__ is what the named tuples' _make calls, less its length check: each
        # slice has its view's length by construction
        new = tuple.__new__
        store = new(self._store, row[self._store_at])
        merchant = new(self._merchant, row[self._merchant_at])
        deal_at = self._deal_at
        entity = merchant if deal_at is None else new(self._deal, row[deal_at])
        distance = float(row[self._distance])
        lead = () if self._lead is None else (row[self._lead],)
        sort_key = (*lead, distance, row[self._entity_id])
        return new(NearbyHit, (entity, merchant, store, distance, sort_key))


@lru_cache(maxsize=256)
def _view_reader(
    entity: Entity, lead: bool, keys: tuple[str, ...], columns: Columns
) -> _ViewReader:
    """The reader of one statement's rows (by its shape's entity and sort, and columns)."""
    return _ViewReader(entity, lead, keys, columns)


async def nearby_page(
    conn: AsyncConnection | DriverConnection[Any],
    params: NearbyParams,
    *,
    knn: bool = True,
    knn_stores: int | None = None,
    columns: Columns | None = None,
) -> NearbyPage:
    """One page; ``knn=False`` runs the full statement only (for comparisons), ``knn_stores``
    overrides how many nearest stores the first KNN look takes (the second takes twice as
    many). On a bare psycopg connection (``Database.driver``, whose connections plan
    generically: see :func:`on_generic_plan`) the same statement text runs on psycopg's raw
    cursor (no SQLAlchemy execution or result objects), and ``columns`` selects only those
    fields: the hits hold views of them (see :class:`Columns`)."""
    shape = shape_of(params)
    values = bind_values(params, params.limit + 1)
    if knn_stores is not None:
        values["knn_k"], values["knn_k2"] = knn_stores, 2 * knn_stores
    driver = not isinstance(conn, AsyncConnection)
    if not isinstance(conn, AsyncConnection):
        rows, keys = await _driver_rows(conn, shape, knn, values, columns)
    else:
        result = await conn.execute(page_statement(params, knn=knn), values)
        keys, rows = list(result.keys()), list(result.all())
    reader: _RowReader | _ViewReader
    if driver and columns is not None:
        lead = params.sort is not SortOrder.DISTANCE
        reader = _view_reader(params.entity, lead, tuple(keys), columns)
    else:
        reader = _RowReader(params, keys)
    hits = [reader.hit(row) for row in rows[: params.limit]]
    first = rows[0] if rows else None
    total = None
    if params.with_total:
        total = 0 if first is None else first[keys.index("total")]
    tier = None
    if knn and shape.knn and first is not None:
        tier = int(first[keys.index("knn_tier")])
    return NearbyPage(hits=hits, total=total, has_next=len(rows) > params.limit, knn_tier=tier)


# PostgreSQL's own ``$n`` placeholders: psycopg's raw cursor sends the text as it is, without
# parsing ``%(name)s`` placeholders on every execution (it caches that only for short texts).
_DIALECT = psycopg_dialect.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled once for psycopg's raw cursor (:func:`driver_rows`)."""

    text: str
    names: tuple[str, ...]  # the parameter of each ``$n``, in order
    defaults: dict[str, Any]
    keys: list[str]  # the result's column names


def driver_statement(statement: Select[Any] | CompoundSelect[Any]) -> DriverStatement:
    """The statement's text with ``$n`` parameters, their names and bound defaults."""
    compiled = statement.compile(dialect=_DIALECT)
    names = tuple(compiled.positiontup or ())
    keys = [str(column[0]) for column in compiled._result_columns]
    return DriverStatement(compiled.string, names, dict(compiled.params), keys)


async def driver_rows(
    conn: DriverConnection[Any], statement: DriverStatement, values: dict[str, Any]
) -> list[Sequence[Any]]:
    """The rows of ``statement`` run on a driver connection (``Database.driver``) directly:
    no SQLAlchemy execution or result objects, prepared at once for its generic plan."""
    given = {**statement.defaults, **values}
    async with AsyncRawCursor(conn) as cursor:
        await cursor.execute(
            statement.text, [given[name] for name in statement.names], prepare=True
        )
        return await cursor.fetchall()


@lru_cache(maxsize=256)
def _driver_statement(shape: Shape, knn: bool, columns: Columns | None) -> DriverStatement:
    return driver_statement(
        _knn_page_statement(shape, columns)
        if knn and shape.knn
        else _page_statement(shape, columns)
    )


GENERIC_PLAN_MAX_RADIUS_M = 20_000.0
"""Up to this radius the driver's KNN page statement runs on PostgreSQL's generic plan. At 1M
stores, custom plans of the statement have the generic plan's shape up to 20 km (GiST scans
and nested loops); at 50 km they scan the full branch's stores with a bitmap heap scan,
2-3x faster than the generic plan's index scan when that branch runs."""

# Local to the implicit transaction that ends at the pipeline's sync: the next statement of
# the pipeline only (and never left behind, even when that statement fails).
_LET_POSTGRESQL_CHOOSE = "SELECT set_config('plan_cache_mode', 'auto', true)"


async def _driver_rows(
    conn: DriverConnection[Any],
    shape: Shape,
    knn: bool,
    values: dict[str, Any],
    columns: Columns | None = None,
) -> tuple[list[Sequence[Any]], list[str]]:
    statement = _driver_statement(shape, knn, columns)
    if on_generic_plan(shape, knn, values["radius"]):
        return await driver_rows(conn, statement, values), statement.keys
    given = {**statement.defaults, **values}
    async with AsyncRawCursor(conn) as cursor:
        async with conn.pipeline():  # one round trip for both statements
            await cursor.execute(_LET_POSTGRESQL_CHOOSE)
            await cursor.execute(statement.text, [given[name] for name in statement.names])
        rows: list[Sequence[Any]] = await cursor.fetchall()
    return rows, statement.keys


def on_generic_plan(shape: Shape, knn: bool, radius_m: float) -> bool:
    """Whether a statement keeps the generic plan the driver's connections run with
    (``plan_cache_mode = force_generic_plan``, see ``db.database``): the KNN page statement up
    to ``GENERIC_PLAN_MAX_RADIUS_M``. Any other statement lets PostgreSQL choose, for itself.

    With ``plan_cache_mode = auto`` PostgreSQL plans a prepared statement afresh on every
    execution while its generic plan's estimated cost exceeds the custom plans' average. For
    the KNN page it does at 1M stores (the store scans are costed twice as high with the
    point unknown), though the generic plan is the same plan: 1.2-6 ms of planning for a 2 ms
    execution. Set on the connection, the generic plan costs no extra statement per request
    (a pipeline of two statements cost about 1 ms more at 200k)."""
    return knn and shape.knn and radius_m <= GENERIC_PLAN_MAX_RADIUS_M


def plans_generically(params: NearbyParams) -> bool:
    """Whether ``params``' page statement keeps the generic plan on a driver connection
    (:func:`on_generic_plan`), so that ``Database.driver`` is where it runs best."""
    return on_generic_plan(shape_of(params), True, params.radius_m)


async def nearby_pairs(conn: AsyncConnection, params: NearbyParams, cap: int) -> list[NearbyHit]:
    """All (entity, store) pairs in the radius, at most ``cap + 1``, nearest first."""
    result = await conn.execute(pairs_statement(shape_of(params)), bind_values(params, cap + 1))
    reader = _RowReader(params, list(result.keys()))
    return [reader.hit(row) for row in result.all()]


@dataclass(frozen=True, slots=True)
class KnnPairs:
    """The pairs of the stores nearest on the sphere, and what decides how far they are exact."""

    pairs: list[NearbyHit]
    complete: bool
    """Fewer stores than asked for were in the radius: these are all of its pairs."""
    exact_below: float
    """Every store left out is farther than this (spheroid metres)."""


async def nearby_knn_pairs(conn: AsyncConnection, params: NearbyParams, stores: int) -> KnnPairs:
    """The (entity, store) pairs of the ``stores`` nearest stores of the radius, nearest first.
    A list built from them is exact up to ``exact_below``, or entirely when ``complete``."""
    values = {**bind_values(params, 2**31 - 1), "knn_k": stores}
    result = await conn.execute(pairs_statement(shape_of(params), knn=True), values)
    reader = _RowReader(params, list(result.keys()))
    rows = result.all()
    if not rows:
        return KnnPairs([], complete=False, exact_below=0.0)
    complete = rows[0].candidates < stores
    return KnnPairs(
        [reader.hit(row) for row in rows],
        complete=complete,
        exact_below=math.inf if complete else KNN_SAFETY * float(rows[0].kth_sphere),
    )


class NearestStore(NamedTuple):
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
