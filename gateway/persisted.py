"""Persisted operations: Apollo's automatic persisted queries and trusted documents.

A client sends ``extensions.persistedQuery = {version: 1, sha256Hash}``; without the text the
gateway answers from the registry, or ``PERSISTED_QUERY_NOT_FOUND`` when the hash is unknown
(the client then sends hash and text together, and the text is registered once its SHA-256
is checked). Texts live in Redis, shared by every process: automatic ones under
``<prefix>:apq:<hash>`` with a TTL, trusted ones (``o2o persisted add FILE``) under
``<prefix>:trusted:<hash>`` without one. Each process keeps what it looked up for
``LOCAL_TTL_S`` (a removed trusted document stops working within that time).

Trusted-documents mode (``TRUSTED_DOCUMENTS=true``, for production partners) allows only
registered operations: by hash, or as a text whose hash is registered; automatic
registration is off, and anything else is ``PERSISTED_QUERY_NOT_IN_LIST``. Redis down: a
hash cannot be looked up (``PERSISTED_QUERY_NOT_FOUND``, the client resends the text), and
in trusted mode nothing unregistered is let through.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.responses import Response
from strawberry.http import GraphQLRequestData

from gateway.graphql_http import GRAPHQL_RESPONSE_JSON

log = logging.getLogger("o2o.persisted")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
BAD_REQUEST = "BAD_REQUEST"
LOCAL_TTL_S = 60.0
LOCAL_ENTRIES = 4096
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PersistedQueryError(Exception):
    """The request ends here: a coded GraphQL error at the request level."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def response(self, graphql_response: bool) -> Response:
        body = {
            "errors": [{"message": self.message, "extensions": {"code": self.code}}],
            "extensions": {"cost": 0},
        }
        media = GRAPHQL_RESPONSE_JSON if graphql_response else "application/json"
        return Response(orjson.dumps(body), status_code=self.status, media_type=media)


def not_found() -> PersistedQueryError:
    return PersistedQueryError(200, "PersistedQueryNotFound", NOT_FOUND)


def not_in_list() -> PersistedQueryError:
    return PersistedQueryError(
        400,
        "Only registered operations are allowed here (trusted documents): register it with "
        "`o2o persisted add`, then send its sha256Hash.",
        NOT_IN_LIST,
    )


@dataclass(frozen=True, slots=True)
class PersistedRequest:
    """A request's persisted-query extension: the hash, and the text when it was sent."""

    digest: str
    text: str | None


def persisted_of(extensions: object) -> PersistedRequest | None:
    """The ``persistedQuery`` extension; :class:`PersistedQueryError` when malformed."""
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    given = extensions["persistedQuery"]
    if not isinstance(given, dict) or given.get("version") != 1:
        raise PersistedQueryError(400, "Unsupported persisted query version.", BAD_REQUEST)
    digest = given.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise PersistedQueryError(
            400, "persistedQuery.sha256Hash must be 64 lowercase hex digits.", BAD_REQUEST
        )
    return PersistedRequest(digest, None)


class PersistedQueries:
    """The shared registry of operation texts by SHA-256, with a small local cache."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        ttl_s: int,
        *,
        trusted_only: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.trusted_only = trusted_only
        self._monotonic = monotonic
        self._local: dict[str, tuple[str, float]] = {}

    def _key(self, kind: str, digest: str) -> str:
        return f"{self.prefix}:{kind}:{digest}"

    async def lookup(self, digest: str) -> str | None:
        """The registered text of ``digest`` (trusted first; automatic ones unless trusted
        mode), ``None`` when unknown or Redis is unavailable."""
        cached = self._local.get(digest)
        if cached is not None and cached[1] > self._monotonic():
            return cached[0]
        kinds = ("trusted",) if self.trusted_only else ("trusted", "apq")
        try:
            found = await self.redis.mget([self._key(kind, digest) for kind in kinds])
        except (RedisError, OSError) as error:
            log.warning("persisted queries: Redis is unavailable: %s", error)
            return None
        for value in found:
            if value is not None:
                text = value.decode() if isinstance(value, bytes) else str(value)
                self._remember(digest, text)
                return text
        return None

    def _remember(self, digest: str, text: str) -> None:
        if len(self._local) >= LOCAL_ENTRIES:
            self._local.clear()
        self._local[digest] = (text, self._monotonic() + LOCAL_TTL_S)

    async def register(self, digest: str, text: str) -> None:
        """Keep an automatic persisted query for ``ttl_s`` (its hash already checked)."""
        try:
            await self.redis.set(self._key("apq", digest), text.encode(), ex=self.ttl_s)
        except (RedisError, OSError) as error:
            log.warning("persisted queries: cannot register, Redis is unavailable: %s", error)
            return
        self._remember(digest, text)

    async def trust(self, texts: Iterable[str]) -> list[str]:
        """Register trusted documents (no TTL); their hashes, in order."""
        digests = []
        for text in texts:
            digest = sha256_hex(text)
            await self.redis.set(self._key("trusted", digest), text.encode())
            digests.append(digest)
        return digests

    async def distrust(self, digest: str) -> bool:
        return bool(await self.redis.delete(self._key("trusted", digest)))

    async def is_trusted(self, text: str) -> bool:
        return await self.lookup(sha256_hex(text)) == text

    async def resolve(self, data: GraphQLRequestData) -> GraphQLRequestData:
        """The request with its operation text; :class:`PersistedQueryError` when it has none
        or may not run it."""
        persisted = persisted_of(data.extensions)
        if persisted is None:
            unlisted = self.trusted_only and data.query is not None
            if unlisted and not await self.is_trusted(str(data.query)):
                raise not_in_list()
            return data
        if data.query is not None:
            if sha256_hex(data.query) != persisted.digest:
                raise PersistedQueryError(400, "provided sha does not match query", BAD_REQUEST)
            if self.trusted_only:
                if not await self.is_trusted(data.query):
                    raise not_in_list()
            else:
                await self.register(persisted.digest, data.query)
            return data
        text = await self.lookup(persisted.digest)
        if text is None:
            raise not_found()
        return replace(data, query=text)


def manifest_texts(raw: str) -> list[str]:
    """Operation texts of a file: an Apollo persisted-query manifest (JSON with
    ``operations[].body``), a JSON object of hash -> text, or one GraphQL document."""
    try:
        data: Any = json.loads(raw)
    except ValueError:  # not JSON: a GraphQL document (``{ ... }`` is one too)
        return [raw]
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        return [str(op["body"]) for op in data["operations"]]
    if isinstance(data, dict):
        texts = [str(text) for text in data.values()]
        for digest, text in zip(data, texts, strict=True):
            if sha256_hex(text) != digest:
                raise ValueError(f"the text under {digest[:12]}... does not have that hash")
        return texts
    raise ValueError("not a persisted-query manifest")
