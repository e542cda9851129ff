"""Abuse limits: oversized operations are refused before validation, and a slow operation
answers with a coded error at the request deadline instead of hanging."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from gateway.app import create_app
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
