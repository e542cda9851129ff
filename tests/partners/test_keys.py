"""Partner keys over HTTP: keys from the CLI, query cost in extensions.cost, request and
cost budgets (429 + Retry-After) in real Redis, 401 for unknown or revoked keys, tools in
production, tiles, and serving on when Redis is down."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
import websockets

from tests.conftest import PRODUCTION_SECRETS, GraphQL, RunningServer, gateway_settings
from tests.helpers import HELSINKI
from tests.partners.fixtures import (
    WINDOW_S,
    RedisProcess,
    fresh_window,
    o2o,
    post,
    serve_gateway,
)

KEY_FORMAT = re.compile(r"^o2o_pk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")
TILE = "/tiles/deals/10/0/0.mvt"


def nearby(first: int, node: str = "title") -> str:
    return f"""{{ nearbyDeals(near: {{lat: {HELSINKI["lat"]}, lng: {HELSINKI["lng"]}}},
                               first: {first}) {{ totalCount edges {{ node {{ {node} }} }} }} }}"""


def error_code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def key_id(database_url: str, key: str) -> int:
    listing = o2o(database_url, "apikey", "list")
    assert listing.returncode == 0, listing.stderr
    lookup = key.split("_")[2]
    line = next(line for line in listing.stdout.splitlines() if f"o2o_pk_{lookup}_" in line)
    return int(line.split("\t")[0])


# --- keys from the command line -------------------------------------------------------


def test_cli_prints_a_key_once_and_stores_only_its_hash(
    make_key: Callable[..., str], database_url: str, sql: psycopg.Connection[Any]
) -> None:
    created = o2o(
        database_url, "apikey", "create", "--name", "Acme Maps", "--rate", "7", "--cost", "70"
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert KEY_FORMAT.match(key)
    assert make_key(name="Acme Maps") != key
    row = sql.execute(
        "SELECT name, lookup, key_hash, rate_per_minute, cost_per_minute, revoked_at"
        " FROM api_keys WHERE lookup = %s",
        [key.split("_")[2]],
    ).fetchone()
    assert row is not None
    assert row[0] == "Acme Maps" and row[3:] == (7, 70, None)
    assert bytes(row[2]) == hashlib.sha256(key.encode()).digest()
    secret = key.split("_", 3)[3]
    assert secret not in str(row[:2])
    listing = o2o(database_url, "apikey", "list")
    assert "Acme Maps" in listing.stdout and secret not in listing.stdout


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--name", "x", "--rate", "0"], "rate"),
        (["--name", "x", "--cost", "-5"], "cost"),
        (["--name", " "], "name"),
    ],
)
def test_cli_refuses_bad_limits_with_one_line(
    database_url: str, args: list[str], reason: str
) -> None:
    done = o2o(database_url, "apikey", "create", *args)
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and reason in done.stderr


# --- query cost -------------------------------------------------------------------------


async def test_every_response_reports_the_documented_cost(gql: GraphQL) -> None:
    async def cost(query: str, variables: dict[str, Any] | None = None) -> int:
        body = await gql(query, variables)
        return int(body["extensions"]["cost"])

    assert await cost("{ categories { slug } }") == 1
    assert await cost("{ __typename }") == 0
    assert await cost(nearby(5)) == 1 + 5 * 2
    assert await cost(nearby(5)) == 11  # the same query costs the same
    assert await cost(nearby(10)) == 1 + 10 * 2
    assert await cost(nearby(10, "title merchant { name }")) == 1 + 10 * 3  # deeper costs more
    near = "{lat: 60.17, lng: 24.94}"
    assert await cost(f"{{ nearbyDeals(near: {near}) {{ edges {{ node {{ id }} }} }} }}") == 41
    by_variable = f"""query ($n: Int = 4) {{ nearbyDeals(near: {near}, first: $n) {{
                        edges {{ node {{ id }} }} }} }}"""
    assert await cost(by_variable) == 9
    assert await cost(by_variable, {"n": 7}) == 15
    fragment = f"""{{ nearbyDeals(near: {near}, first: 5) {{ ...E }} }}
                   fragment E on NearbyDealConnection {{ edges {{ node {{ title }} }} }}"""
    assert await cost(fragment) == 11
    # errors report the cost too: a resolver's refusal, and 0 when nothing could run
    refused = await gql(nearby(1000))
    assert error_code(refused) == "BAD_USER_INPUT" and refused["extensions"]["cost"] == 2001
    invalid = await gql("{ nearbyDeals { nope } }")
    assert error_code(invalid) == "GRAPHQL_VALIDATION_FAILED"
    assert invalid["extensions"]["cost"] == 0


async def test_too_costly_operations_are_refused_for_everybody_before_any_sql(
    gql: GraphQL, server: RunningServer
) -> None:
    query = nearby(100, "merchant { deals(first: 100) { edges { node { title } } } }")
    server.statements.clear()
    response = await gql.raw(query)
    body = response.json()
    assert response.status_code == 200 and body["data"] is None
    assert error_code(body) == "QUERY_TOO_COSTLY"
    assert body["errors"][0]["extensions"]["maxCost"] == 10_000
    assert body["extensions"]["cost"] == 1 + 100 * (1 + 1 + 1 + 1 + 100 * 2)
    assert server.statements.count() == 0


# --- budgets of a key -------------------------------------------------------------------


async def test_a_key_over_its_rate_gets_429_with_retry_after(
    keys_client: httpx.AsyncClient, make_key: Callable[..., str]
) -> None:
    key, other = make_key(rate=3), make_key(rate=3)
    await fresh_window()
    for _ in range(3):
        ok = await post(keys_client, "{ categories { slug } }", key)
        assert ok.status_code == 200 and ok.json()["extensions"]["cost"] == 1
    refused = await post(keys_client, "{ categories { slug } }", key)
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_S
    body = refused.json()
    assert error_code(body) == "RATE_LIMITED" and body["extensions"]["cost"] == 0
    assert body["errors"][0]["extensions"]["retryAfter"] == retry_after
    # each key has its own budget
    assert (await post(keys_client, "{ categories { slug } }", other)).status_code == 200
    await asyncio.sleep(retry_after)
    assert (await post(keys_client, "{ categories { slug } }", key)).status_code == 200


async def test_a_key_over_its_cost_budget_gets_429(
    keys_client: httpx.AsyncClient, make_key: Callable[..., str]
) -> None:
    key = make_key(rate=100, cost=25)
    await fresh_window()
    for _ in range(2):
        ok = await post(keys_client, nearby(5), key)
        assert ok.status_code == 200 and ok.json()["extensions"]["cost"] == 11
    refused = await post(keys_client, nearby(5), key)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_S
    body = refused.json()
    assert error_code(body) == "RATE_LIMITED" and body["data"] is None
    assert body["extensions"]["cost"] == 11
    # the budget left (3) still admits a cheaper query
    assert (await post(keys_client, "{ categories { slug } }", key)).status_code == 200
    # more than the whole budget can never pass: a clear error, not an endless 429
    too_big = await post(keys_client, nearby(15), key)
    assert too_big.status_code == 200 and error_code(too_big.json()) == "QUERY_TOO_COSTLY"
    assert too_big.json()["errors"][0]["extensions"]["maxCost"] == 25


async def test_unknown_malformed_and_revoked_keys_are_401(
    keys_client: httpx.AsyncClient, make_key: Callable[..., str], database_url: str
) -> None:
    key = make_key()
    assert (await post(keys_client, "{ categories { slug } }", key)).status_code == 200
    revoked = o2o(database_url, "apikey", "revoke", str(key_id(database_url, key)))
    assert revoked.returncode == 0, revoked.stderr
    again = o2o(database_url, "apikey", "revoke", str(key_id(database_url, key)))
    assert again.returncode == 1 and "no unrevoked key" in again.stderr
    unknown = "o2o_pk_000000000000_" + "A" * 43
    forged = key[:-1] + ("B" if key[-1] != "B" else "C")
    for bad in (key, unknown, forged, "not-a-key", "x" * 5000):
        response = await post(keys_client, "{ categories { slug } }", bad)
        assert response.status_code == 401, bad
        assert error_code(response.json()) == "UNAUTHENTICATED"
        tile = await keys_client.get(TILE, headers={"X-API-Key": bad})
        assert tile.status_code == 401 and error_code(tile.json()) == "UNAUTHENTICATED"


async def test_anonymous_callers_have_a_per_client_rate(keys_client: httpx.AsyncClient) -> None:
    await fresh_window()
    statuses = [(await post(keys_client, "{ __typename }")).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


async def test_tiles_count_against_the_key(
    keys_client: httpx.AsyncClient, make_key: Callable[..., str]
) -> None:
    by_rate, by_cost = make_key(rate=2), make_key(rate=100, cost=2)
    for key in (by_rate, by_cost):
        await fresh_window()
        for _ in range(2):
            tile = await keys_client.get(TILE, headers={"X-API-Key": key})
            assert tile.status_code == 200 and tile.headers["X-Query-Cost"] == "1"
        refused = await keys_client.get(TILE, headers={"X-API-Key": key})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_S
        assert error_code(refused.json()) == "RATE_LIMITED"


async def test_websocket_with_a_bad_key_is_refused(keys_gateway: str) -> None:
    url = keys_gateway.replace("http://", "ws://") + "/graphql"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers={"X-API-Key": "o2o_pk_000000000000_" + "A" * 43},
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_websocket_operations_count_against_the_key(
    keys_gateway: str, make_key: Callable[..., str]
) -> None:
    key = make_key(rate=2)
    url = keys_gateway.replace("http://", "ws://") + "/graphql"
    await fresh_window()
    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers={"X-API-Key": key},
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        codes = []
        for number in range(3):
            payload = {"query": "{ categories { slug } }"}
            await ws.send(json.dumps({"id": str(number), "type": "subscribe", "payload": payload}))
            message = json.loads(await ws.recv())
            if message["type"] == "next":  # executed: its result, then complete
                assert "errors" not in message["payload"]
                assert json.loads(await ws.recv())["type"] == "complete"
                codes.append("OK")
            else:  # refused before execution: graphql-transport-ws sends an error message
                assert message["type"] == "error"
                codes.append(message["payload"][0]["extensions"]["code"])
    assert codes == ["OK", "OK", "RATE_LIMITED"]


# --- production tools, Redis down -----------------------------------------------------------


async def test_production_gives_introspection_and_the_playground_to_partners_only(
    settings: Any, make_key: Callable[..., str]
) -> None:
    key = make_key()
    production = gateway_settings(
        settings.database_url,
        settings.elasticsearch_url,
        o2o_env="production",
        **PRODUCTION_SECRETS,
    )
    for base_url in serve_gateway(production):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            introspect = "{ __schema { queryType { name } } }"
            anonymous = (await post(http, introspect)).json()
            assert "introspection" in anonymous["errors"][0]["message"].lower()
            partner = await post(http, introspect, key)
            assert partner.json()["data"]["__schema"]["queryType"]["name"] == "Query"
            html = {"Accept": "text/html"}
            page = await http.get("/graphql", headers=html)
            assert page.status_code == 404 and "graphiql" not in page.text.lower()
            page = await http.get("/graphql", headers={**html, "X-API-Key": key})
            assert page.status_code == 200 and "graphiql" in page.text.lower()
            data = (await post(http, "{ categories { slug } }")).json()["data"]
            assert len(data["categories"]) == 21


async def test_without_redis_the_gateway_serves_unlimited_and_says_so(
    redisless_gateway: str, make_key: Callable[..., str]
) -> None:
    key = make_key(rate=1, cost=1)
    async with httpx.AsyncClient(base_url=redisless_gateway, timeout=30) as http:
        for _ in range(3):  # anonymous rate 1 and key rate 1: not enforced, still served
            anonymous = await post(http, nearby(2))
            assert anonymous.status_code == 200 and anonymous.json()["extensions"]["cost"] == 5
            assert (await post(http, "{ categories { slug } }", key)).status_code == 200
            assert (await http.get(TILE, headers={"X-API-Key": key})).status_code == 200
        bad = await post(http, "{ categories { slug } }", "o2o_pk_000000000000_" + "A" * 43)
        assert bad.status_code == 401
        ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["limits"] == "not enforced"


async def test_readyz_says_limits_are_enforced(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["limits"] == "enforced"


async def test_limits_fail_open_while_redis_is_down_and_return_with_it(
    settings: Any, make_key: Callable[..., str], private_redis: RedisProcess
) -> None:
    key = make_key(rate=1)
    gateway = gateway_settings(
        settings.database_url,
        settings.elasticsearch_url,
        redis_url=private_redis.url,
        rate_limit_window_seconds=WINDOW_S,
    )
    query = "{ categories { slug } }"
    for base_url in serve_gateway(gateway):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            await fresh_window()
            statuses = [(await post(http, query, key)).status_code for _ in range(2)]
            assert statuses == [200, 429]
            private_redis.stop()
            for _ in range(3):
                served = await post(http, query, key)
                assert served.status_code == 200 and served.json()["extensions"]["cost"] == 1
            assert (await http.get("/readyz")).json()["limits"] == "not enforced"
            private_redis.start()  # empty: the counts start again
            await asyncio.sleep(1.1)  # the limiter leaves a failed Redis alone for a second
            await fresh_window()
            statuses = [(await post(http, query, key)).status_code for _ in range(2)]
            assert statuses == [200, 429]
            assert (await http.get("/readyz")).json()["limits"] == "enforced"
