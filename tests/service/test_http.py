"""The HTTP surface: health, readiness, GET and WebSocket GraphQL, the offline playground."""

from __future__ import annotations

import json
import re

import httpx
import pytest
import websockets

from tests.conftest import PRODUCTION_SECRETS, RunningServer


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgresql": "ok", "search": "ok"}
    assert re.fullmatch(r"[0-9a-f]{32}", ready.headers["x-request-id"])


async def test_readyz_is_503_naming_postgresql_when_it_is_down(dead_database_server: str) -> None:
    async with httpx.AsyncClient(base_url=dead_database_server, timeout=30) as http:
        ready = await http.get("/readyz")
        health = await http.get("/healthz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "down": ["postgresql"], "limits": "enforced"}
    assert health.status_code == 200


async def test_graphql_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ categories { slug } }"})
    assert response.status_code == 200
    slugs = [c["slug"] for c in response.json()["data"]["categories"]]
    assert "restaurant" in slugs and "cafe" in slugs


async def test_mutations_are_refused_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { x }"})
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9", "餐馆"),
        ("fi", "Ravintola"),
        ("sv-SE", "Restaurang"),
        ("de", "Restaurant"),
    ],
)
async def test_category_names_follow_accept_language(
    client: httpx.AsyncClient, header: str, expected: str
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ categories { slug name } }"},
        headers={"Accept-Language": header},
    )
    names = {c["slug"]: c["name"] for c in response.json()["data"]["categories"]}
    assert names["restaurant"] == expected


async def test_graphql_over_websocket(server: RunningServer) -> None:
    url = server.base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": "{ categories { slug } }"}}
            )
        )
        message = json.loads(await ws.recv())
        assert message["type"] == "next"
        assert len(message["payload"]["data"]["categories"]) > 10
        assert json.loads(await ws.recv())["type"] == "complete"


async def test_the_playground_is_served_with_local_assets_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert urls, "the page should load its scripts and styles"
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"external asset {url}"
        if url.startswith("data:"):
            continue
        asset = await client.get(url)
        assert asset.status_code == 200, url


async def test_production_turns_off_the_playground_and_introspection(database_url: str) -> None:
    from gateway.app import create_app
    from gateway.settings import Settings

    settings = Settings(database_url=database_url, o2o_env="production", **PRODUCTION_SECRETS)
    app = create_app(settings, warm_up=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        schema = await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        categories = await http.post("/graphql", json={"query": "{ categories { slug } }"})
    assert "graphiql" not in page.text.lower()
    assert "introspection" in schema.json()["errors"][0]["message"].lower()
    assert len(categories.json()["data"]["categories"]) == 21
    await app.state.database.dispose()
