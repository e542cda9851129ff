"""Keeping the search index in step with PostgreSQL: the outbox publisher and the reindex.

Triggers write an outbox row with every change (migration 0002). :func:`publish_pending`
turns pending rows into documents read fresh from PostgreSQL and writes them in bulk, inside
one transaction that holds the publisher lock and marks the rows published only after the
index accepted them: a crash before the commit republishes (same content, newer version), a
crash after it has nothing left to do. Versions come from a sequence under that lock, so the
index drops any stale or replayed write by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from db.database import Database
from db.outbox_sql import (
    Affected,
    OutboxLag,
    affected_by,
    all_ids,
    category_sources,
    deal_sources,
    mark_published,
    merchant_sources,
    next_document_version,
    outbox_lag,
    pending_entries,
    record_failure,
    try_publisher_lock,
    wait_publisher_lock,
)
from search.documents import (
    category_doc_id,
    category_document,
    deal_doc_id,
    deal_document,
    merchant_doc_id,
    merchant_document,
)
from search.index import Document, SearchIndex, SearchWriteError

log = logging.getLogger("o2o.search.sync")

PUBLISH_BATCH = 500
MAX_ATTEMPTS = 5
REINDEX_CHUNK = 1000
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True, slots=True)
class PublishReport:
    entries: int = 0
    documents: int = 0
    stale: int = 0
    version: int | None = None
    busy: bool = False
    failed: int = 0  # rows the index refused this time


@dataclass(frozen=True, slots=True)
class ReindexReport:
    index: str
    documents: int
    version: int
    dropped: list[str]


async def documents_for(conn: AsyncConnection, affected: Affected) -> list[Document]:
    """Current documents for the affected ids; ids gone from PostgreSQL become deletions."""
    documents: list[Document] = []
    deals = {d.id: d for d in await deal_sources(conn, affected.deal_ids)}
    documents += [
        (deal_doc_id(i), deal_document(deals[i]) if i in deals else None) for i in affected.deal_ids
    ]
    merchants = {m.id: m for m in await merchant_sources(conn, affected.merchant_ids)}
    documents += [
        (merchant_doc_id(i), merchant_document(merchants[i]) if i in merchants else None)
        for i in affected.merchant_ids
    ]
    categories = {c.slug: c for c in await category_sources(conn, affected.category_slugs)}
    documents += [
        (category_doc_id(s), category_document(categories[s]) if s in categories else None)
        for s in affected.category_slugs
    ]
    return documents


class _RefusedError(Exception):
    """The index refused documents of these outbox rows (their transaction rolled back)."""

    def __init__(self, entry_ids: list[int], reason: str) -> None:
        super().__init__(reason)
        self.entry_ids = entry_ids
        self.reason = reason


async def publish_pending(
    database: Database, index: SearchIndex, batch: int = PUBLISH_BATCH
) -> PublishReport:
    """Publish up to ``batch`` outbox rows; a no-op when another publisher is at work.

    When the index refuses a document, the batch is retried row by row so one bad row
    cannot hold the others back; a row refused ``MAX_ATTEMPTS`` times is set aside (kept,
    with its last error, and counted in ``/metrics``) instead of stalling the outbox.
    """
    if not await index.exists():
        report = await reindex(database, index)
        return PublishReport(documents=report.documents, version=report.version)
    try:
        return await _publish(database, index, batch)
    except _RefusedError as refused:
        if len(refused.entry_ids) == 1:
            await _record_failure(database, refused)
            return PublishReport(failed=1)
        return await _publish_one_by_one(database, index, refused.entry_ids)


async def _publish(
    database: Database, index: SearchIndex, batch: int, only: Sequence[int] | None = None
) -> PublishReport:
    async with database.write() as conn:
        if not await try_publisher_lock(conn):
            return PublishReport(busy=True)
        entries = await pending_entries(conn, batch, MAX_ATTEMPTS, only)
        if not entries:
            return PublishReport()
        version = await next_document_version(conn)
        documents = await documents_for(conn, await affected_by(conn, entries))
        ids = [entry.id for entry in entries]
        try:
            outcome = await index.write(documents, version)
        except SearchWriteError as error:
            raise _RefusedError(ids, str(error)) from error
        await mark_published(conn, ids)
    return PublishReport(
        entries=len(entries), documents=outcome.written, stale=outcome.stale, version=version
    )


async def _publish_one_by_one(
    database: Database, index: SearchIndex, entry_ids: list[int]
) -> PublishReport:
    entries = documents = stale = failed = 0
    for entry_id in entry_ids:
        try:
            report = await _publish(database, index, 1, only=[entry_id])
        except _RefusedError as refused:
            await _record_failure(database, refused)
            failed += 1
            continue
        entries, documents = entries + report.entries, documents + report.documents
        stale += report.stale
    return PublishReport(entries=entries, documents=documents, stale=stale, failed=failed)


async def _record_failure(database: Database, refused: _RefusedError) -> None:
    log.warning("search index refused outbox rows %s: %s", refused.entry_ids, refused.reason)
    async with database.write() as conn:
        await record_failure(conn, refused.entry_ids, refused.reason)


async def reindex(database: Database, index: SearchIndex) -> ReindexReport:
    """Build a new index from PostgreSQL and swap the alias to it in one atomic step.

    Queries keep answering from the old index until the swap. Publishing waits meanwhile
    (same lock), and the outbox rows pending at the start are covered by the new index.
    """
    new_index = await index.create_versioned()
    swapped = False
    try:
        async with database.write() as conn:
            await wait_publisher_lock(conn)
            version = await next_document_version(conn)
            # every unpublished row, set-aside ones too: the new index is built from scratch
            pending = [entry.id for entry in await pending_entries(conn, limit=None)]
            written = await _write_everything(conn, index, new_index, version)
            await index.refresh(new_index)
            dropped = await index.swap_alias(new_index)
            swapped = True
            await mark_published(conn, pending)
    except BaseException:
        if not swapped:  # once swapped, the new index serves queries and must stay
            await index.drop([new_index])
        raise
    await index.drop(dropped)
    return ReindexReport(index=new_index, documents=written, version=version, dropped=dropped)


async def _write_everything(
    conn: AsyncConnection, index: SearchIndex, target: str, version: int
) -> int:
    everything = await all_ids(conn)
    written = 0
    for part in _chunks(everything):
        documents = await documents_for(conn, part)
        written += (await index.write(documents, version, index=target)).written
    return written


def _chunks(affected: Affected) -> list[Affected]:
    parts = [Affected([], [], affected.category_slugs)]
    parts += [
        Affected(affected.deal_ids[i : i + REINDEX_CHUNK], [], [])
        for i in range(0, len(affected.deal_ids), REINDEX_CHUNK)
    ]
    parts += [
        Affected([], affected.merchant_ids[i : i + REINDEX_CHUNK], [])
        for i in range(0, len(affected.merchant_ids), REINDEX_CHUNK)
    ]
    return parts


async def run_publisher(
    database: Database, index: SearchIndex, interval_s: float, stop: asyncio.Event
) -> None:
    """Publish until ``stop`` is set; back off while the search server is unreachable."""
    delay = interval_s
    while not stop.is_set():
        try:
            report = await publish_pending(database, index)
            delay = interval_s
            if report.entries >= PUBLISH_BATCH:
                continue  # more waiting: no pause
        except Exception as error:  # the index or the database is down: retry later
            delay = min(delay * 2, MAX_BACKOFF_S)
            log.warning("search publishing failed, retrying in %.1f s: %s", delay, error)
        await _sleep_or_stop(stop, delay)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return


async def index_lag(database: Database) -> OutboxLag:
    async with database.read() as conn:
        return await outbox_lag(conn, MAX_ATTEMPTS)
