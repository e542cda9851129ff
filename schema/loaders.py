"""The DataLoaders of one request, catalogue and orders alike: each is created on first use,
and every batch is one SQL statement, whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Generic, TypeVar, overload

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from commerce.merchants.slots import MAX_LISTED
from db import bookings_sql, catalog_sql, coupons_sql, payments_sql, slots_sql, vouchers_sql
from db.database import Database
from db.rows import CategoryRow, DealRow, MerchantRow, ReviewRow, SlotRow, StoreRow

V = TypeVar("V")
Fetch = Callable[[AsyncConnection, Sequence[int]], Awaitable[dict[int, V]]]
DealsPageKey = tuple[int, int, int, bool]  # merchant, after id, limit, every status
SlotsKey = tuple[int, datetime, datetime]  # deal id, first start, end (exclusive)
ReviewsPageKey = tuple[int, str, int, int]


class ById(Generic[V]):
    """A loader attribute: on first access per request, a loader of ``fetch``'s rows (or
    groups) by id, missing ids loading as ``None``; later accesses get the same loader."""

    def __init__(self, fetch: Fetch[V]) -> None:
        self._fetch = fetch
        self._name = ""

    def __set_name__(self, owner: type[Loaders], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, loaders: None, owner: type[Loaders]) -> ById[V]: ...
    @overload
    def __get__(self, loaders: Loaders, owner: type[Loaders]) -> DataLoader[int, V | None]: ...
    def __get__(
        self, loaders: Loaders | None, owner: type[Loaders]
    ) -> ById[V] | DataLoader[int, V | None]:
        if loaders is None:
            return self
        loader = DataLoader(load_fn=loaders.batch_by_id(self._fetch))
        vars(loaders)[self._name] = loader  # the instance attribute now shadows this
        return loader


class Loaders:
    """The request's loaders, each built on first access and sharing the database owner."""

    merchant = ById(catalog_sql.merchants_by_ids)
    store = ById(catalog_sql.stores_by_ids)
    deal = ById(catalog_sql.deals_by_ids)
    review = ById(catalog_sql.reviews_by_ids)
    stores_of_merchant = ById(catalog_sql.stores_of_merchants)
    stores_of_deal = ById(catalog_sql.stores_of_deals)
    coupon = ById(coupons_sql.coupons_by_ids)
    stores_of_coupon = ById(coupons_sql.stores_of_coupons)
    rating_summary = ById(catalog_sql.rating_summaries)
    deal_count = ById(catalog_sql.deal_counts)
    deal_count_every_status = ById(catalog_sql.deal_counts_every_status)
    booking = ById(bookings_sql.bookings_by_ids)
    payment = ById(payments_sql.payments_by_ids)
    payment_of_booking = ById(payments_sql.payments_of_bookings)
    vouchers_of_booking = ById(vouchers_sql.vouchers_of_bookings)
    voucher = ById(vouchers_sql.vouchers_by_ids)
    redemption = ById(vouchers_sql.redemptions_by_ids)
    refund = ById(payments_sql.refunds_by_ids)

    def __init__(self, database: Database) -> None:
        self._database = database

    @cached_property
    def category(self) -> DataLoader[str, CategoryRow | None]:
        return DataLoader(load_fn=self._categories)

    @cached_property
    def deals_page(self) -> DataLoader[DealsPageKey, list[DealRow]]:
        return DataLoader(load_fn=self._deals_pages)

    @cached_property
    def slots_between(self) -> DataLoader[SlotsKey, list[SlotRow]]:
        return DataLoader(load_fn=self._slots_between)

    @cached_property
    def reviews_page(self) -> DataLoader[ReviewsPageKey, list[ReviewRow]]:
        return DataLoader(load_fn=self._reviews_pages)

    async def all_categories(self) -> list[CategoryRow]:
        """Every category (one statement); primes ``category`` with them."""
        async with self._database.read() as conn:
            rows = await catalog_sql.categories_all(conn)
        self.category.prime_many({row.slug: row for row in rows})
        return rows

    def prime_deals(self, rows: Sequence[DealRow]) -> None:
        self.deal.prime_many({row.id: row for row in rows})

    def prime_merchants(self, rows: Sequence[MerchantRow]) -> None:
        self.merchant.prime_many({row.id: row for row in rows})

    def prime_stores(self, rows: Sequence[StoreRow]) -> None:
        self.store.prime_many({row.id: row for row in rows})

    def batch_by_id(self, fetch: Fetch[V]) -> Callable[[Sequence[int]], Awaitable[list[V | None]]]:
        """The batch function of a by-id loader: one ``fetch`` for the distinct ids."""

        async def load(keys: Sequence[int]) -> list[V | None]:
            async with self._database.read() as conn:
                found = await fetch(conn, list(dict.fromkeys(keys)))
            return [found.get(key) for key in keys]

        return load

    async def _categories(self, slugs: Sequence[str]) -> list[CategoryRow | None]:
        async with self._database.read() as conn:
            rows = {row.slug: row for row in await catalog_sql.categories_all(conn)}
        return [rows.get(slug) for slug in slugs]

    async def _deals_pages(self, keys: Sequence[DealsPageKey]) -> list[list[DealRow]]:
        """Keys are (merchant id, after deal id, limit, every status); one statement per
        (after, limit, every status)."""
        groups: dict[tuple[int, int, bool], list[int]] = defaultdict(list)
        for merchant_id, after, limit, every in keys:
            groups[(after, limit, every)].append(merchant_id)
        pages: dict[DealsPageKey, list[DealRow]] = {}
        async with self._database.read() as conn:
            for (after, limit, every), merchant_ids in groups.items():
                found = await catalog_sql.deals_of_merchants(
                    conn, merchant_ids, after, limit, every
                )
                for merchant_id in merchant_ids:
                    pages[(merchant_id, after, limit, every)] = found[merchant_id]
        return [pages[key] for key in keys]

    async def _slots_between(self, keys: Sequence[SlotsKey]) -> list[list[SlotRow]]:
        """Keys are (deal id, from, to); one statement per (from, to), whatever the deals."""
        groups: dict[tuple[datetime, datetime], list[int]] = defaultdict(list)
        for deal_id, start, end in keys:
            groups[(start, end)].append(deal_id)
        found: dict[SlotsKey, list[SlotRow]] = {}
        async with self._database.read() as conn:
            for (start, end), deal_ids in groups.items():
                slots = await slots_sql.slots_of_deals(conn, deal_ids, start, end, MAX_LISTED)
                for deal_id in deal_ids:
                    found[(deal_id, start, end)] = slots[deal_id]
        return [found[key] for key in keys]

    async def _reviews_pages(self, keys: Sequence[ReviewsPageKey]) -> list[list[ReviewRow]]:
        """Keys are (merchant id, sort, offset, limit); one statement per (sort, offset, limit)."""
        groups: dict[tuple[str, int, int], list[int]] = defaultdict(list)
        for merchant_id, sort, offset, limit in keys:
            groups[(sort, offset, limit)].append(merchant_id)
        pages: dict[ReviewsPageKey, list[ReviewRow]] = {}
        async with self._database.read() as conn:
            for (sort, offset, limit), merchant_ids in groups.items():
                found = await catalog_sql.reviews_of_merchants(
                    conn, merchant_ids, sort, offset, limit
                )
                for merchant_id in merchant_ids:
                    pages[(merchant_id, sort, offset, limit)] = found[merchant_id]
        return [pages[key] for key in keys]
