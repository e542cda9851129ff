"""Two real gateway processes (``python -m gateway.cli serve``) on one database, and a
subscriber that is the npm ``graphql-ws`` client (tests/service/clients/sub_client.mjs)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from osmem_server import OsmemServer

from tests.conftest import LIMIT_PREFIX, GraphQL, free_port
from tests.orders.fixtures import Caller, Shop, token

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tests" / "service" / "clients"
# small limits, so the limit tests need few connections
MAX_SUBSCRIPTIONS_PER_CONNECTION = 3
MAX_CONNECTIONS_PER_CALLER = 2


@dataclass
class Gateway:
    """One ``o2o serve`` process."""

    name: str
    base_url: str
    process: subprocess.Popen[bytes]

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.base_url}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        raise AssertionError(f"{name} is not in /metrics of {self.name}")

    async def wait_metric(self, name: str, value: float, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while (found := await asyncio.to_thread(self.metric, name)) != value:
            assert time.monotonic() < deadline, f"{self.name}: {name} is {found}, not {value}"
            await asyncio.sleep(0.05)


def start_gateway(name: str, database_url: str, search_url: str) -> Gateway:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SEARCH_SYNC": "false",
        "ELASTICSEARCH_URL": search_url,
        "ELASTICSEARCH_PLAIN_JSON": "true",
        "SEARCH_INDEX_PREFIX": "o2o-test",
        "ANONYMOUS_RATE_PER_MINUTE": "0",
        "RATE_LIMIT_PREFIX": LIMIT_PREFIX,
        "DB_POOL_SIZE": "4",
        "LOG_LEVEL": "WARNING",
        "MAX_SUBSCRIPTIONS_PER_CONNECTION": str(MAX_SUBSCRIPTIONS_PER_CONNECTION),
        "MAX_WS_CONNECTIONS_PER_CALLER": str(MAX_CONNECTIONS_PER_CALLER),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    gateway = Gateway(name, f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"gateway {name} exited with {process.returncode}"
        try:
            if httpx.get(f"{gateway.base_url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"gateway {name} did not answer /healthz"
        time.sleep(0.1)
    return gateway


def stop_gateway(gateway: Gateway) -> None:
    gateway.process.terminate()
    try:
        gateway.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        gateway.process.wait(timeout=5)


@pytest.fixture(scope="session")
def gateways(database_url: str, search_server: OsmemServer) -> Iterator[tuple[Gateway, Gateway]]:
    """Processes A (where clients subscribe) and B (where the writes happen)."""
    first = start_gateway("A", database_url, search_server.url)
    try:
        second = start_gateway("B", database_url, search_server.url)
    except BaseException:
        stop_gateway(first)
        raise
    yield first, second
    for gateway in (first, second):
        stop_gateway(gateway)


@pytest.fixture
async def on_b(gateways: tuple[Gateway, Gateway]) -> AsyncIterator[GraphQL]:
    """GraphQL over HTTP to process B."""
    async with httpx.AsyncClient(base_url=gateways[1].base_url, timeout=30) as http:
        yield GraphQL(http)


@pytest.fixture
async def quiet_a(gateways: tuple[Gateway, Gateway]) -> Gateway:
    """Process A with no subscription left over from an earlier test."""
    await gateways[0].wait_metric("o2o_live_subscriptions", 0)
    return gateways[0]


def customer_on(gql: GraphQL) -> Caller:
    subject = f"user-{uuid.uuid4().hex[:10]}"
    return Caller(gql, token(subject), subject)


def staff_on(gql: GraphQL, shop: Shop) -> Caller:
    subject = f"staff-{uuid.uuid4().hex[:10]}"
    return Caller(gql, token(subject, "merchant", shop.merchant_id), subject)


@dataclass
class Subscriber:
    """A running ``sub_client.mjs``: the npm graphql-ws client on one connection."""

    process: asyncio.subprocess.Process
    lines: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        gateway: Gateway,
        *subscriptions: dict[str, Any],
        connection_params: dict[str, Any] | None = None,
        events: int = 0,
        timeout_ms: int = 15_000,
    ) -> Subscriber:
        executable = shutil.which("node")
        assert executable, "Node.js is needed for the live tests (./dev.sh installs it)"
        assert (CLIENTS / "node_modules").is_dir(), "run: npm ci --prefix tests/service/clients"
        process = await asyncio.create_subprocess_exec(
            executable,
            str(CLIENTS / "sub_client.mjs"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=CLIENTS,
        )
        spec = {
            "url": gateway.ws_url,
            "connectionParams": connection_params,
            "subscriptions": list(subscriptions),
            "events": events,
            "timeoutMs": timeout_ms,
        }
        assert process.stdin is not None
        process.stdin.write(json.dumps(spec).encode())
        await process.stdin.drain()
        process.stdin.close()
        return cls(process)

    async def line(self, kind: str | None = None, timeout_s: float = 10.0) -> dict[str, Any]:
        """The next printed line (of ``kind``, skipping others); fails after ``timeout_s``."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {kind or 'line'} within {timeout_s} s: {self.lines}"
            raw = await asyncio.wait_for(self.process.stdout.readline(), remaining)
            assert raw, f"the client ended before a {kind or 'line'}: {self.lines}"
            found: dict[str, Any] = json.loads(raw)
            self.lines.append(found)
            if kind is None or found["type"] == kind:
                return found

    async def nothing_for(self, seconds: float) -> None:
        """Fail if a message arrives within ``seconds`` (the client's own end is fine)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.process.stdout.readline(), remaining)
            except TimeoutError:
                return
            if not raw:
                return
            found = json.loads(raw)
            self.lines.append(found)
            assert found["type"] in ("done", "closed"), f"unexpected: {found}"

    async def rest(self, timeout_s: float = 20.0) -> list[dict[str, Any]]:
        """Every line until the client is done."""
        found = []
        while True:
            line = await self.line(timeout_s=timeout_s)
            found.append(line)
            if line["type"] == "done":
                return found

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


@pytest.fixture
async def subscribers() -> AsyncIterator[list[Subscriber]]:
    """Subscribers a test starts; killed when it ends."""
    running: list[Subscriber] = []
    yield running
    for subscriber in running:
        await subscriber.close()
