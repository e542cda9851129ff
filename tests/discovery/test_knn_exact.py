"""The exact KNN page of ``geo.nearby`` against the full statement, point by point.

About 1,200 deterministic query points (dense central Helsinki and Shanghai, sparse places,
the radius edge of real stores, both poles, both sides of the antimeridian, and a spot where
the nearest stores hold no deal on offer so the KNN page must give way), each with a sort,
a filter, a page size, a radius, sometimes the total and a cursor walk. Every page is asked
twice on one connection, through the KNN statement and through the full statement alone,
and must be identical: same rows, same stores, same distances, same ``has_next`` and total.
Opening hours (``openNow``) go through ``commerce.discovery.nearby`` both ways.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.discovery import nearby as discovery
from db.database import Database, DatabaseConfig, DriverConnection
from domain.filters import DealConditions, DealFilterValues
from domain.sorting import SortOrder
from geo.nearby import (
    GENERIC_PLAN_MAX_RADIUS_M,
    KNN_SAFETY,
    Entity,
    NearbyPage,
    NearbyParams,
    nearby_page,
)

NOW = datetime.now(UTC).replace(microsecond=0)
SORTS = [SortOrder.RATING, SortOrder.PRICE_ASC, SortOrder.PRICE_DESC, SortOrder.DISCOUNT]
PAGE_SIZES = [1, 2, 5, 10, 20, 20, 37, 100]


@dataclass(frozen=True)
class Place:
    lat: float
    lng: float
    kind: str
    radius: float


def _jitter(rng: random.Random, lat: float, lng: float, metres: float) -> tuple[float, float]:
    dlat = rng.gauss(0, metres) / 110_574
    dlng = rng.gauss(0, metres) / (111_320 * max(math.cos(math.radians(lat)), 1e-6))
    lng = (lng + dlng + 180) % 360 - 180
    return max(-90.0, min(90.0, lat + dlat)), lng


# ------------------------------------------------------------------ test-owned places


def _insert_store(
    sql: psycopg.Connection[Any], merchant: int, key: str, lat: float, lng: float
) -> int:
    row = sql.execute(
        "INSERT INTO stores (merchant_id, external_key, name, location, timezone, country_code,"
        " opening_hours) VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography,"
        " 'UTC', 'AQ', %s) RETURNING id",
        [merchant, key, key, lng, lat, "Mo-Fr 09:00-17:00" if len(key) % 2 else None],
    ).fetchone()
    assert row is not None
    return int(row[0])


def _insert_deal(
    sql: psycopg.Connection[Any], merchant: int, key: str, price: float, on_offer: bool
) -> int:
    until = "now() + interval '30 days'" if on_offer else "now() - interval '1 day'"
    row = sql.execute(
        "INSERT INTO deals (merchant_id, external_key, title, price, original_price, currency,"
        f" valid_from, valid_until) VALUES (%s, %s, %s, %s, %s, 'EUR', now() - interval '2 days',"
        f" {until}) RETURNING id",
        [merchant, key, key, price, round(price * 1.5, 2)],
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def test_places(sql: psycopg.Connection[Any]) -> Iterator[list[tuple[float, float, str]]]:
    """Stores and deals near both poles, across the antimeridian and a blocked spot (the
    nearest stores there only hold expired deals); removed afterwards."""
    rng = random.Random(1313)
    centres = [
        ("north", 89.97, 0.0, 1500.0),
        ("south", -89.97, 45.0, 1500.0),
        ("dateline", -16.8, 180.0, 800.0),
        ("blocked", 12.5, -40.0, 400.0),
        ("mall", -33.9, 18.4, 300.0),
    ]
    merchants: list[int] = []
    created: list[tuple[float, float, str]] = []
    try:
        for index, (name, lat, lng, spread) in enumerate(centres):
            for rating_total, count in ((5, 1), (12, 3), (0, 0)):
                row = sql.execute(
                    "INSERT INTO merchants (external_key, name, category_slug, source,"
                    " review_count, rating_total) VALUES (%s, %s, %s, 'test', %s, %s)"
                    " RETURNING id",
                    [
                        f"test:knn:{name}:{rating_total}",
                        f"KNN {name}",
                        ["cafe", "bar", "restaurant"][index % 3],
                        count,
                        rating_total,
                    ],
                ).fetchone()
                assert row is not None
                merchants.append(int(row[0]))
            for number in range(90):
                merchant = merchants[-1 - number % 3]
                slat, slng = _jitter(rng, lat, lng, spread)
                if name == "mall":  # shopping centres: many stores at one point, equal distances
                    slat, slng = lat + 0.002 * (number % 6), lng
                key = f"test:knn:{name}:s{number}"
                store = _insert_store(sql, merchant, key, slat, slng)
                created.append((slat, slng, name))
                # at the blocked spot the nearest stores' deals are over: the KNN page finds
                # nothing there and must give way to the full statement
                offered = name != "blocked" or number >= 70
                for deal_number in range(1 + number % 3):
                    deal = _insert_deal(
                        sql, merchant, f"{key}:d{deal_number}", 3 + rng.random() * 40, offered
                    )
                    sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [deal, store])
                    if number % 7 == 0:  # a deal valid at a second, random store of the spot
                        blat, blng = _jitter(rng, lat, lng, spread)
                        other = _insert_store(sql, merchant, f"{key}:d{deal_number}:b", blat, blng)
                        sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [deal, other])
            if name == "blocked":  # the deals on offer lie farther out
                for number in range(40):
                    slat, slng = _jitter(rng, lat + 0.02, lng, 600.0)
                    key = f"test:knn:{name}:far{number}"
                    store = _insert_store(sql, merchants[-1], key, slat, slng)
                    deal = _insert_deal(sql, merchants[-1], f"{key}:d", 9.5, True)
                    sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [deal, store])
        yield created
    finally:
        if merchants:
            sql.execute("DELETE FROM merchants WHERE id = ANY(%s)", [merchants])


def _store_points(sql: psycopg.Connection[Any]) -> list[tuple[float, float]]:
    rows = sql.execute(
        "SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM stores ORDER BY id"
    ).fetchall()
    return [(float(lat), float(lng)) for lat, lng in rows]


def _edge_points(
    sql: psycopg.Connection[Any], rng: random.Random, stores: list[tuple[float, float]], n: int
) -> list[Place]:
    """Points with a real store at (almost exactly) the radius."""
    places = []
    for _ in range(n):
        lat, lng = rng.choice(stores)
        radius = rng.choice([250.0, 800.0, 2000.0, 5000.0])
        offset = radius + rng.choice([-0.02, -0.001, 0.0, 0.001, 0.02])
        row = sql.execute(
            "SELECT ST_Y(p::geometry), ST_X(p::geometry) FROM (SELECT ST_Project("
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s, radians(%s)) p) s",
            [lng, lat, offset, rng.uniform(0, 360)],
        ).fetchone()
        assert row is not None
        places.append(Place(float(row[0]), float(row[1]), "edge", radius))
    return places


def generate_places(
    sql: psycopg.Connection[Any], test_places: list[tuple[float, float, str]]
) -> list[Place]:
    rng = random.Random(13)
    radii = [300.0, 1000.0, 2000.0, 2000.0, 5000.0, 20_000.0, 50_000.0]
    places: list[Place] = []
    for lat, lng, n in ((60.1699, 24.9384, 260), (31.2304, 121.4737, 260)):
        for _ in range(n):
            places.append(Place(*_jitter(rng, lat, lng, 1500.0), "dense", rng.choice(radii)))
    for _ in range(140):  # anywhere: mostly nothing in the radius
        lat = math.degrees(math.asin(rng.uniform(-1, 1)))
        places.append(Place(lat, rng.uniform(-180, 180), "sparse", rng.choice(radii)))
    for lat, lng in ((60.45, 22.27), (60.98, 25.66), (31.3, 120.6), (30.6, 114.3)):
        for _ in range(15):  # a city or two within 50 km, a few stores at the far edge
            places.append(Place(*_jitter(rng, lat, lng, 8000.0), "sparse", 50_000.0))
    places += _edge_points(sql, rng, _store_points(sql), 160)
    for lat, lng, kind in rng.sample(test_places, len(test_places)):
        spread = {"blocked": 300.0, "mall": 400.0}.get(kind, 900.0)
        radius = rng.choice([500.0, 1500.0, 3000.0, 10_000.0])
        places.append(Place(*_jitter(rng, lat, lng, spread), kind, radius))
    for lat in (90.0, -90.0, 89.999, -89.999):  # the poles themselves
        for lng in (-180.0, 0.0, 90.0, 180.0):
            places.append(Place(lat, lng, "pole", 10_000.0))
    for lng in (180.0, -180.0, 179.999, -179.999):
        places.append(Place(-16.8, lng, "dateline", 3000.0))
    return places


# ------------------------------------------------------------------ comparison


def _conditions(rng: random.Random) -> DealConditions:
    choice = rng.randrange(8)
    categories = tuple(
        rng.sample(["cafe", "restaurant", "bar", "bakery", "spa"], rng.randint(1, 2))
    )
    low = Decimal(rng.choice(["0", "5", "10", "20"]))
    return [
        DealConditions(),
        DealConditions(),
        DealConditions(),
        DealConditions(categories=categories),
        DealConditions(price_min=low),
        DealConditions(price_max=low + Decimal(rng.choice(["5", "15", "40"]))),
        DealConditions(min_rating=Decimal(rng.choice(["3", "4", "4.5"]))),
        DealConditions(categories=categories, price_min=low, min_rating=Decimal("3.5")),
    ][choice]


def _params(rng: random.Random, place: Place) -> NearbyParams:
    distance = rng.random() < 0.7
    return NearbyParams(
        entity=Entity.MERCHANT if rng.random() < 0.25 else Entity.DEAL,
        lat=place.lat,
        lng=place.lng,
        radius_m=place.radius,
        sort=SortOrder.DISTANCE if distance else rng.choice(SORTS),
        limit=rng.choice(PAGE_SIZES),
        now=NOW,
        conditions=_conditions(rng),
        with_total=rng.random() < 0.2,
    )


def _same(knn: NearbyPage, full: NearbyPage) -> bool:
    return (knn.hits, knn.total, knn.has_next) == (full.hits, full.total, full.has_next)


async def test_the_knn_page_is_the_full_statement_s_page(
    conn: AsyncConnection,
    sql: psycopg.Connection[Any],
    test_places: list[tuple[float, float, str]],
) -> None:
    places = generate_places(sql, test_places)
    assert len(places) >= 1000
    rng = random.Random(2026)
    differences: list[str] = []
    taken = {0: 0, 1: 0, 2: 0}
    compared = 0
    for place in places:
        params = _params(rng, place)
        if params.entity is Entity.MERCHANT:  # MerchantSort and merchants' own conditions
            params = replace(
                params,
                sort=SortOrder.RATING if params.sort in SORTS else params.sort,
                conditions=DealConditions(
                    categories=params.conditions.categories,
                    min_rating=params.conditions.min_rating,
                ),
            )
        pages = 1 + (rng.random() < 0.2) * rng.randint(1, 4)
        # few candidates put the boundary of both KNN looks inside the page (and inside
        # groups of equally distant stores), where only the safety share keeps it exact
        stores = rng.choice([None, None, None, 1, 2, 3, 5, 8])
        for _ in range(pages):
            knn = await nearby_page(conn, params, knn_stores=stores)
            full = await nearby_page(conn, params, knn=False)
            compared += 1
            if knn.knn_tier is not None:
                taken[knn.knn_tier] += 1
            if not _same(knn, full):
                differences.append(f"{place} {params}: {len(knn.hits)} vs {len(full.hits)} hits")
            if not full.has_next:
                break
            params = replace(params, after=full.hits[-1].sort_key)
    assert differences == []
    assert compared >= 1000
    # every branch ran: the first look most of the time with results, the second where
    # the first fell short, the full statement where neither was provably the page
    assert taken[1] >= 200 and taken[2] >= 50 and taken[0] >= 30, taken


@pytest.fixture
async def driver(database_url: str) -> AsyncIterator[DriverConnection[Any]]:
    """One of ``Database.driver``'s connections (the compiled operations'), kept for the test:
    its prepared statements are the test's."""
    database = Database(DatabaseConfig(url=database_url, pool_size=1, max_overflow=0))
    try:
        async with database.driver() as connection:
            yield connection
    finally:
        await database.dispose()


