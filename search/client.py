"""The Elasticsearch client factory and the optional plain-JSON transport node.

The official 8.x client announces ``application/vnd.elasticsearch+json; compatible-with=8``.
Elasticsearch 8 and 9 accept it; OpenSearch-compatible servers (the in-memory ``osmem-server``
used for local runs and tests) answer 406. With ``plain_json`` on, :class:`PlainJsonNode`
sends plain ``application/json`` instead; a real cluster needs nothing of the kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from elastic_transport import HttpHeaders, HttpxAsyncHttpNode
from elastic_transport._node import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import AsyncElasticsearch

_COMPATIBLE_JSON = "application/vnd.elasticsearch+json"
_COMPATIBLE_NDJSON = "application/vnd.elasticsearch+x-ndjson"


@dataclass(frozen=True, slots=True)
class SearchConfig:
    url: str
    index_prefix: str = "o2o"
    plain_json: bool = False
    request_timeout_s: float = 2.0


def plain_media_type(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=8`` -> ``application/json``."""
    media = value.split(";", 1)[0].strip().lower()
    if media == _COMPATIBLE_JSON:
        return "application/json"
    if media == _COMPATIBLE_NDJSON:
        return "application/x-ndjson"
    return value


class PlainJsonNode(HttpxAsyncHttpNode):
    """An httpx node that rewrites the compatibility media types to plain JSON."""

    async def perform_request(  # type: ignore[override]
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = plain_media_type(headers[name])
        return await super().perform_request(
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )


def make_client(config: SearchConfig) -> AsyncElasticsearch:
    """One client per process; requests time out instead of hanging when the server stalls."""
    return AsyncElasticsearch(
        config.url,
        node_class=PlainJsonNode if config.plain_json else HttpxAsyncHttpNode,
        request_timeout=config.request_timeout_s,
        max_retries=1,
        retry_on_timeout=False,
    )
