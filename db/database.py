"""The one owner of PostgreSQL connections: an async engine on psycopg 3 with timeouts, and
beside it a small pool of bare psycopg connections on generic plans for the hot paths' one
read statement (the nearby and search pages: no SQLAlchemy connection, execution or pool
wrappers around them)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from opentelemetry.trace import SpanKind, Tracer
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def sqlalchemy_url(libpq_url: str) -> str:
    """Turn a libpq URL (``postgresql://...``) into SQLAlchemy's psycopg 3 dialect URL."""
    url = make_url(libpq_url)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url.drivername}://")


def server_options(libpq_url: str, statement_timeout_ms: int) -> str:
    """The ``options`` every connection opens with: JIT off, then the URL's own ``?options=``
    (else libpq's ``PGOPTIONS``, so either may turn JIT back on), then our statement timeout.
    Passed as a keyword, ``options`` replaces both, so without this an operator's session
    settings would be dropped silently.

    JIT: the gateway's statements are short, and PostgreSQL compiled the map layer's larger
    plans for about 100 ms each time a connection planned one (p99 82 ms at zoom 3 with JIT,
    22 ms without; ``bench/README.md``)."""
    given = make_url(libpq_url).query.get("options") or os.environ.get("PGOPTIONS", "")
    if isinstance(given, tuple):  # the parameter repeated in the URL
        given = " ".join(given)
    parts = ("-c jit=off", given, f"-c statement_timeout={statement_timeout_ms}")
    return " ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str
    pool_size: int = 10
    max_overflow: int = 10
    statement_timeout_ms: int = 5000
    pool_timeout_s: float = 5.0
    driver_pool_size: int | None = None  # None: pool_size; opened on first use


DriverConnection = psycopg.AsyncConnection  # what ``Database.driver`` lends
APPLICATION_NAME = "o2o-gateway"  # what pg_stat_activity shows (the bench reads it)


class Database:
    """Owns the engine; every query in the process borrows a pooled connection from here."""

    def __init__(self, config: DatabaseConfig) -> None:
        self._config = config
        connect_args: dict[str, Any] = {
            "options": server_options(config.url, config.statement_timeout_ms),
            "connect_timeout": 5,
            "application_name": APPLICATION_NAME,
        }
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(config.url),
            pool_size=config.pool_size,
            max_overflow=config.max_overflow,
            pool_pre_ping=False,
            pool_recycle=1800,
            pool_timeout=config.pool_timeout_s,
            connect_args=connect_args,
        )
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._gate: asyncio.Semaphore | None = None  # set on a request's view (``limited``)
        self.drivers = _driver_pool(config, self.engine, connect_args)
        # spans of the driver connections' statements when the gateway is traced (the
        # engine's come from its SQLAlchemy instrumentation): ``gateway.tracing``
        self.driver_tracer: Tracer | None = None
        self._database_name = make_url(config.url).database or ""

    def limited(self, connections: int) -> Database:
        """The same pool, seen by one request: at most ``connections`` of its connections at
        once, so no single request (say, thousands of aliased root fields) can starve the
        pool for everybody else; the request's other reads wait their turn."""
        view = object.__new__(Database)  # copy.copy's reduce protocol costs ~5 us a request
        view.__dict__.update(self.__dict__)
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

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[DriverConnection[Any]]:
        """A bare psycopg connection in autocommit, for one read statement run on it directly
        (the nearby and search pages, see ``geo.nearby.on_generic_plan``). Same server
        settings as the engine's connections (statement timeout, application name,
        SQLAlchemy's type adapters); at most ``driver_pool_size`` of them, opened on first
        use; a broken one is replaced when it is given back."""
        async with self._turn():
            if self.drivers.closed:
                await self.drivers.open()
            with self._driver_span():
                # getconn/putconn, not ``connection()``: its ``async with conn`` commits, a
                # no-op in autocommit that still costs a lock and a generator per request
                conn = await self.drivers.getconn(self._config.pool_timeout_s)
                try:
                    yield conn
                finally:
                    await self.drivers.putconn(conn)

    def _driver_span(self) -> contextlib.AbstractContextManager[Any]:
        """A client span for the lending's statement, as the engine's instrumentation names
        them, when traced; nothing otherwise."""
        if self.driver_tracer is None:
            return contextlib.nullcontext()
        return self.driver_tracer.start_as_current_span(
            f"SELECT {self._database_name}",
            kind=SpanKind.CLIENT,
            attributes={"db.system": "postgresql", "db.name": self._database_name},
        )

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
        await self.drivers.close()
        await self.engine.dispose()


def _driver_pool(
    config: DatabaseConfig, engine: AsyncEngine, connect_args: dict[str, Any]
) -> AsyncConnectionPool[DriverConnection[Any]]:
    """The driver connections' pool, closed until the first :meth:`Database.driver`."""
    size = config.driver_pool_size or config.pool_size
    libpq = make_url(sqlalchemy_url(config.url)).set(drivername="postgresql")
    # the adapters the engine's connections get (SQLAlchemy's psycopg dialect), so a value
    # reads the same on both kinds of connection
    adapters = getattr(engine.dialect, "_psycopg_adapters_map", None)
    # Generic plans: the compiled operations' statements are few, prepared, and planned per
    # execution under ``auto`` when PostgreSQL misjudges the generic plan (the KNN page at 1M
    # stores); a statement that needs custom plans asks for them (``geo.nearby``).
    options = f"{connect_args['options']} -c plan_cache_mode=force_generic_plan"
    return AsyncConnectionPool(
        libpq.render_as_string(hide_password=False),
        kwargs={**connect_args, "options": options, "autocommit": True, "context": adapters},
        min_size=0,
        max_size=size,
        open=False,
        timeout=config.pool_timeout_s,
        max_lifetime=1800,  # the engine's pool_recycle
        name="o2o-driver",
    )
