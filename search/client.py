"""The Elasticsearch client factory and the optional plain-JSON transport nodes.

Requests go through :class:`search.stream_node.StreamHttpNode` (keep-alive HTTP/1.1 on
asyncio's transports), or with ``SEARCH_TRANSPORT=aiohttp`` through elasticsearch-py's own
aiohttp node, which costs about twice its client CPU per search and half httpx's
(``bench/README.md``, "Search workload"). ``httpx`` stays for traced gateways, whose search
spans come from the httpx instrumentation.

The official 8.x client announces ``application/vnd.elasticsearch+json; compatible-with=8``.
Elasticsearch 8 and 9 accept it; OpenSearch-compatible servers (the in-memory ``osmem-server``
used for local runs and tests) answer 406. With ``plain_json`` on, :class:`PlainJsonNode`
sends plain ``application/json`` instead; a real cluster needs nothing of the kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

from elastic_transport import AiohttpHttpNode, HttpHeaders, HttpxAsyncHttpNode, OrjsonSerializer
from elastic_transport._node import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import AsyncElasticsearch

from search.stream_node import StreamHttpNode

_COMPATIBLE_JSON = "application/vnd.elasticsearch+json"
_COMPATIBLE_NDJSON = "application/vnd.elasticsearch+x-ndjson"
# what the client itself sends with a JSON body (PlainJson nodes make it plain JSON)
_MAJOR = version("elasticsearch").partition(".")[0]
_COMPATIBLE_WITH = f"{_COMPATIBLE_JSON}; compatible-with={_MAJOR}"
COMPATIBLE_JSON_HEADERS = {"accept": _COMPATIBLE_WITH, "content-type": _COMPATIBLE_WITH}
JSON_HEADERS = {"accept": "application/json", "content-type": "application/json"}
SEARCH_TIMEOUT_S = 2.0
MAX_RETRIES = 1


@dataclass(frozen=True, slots=True)
class SearchConfig:
    url: str
    index_prefix: str = "o2o"
    plain_json: bool = False
    request_timeout_s: float = SEARCH_TIMEOUT_S
    transport: Literal["streams", "aiohttp", "httpx"] = "streams"


def plain_media_type(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=8`` -> ``application/json``."""
    media = value.split(";", 1)[0].strip().lower()
    if media == _COMPATIBLE_JSON:
        return "application/json"
    if media == _COMPATIBLE_NDJSON:
        return "application/x-ndjson"
    return value


def plain_headers(headers: HttpHeaders | None) -> HttpHeaders | None:
    """The request's headers with the compatibility media types made plain JSON."""
    if headers is None:
        return None
    headers = headers.copy()
    for name in ("accept", "content-type"):
        if name in headers:
            headers[name] = plain_media_type(headers[name])
    return headers


class _PlainJson:
    """Rewrites the compatibility media types of a node's requests to plain JSON (mixed in
    before the node class it changes)."""

    async def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        node: Any = super()  # the node class this is mixed into
        answer: NodeApiResponse = await node.perform_request(
            method,
            target,
            body=body,
            headers=plain_headers(headers),
            request_timeout=request_timeout,
        )
        return answer


class PlainJsonNode(_PlainJson, HttpxAsyncHttpNode):  # type: ignore[misc]  # async, as every async node
    """An httpx node that sends plain JSON."""


class PlainJsonAiohttpNode(_PlainJson, AiohttpHttpNode):  # type: ignore[misc]  # async, as every async node
    """An aiohttp node that sends plain JSON."""


class PlainJsonStreamNode(_PlainJson, StreamHttpNode):  # type: ignore[misc]  # async, as every async node
    """The lean asyncio node, sending plain JSON."""


NODES = {
    ("streams", False): StreamHttpNode,
    ("streams", True): PlainJsonStreamNode,
    ("aiohttp", False): AiohttpHttpNode,
    ("aiohttp", True): PlainJsonAiohttpNode,
    ("httpx", False): HttpxAsyncHttpNode,
    ("httpx", True): PlainJsonNode,
}


def make_client(config: SearchConfig) -> AsyncElasticsearch:
    """One client per process; requests time out instead of hanging when the server stalls.
    Responses are parsed with orjson (the transport's own optional serializer)."""
    return AsyncElasticsearch(
        config.url,
        node_class=NODES[config.transport, config.plain_json],
        request_timeout=config.request_timeout_s,
        max_retries=MAX_RETRIES,
        retry_on_timeout=False,
        serializers={"application/json": OrjsonSerializer()},
    )
