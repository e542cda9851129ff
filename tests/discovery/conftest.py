"""Fixtures shared by the discovery tests that compare SQL statements directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from db.database import sqlalchemy_url


@pytest.fixture(scope="module")
async def conn(database_url: str) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection of the module's own (outside the gateway's pools)."""
    engine = create_async_engine(sqlalchemy_url(database_url))
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
    await engine.dispose()
