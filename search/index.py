"""The deals index: queries, versioned bulk writes, index creation and the alias swap.

Readers and writers use the alias; each physical index is ``<alias>-v<mapping>-<stamp>``.
Every write carries an external version, so the server itself drops a stale or replayed
write (409) instead of letting it overwrite something newer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError
from elasticsearch.exceptions import HTTP_EXCEPTIONS

from search.client import COMPATIBLE_JSON_HEADERS, JSON_HEADERS, MAX_RETRIES, SEARCH_TIMEOUT_S
from search.mapping import MAPPING_VERSION, index_body
from search.queries import DealQuery, SearchResult, deal_search_body, parse_deal_search
from search.suggest import Suggestion, SuggestQuery, parse_suggestions, suggest_body

BULK_CHUNK = 200
WRITE_TIMEOUT_S = 60.0


class SearchUnavailableError(RuntimeError):
    """The search server did not answer in time, or answered with a server-side error."""


class SearchWriteError(RuntimeError):
    """Some documents could not be written; the caller keeps its outbox rows pending."""


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    written: int = 0
    stale: int = 0
    failed: list[str] = field(default_factory=list)


Document = tuple[str, dict[str, Any] | None]
"""A document id and its source; ``None`` deletes the document."""

SearchObserver = Callable[[str, float, bool], None]
"""Told of every query: the call (``search_deals``, ``suggest``, ``ping``), seconds, success."""


class SearchIndex:
    """The deals index of one deployment, addressed through its alias."""

    def __init__(
        self,
        client: AsyncElasticsearch,
        alias: str,
        write_timeout_s: float = WRITE_TIMEOUT_S,
        observer: SearchObserver | None = None,
        search_timeout_s: float = SEARCH_TIMEOUT_S,
        traced: bool = False,
    ) -> None:
        self.client = client
        self.alias = alias
        self.write_timeout_s = write_timeout_s  # bulk writes may take longer than queries
        self.search_timeout_s = search_timeout_s
        self.traced = traced  # a tracer is configured: keep the client's search spans
        self.observer = observer  # metrics: query latency

    async def ping(self) -> None:
        """Raise :class:`SearchUnavailableError` unless the index answers a trivial query."""
        await self._search({"size": 0, "query": {"match_all": {}}}, "ping")

    async def search_deals(self, query: DealQuery) -> SearchResult:
        body = await self._search(deal_search_body(query), "search_deals")
        return parse_deal_search(body, query.size)

    async def suggest(self, query: SuggestQuery, language: str) -> list[Suggestion]:
        body = await self._search(suggest_body(query), "suggest")
        return parse_suggestions(body, language, query.limit)

    async def _search(self, body: dict[str, Any], call: str) -> dict[str, Any]:
        if self.observer is None:
            return await self._query(body)
        started = time.perf_counter()
        ok = False
        try:
            result = await self._query(body)
            ok = True
            return result
        finally:
            self.observer(call, time.perf_counter() - started, ok)

    async def _query(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /<alias>/_search`` with the body serialised once by orjson: what
        ``client.search`` sends, without re-checking every argument. No ``filter_path``:
        the answers are small (no ``_source``), and filtering them cost the search server
        more (0.35 ms per search on the test server) than parsing the rest costs here."""
        try:
            if self.traced:
                return await self._traced_query(orjson.dumps(body))
            return await self._transport_query(orjson.dumps(body))
        except TransportError as error:
            raise SearchUnavailableError(f"search server unreachable: {error}") from error
        except ApiError as error:
            if error.status_code in (404, 429) or error.status_code >= 500:
                raise SearchUnavailableError(f"search server error: {error}") from error
            raise

    async def _transport_query(self, body: bytes) -> dict[str, Any]:
        """Straight through the client's transport (its nodes, pool and retries): without
        the client's per-call OpenTelemetry span, which has no tracer to go to."""
        meta, answer = await self.client.transport.perform_request(
            "POST",
            f"/{self.alias}/_search",
            body=body,
            headers=COMPATIBLE_JSON_HEADERS,
            request_timeout=self.search_timeout_s,
            max_retries=MAX_RETRIES,
            retry_on_timeout=False,
        )
        if not 200 <= meta.status < 300:
            raise _api_error(meta, answer)
        return dict(answer)

    async def _traced_query(self, body: bytes) -> dict[str, Any]:
        """Through the client's own request method: its ``search`` span, as ``client.search``
        makes it (the httpx instrumentation adds the HTTP span under it)."""
        response = await self.client.perform_request(
            "POST",
            f"/{self.alias}/_search",
            headers=JSON_HEADERS,
            body=body,
            endpoint_id="search",
            path_parts={"index": self.alias},
        )
        return dict(response.body)

    async def exists(self) -> bool:
        return bool(await self.client.indices.exists_alias(name=self.alias))

    async def create_versioned(self) -> str:
        name = f"{self.alias}-v{MAPPING_VERSION}-{time.time_ns()}"
        await self.client.options(request_timeout=self.write_timeout_s).indices.create(
            index=name, **index_body()
        )
        return name

    async def physical_indexes(self) -> list[str]:
        try:
            aliases = await self.client.indices.get_alias(name=self.alias)
        except NotFoundError:
            return []
        return sorted(aliases.body)

    async def swap_alias(self, new_index: str) -> list[str]:
        """Point the alias at ``new_index`` in one atomic step; returns the indexes it left."""
        old = await self.physical_indexes()
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": self.alias}} for name in old
        ]
        actions.append({"add": {"index": new_index, "alias": self.alias}})
        await self.client.indices.update_aliases(actions=actions)
        return [name for name in old if name != new_index]

    async def drop(self, names: Sequence[str]) -> None:
        for name in names:
            await self.client.indices.delete(index=name, ignore_unavailable=True)

    async def refresh(self, index: str | None = None) -> None:
        writer = self.client.options(request_timeout=self.write_timeout_s)
        await writer.indices.refresh(index=index or self.alias)

    async def write(
        self, documents: Sequence[Document], version: int, index: str | None = None
    ) -> BulkOutcome:
        """Write (or delete) documents at ``version``, in chunks; raise if any failed."""
        written = stale = 0
        failed: list[str] = []
        for start in range(0, len(documents), BULK_CHUNK):
            chunk = documents[start : start + BULK_CHUNK]
            result = await self.client.options(request_timeout=self.write_timeout_s).bulk(
                index=index or self.alias, operations=_operations(chunk, version)
            )
            for item in result.body["items"]:
                ((op, outcome),) = item.items()
                status = int(outcome.get("status", 500))
                if status == 409:
                    stale += 1
                elif status < 300 or (op == "delete" and status == 404):
                    written += 1
                else:
                    failed.append(f"{outcome.get('_id')}: {outcome.get('error')}")
        if failed:
            raise SearchWriteError(f"{len(failed)} documents failed, first: {failed[0]}")
        return BulkOutcome(written=written, stale=stale)


def _api_error(meta: Any, answer: Any) -> ApiError:
    """The error ``client.search`` raises for this answer (its class by status, its message
    the server's error type)."""
    message: Any = str(answer)
    if isinstance(answer, dict):
        error = answer.get("error", message)
        message = error["type"] if isinstance(error, dict) and "type" in error else error
    return HTTP_EXCEPTIONS.get(meta.status, ApiError)(message=message, meta=meta, body=answer)


def _operations(documents: Sequence[Document], version: int) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    for doc_id, source in documents:
        meta: dict[str, Any] = {"_id": doc_id, "version": version, "version_type": "external"}
        if source is None:
            operations.append({"delete": meta})
        else:
            operations.extend(({"index": meta}, source))
    return operations
