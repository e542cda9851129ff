"""Migrations build exactly the tables in code, enforce the rules, and the seed is faithful."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine

from db.database import sqlalchemy_url
from db.migrate import downgrade, upgrade
from db.tables import metadata
from gateway.app import database_from
from gateway.cli import main as cli_main
from gateway.settings import Settings
from seed.load import seed_demo
from seed.sources import read_ndjson
from tests.conftest import TEST_DATABASE_URL, recreate_database


def test_migrations_match_the_table_definitions(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": alembic_helpers.include_object,
                "compare_type": True,
            },
        )
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_migrations_go_down_and_up_again() -> None:
    url = TEST_DATABASE_URL + "_migrations"  # per test database: parallel runs do not collide
    recreate_database(url)
    upgrade(url)
    downgrade(url, "base")
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'deals'"
        ).fetchone()
        assert tables == (0,)
    upgrade(url)


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("INSERT INTO reviews (merchant_id, author_name, rating) VALUES (1, 'x', 6)", "rating"),
        ("INSERT INTO reviews (merchant_id, author_name, rating) VALUES (1, 'x', 0)", "rating"),
        ("UPDATE deals SET price = -1 WHERE id = 1", "price"),
        ("UPDATE deals SET remaining_quantity = -1 WHERE id = 1", "remaining"),
        ("UPDATE deals SET total_quantity = 1, remaining_quantity = 2 WHERE id = 1", "remaining"),
        ("UPDATE deals SET valid_from = valid_until WHERE id = 1", "validity"),
        ("UPDATE deals SET currency = 'eur' WHERE id = 1", "currency"),
        ("UPDATE merchants SET price_level = 5 WHERE id = 1", "price_level"),
        ("UPDATE merchants SET review_count = -1 WHERE id = 1", "merchants"),
        ("UPDATE merchants SET rating_total = 99 WHERE id = 1", "rating_total"),
    ],
)
def test_the_database_enforces_the_rules(
    sql: psycopg.Connection[Any], statement: str, constraint: str
) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match=constraint):
        sql.execute(statement)


def test_money_is_exact(sql: psycopg.Connection[Any]) -> None:
    row = sql.execute("SELECT pg_typeof(price)::text, scale(price) FROM deals LIMIT 1").fetchone()
    assert row == ("numeric", 2)


def test_every_osm_poi_is_a_merchant_with_one_store_at_its_coordinates(
    sql: psycopg.Connection[Any],
) -> None:
    pois = {f"osm:{p['osm_id']}": p for p in read_ndjson("osm_helsinki_pois.ndjson")}
    rows = sql.execute(
        "SELECT m.external_key, m.name, m.names, m.category_slug, count(s.id),"
        " min(ST_Y(s.location::geometry)), min(ST_X(s.location::geometry)),"
        " min(s.opening_hours), min(s.timezone)"
        " FROM merchants m JOIN stores s ON s.merchant_id = m.id"
        " WHERE m.source = 'osm' GROUP BY m.id"
    ).fetchall()
    assert len(rows) == len(pois) == 736
    for key, name, names, category, store_count, lat, lng, hours, tz in rows:
        poi = pois[key]
        assert (name, category, store_count, tz) == (
            poi["name"],
            poi["category"],
            1,
            "Europe/Helsinki",
        )
        assert (lat, lng) == pytest.approx((poi["lat"], poi["lon"]), abs=1e-7)
        assert hours == poi.get("opening_hours")
        for lang, localized in poi["names"].items():
            if lang in ("en", "zh", "fi", "sv"):
                assert names[lang] == localized
    zh = sql.execute("SELECT count(*) FROM merchants WHERE names ? 'zh' AND source = 'osm'")
    assert zh.fetchone() == (1,)  # the one POI of the extract with a Chinese name


def test_synthetic_layer_is_flagged_and_in_shanghai_time(sql: psycopg.Connection[Any]) -> None:
    rows = sql.execute(
        "SELECT DISTINCT s.timezone, s.country_code, m.is_demo FROM merchants m"
        " JOIN stores s ON s.merchant_id = m.id WHERE m.source = 'synthetic'"
    ).fetchall()
    assert rows == [("Asia/Shanghai", "CN", True)]
    per_merchant = sql.execute(
        "SELECT min(n), max(n) FROM (SELECT count(*) n FROM deals GROUP BY merchant_id) c"
    ).fetchone()
    assert per_merchant == (1, 3)
    limited = sql.execute(
        "SELECT count(*), min(remaining_quantity), max(remaining_quantity) FROM deals"
        " WHERE remaining_quantity <= 20"
    ).fetchone()
    assert limited is not None and limited[0] > 100 and limited[1] >= 3 and limited[2] <= 20
    flagged = sql.execute("SELECT bool_and(is_demo) FROM deals").fetchone()
    assert flagged == (True,)


def test_rating_aggregates_agree_with_the_reviews(sql: psycopg.Connection[Any]) -> None:
    mismatches = sql.execute(
        "SELECT count(*) FROM merchants m LEFT JOIN (SELECT merchant_id, count(*) n,"
        " sum(rating) s FROM reviews GROUP BY merchant_id) r ON r.merchant_id = m.id"
        " WHERE m.review_count <> COALESCE(r.n, 0) OR m.rating_total <> COALESCE(r.s, 0)"
    ).fetchone()
    assert mismatches == (0,)


def test_seeding_again_changes_nothing(sql: psycopg.Connection[Any]) -> None:
    def snapshot() -> str:
        rows = sql.execute(
            "SELECT (SELECT json_agg(t ORDER BY id)"
            "        FROM (SELECT id, name, rating FROM merchants) t),"
            " (SELECT json_agg(t ORDER BY id)"
            "        FROM (SELECT id, price, remaining_quantity FROM deals) t),"
            " (SELECT count(*) FROM reviews), (SELECT count(*) FROM deal_stores),"
            " (SELECT json_agg(t ORDER BY deal_id)"
            "        FROM (SELECT deal_id, timezone, rules, days_ahead FROM deal_slot_plans) t),"
            " (SELECT count(*) FROM deal_slots),"
            " (SELECT json_agg(t ORDER BY id) FROM (SELECT id, owner_subject FROM merchants) t),"
            " (SELECT json_agg(t ORDER BY merchant_id) FROM (SELECT merchant_id, auto_join,"
            "   points_per_unit, tiers FROM membership_programs) t),"
            " (SELECT json_agg(t ORDER BY id) FROM (SELECT id, external_key, title, kind,"
            "   percent_off, amount_off, free_item, status, version FROM coupons"
            "   WHERE external_key IS NOT NULL) t),"
            " (SELECT count(*) FROM coupon_stores)"
        ).fetchone()
        return json.dumps(rows, default=str)

    before = snapshot()

    async def reseed() -> None:
        database = database_from(Settings(database_url=TEST_DATABASE_URL))
        try:
            await seed_demo(database)
        finally:
            await database.dispose()

    asyncio.run(reseed())
    assert snapshot() == before


def test_every_deal_booked_by_time_has_a_schedule_and_slots_to_book(
    sql: psycopg.Connection[Any],
) -> None:
    counts = sql.execute(
        "SELECT count(*), count(p.deal_id),"
        " count(*) FILTER (WHERE (SELECT count(*) FROM deal_slots s WHERE s.deal_id = d.id"
        "   AND s.slot_start > now() AND s.remaining > 0) >= 7)"
        " FROM deals d LEFT JOIN deal_slot_plans p ON p.deal_id = d.id"
        " WHERE d.requires_booking AND d.is_demo AND d.external_key NOT LIKE 'test:%'"
    ).fetchone()
    assert counts is not None and counts[0] == 423  # the 423 deals of the issue
    assert counts == (423, 423, 423)
    others = sql.execute(
        "SELECT count(*) FROM deal_slot_plans p JOIN deals d ON d.id = p.deal_id"
        " WHERE NOT d.requires_booking"
    ).fetchone()
    assert others == (0,)
    zones = sql.execute("SELECT DISTINCT p.timezone FROM deal_slot_plans p ORDER BY 1").fetchall()
    assert zones == [("Asia/Shanghai",), ("Europe/Helsinki",)]


def test_every_demo_merchant_has_an_owner_subject(sql: psycopg.Connection[Any]) -> None:
    wrong = sql.execute(
        "SELECT count(*) FROM merchants WHERE source IN ('osm', 'synthetic')"
        " AND owner_subject IS DISTINCT FROM 'owner-' || id"
    ).fetchone()
    assert wrong == (0,)


def test_three_helsinki_cafes_run_a_program_and_a_published_coupon(
    sql: psycopg.Connection[Any],
) -> None:
    rows = sql.execute(
        "SELECT m.name, m.category_slug, p.tiers, c.status, c.audience, c.currency,"
        " s.timezone, (SELECT count(*) FROM coupons k WHERE k.merchant_id = m.id)"
        " FROM coupons c JOIN merchants m ON m.id = c.merchant_id"
        " JOIN membership_programs p ON p.merchant_id = m.id"
        " JOIN coupon_stores cs ON cs.coupon_id = c.id JOIN stores s ON s.id = cs.store_id"
        " WHERE c.external_key IS NOT NULL ORDER BY m.name"
    ).fetchall()
    tiers = [
        {"name": "Regular", "minPoints": 0},
        {"name": "Silver", "minPoints": 100},
        {"name": "Gold", "minPoints": 300},
    ]
    assert rows == [
        (name, "cafe", tiers, "PUBLISHED", "EVERYONE", "EUR", "Europe/Helsinki", 1)
        for name in ("Cafe Ekberg", "Roasberg", "Théhuone")
    ]
    kinds = sql.execute(
        "SELECT external_key, kind, coalesce(percent_off::text, amount_off::text, free_item),"
        " min_bill::text FROM coupons WHERE external_key IS NOT NULL ORDER BY external_key"
    ).fetchall()
    assert kinds == [
        ("osm:node/1007416273:coupon:0", "PERCENT_OFF", "15.00", None),
        ("osm:node/1376356022:coupon:0", "FREE_ITEM", "Cinnamon bun", None),
        ("osm:node/151006533:coupon:0", "AMOUNT_OFF", "3.00", "15.00"),
    ]


def test_o2o_seed_leaves_the_planner_statistics_fresh(
    sql: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def last_analyze() -> Any:
        sql.execute("SELECT pg_stat_clear_snapshot()")
        row = sql.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'merchants'"
        ).fetchone()
        assert row is not None
        return row[0]

    before = last_analyze()
    monkeypatch.setenv("DATABASE_URL", TEST_DATABASE_URL)
    assert cli_main(["seed"]) == 0
    after = last_analyze()
    assert after is not None and (before is None or after > before)
