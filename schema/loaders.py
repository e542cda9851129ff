"""DataLoaders of one request: every batch is one SQL statement, whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from geo import lookup
from geo.db import Database
from geo.rows import CategoryRow, DealRow, MerchantRow, ReviewRow, StoreRow

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Fetch = Callable[[AsyncConnection, Sequence[int]], Awaitable[dict[int, V]]]


class Loaders:
    """Lazily created loaders sharing the request's database owner."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.merchant = self._by_id(lookup.merchants_by_ids)
        self.store = self._by_id(lookup.stores_by_ids)
        self.deal = self._by_id(lookup.deals_by_ids)
        self.review = self._by_id(lookup.reviews_by_ids)
        self.stores_of_merchant = self._by_id(lookup.stores_of_merchants)
        self.stores_of_deal = self._by_id(lookup.stores_of_deals)
        self.rating_summary = self._by_id(lookup.rating_summaries)
        self.deal_count = self._by_id(lookup.deal_counts)
        self.category = DataLoader[str, CategoryRow | None](load_fn=self._categories)
        self.deals_page = DataLoader[tuple[int, int, int], list[DealRow]](load_fn=self._deals_pages)
        self.reviews_page = DataLoader[tuple[int, str, int, int], list[ReviewRow]](
            load_fn=self._reviews_pages
        )

    def _by_id(self, fetch: Fetch[V]) -> DataLoader[int, V | None]:
        async def load(keys: Sequence[int]) -> list[V | None]:
            async with self._database.read() as conn:
                found = await fetch(conn, list(dict.fromkeys(keys)))
            return [found.get(key) for key in keys]

        return DataLoader(load_fn=load)

    async def _categories(self, slugs: Sequence[str]) -> list[CategoryRow | None]:
        async with self._database.read() as conn:
            rows = {row.slug: row for row in await lookup.categories_all(conn)}
        return [rows.get(slug) for slug in slugs]

    async def _deals_pages(self, keys: Sequence[tuple[int, int, int]]) -> list[list[DealRow]]:
        """Keys are (merchant id, after deal id, limit); one statement per (after, limit)."""
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for merchant_id, after, limit in keys:
            groups[(after, limit)].append(merchant_id)
        pages: dict[tuple[int, int, int], list[DealRow]] = {}
        async with self._database.read() as conn:
            for (after, limit), merchant_ids in groups.items():
                found = await lookup.deals_of_merchants(conn, merchant_ids, after, limit)
                for merchant_id in merchant_ids:
                    pages[(merchant_id, after, limit)] = found[merchant_id]
        return [pages[key] for key in keys]

    async def _reviews_pages(
        self, keys: Sequence[tuple[int, str, int, int]]
    ) -> list[list[ReviewRow]]:
        """Keys are (merchant id, sort, offset, limit); one statement per (sort, offset, limit)."""
        groups: dict[tuple[str, int, int], list[int]] = defaultdict(list)
        for merchant_id, sort, offset, limit in keys:
            groups[(sort, offset, limit)].append(merchant_id)
        pages: dict[tuple[int, str, int, int], list[ReviewRow]] = {}
        async with self._database.read() as conn:
            for (sort, offset, limit), merchant_ids in groups.items():
                found = await lookup.reviews_of_merchants(conn, merchant_ids, sort, offset, limit)
                for merchant_id in merchant_ids:
                    pages[(merchant_id, sort, offset, limit)] = found[merchant_id]
        return [pages[key] for key in keys]

    def prime_deals(self, rows: Sequence[DealRow]) -> None:
        self.deal.prime_many({row.id: row for row in rows})

    def prime_merchants(self, rows: Sequence[MerchantRow]) -> None:
        self.merchant.prime_many({row.id: row for row in rows})

    def prime_stores(self, rows: Sequence[StoreRow]) -> None:
        self.store.prime_many({row.id: row for row in rows})
