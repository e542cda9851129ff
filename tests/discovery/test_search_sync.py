"""The search index follows PostgreSQL: outbox, versions, reindex, outages, metrics."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from elasticsearch import ApiError, BadRequestError
from osmem_server import OsmemServer

from commerce.discovery.indexing import publish_pending, run_publisher
from db.database import Database
from gateway.app import create_app, database_from, search_index_from
from gateway.settings import Settings
from search.client import SearchConfig, make_client, plain_media_type
from search.documents import deal_doc_id
from search.index import SearchIndex, SearchUnavailableError
from search.queries import DealQuery
from tests.conftest import GraphQL, free_port, gateway_settings, serve_in_thread
from tests.helpers import HELSINKI

TITLE_SEARCH = """
query($q: String!) { searchDeals(query: $q, first: 5) { totalCount edges { node { id title } } } }
"""


@dataclass
class Services:
    database: Database
    index: SearchIndex


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    database, index = database_from(settings), search_index_from(settings)
    yield Services(database, index)
    await index.client.close()
    await database.dispose()


async def stored(index: SearchIndex, deal_id: int) -> dict[str, Any]:
    response = await index.client.get(index=index.alias, id=deal_doc_id(deal_id))
    return dict(response.body)


def pending_for(sql: psycopg.Connection[Any], entity: str, key: str) -> int:
    row = sql.execute(
        "SELECT count(*) FROM search_outbox"
        " WHERE entity = %s AND entity_key = %s AND published_at IS NULL",
        [entity, key],
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
async def renamed_deal(
    sql: psycopg.Connection[Any], services: Services
) -> AsyncIterator[tuple[int, str]]:
    """A seeded deal renamed in PostgreSQL; its old title comes back, in the index too."""
    await publish_all(services)  # start from an empty outbox
    row = sql.execute("SELECT id, title FROM deals ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    deal_id, title = row
    sql.execute("UPDATE deals SET title = 'Zanzibar sunrise platter' WHERE id = %s", [deal_id])
    yield deal_id, "Zanzibar sunrise platter"
    sql.execute("UPDATE deals SET title = %s WHERE id = %s", [title, deal_id])
    await publish_all(services)


async def publish_all(services: Services) -> int:
    """Publish until the outbox is empty; returns how many rows were published."""
    published = 0
    while (report := await publish_pending(services.database, services.index)).entries:
        published += report.entries
    await services.index.refresh()
    return published


async def test_a_change_reaches_the_index_exactly_once(
    gql: GraphQL, sql: psycopg.Connection[Any], services: Services, renamed_deal: tuple[int, str]
) -> None:
    deal_id, title = renamed_deal
    assert pending_for(sql, "deal", str(deal_id)) == 1  # the trigger wrote it with the change
    before = await gql.data(TITLE_SEARCH, {"q": "zanzibar"})
    assert before["searchDeals"]["totalCount"] == 0  # not published yet

    assert await publish_all(services) >= 1
    assert pending_for(sql, "deal", str(deal_id)) == 0
    document = await stored(services.index, deal_id)
    assert document["_source"]["name"] == title
    after = await gql.data(TITLE_SEARCH, {"q": "zanzibar"})
    assert [e["node"]["title"] for e in after["searchDeals"]["edges"]] == [title]

    again = await publish_pending(services.database, services.index)
    assert again.entries == 0  # nothing left: the change was published once
    assert (await stored(services.index, deal_id))["_version"] == document["_version"]


async def test_a_stale_or_replayed_write_is_ignored(
    sql: psycopg.Connection[Any], services: Services, renamed_deal: tuple[int, str]
) -> None:
    deal_id, title = renamed_deal
    await publish_all(services)
    current = await stored(services.index, deal_id)
    version = current["_version"]
    old_source = {**current["_source"], "name": "An older title"}
    doc_id = deal_doc_id(deal_id)

    stale = await services.index.write([(doc_id, old_source)], version - 1)
    replayed = await services.index.write([(doc_id, old_source)], version)
    assert (stale.stale, stale.written, replayed.stale, replayed.written) == (1, 0, 1, 0)
    await services.index.refresh()
    assert (await stored(services.index, deal_id))["_source"]["name"] == title


async def test_a_deleted_deal_leaves_the_index(
    sql: psycopg.Connection[Any], services: Services
) -> None:
    row = sql.execute(
        "INSERT INTO deals (merchant_id, external_key, title, price, currency, valid_from,"
        " valid_until) SELECT id, 'test:search-delete', 'Quokka quiche', 5, 'EUR',"
        " now() - interval '1 day', now() + interval '1 day' FROM merchants ORDER BY id LIMIT 1"
        " RETURNING id"
    ).fetchone()
    assert row is not None
    await publish_all(services)
    assert (await stored(services.index, row[0]))["found"]
    sql.execute("DELETE FROM deals WHERE id = %s", [row[0]])
    await publish_all(services)
    with pytest.raises(ApiError):
        await stored(services.index, row[0])


async def test_a_refused_document_is_set_aside_without_holding_others_back(
    sql: psycopg.Connection[Any], services: Services, client: httpx.AsyncClient
) -> None:
    """An index whose mapping refuses any deal with a rating (``rating`` as boolean): the
    unrated deal's change still goes through, the rated one's is retried, then set aside."""
    poisoned = SearchIndex(services.index.client, "o2o-poisoned-deals")
    await services.index.client.indices.create(
        index="o2o-poisoned-deals-v0",
        mappings={"properties": {"rating": {"type": "boolean"}}},
        aliases={"o2o-poisoned-deals": {}},
    )
    await publish_all(services)  # start from an empty outbox
    unrated, rated = _deal_of_merchant_rated(sql, False), _deal_of_merchant_rated(sql, True)
    try:
        sql.execute("UPDATE deals SET title = title || ' ' WHERE id IN (%s, %s)", [unrated, rated])
        rounds = [await publish_pending(services.database, poisoned) for _ in range(6)]
        assert (rounds[0].entries, rounds[0].failed) == (1, 1)  # the unrated deal went through
        assert [r.failed for r in rounds[1:]] == [1, 1, 1, 1, 0]  # then the rated one is set aside
        row = sql.execute(
            "SELECT attempts, last_error FROM search_outbox"
            " WHERE entity = 'deal' AND entity_key = %s AND published_at IS NULL",
            [str(rated)],
        ).fetchone()
        assert row is not None and row[0] == 5 and "rating" in row[1]
        assert _metric((await client.get("/metrics")).text, "o2o_search_outbox_set_aside") == 1
    finally:
        sql.execute("UPDATE deals SET title = rtrim(title) WHERE id IN (%s, %s)", [unrated, rated])
        sql.execute("UPDATE search_outbox SET attempts = 0 WHERE published_at IS NULL")
        await services.index.client.indices.delete(index="o2o-poisoned-deals-v0")
        await publish_all(services)


def _deal_of_merchant_rated(sql: psycopg.Connection[Any], rated: bool) -> int:
    row = sql.execute(
        "SELECT min(d.id) FROM deals d JOIN merchants m ON m.id = d.merchant_id"
        f" WHERE m.rating IS {'NOT ' if rated else ''}NULL"
    ).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


async def test_reindex_swaps_the_alias_while_queries_keep_answering(
    gql: GraphQL, settings: Settings, services: Services
) -> None:
    before = await services.index.physical_indexes()
    answers: list[int] = []
    done = asyncio.Event()

    async def keep_searching() -> None:
        while not done.is_set():
            data = await gql.data(TITLE_SEARCH, {"q": "happy hour"})
            answers.append(data["searchDeals"]["totalCount"])

    searching = asyncio.create_task(keep_searching())
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "reindex",
        env={**os.environ, **_environment(settings)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await command.communicate()
    done.set()
    await searching
    assert command.returncode == 0, err.decode()
    assert "alias o2o-test-deals now points there" in out.decode()
    after = await services.index.physical_indexes()
    assert len(after) == 1 and after != before
    assert len(answers) > 3 and min(answers) > 0 and len(set(answers)) == 1


def _environment(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "ELASTICSEARCH_URL": settings.elasticsearch_url,
        "ELASTICSEARCH_PLAIN_JSON": "true",
        "SEARCH_INDEX_PREFIX": settings.search_index_prefix,
    }


async def test_the_worker_publishes_in_the_background(
    gql: GraphQL, services: Services, renamed_deal: tuple[int, str]
) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(run_publisher(services.database, services.index, 0.05, stop))
    try:
        for _ in range(200):
            await services.index.refresh()
            data = await gql.data(TITLE_SEARCH, {"q": "zanzibar"})
            if data["searchDeals"]["totalCount"] == 1:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker did not publish the change")
    finally:
        stop.set()
        await worker


async def test_a_served_gateway_publishes_by_itself(
    gateway_on: Any, settings: Settings, renamed_deal: tuple[int, str]
) -> None:
    gateway: Gateway = gateway_on(
        settings.elasticsearch_url, search_sync=True, search_sync_interval_s=0.05
    )
    for _ in range(200):
        data = await gateway.gql.data(TITLE_SEARCH, {"q": "zanzibar"})
        if data["searchDeals"]["totalCount"] == 1:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway's own publisher did not publish the change")


async def test_metrics_show_the_index_lag(
    client: httpx.AsyncClient, services: Services, renamed_deal: tuple[int, str]
) -> None:
    lagging = (await client.get("/metrics")).text
    assert _metric(lagging, "o2o_search_outbox_pending") >= 1
    assert _metric(lagging, "o2o_search_index_lag_seconds") > 0
    await publish_all(services)
    caught_up = (await client.get("/metrics")).text
    assert _metric(caught_up, "o2o_search_outbox_pending") == 0
    assert _metric(caught_up, "o2o_search_index_lag_seconds") == 0


def _metric(text: str, name: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


def test_the_plain_json_node_only_rewrites_compatibility_media_types() -> None:
    assert plain_media_type("application/vnd.elasticsearch+json; compatible-with=8") == (
        "application/json"
    )
    assert plain_media_type("application/vnd.elasticsearch+x-ndjson; compatible-with=8") == (
        "application/x-ndjson"
    )
    assert plain_media_type("text/plain") == "text/plain"


async def test_the_compatibility_headers_need_the_plain_json_node(settings: Settings) -> None:
    official = make_client(SearchConfig(url=settings.elasticsearch_url))
    try:
        with pytest.raises(ApiError) as refused:
            await official.search(index="o2o-test-deals", size=0)
        assert refused.value.status_code == 406
    finally:
        await official.close()


# --- outages -----------------------------------------------------------------------------


@dataclass
class Gateway:
    base_url: str
    gql: GraphQL


@pytest.fixture
async def gateway_on(database_url: str) -> AsyncIterator[Any]:
    """Start gateways whose search server is wherever a test says."""
    stops: list[Any] = []
    clients: list[httpx.AsyncClient] = []

    def start(search_url: str, **overrides: Any) -> Gateway:
        app = create_app(gateway_settings(database_url, search_url, **overrides), warm_up=False)
        base_url, server, thread = serve_in_thread(app)
        stops.append((server, thread))
        http = httpx.AsyncClient(base_url=base_url, timeout=30)
        clients.append(http)
        return Gateway(base_url, GraphQL(http))

    yield start
    for http in clients:
        await http.aclose()
    for server, thread in stops:
        server.should_exit = True
        thread.join(timeout=10)


NEARBY = "query($near: GeoPointInput!) { nearbyDeals(near: $near, first: 3) { totalCount } }"


async def assert_search_is_unavailable(gateway: Gateway) -> None:
    body = await gateway.gql(TITLE_SEARCH, {"q": "happy hour"})
    assert body["data"] == {"searchDeals": None}  # nullable root: the rest would be kept
    assert body["errors"][0]["extensions"]["code"] == "SEARCH_UNAVAILABLE"
    suggest = await gateway.gql('{ autocomplete(prefix: "mol") { text } }')
    assert suggest["errors"][0]["extensions"]["code"] == "SEARCH_UNAVAILABLE"
    nearby = await gateway.gql.data(NEARBY, {"near": HELSINKI})
    assert nearby["nearbyDeals"]["totalCount"] > 0  # discovery never needs search
    ready = await gateway.gql.http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["down"] == ["search"]


async def test_search_down_then_back_without_a_restart(gateway_on: Any, database_url: str) -> None:
    port = free_port()
    gateway: Gateway = gateway_on(f"http://127.0.0.1:{port}")
    await assert_search_is_unavailable(gateway)

    revived = OsmemServer.start(japanese=False, addr=f"127.0.0.1:{port}")
    try:
        database = database_from(gateway_settings(database_url, revived.url))
        index = search_index_from(gateway_settings(database_url, revived.url))
        try:
            await publish_pending(database, index)  # no alias yet: builds the index first
        finally:
            await index.client.close()
            await database.dispose()
        for _ in range(100):  # the client retries a dead node after a short back-off
            body = await gateway.gql(TITLE_SEARCH, {"q": "happy hour"})
            if "errors" not in body:
                break
            await asyncio.sleep(0.1)
        assert body["data"]["searchDeals"]["totalCount"] > 0, body
        assert (await gateway.gql.http.get("/readyz")).status_code == 200
    finally:
        revived.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (a hung search server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    closing = threading.Event()

    def accept() -> None:
        while not closing.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    closing.set()
    listener.close()
    for connection in accepted:
        connection.close()


async def test_a_hung_search_server_times_out(gateway_on: Any, silent_server: str) -> None:
    gateway: Gateway = gateway_on(silent_server, search_timeout_s=0.3)
    await assert_search_is_unavailable(gateway)


# --- the search call (SearchIndex on the client's transport) -------------------------------


def _query(text: str, size: int = 5) -> DealQuery:
    return DealQuery(text=text, now=datetime.now(UTC), size=size)


async def test_a_search_without_matches_has_no_hits(services: Services) -> None:
    """The answer is filtered to what is read: a page without hits has no hit list at all."""
    result = await services.index.search_deals(_query("zzqxv qqzvx"))
    assert (result.hits, result.total, result.has_next) == ([], 0, False)
    found = await services.index.search_deals(_query("happy hour", size=2))
    assert len(found.hits) == 2 and found.total > 2 and found.has_next
    assert all(hit.score > 0 for hit in found.hits)


async def test_a_traced_index_answers_the_same_through_the_clients_request(
    services: Services,
) -> None:
    """With a tracer the call goes through ``client.perform_request`` (its search span)."""
    traced = SearchIndex(services.index.client, services.index.alias, traced=True)
    for text in ("happy hour", "zzqxv qqzvx"):
        query = _query(text, size=3)
        assert await traced.search_deals(query) == await services.index.search_deals(query)
    with pytest.raises(BadRequestError):
        await traced.search_deals(_query("happy hour", size=-5))
    with pytest.raises(SearchUnavailableError, match="search server error"):
        await SearchIndex(services.index.client, "o2o-no-such-deals", traced=True).search_deals(
            _query("happy hour")
        )


async def test_a_refused_search_raises_what_the_client_raises(services: Services) -> None:
    """A request the server refuses (400) is the client's own error class and message; a
    missing index (404) means search is unavailable."""
    with pytest.raises(BadRequestError) as refused:
        await services.index.search_deals(_query("happy hour", size=-5))
    assert refused.value.status_code == 400
    assert refused.value.message == "illegal_argument_exception"
    missing = SearchIndex(services.index.client, "o2o-no-such-deals")
    with pytest.raises(SearchUnavailableError, match="search server error"):
        await missing.search_deals(_query("happy hour"))


async def test_a_search_waits_for_the_configured_timeout_only(
    settings: Settings, silent_server: str
) -> None:
    """SEARCH_TIMEOUT_S bounds each search call of the index the gateway builds."""
    quick = settings.model_copy(
        update={"elasticsearch_url": silent_server, "search_timeout_s": 0.3}
    )
    index = search_index_from(quick)
    started = time.monotonic()
    try:
        with pytest.raises(SearchUnavailableError, match="unreachable"):
            await index.search_deals(_query("happy hour"))
    finally:
        await index.client.close()
    assert time.monotonic() - started < 1.5  # one retry at most (MAX_RETRIES), not 2 s each


async def test_the_index_sends_the_clients_compatibility_media_type(settings: Settings) -> None:
    """Without the plain-JSON nodes the search call announces what ``client.search`` does
    (a real Elasticsearch wants it; the local server refuses it)."""
    client = make_client(SearchConfig(url=settings.elasticsearch_url))
    official = SearchIndex(client, f"{settings.search_index_prefix}-deals")
    try:
        with pytest.raises(ApiError) as refused:
            await official.search_deals(_query("happy hour"))
        assert refused.value.status_code == 406
    finally:
        await official.client.close()
