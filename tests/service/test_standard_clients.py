"""Clients written by others against the live gateway: npm ``graphql-ws`` and the
``graphql-http`` conformance audit (both pinned in tests/service/clients/package-lock.json)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer
from tests.orders.fixtures import ShopFactory, token

CLIENTS = Path(__file__).resolve().parent / "clients"
CATEGORIES = "{ categories { slug } }"
BOOK = """mutation($input: BookDealInput!) { bookDeal(input: $input) {
  __typename ... on BookDealSuccess { booking { status quantity } } } }"""


def node(script: str, *args: str, stdin: str | None = None) -> Any:
    """Run a script of tests/service/clients with Node; its stdout is JSON."""
    executable = shutil.which("node")
    assert executable, "Node.js is needed for the standard-client tests (./dev.sh installs it)"
    assert (CLIENTS / "node_modules").is_dir(), "run: npm ci --prefix tests/service/clients"
    done = subprocess.run(
        [executable, str(CLIENTS / script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=CLIENTS,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def over_graphql_ws(
    server: RunningServer, *operations: dict[str, Any], **options: Any
) -> list[Any]:
    url = server.base_url.replace("http://", "ws://") + "/graphql"
    spec = {"url": url, "operations": list(operations), **options}
    results: list[Any] = node("ws_client.mjs", stdin=json.dumps(spec))["results"]
    return results


def test_graphql_ws_runs_a_query_and_a_mutation(server: RunningServer, shops: ShopFactory) -> None:
    shop = shops(stock=5, price="10.00")
    booking = {"dealId": shop.deal, "quantity": 2, "idempotencyKey": "graphql-ws-1"}
    query, mutation = over_graphql_ws(
        server,
        {"query": CATEGORIES},
        {"query": BOOK, "variables": {"input": booking}},
        headers={"Authorization": f"Bearer {token('ws-client-customer')}"},
    )
    assert {"slug": "cafe"} in query["data"]["categories"]
    assert mutation["data"]["bookDeal"] == {
        "__typename": "BookDealSuccess",
        "booking": {"status": "HELD", "quantity": 2},
    }


def test_a_null_connection_init_payload_is_accepted(server: RunningServer) -> None:
    (result,) = over_graphql_ws(server, {"query": CATEGORIES}, connectionParams=None)
    assert "clientError" not in result, result
    assert result["data"]["categories"]


def test_a_syntax_error_over_the_socket_is_an_error_message(server: RunningServer) -> None:
    first, second = over_graphql_ws(
        server, {"query": "{ categories { slug "}, {"query": CATEGORIES}
    )
    assert first["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert second["data"]["categories"], "the connection survives the bad operation"


def test_the_graphql_http_audit_passes_every_must_and_should(server: RunningServer) -> None:
    rows = node("audit.mjs", server.base_url + "/graphql")
    failed = [row for row in rows if row["status"] != "ok"]
    assert len(rows) >= 50
    assert failed == []


@pytest.mark.parametrize(
    ("request_args", "status"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"{}", "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"query", "headers": {"content-type": "text/plain"}}, 415),
    ],
)
async def test_request_errors_are_coded_graphql_json(
    client: httpx.AsyncClient, request_args: dict[str, Any], status: int
) -> None:
    response = await client.post("/graphql", **request_args)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_mutation_over_get_is_405_with_a_coded_error(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "mutation { __typename }"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_graphql_response_json_is_served_when_asked_for(client: httpx.AsyncClient) -> None:
    accept = {"accept": "application/graphql-response+json"}
    ok = await client.post("/graphql", json={"query": CATEGORIES}, headers=accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/graphql-response+json"
    invalid = await client.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    assert invalid.status_code == 400
    assert invalid.headers["content-type"] == "application/graphql-response+json"
    assert "data" not in invalid.json()
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    legacy = await client.post("/graphql", json={"query": "{ nope }"})
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, "application/json")
