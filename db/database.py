"""The one owner of PostgreSQL connections: an async engine on psycopg 3 with timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def sqlalchemy_url(libpq_url: str) -> str:
    """Turn a libpq URL (``postgresql://...``) into SQLAlchemy's psycopg 3 dialect URL."""
    url = make_url(libpq_url)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url.drivername}://")


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str
    pool_size: int = 10
    max_overflow: int = 10
    statement_timeout_ms: int = 5000
    pool_timeout_s: float = 5.0


class Database:
    """Owns the engine; every query in the process borrows a pooled connection from here."""

    def __init__(self, config: DatabaseConfig) -> None:
        self._config = config
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(config.url),
            pool_size=config.pool_size,
            max_overflow=config.max_overflow,
            pool_pre_ping=False,
            pool_recycle=1800,
            pool_timeout=config.pool_timeout_s,
            connect_args={
                "options": f"-c statement_timeout={config.statement_timeout_ms}",
                "connect_timeout": 5,
                "application_name": "o2o-gateway",
            },
        )
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._gate: asyncio.Semaphore | None = None  # set on a request's view (``limited``)

    def limited(self, connections: int) -> Database:
        """The same pool, seen by one request: at most ``connections`` of its connections at
        once, so no single request (say, thousands of aliased root fields) can starve the
        pool for everybody else; the request's other reads wait their turn."""
        view = copy.copy(self)
        view._gate = asyncio.Semaphore(connections)
        return view

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for single-statement reads, in autocommit: no BEGIN/ROLLBACK trips."""
        async with self._turn(), self._reader.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        async with self._turn(), self.engine.begin() as conn:
            yield conn

    def _turn(self) -> asyncio.Semaphore | contextlib.nullcontext[None]:
        return self._gate if self._gate is not None else contextlib.nullcontext()

    async def ping(self) -> None:
        """Raise if PostgreSQL cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def warm_up(self) -> None:
        """Open the pool's connections now: a fresh connection's first query is slow."""
        conns = [await self.engine.connect() for _ in range(self._config.pool_size)]
        for conn in conns:
            await conn.execute(text("SELECT 1"))
        for conn in conns:
            await conn.close()

    async def dispose(self) -> None:
        await self.engine.dispose()
