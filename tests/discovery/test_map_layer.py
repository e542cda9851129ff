"""The pre-aggregated map layer answers exactly what the live statement answers.

Over many generated views (random boxes at zooms 0-13, cell-aligned and unaligned edges,
across the antimeridian, clamped at the poles) the layer's clusters are compared with
``geo.viewport.clusters_in_view``: the same cells, counts and expansion zooms, centroids
within float tolerance. Test-owned places hold single- and multi-store deals (stores in
different cells, some far apart), then deals sell out, come back, start and end their
validity, stores move and links change after the build: the comparison runs again.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import mapbox_vector_tile
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.discovery.map_layer import refresh_once
from commerce.discovery.viewport import view_boxes
from db.database import Database, DatabaseConfig
from geo import layer, viewport
from geo.cover import CELL_BITS, FINE_BITS, MAX_LEVEL, lat_of, lng_of, taint_level
from geo.viewport import Box, ClusterRow, DealCriteria
from tests.conftest import GraphQL
from tests.discovery.map_helpers import build_layer, representatives, tile_box
from tests.helpers import deal_store_points

MAX_EXPANSION = 14
SPOTS = [  # name, lat, lng, spread in degrees
    ("atlantic", 12.5, -31.0, 0.8),
    ("dateline", -16.8, 179.9, 0.3),
    ("north", 88.5, 10.0, 3.0),
    ("south", -87.0, -60.0, 3.0),
    ("tight", 40.0, -45.0, 0.004),
]
INTERVAL = timedelta(seconds=60)
HORIZON = timedelta(minutes=15)


def _store(sql: psycopg.Connection[Any], merchant: int, key: str, lat: float, lng: float) -> int:
    row = sql.execute(
        "INSERT INTO stores (merchant_id, external_key, name, location, timezone, country_code)"
        " VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, 'UTC', 'AQ')"
        " RETURNING id",
        [merchant, key, key, lng, lat],
    ).fetchone()
    assert row is not None
    return int(row[0])


def _deal(sql: psycopg.Connection[Any], merchant: int, key: str, kind: str) -> int:
    window = {
        "on": ("now() - interval '2 days'", "now() + interval '30 days'"),
        "expired": ("now() - interval '2 days'", "now() - interval '1 day'"),
        "starts": ("now() + interval '3 seconds'", "now() + interval '30 days'"),
        "ends": ("now() - interval '2 days'", "now() + interval '3 seconds'"),
    }[kind if kind in ("expired", "starts", "ends") else "on"]
    stock = "10, 0" if kind == "soldout" else "10, 5" if kind == "stock" else "NULL, NULL"
    status = "DRAFT" if kind == "draft" else "PUBLISHED"
    row = sql.execute(
        "INSERT INTO deals (merchant_id, external_key, title, price, currency, valid_from,"
        f" valid_until, total_quantity, remaining_quantity, status) VALUES (%s, %s, %s, 5,"
        f" 'EUR', {window[0]}, {window[1]}, {stock}, '{status}') RETURNING id",
        [merchant, key, key],
    ).fetchone()
    assert row is not None
    return int(row[0])


def _jitter(rng: random.Random, lat: float, lng: float, spread: float) -> tuple[float, float]:
    scale = spread * rng.choice([0.001, 0.01, 0.1, 1.0])
    lat = max(-89.99, min(89.99, lat + rng.gauss(0, scale)))
    lng = lng + rng.gauss(0, scale)
    return lat, (lng + 180) % 360 - 180


KINDS = ["on"] * 10 + ["stock", "soldout", "expired", "starts", "ends", "draft"]


@pytest.fixture(scope="module")
def places(sql: psycopg.Connection[Any]) -> Iterator[dict[str, list[int]]]:
    """Stores and deals of the test spots; removed afterwards."""
    rng = random.Random(2026)
    merchant_row = sql.execute(
        "INSERT INTO merchants (external_key, name, category_slug, source)"
        " VALUES ('test:layer', 'Layer test', 'cafe', 'test') RETURNING id"
    ).fetchone()
    assert merchant_row is not None
    merchant = int(merchant_row[0])
    made: dict[str, list[int]] = {"stores": [], "deals": []}
    try:
        for name, lat, lng, spread in SPOTS:
            for number in range(70):
                slat, slng = _jitter(rng, lat, lng, spread)
                store = _store(sql, merchant, f"test:layer:{name}:{number}", slat, slng)
                made["stores"].append(store)
                for index in range(1 + number % 3):
                    kind = rng.choice(KINDS)
                    deal = _deal(sql, merchant, f"test:layer:{name}:{number}:{index}", kind)
                    made["deals"].append(deal)
                    sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [deal, store])
                    if rng.random() < 0.3:  # more stores: near, or anywhere in the test spots
                        for _ in range(rng.randint(1, 3)):
                            other = rng.choice(made["stores"])
                            sql.execute(
                                "INSERT INTO deal_stores VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                [deal, other],
                            )
        yield made
    finally:
        sql.execute("DELETE FROM merchants WHERE id = %s", [merchant])


def _mercator_y(lat: float) -> float:
    lat = max(-85.0511287798066, min(85.0511287798066, lat))
    phi = math.radians(lat)
    return (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2


def _lat(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))


def random_view(rng: random.Random) -> tuple[tuple[float, float, float, float], int]:
    """(west, south, east, north) and a zoom: around a test spot, a seeded city or anywhere;
    edges sometimes on cell boundaries, sometimes at the poles."""
    zoom = rng.randint(0, 13)
    centres = [(lat, lng) for _, lat, lng, _ in SPOTS] + [(60.17, 24.94), (31.23, 121.47)]
    lat, lng = rng.choice(centres) if rng.random() < 0.9 else (rng.uniform(-80, 80), 0.0)
    lat, lng = _jitter(rng, lat, lng, 0.5)
    side = 256 * 2**zoom
    width, height = rng.uniform(50, 4000) / side, rng.uniform(50, 4000) / side
    cx = (lng + 180) / 360
    cy = _mercator_y(lat)
    x0, x1 = cx - width / 2, cx + width / 2
    y0, y1 = max(0.0, cy - height / 2), min(1.0, cy + height / 2)
    if rng.random() < 0.3:  # edges on the cells of the cluster level, of taints or the finest
        level = rng.choice([zoom + CELL_BITS, taint_level(zoom + CELL_BITS), MAX_LEVEL])
        n = 2**level
        x0, x1 = math.floor(x0 * n) / n, math.ceil(x1 * n) / n
        y0, y1 = math.floor(y0 * n) / n, math.ceil(y1 * n) / n
    west, east = x0 * 360 - 180, x1 * 360 - 180
    west, east = (west + 180) % 360 - 180, (east + 180) % 360 - 180
    if x1 - x0 >= 1:
        west, east = -180.0, 180.0
    north, south = _lat(y0), _lat(y1)
    if rng.random() < 0.1:
        north = 90.0
    if rng.random() < 0.1:
        south = -90.0
    return (west, south, east, north), zoom


def _as_map(rows: list[ClusterRow]) -> dict[tuple[int, int], ClusterRow]:
    return {(r.cell_x, r.cell_y): r for r in rows}


async def compare(conn: AsyncConnection, boxes: tuple[Box, ...], zoom: int) -> int:
    now = datetime.now(UTC)
    live = await viewport.clusters_in_view(conn, boxes, DealCriteria(now=now), zoom, MAX_EXPANSION)
    from_layer = await layer.layer_clusters(conn, boxes, zoom, now, MAX_EXPANSION)
    assert from_layer is not None, "the layer was not usable"
    expected, got = _as_map(live), _as_map(from_layer)
    assert got.keys() == expected.keys(), (boxes, zoom)
    for key, want in expected.items():
        have = got[key]
        assert (have.count, have.expansion_zoom) == (want.count, want.expansion_zoom), (
            boxes,
            zoom,
            key,
        )
        assert have.lng == pytest.approx(want.lng, abs=1e-9)
        assert have.lat == pytest.approx(want.lat, abs=1e-9)
    return sum(r.count for r in live)


async def compare_many(conn: AsyncConnection, seed: int, count: int) -> int:
    rng = random.Random(seed)
    seen = 0
    for _ in range(count):
        (west, south, east, north), zoom = random_view(rng)
        try:
            boxes = view_boxes(west, south, east, north, zoom)
        except Exception:  # larger than the view limit at this zoom: not a valid request
            continue
        seen += await compare(conn, boxes, zoom)
    return seen


async def test_the_layer_answers_like_the_live_statement(
    database_url: str,
    conn: AsyncConnection,
    places: dict[str, list[int]],
    sql: psycopg.Connection[Any],
) -> None:
    await build_layer(database_url)
    assert await compare_many(conn, 1, 300) > 1000
    # a world view at zoom 2 and views across the antimeridian
    await compare(conn, view_boxes(-180, -90, 180, 90, 2), 2)
    await compare(conn, view_boxes(170, -30, -170, -5, 5), 5)
    await compare(conn, view_boxes(179.5, -17.5, -179.8, -16.0, 8), 8)

    rng = random.Random(7)
    deals, stores = places["deals"], places["stores"]
    for deal in rng.sample(deals, 25):  # sell out (or come back, for the sold-out ones)
        sql.execute(
            "UPDATE deals SET total_quantity = 10, remaining_quantity ="
            " CASE WHEN remaining_quantity = 0 THEN 4 ELSE 0 END WHERE id = %s",
            [deal],
        )
    for store in rng.sample(stores, 10):  # stores move to another spot
        lat, lng = rng.choice([(s[1], s[2]) for s in SPOTS])
        sql.execute(
            "UPDATE stores SET location = ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
            " WHERE id = %s",
            [lng + rng.uniform(-0.2, 0.2), lat, store],
        )
    for deal in rng.sample(deals, 10):  # links change
        sql.execute("DELETE FROM deal_stores WHERE deal_id = %s AND store_id = ANY(%s)",
                    [deal, rng.sample(stores, 40)])  # fmt: skip
        sql.execute(
            "INSERT INTO deal_stores VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [deal, rng.choice(stores)],
        )
    for deal in rng.sample(deals, 10):  # validity ends in a moment
        sql.execute(
            "UPDATE deals SET valid_until = now() + interval '1 second'"
            " WHERE id = %s AND valid_from < now()",
            [deal],
        )
    await asyncio.sleep(3.5)  # the "starts"/"ends" deals made before the build cross their instants
    assert await compare_many(conn, 2, 300) > 1000

    await build_layer(database_url)  # the changes are consumed and built in
    assert await compare_many(conn, 3, 150) > 500


async def test_without_a_usable_layer_maps_answer_live(
    database_url: str, conn: AsyncConnection
) -> None:
    await build_layer(database_url)
    box = view_boxes(-40, 0, -20, 20, 4)
    later = datetime.now(UTC) + HORIZON + timedelta(seconds=1)
    assert await layer.layer_clusters(conn, box, 4, later, MAX_EXPANSION) is None
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert await layer.layer_clusters(conn, box, 4, earlier, MAX_EXPANSION) is None


async def test_the_clusters_notice_a_layer_changed_since_the_probe(
    database_url: str,
    conn: AsyncConnection,
    places: dict[str, list[int]],
    sql: psycopg.Connection[Any],
) -> None:
    """The probe and the clusters are two statements: a change or a build in between makes
    the clusters refuse (their cover was cut for the probed layer), and the public call
    answers from a fresh probe."""
    await build_layer(database_url)
    boxes = view_boxes(-40, 0, -20, 20, 4)
    now = datetime.now(UTC)
    found = await layer.probe(conn, boxes, 0)
    assert found is not None
    assert await layer.clusters_for(conn, found, boxes, 4, now, MAX_EXPANSION)
    deal = places["deals"][0]
    sql.execute("UPDATE deals SET valid_until = valid_until + interval '1 day' WHERE id = %s",
                [deal])  # fmt: skip
    assert await layer.clusters_for(conn, found, boxes, 4, now, MAX_EXPANSION) is None
    await compare(conn, boxes, 4)
    found = await layer.probe(conn, boxes, 0)
    assert found is not None and found.taints
    await build_layer(database_url)
    assert await layer.clusters_for(conn, found, boxes, 4, now, MAX_EXPANSION) is None
    await compare(conn, boxes, 4)


async def test_a_view_with_few_stores_is_left_to_the_live_statement(
    database_url: str,
    conn: AsyncConnection,
    places: dict[str, list[int]],
    sql: psycopg.Connection[Any],
) -> None:
    await build_layer(database_url)
    row = sql.execute(
        "SELECT count(*) FROM stores WHERE location::geometry && ST_MakeEnvelope(-40, 0, -20, 20,"
        " 4326)"
    ).fetchone()
    assert row is not None and row[0] > 10  # the "atlantic" spot
    boxes, now, most = view_boxes(-40, 0, -20, 20, 4), datetime.now(UTC), int(row[0])
    assert await layer.layer_clusters(conn, boxes, 4, now, MAX_EXPANSION, min_stores=most)
    assert await layer.layer_clusters(conn, boxes, 4, now, MAX_EXPANSION, most + 1) is None


async def test_a_refresh_leaves_the_layer_tables_analysed(
    database_url: str, sql: psycopg.Connection[Any]
) -> None:
    """Readers' plans depend on the layer tables' statistics: a refresh analyses them."""
    sql.execute("ANALYZE map_cells")  # the reference instant, whatever autovacuum did
    before = sql.execute(
        "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'map_cells'"
    ).fetchone()
    await build_layer(database_url)
    await asyncio.sleep(0.6)  # the statistics collector's report interval
    sql.execute("SELECT pg_stat_clear_snapshot()")
    for table in ("map_cells", "map_deals", "map_spread", "map_volatile"):
        row = sql.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [table]
        ).fetchone()
        assert row is not None and before is not None and row[0] > before[0], table


async def test_one_builder_at_a_time(database_url: str) -> None:
    database = Database(DatabaseConfig(url=database_url, pool_size=1, max_overflow=1))
    try:
        with psycopg.connect(database_url) as holder:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", [layer.BUILD_LOCK])
            assert await refresh_once(database, INTERVAL, HORIZON, force=True) is None
            holder.rollback()
        await build_layer(database_url)
        # just built: a replica asking on its schedule finds it fresh and does not rebuild
        assert await refresh_once(database, INTERVAL, HORIZON) is None
    finally:
        await database.dispose()


WORLD_VIEW = """query World($bbox: BoundingBoxInput!) {
  dealsInView(bbox: $bbox, zoom: 2) { totalCount clustered clusters { id count } }
}"""


async def test_a_world_view_at_zoom_2_and_its_tiles_count_every_deal_once(
    database_url: str, gql: GraphQL, client: httpx.AsyncClient, sql: psycopg.Connection[Any]
) -> None:
    await build_layer(database_url)
    world = {"west": -180.0, "south": -90.0, "east": 180.0, "north": 90.0}
    points = deal_store_points(sql)
    expected = len(representatives(points, world))
    data = (await gql.data(WORLD_VIEW, {"bbox": world}))["dealsInView"]
    assert data["clustered"] is True
    assert data["totalCount"] == sum(c["count"] for c in data["clusters"]) == expected > 100
    in_tiles, per_tile = 0, 0
    for x in range(4):
        for y in range(4):
            response = await client.get(f"/tiles/deals/2/{x}/{y}.mvt")
            assert response.status_code == 200
            decoded = mapbox_vector_tile.decode(response.content)
            features = decoded.get("deals", {}).get("features", [])
            in_tiles += sum(int(f["properties"]["point_count"]) for f in features)
            per_tile += len(representatives(points, tile_box(2, x, y)))
    # each tile is a view of its own (a deal counts once per tile it has stores in), and
    # tiles stop at the Mercator limit (85.05 degrees)
    assert in_tiles == per_tile > 100


def test_cells_of_the_finest_level_hold_whole_fine_coordinates() -> None:
    assert FINE_BITS == 32
    assert lng_of(0) == -180.0 and lat_of(0) == pytest.approx(85.0511287798066)
