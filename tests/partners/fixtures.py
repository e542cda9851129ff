"""Fixtures of the partner-key tests: keys made as the CLI makes them, gateways with short
rate-limit windows (or without a reachable Redis), and clean-up of this session's counters."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis

from commerce.partners import keys
from gateway.app import create_app, database_from
from gateway.settings import Settings
from tests.conftest import LIMIT_PREFIX, free_port, gateway_settings, serve_in_thread

WINDOW_S = 3  # the keys gateways count in 3-second windows, so tests never wait a minute


def o2o(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``o2o`` command line against the test database."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="session")
def make_key(database_url: str) -> Callable[..., str]:
    """Keys made by the function behind ``o2o apikey create`` (the command line itself is
    tested in ``test_keys``): a process per key cost seconds of start-up on a busy machine."""

    def make(name: str = "test partner", rate: int = 100, cost: int = 100_000) -> str:
        async def create() -> str:
            database = database_from(Settings(database_url=database_url))
            try:
                return (await keys.create_key(database, name, rate, cost)).secret
            finally:
                await database.dispose()

        # a thread of its own: the caller may be a coroutine with its loop running
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, create()).result(timeout=60)

    return make


@pytest.fixture(scope="session", autouse=True)
def _forget_this_sessions_counters() -> Iterator[None]:
    yield
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        names = list(client.scan_iter(match=f"{LIMIT_PREFIX}:*", count=1000))
        if names:
            client.delete(*names)
    except redis.RedisError:
        pass  # nothing to clean when Redis is not there
    finally:
        client.close()


def serve_gateway(settings: Settings) -> Iterator[str]:
    app = create_app(settings)
    base_url, server, thread = serve_in_thread(app)
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def keys_gateway(settings: Settings) -> Iterator[str]:
    """A gateway counting in short windows; anonymous callers limited to 5 requests each."""
    yield from serve_gateway(
        gateway_settings(
            settings.database_url,
            settings.elasticsearch_url,
            rate_limit_window_seconds=WINDOW_S,
            anonymous_rate_per_minute=5,
            max_query_cost=2000,
        )
    )


@pytest.fixture(scope="session")
def redisless_gateway(settings: Settings) -> Iterator[str]:
    """A gateway whose Redis is unreachable (nothing listens on the port)."""
    yield from serve_gateway(
        gateway_settings(
            settings.database_url,
            settings.elasticsearch_url,
            redis_url=f"redis://127.0.0.1:{free_port()}/0",
            anonymous_rate_per_minute=1,
        )
    )


@pytest.fixture
async def keys_client(keys_gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=keys_gateway, timeout=30) as http:
        yield http


def window_left_wait(at_least_s: float) -> float:
    """Seconds to sleep so that this window has ``at_least_s`` left (0 when it has)."""
    left = WINDOW_S - time.time() % WINDOW_S
    return left + 0.01 if left < at_least_s else 0.0


async def fresh_window(at_least_s: float = 2.0) -> None:
    """Wait until this window has ``at_least_s`` left, so a burst of requests is counted
    in one window (the gateway runs in this process: same clock)."""
    await asyncio.sleep(window_left_wait(at_least_s))


async def post(
    http: httpx.AsyncClient, query: str, key: str | None = None, **variables: Any
) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code < 500, response.text
    return response


class RedisProcess:
    """A private ``redis-server`` on a free port that a test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    yield server
    server.stop()
