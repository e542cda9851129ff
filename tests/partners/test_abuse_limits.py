"""Abuse limits: oversized operations are refused before validation, and a slow operation
answers with a coded error at the request deadline instead of hanging."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from gateway.app import create_app, database_from
from gateway.settings import Settings
from schema.partners.bounds import MAX_FIELDS, MAX_ROOT_FIELDS
from tests.conftest import GraphQL, gateway_settings, serve_in_thread


def aliases(count: int, field: str = "categories { slug }", name: str = "a") -> str:
    return "{ " + " ".join(f"{name}{i}: {field}" for i in range(count)) + " }"


@pytest.mark.parametrize("count", [5_000, 3_000, 800])
async def test_an_alias_flood_is_refused_cleanly(gql: GraphQL, count: int) -> None:
    body = await gql(aliases(count, "categories{slug}", "x"))
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "Traceback" not in error["message"]


async def test_root_fields_are_bounded_fragments_included(gql: GraphQL) -> None:
    fits = await gql(aliases(MAX_ROOT_FIELDS))
    assert "errors" not in fits and len(fits["data"]) == MAX_ROOT_FIELDS
    over = await gql(aliases(MAX_ROOT_FIELDS + 1))
    assert over["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    half = MAX_ROOT_FIELDS // 2 + 1
    spread = "query { ...A ...B } " + " ".join(
        f"fragment {name} on Query {{ {aliases(half, name=name)[2:-2]} }}" for name in "AB"
    )
    assert (await gql(spread))["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_fields_in_all_are_bounded(gql: GraphQL) -> None:
    wide = "{ categories { " + " slug" * MAX_FIELDS + " } }"
    error = (await gql(wide))["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert f"{MAX_FIELDS + 1} fields" in error["message"]


async def test_a_slow_operation_answers_at_the_deadline(
    settings: Settings, sql: psycopg.Connection[Any]
) -> None:
    quick = gateway_settings(
        settings.database_url, settings.elasticsearch_url, request_deadline_s=0.5
    )
    base_url, server, thread = serve_in_thread(create_app(quick))
    try:
        with psycopg.connect(settings.database_url) as locker:
            locker.execute("LOCK TABLE categories IN ACCESS EXCLUSIVE MODE")
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                answer = await http.post("/graphql", json={"query": "{ categories { slug } }"})
            locker.rollback()
        assert answer.status_code == 200
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "DEADLINE_EXCEEDED"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            again = await http.post("/graphql", json={"query": "{ categories { slug } }"})
        assert len(again.json()["data"]["categories"]) == 21, "the pool recovered"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_one_request_holds_at_most_its_share_of_the_pool(database_url: str) -> None:
    database = database_from(Settings(database_url=database_url, db_pool_size=4))
    request = database.limited(2)
    held, most = 0, 0

    async def read_once() -> None:
        nonlocal held, most
        async with request.read() as conn:
            held += 1
            most = max(most, held)
            await conn.execute(text("SELECT pg_sleep(0.01)"))
            held -= 1

    try:
        await asyncio.gather(*(read_once() for _ in range(20)))
        assert most == 2
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await database.dispose()


async def test_many_root_fields_share_the_requests_connections(gql: GraphQL) -> None:
    near = "{lat: 60.1699, lng: 24.9384}"
    fields = " ".join(
        f"n{i}: nearbyDeals(near: {near}, first: 1) {{ totalCount }}" for i in range(30)
    )
    data = await gql.data("{ " + fields + " }")
    totals = {data[f"n{i}"]["totalCount"] for i in range(30)}
    assert len(totals) == 1 and totals.pop() > 0
