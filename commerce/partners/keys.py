"""Partner keys over the database: create (the secret is returned once), find, revoke, list,
and the process's short cache of found keys.

The cache (:class:`KeyCache`, owned by the app) spares a PostgreSQL round trip per request.
Revocation stays immediate across processes: migration 0018's trigger notifies every change
or removal of a key's row on the live channel, the process's listener hands it to
:meth:`KeyCache.forget`, and the cache is used only while that listener is listening
(cleared on every reconnect, since notifications sent meanwhile are lost). A lookup that
overlapped a change is not kept, and entries expire after ``ttl_s`` anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from commerce.partners.api_keys import (
    PartnerKey,
    digest_matches,
    key_digest,
    lookup_of,
    mint_key,
    validate_limits,
)
from db import partners_sql
from db.database import Database
from db.partners_sql import ApiKeyRow


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: int
    name: str
    secret: str


async def create_key(
    database: Database, name: str, rate_per_minute: int, cost_per_minute: int
) -> CreatedKey:
    limits = validate_limits(name, rate_per_minute, cost_per_minute)
    new = mint_key()
    async with database.write() as conn:
        key_id = await partners_sql.insert_key(
            conn,
            name=limits.name,
            lookup=new.lookup,
            key_hash=new.digest,
            rate_per_minute=limits.rate_per_minute,
            cost_per_minute=limits.cost_per_minute,
        )
    return CreatedKey(id=key_id, name=limits.name, secret=new.secret)


KEY_CACHE_TTL_S = 30.0
KEY_CACHE_ENTRIES = 4096
KEY_EVENT = "api_key"  # the ``e`` of migration 0018's payloads


class KeyCache:
    """Found keys by the SHA-256 of their secret, for ``ttl_s``, while ``is_live()`` (the
    process hears every key change); unknown keys are never kept."""

    def __init__(
        self,
        is_live: Callable[[], bool],
        ttl_s: float = KEY_CACHE_TTL_S,
        *,
        max_entries: int = KEY_CACHE_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._is_live = is_live
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._entries: dict[bytes, tuple[PartnerKey, float]] = {}
        self.generation = 0  # bumped by every change heard: lookups that overlap one are dropped
        self.hits = 0

    def get(self, digest: bytes) -> PartnerKey | None:
        if not self._is_live():
            return None
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[1] <= self._monotonic():
            del self._entries[digest]
            return None
        self.hits += 1
        return entry[0]

    def put(self, digest: bytes, partner: PartnerKey, generation: int) -> None:
        """Keep ``partner`` unless a change was heard since its lookup began (``generation``)."""
        if generation != self.generation or not self._is_live():
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[digest] = (partner, self._monotonic() + self._ttl_s)

    def forget(self, key_id: int) -> None:
        """Key ``key_id`` changed or went: drop it (``0``: every key)."""
        self.generation += 1
        if key_id == 0:
            self._entries.clear()
            return
        for digest, (partner, _expires) in list(self._entries.items()):
            if partner.id == key_id:
                del self._entries[digest]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


def key_change_of(payload: str) -> int | None:
    """The key id of a key-change payload (``0``: every key), ``None`` for other payloads."""
    if f'"{KEY_EVENT}"' not in payload:
        return None
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("e") != KEY_EVENT:
        return None
    key_id = data.get("id")
    return key_id if isinstance(key_id, int) and not isinstance(key_id, bool) else None


async def find_partner(
    database: Database, key: str, cache: KeyCache | None = None
) -> PartnerKey | None:
    """The unrevoked key whose secret this is; ``None`` for unknown, forged or revoked keys."""
    lookup = lookup_of(key)
    if lookup is None:
        return None
    digest = key_digest(key)
    if cache is not None:
        cached = cache.get(digest)
        if cached is not None:
            return cached
    generation = cache.generation if cache is not None else 0
    async with database.read() as conn:
        row = await partners_sql.find_active_key(conn, lookup)
    if row is None or not digest_matches(key, row.key_hash):
        return None
    partner = PartnerKey(
        id=row.id,
        name=row.name,
        rate_per_minute=row.rate_per_minute,
        cost_per_minute=row.cost_per_minute,
    )
    if cache is not None:
        cache.put(digest, partner, generation)
    return partner


async def revoke_key(database: Database, key_id: int) -> bool:
    async with database.write() as conn:
        return await partners_sql.revoke_key(conn, key_id)


async def list_keys(database: Database) -> list[ApiKeyRow]:
    async with database.read() as conn:
        return await partners_sql.list_keys(conn)
