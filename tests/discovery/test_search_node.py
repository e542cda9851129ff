"""The lean search node (``search/stream_node.py``): the same answers as elasticsearch-py's
aiohttp node from the real search server, and HTTP/1.1 done right against a scripted one
(keep-alive reuse, chunked bodies, ``Connection: close``, closed idle connections, timeouts,
the connection limit)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, HttpHeaders, NodeConfig
from elasticsearch import AsyncElasticsearch, NotFoundError

from gateway.settings import Settings
from search.client import COMPATIBLE_JSON_HEADERS, SearchConfig, make_client
from search.stream_node import StreamHttpNode


def _client(settings: Settings, transport: str) -> AsyncElasticsearch:
    return make_client(
        SearchConfig(
            url=settings.elasticsearch_url,
            plain_json=settings.elasticsearch_plain_json,
            transport=transport,  # type: ignore[arg-type]
        )
    )


async def _answers(client: AsyncElasticsearch, alias: str) -> list[Any]:
    """What the gateway asks the search server, through ``client``."""
    query = {"query": {"match": {"title": "coffee"}}, "size": 3, "sort": ["_doc"]}
    found = await client.search(index=alias, body=query)
    counted = await client.count(index=alias)
    exists = await client.indices.exists_alias(name=alias)  # HEAD: left to aiohttp
    with pytest.raises(NotFoundError) as missing:
        await client.search(index="o2o-no-such-index", body=query)
    return [
        [hit["_id"] for hit in found["hits"]["hits"]],
        found["hits"]["total"],
        counted["count"],
        bool(exists),
        missing.value.status_code,
    ]


async def test_the_node_answers_as_aiohttps_does(settings: Settings) -> None:
    alias = f"{settings.search_index_prefix}-deals"
    lean, stock = _client(settings, "streams"), _client(settings, "aiohttp")
    try:
        ours, theirs = await _answers(lean, alias), await _answers(stock, alias)
        assert ours == theirs
        assert ours[2] > 0 and ours[3] is True and ours[4] == 404
    finally:
        await lean.close()
        await stock.close()


# --- a scripted HTTP/1.1 server ---------------------------------------------------------


@dataclass
class Script:
    """Answers by path: ``/ok`` (Content-Length), ``/chunked``, ``/close`` (then closes),
    ``/hang`` (never answers); counts connections and the requests on each."""

    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[tuple[int, str, str, bytes]] = field(
        default_factory=list
    )  # no, path, head, body
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        self.writers.append(writer)
        number = self.connections
        try:
            while not await self._answer(number, reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()

    async def _answer(
        self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """One exchange; whether the connection is done."""
        head = await reader.readuntil(b"\r\n\r\n")
        first, *lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines if line)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        path = first.split(" ")[1]
        self.requests.append((number, path, head.decode("latin-1"), body))
        answer = orjson.dumps({"path": path, "connection": number})
        if path == "/hang":
            await asyncio.sleep(30)
            return True
        if path == "/chunked":
            half = len(answer) // 2
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (answer[:half], answer[half:]))
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"transfer-encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
            )
        else:
            closing = b"connection: close\r\n" if path == "/close" else b""
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n%s"
                b"content-length: %d\r\n\r\n%s" % (closing, len(answer), answer)
            )
        await writer.drain()
        return path == "/close"


@dataclass
class Scripted:
    script: Script
    node: StreamHttpNode


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    script = Script()
    server = await asyncio.start_server(script.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    node = StreamHttpNode(
        NodeConfig("http", "127.0.0.1", port, connections_per_node=2, request_timeout=5)
    )
    yield Scripted(script, node)
    await node.close()
    for writer in script.writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def _get(node: StreamHttpNode, path: str, **kwargs: Any) -> dict[str, Any]:
    response = await node.perform_request("POST", path, body=b"{}", **kwargs)
    assert response.meta.status == 200
    answer: dict[str, Any] = orjson.loads(response.body)
    return answer


async def test_one_connection_serves_requests_one_after_another(scripted: Scripted) -> None:
    answers = [await _get(scripted.node, "/ok") for _ in range(5)]
    assert [answer["connection"] for answer in answers] == [1] * 5
    assert scripted.script.connections == 1
    assert [body for *_, body in scripted.script.requests] == [b"{}"] * 5


async def test_chunked_bodies_are_read_whole(scripted: Scripted) -> None:
    assert await _get(scripted.node, "/chunked") == {"path": "/chunked", "connection": 1}
    assert await _get(scripted.node, "/ok") == {"path": "/ok", "connection": 1}


async def test_a_connection_the_server_closes_is_not_reused(scripted: Scripted) -> None:
    assert (await _get(scripted.node, "/close"))["connection"] == 1
    assert (await _get(scripted.node, "/ok"))["connection"] == 2
    # the server drops the idle connection: the next request opens another one
    scripted.script.writers[-1].close()
    await asyncio.sleep(0.05)
    assert (await _get(scripted.node, "/ok"))["connection"] == 3


async def test_a_hung_server_times_out_and_the_connection_is_dropped(scripted: Scripted) -> None:
    with pytest.raises(ConnectionTimeout):
        await _get(scripted.node, "/hang", request_timeout=0.2)
    assert (await _get(scripted.node, "/ok"))["connection"] == 2


async def test_connections_stay_within_the_limit(scripted: Scripted) -> None:
    answers = await asyncio.gather(*(_get(scripted.node, "/ok") for _ in range(8)))
    assert sorted(answer["connection"] for answer in answers)[-1] <= 2
    assert scripted.script.most_open <= 2


async def test_an_unreachable_server_is_a_connection_error() -> None:
    with_nothing = StreamHttpNode(NodeConfig("http", "127.0.0.1", _closed_port()))
    with pytest.raises(TransportConnectionError):
        await with_nothing.perform_request("GET", "/")
    await with_nothing.close()


async def test_the_compatibility_headers_go_out_as_given(scripted: Scripted) -> None:
    """Without the plain-JSON variant, the node sends the client's media types unchanged."""
    await _get(scripted.node, "/ok", headers=HttpHeaders(COMPATIBLE_JSON_HEADERS))
    ((_, _, head, _),) = scripted.script.requests
    assert "content-type: application/vnd.elasticsearch+json; compatible-with=" in head
    assert "content-length: 2\r\n" in head and head.startswith("POST /ok HTTP/1.1\r\n")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
