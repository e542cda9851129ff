"""Session fixtures: a real PostGIS database built by the migrations and seeded, and the
gateway served by uvicorn on a free port, so every test talks HTTP to a real stack."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from osmem_server import OsmemServer
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import event
from starlette.applications import Starlette

from commerce.discovery.indexing import reindex
from db.migrate import upgrade
from gateway.app import create_app, database_from, search_index_from
from gateway.record import CURRENT
from gateway.settings import Settings
from seed.load import seed_demo

pytest_plugins = [
    "tests.orders.fixtures",
    "tests.partners.fixtures",
    "tests.merchants.deal_helpers",
]


def _worker_database_url() -> str:
    """The test database of this process: under pytest-xdist (``-n``) each worker gets its
    own, suffixed with the worker id, since session fixtures reseed and tests own rows."""
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/o2o_test")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{url}_{worker}" if worker else url


TEST_DATABASE_URL = _worker_database_url()
# Rate-limit counters of this session live under their own Redis prefix (parallel runs).
LIMIT_PREFIX = f"o2o-test-{uuid.uuid4().hex[:12]}"


def recreate_database(url: str) -> None:
    """Drop and create the database named in ``url`` (connecting to ``postgres``)."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture(scope="session")
def database_url() -> str:
    recreate_database(TEST_DATABASE_URL)
    upgrade(TEST_DATABASE_URL)
    settings = Settings(database_url=TEST_DATABASE_URL)

    async def seed() -> None:
        database = database_from(settings)
        try:
            await seed_demo(database)
        finally:
            await database.dispose()

    asyncio.run(seed())
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def sql(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A plain autocommit connection for brute-force checks and test-owned rows."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@dataclass
class StatementLog:
    """The SQL statements a gateway ran: the engine's, as text, and those on its driver
    connections (``Database.driver``), by the one statement each lending carries."""

    drivers: AsyncConnectionPool[Any]
    statements: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    lent_before: int = 0

    def record(self, statement: str) -> None:
        with self.lock:
            self.statements.append(statement)

    def clear(self) -> None:
        with self.lock:
            self.statements.clear()
            self.lent_before = self._lent()

    def count(self) -> int:
        with self.lock:
            return len(self.statements) + self.driver_count()

    def driver_count(self) -> int:
        return self._lent() - self.lent_before

    def _lent(self) -> int:
        return self.drivers.get_stats().get("requests_num", 0)


@dataclass
class RunningServer:
    base_url: str
    app: Starlette
    statements: StatementLog


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_in_thread(app: Starlette) -> tuple[str, uvicorn.Server, threading.Thread]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture(scope="session")
def search_server() -> Iterator[OsmemServer]:
    """One in-memory Elasticsearch-API server for the session, on a free port."""
    server = OsmemServer.start(japanese=False)
    yield server
    server.close()


# Production refuses development secrets: production-profile tests run with these.
PRODUCTION_SECRETS: dict[str, Any] = {
    "jwt_secret": "test-production-jwt-secret-of-at-least-32-bytes",
    "voucher_secret": "test-production-voucher-secret-of-32-bytes-or-more",
}


def gateway_settings(database_url: str, search_url: str, **overrides: Any) -> Settings:
    """Settings of a test gateway; the outbox is published by the tests themselves."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "elasticsearch_url": search_url,
        "elasticsearch_plain_json": True,
        "search_index_prefix": "o2o-test",
        "search_sync": False,
        # the in-memory server answers slowly while it indexes on a busy CI machine
        "search_timeout_s": 10.0,
        "db_pool_size": 5,
        "rate_limit_prefix": LIMIT_PREFIX,
        "persisted_query_prefix": f"{LIMIT_PREFIX}:pq",
        "anonymous_rate_per_minute": 0,  # the suite sends thousands of requests from one IP
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(database_url: str, search_server: OsmemServer) -> Settings:
    settings = gateway_settings(database_url, search_server.url)

    async def build_index() -> None:
        database, index = database_from(settings), search_index_from(settings)
        try:
            await reindex(database, index)
        finally:
            await index.client.close()
            await database.dispose()

    asyncio.run(build_index())
    return settings


@pytest.fixture(scope="session")
def server(settings: Settings) -> Iterator[RunningServer]:
    app = create_app(settings)
    log = StatementLog(app.state.database.drivers)

    @event.listens_for(app.state.database.engine.sync_engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # a request's statements only: not those of background tasks (the funnel's flush,
        # the hold sweeper), which may fall between a test's clear() and count()
        if CURRENT.get() is not None:
            log.record(statement)

    base_url, uvicorn_server, thread = serve_in_thread(app)
    yield RunningServer(base_url=base_url, app=app, statements=log)
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def dead_database_server(settings: Settings) -> Iterator[str]:
    """A gateway whose PostgreSQL is unreachable (nothing listens on the port)."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app(
        gateway_settings(url, settings.elasticsearch_url, db_pool_size=1),
        warm_up=False,
    )
    base_url, uvicorn_server, thread = serve_in_thread(app)
    yield base_url
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        yield http


class GraphQL:
    """Posts GraphQL over HTTP and checks the transport-level promises on every call."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text
        return response

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = (await self.raw(query, variables, **headers)).json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self(query, variables)
        assert body.get("errors"), body
        error: dict[str, Any] = body["errors"][0]
        return error


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    return GraphQL(client)