async def _plans(driver: DriverConnection[Any]) -> tuple[int, int]:
    """Generic and custom plans PostgreSQL used for the connection's prepared KNN pages."""
    cursor = await driver.execute(
        "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"
        " FROM pg_prepared_statements WHERE statement LIKE 'WITH knn_stores%'"
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def _plan_cache_mode(driver: DriverConnection[Any]) -> str:
    cursor = await driver.execute("SHOW plan_cache_mode")
    row = await cursor.fetchone()
    assert row is not None
    return str(row[0])


async def test_the_driver_s_knn_page_on_the_generic_plan_is_the_full_statement_s_page(
    driver: DriverConnection[Any],
    conn: AsyncConnection,
    sql: psycopg.Connection[Any],
    test_places: list[tuple[float, float, str]],
) -> None:
    """The compiled operations' statement runs on PostgreSQL's generic plan (the driver's
    connections) up to ``GENERIC_PLAN_MAX_RADIUS_M`` and still gives the full statement's
    page."""
    assert await _plan_cache_mode(driver) == "force_generic_plan"
    places = [p for p in generate_places(sql, test_places) if p.radius <= GENERIC_PLAN_MAX_RADIUS_M]
    rng = random.Random(2027)
    differences: list[str] = []
    taken = {0: 0, 1: 0, 2: 0}
    for place in places[::2]:
        params = NearbyParams(
            entity=Entity.MERCHANT if rng.random() < 0.25 else Entity.DEAL,
            lat=place.lat,
            lng=place.lng,
            radius_m=place.radius,
            sort=SortOrder.DISTANCE,
            limit=rng.choice(PAGE_SIZES),
            now=NOW,
            with_total=rng.random() < 0.2,
        )
        stores = rng.choice([None, None, None, 1, 3, 8])
        knn = await nearby_page(driver, params, knn_stores=stores)
        full = await nearby_page(conn, params, knn=False)
        if knn.knn_tier is not None:
            taken[knn.knn_tier] += 1
        if not _same(knn, full):
            differences.append(f"{place} {params}: {len(knn.hits)} vs {len(full.hits)} hits")
    assert differences == []
    assert taken[1] >= 150 and taken[2] >= 15 and taken[0] >= 15, taken
    assert await _plans(driver) == (len(places[::2]), 0)  # every run: the generic plan


async def test_postgresql_chooses_the_plan_past_the_radius(driver: DriverConnection[Any]) -> None:
    far = NearbyParams(
        entity=Entity.DEAL,
        lat=60.1699,
        lng=24.9384,
        radius_m=2 * GENERIC_PLAN_MAX_RADIUS_M,
        sort=SortOrder.DISTANCE,
        limit=20,
        now=NOW,
    )
    for _ in range(6):  # psycopg prepares it at the sixth; PostgreSQL's first plans are custom
        await nearby_page(driver, far)
    assert await _plans(driver) == (0, 1)
    assert await _plan_cache_mode(driver) == "force_generic_plan"  # set for one statement only
    page = await nearby_page(driver, replace(far, radius_m=2000.0))
    assert page.hits
    assert await _plans(driver) == (1, 1)  # back on the generic plan


async def test_a_failing_statement_leaves_no_plan_setting_behind(
    driver: DriverConnection[Any],
) -> None:
    params = NearbyParams(
        entity=Entity.DEAL,
        lat=60.1699,
        lng=24.9384,
        radius_m=2 * GENERIC_PLAN_MAX_RADIUS_M,  # the statement that sets plan_cache_mode
        sort=SortOrder.DISTANCE,
        limit=-2,  # LIMIT -1: PostgreSQL refuses it
        now=NOW,
    )
    with pytest.raises(psycopg.Error):
        await nearby_page(driver, params)
    assert await _plan_cache_mode(driver) == "force_generic_plan"
    page = await nearby_page(driver, replace(params, limit=5))
    assert len(page.hits) == 5


async def test_open_now_pages_are_the_same_through_knn_and_full(
    conn: AsyncConnection,
    sql: psycopg.Connection[Any],
    test_places: list[tuple[float, float, str]],
) -> None:
    places = generate_places(sql, test_places)[::4]
    rng = random.Random(7)
    differences = []
    taken = 0
    for index, place in enumerate(places):
        entity = Entity.DEAL if index % 3 else Entity.MERCHANT
        sorts = SORTS if entity is Entity.DEAL else [SortOrder.RATING]
        request = discovery.NearbyRequest(
            entity=entity,
            lat=place.lat,
            lng=place.lng,
            radius_m=place.radius,
            sort=SortOrder.DISTANCE if index % 4 else rng.choice(sorts),
            first=rng.choice(PAGE_SIZES),
            now=NOW,
            filter=DealFilterValues(
                open_at=datetime(2026, 12, 1 + index % 7, index % 24, 30, tzinfo=UTC),
                min_rating=4.0 if index % 5 == 1 else None,
            ),
            with_total=index % 5 == 0,
        )
        for _ in range(1 + (index % 6 == 0) * 3):  # some cursor walks
            knn = await discovery.find_nearby(conn, request)
            full = await discovery.find_nearby(conn, request, knn=False)
            taken += bool(knn.knn_tier)
            if not _same(knn, full):
                differences.append(f"{place} {request}")
            if not full.has_next:
                break
            request = replace(request, after=discovery.cursor_of(request, full.hits[-1]))
    assert differences == []
    assert taken >= 50


async def test_spheroid_distances_stay_above_the_knn_share_of_sphere_distances(
    sql: psycopg.Connection[Any],
) -> None:
    """The premise of the KNN page: ``ST_Distance`` (spheroid) > KNN_SAFETY x ``<->`` (sphere),
    short and long hops, every latitude and bearing."""
    row = sql.execute(
        "WITH p AS (SELECT ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography a, d, az"
        " FROM generate_series(-89, 89, 2) lat, generate_series(-180, 179, 37) lng,"
        " unnest(ARRAY[5.0, 300.0, 2000.0, 50000.0]) d, generate_series(0, 350, 10) az)"
        " SELECT min(ST_Distance(a, b) / (a <-> b)), max(ST_Distance(a, b) / (a <-> b))"
        " FROM (SELECT a, ST_Project(a, d, radians(az)) b FROM p) s"
    ).fetchone()
    assert row is not None
    low, high = float(row[0]), float(row[1])
    assert KNN_SAFETY < low < 1 < high < 1 / KNN_SAFETY
