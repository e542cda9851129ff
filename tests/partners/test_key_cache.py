"""The process's cache of partner keys against the real database: a found key is served
without a lookup, and a revocation (or a direct ``UPDATE``/``DELETE``) reaches every
gateway process through LISTEN, so none of them admits the key again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import gateway_settings, serve_in_thread
from tests.partners.fixtures import o2o, post
from tests.partners.test_keys import error_code, key_id

QUERY = "{ categories { slug } }"


@pytest.fixture(scope="module")
def two_gateways(settings: Settings) -> Iterator[list[tuple[str, Starlette]]]:
    """Two gateway processes' apps on one database, each with its own key cache."""
    served = []
    for _ in range(2):
        # small pools: the suite runs many gateways against one PostgreSQL
        app = create_app(
            gateway_settings(settings.database_url, settings.elasticsearch_url, db_pool_size=2)
        )
        base_url, server, thread = serve_in_thread(app)
        served.append((base_url, app, server, thread))
    yield [(base_url, app) for base_url, app, _server, _thread in served]
    for _base_url, _app, server, thread in served:
        server.should_exit = True
        thread.join(timeout=10)


async def heard_since(app: Starlette, generation: int) -> None:
    """Wait (bounded) until the app's listener has handed a key change to its cache."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if app.state.keys.generation != generation:
            return
        await asyncio.sleep(0.01)


async def test_a_found_key_is_served_from_the_cache_and_revocation_reaches_every_process(
    two_gateways: list[tuple[str, Starlette]], make_key: Callable[..., str], database_url: str
) -> None:
    key = make_key("cache test")
    for base_url, app in two_gateways:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            hits = app.state.keys.hits
            for _ in range(3):
                assert (await post(http, QUERY, key)).status_code == 200
            assert app.state.keys.hits == hits + 2  # one lookup, then the cache
    generations = [app.state.keys.generation for _base_url, app in two_gateways]
    revoked = o2o(database_url, "apikey", "revoke", str(key_id(database_url, key)))
    assert revoked.returncode == 0, revoked.stderr
    for (base_url, app), generation in zip(two_gateways, generations, strict=True):
        await heard_since(app, generation)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            refused = await post(http, QUERY, key)
        assert refused.status_code == 401
        assert error_code(refused.json()) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE api_keys SET rate_per_minute = 1 WHERE id = %s",
        "UPDATE api_keys SET revoked_at = now() WHERE id = %s",
        "DELETE FROM api_keys WHERE id = %s",
    ],
)
async def test_a_change_made_in_sql_is_heard_by_every_process(
    two_gateways: list[tuple[str, Starlette]],
    make_key: Callable[..., str],
    database_url: str,
    change: str,
) -> None:
    key = make_key("cache sql test", rate=1000)
    for base_url, _app in two_gateways:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            ok = await post(http, QUERY, key)
        assert ok.status_code == 200 and ok.headers["RateLimit-Limit"] == "1000"
    generations = [app.state.keys.generation for _base_url, app in two_gateways]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(change, (key_id(database_url, key),))
    for (base_url, app), generation in zip(two_gateways, generations, strict=True):
        await heard_since(app, generation)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            answer = await post(http, QUERY, key)
        if change.startswith("UPDATE api_keys SET rate"):
            assert answer.headers["RateLimit-Limit"] == "1"  # the new limit, not the cached one
        else:
            assert answer.status_code == 401
