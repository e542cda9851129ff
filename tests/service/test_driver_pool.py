"""``Database.driver``: the bare psycopg connections of the compiled operations have the
engine's server settings, stay within their pool size and are replaced when broken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg_pool import PoolTimeout
from sqlalchemy import text

from db.database import APPLICATION_NAME, Database, DatabaseConfig


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    config = DatabaseConfig(
        url=database_url,
        pool_size=1,
        max_overflow=0,
        statement_timeout_ms=1234,
        pool_timeout_s=0.5,
    )
    found = Database(config)
    try:
        yield found
    finally:
        await found.dispose()


async def one(conn: psycopg.AsyncConnection[Any], query: str) -> Any:
    cursor = await conn.execute(query)
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def test_a_driver_connection_has_the_engines_settings(database: Database) -> None:
    async with database.driver() as conn:
        assert conn.autocommit
        assert await one(conn, "SHOW statement_timeout") == "1234ms"
        assert await one(conn, "SHOW jit") == "off"
        assert await one(conn, "SHOW application_name") == APPLICATION_NAME
        driver_value = await one(conn, "SELECT 12.50::numeric")
    async with database.read() as engine_conn:
        engine_value = (await engine_conn.execute(text("SELECT 12.50::numeric"))).scalar()
    assert driver_value == engine_value == Decimal("12.50")


async def test_the_driver_pool_holds_at_most_its_size(database: Database) -> None:
    async with database.driver() as held:
        with pytest.raises(PoolTimeout):  # pool_size 1: the second caller times out
            async with database.driver():
                pass
        pid = held.info.backend_pid
    async with database.driver() as again:  # given back: the same connection again
        assert again.info.backend_pid == pid


async def test_a_request_view_limits_its_driver_connections_too(database: Database) -> None:
    view = database.limited(1)
    order: list[str] = []

    async def use(name: str) -> None:
        async with view.driver():
            order.append(f"{name} in")
            await asyncio.sleep(0.05)
            order.append(f"{name} out")

    await asyncio.gather(use("a"), use("b"))
    assert order == ["a in", "a out", "b in", "b out"]


async def test_a_broken_connection_is_replaced(database: Database) -> None:
    async with database.driver() as conn:
        pid = conn.info.backend_pid
    async with database.read() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await asyncio.sleep(0.1)
    with pytest.raises(psycopg.OperationalError):  # as the engine without pre-ping: once
        async with database.driver() as conn:
            await one(conn, "SELECT 1")
    async with database.driver() as conn:
        assert await one(conn, "SELECT 1") == 1
        assert conn.info.backend_pid != pid


async def test_the_url_s_own_session_settings_are_kept(database_url: str) -> None:
    """``?options=`` in DATABASE_URL reaches both kinds of connection, beside the timeout,
    and may turn JIT back on."""
    url = f"{database_url}?options=-c%20work_mem%3D7MB%20-c%20jit%3Don"
    database = Database(DatabaseConfig(url=url, pool_size=1, statement_timeout_ms=4321))
    try:
        async with database.driver() as conn:
            assert await one(conn, "SHOW work_mem") == "7MB"
            assert await one(conn, "SHOW jit") == "on"  # the operator's choice wins
            assert await one(conn, "SHOW statement_timeout") == "4321ms"
        async with database.read() as engine_conn:
            found = (await engine_conn.execute(text("SHOW work_mem"))).scalar()
            timeout = (await engine_conn.execute(text("SHOW statement_timeout"))).scalar()
        assert (found, timeout) == ("7MB", "4321ms")
    finally:
        await database.dispose()
