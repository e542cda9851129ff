"""Funnel flushes against PostgreSQL: a flush adds to the stored counts and drops counts of
deals that no longer exist; a flush that fails keeps its counts for the next one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from commerce.insights.funnel import Funnel, FunnelConfig
from db.database import Database, DatabaseConfig
from db.insights_sql import CountColumns
from tests.members.helpers import database as own_database

HOUR = 978_307_200  # 2001-01-01 00:00 UTC: no other test counts in that hour
DEAD_URL = "postgresql://postgres@127.0.0.1:1/nowhere"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with own_database(database_url) as found:
        yield found


def stored(sql: psycopg.Connection[Any]) -> list[tuple[int, str, int, int, int]]:
    rows = sql.execute(
        "SELECT deal_id, channel, partner_key_id, impressions, detail_views FROM funnel_counts"
        " WHERE hour = to_timestamp(%s) ORDER BY deal_id, channel",
        [HOUR],
    ).fetchall()
    return [tuple(row) for row in rows]


def counts(deals: list[int], impressions: int, views: int) -> CountColumns:
    n = len(deals)
    return CountColumns(deals, [HOUR] * n, ["NEARBY"] * n, [0] * n, [impressions] * n, [views] * n)


async def test_a_failed_flush_keeps_its_counts_and_the_next_one_adds_them(
    database: Database, sql: psycopg.Connection[Any]
) -> None:
    row = sql.execute("SELECT min(id), max(id) FROM deals").fetchone()
    assert row is not None
    first, gone = int(row[0]), int(row[1]) + 1000
    sql.execute("DELETE FROM funnel_counts WHERE hour = to_timestamp(%s)", [HOUR])
    funnel = Funnel(FunnelConfig(), b"secret")
    funnel.put_back(counts([first, gone], 2, 1))
    dead = Database(DatabaseConfig(url=DEAD_URL, pool_size=1, max_overflow=0))
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver raises
            await funnel.flush(dead)
    finally:
        await dead.dispose()
    assert funnel.stats.failures == 1 and funnel.pending_counters == 4  # 2 deals x 2
    try:
        assert await funnel.flush(database) == 2
        assert stored(sql) == [(first, "NEARBY", 0, 2, 1)]  # the deleted deal's are dropped
        funnel.put_back(counts([first], 3, 0))
        assert await funnel.flush(database) == 1
        assert stored(sql) == [(first, "NEARBY", 0, 5, 1)]
        assert funnel.stats.flushes == 2 and funnel.pending_counters == 0
    finally:
        sql.execute("DELETE FROM funnel_counts WHERE hour = to_timestamp(%s)", [HOUR])
