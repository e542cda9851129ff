"""DataLoaders of the O2O loop: bookings, their payments and vouchers, refunds (one statement
per batch)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from geo import booking_sql, payment_sql, voucher_sql
from geo.db import Database

V = TypeVar("V")
Fetch = Callable[[AsyncConnection, Sequence[int]], Awaitable[dict[int, V]]]


class LoopLoaders:
    def __init__(self, database: Database) -> None:
        self._database = database
        self.booking = self._by_id(booking_sql.bookings_by_ids)
        self.payment_of_booking = self._by_id(payment_sql.payments_of_bookings)
        self.vouchers_of_booking = self._by_id(voucher_sql.vouchers_of_bookings)
        self.voucher = self._by_id(voucher_sql.vouchers_by_ids)
        self.refund = self._by_id(payment_sql.refunds_by_ids)

    def _by_id(self, fetch: Fetch[V]) -> DataLoader[int, V | None]:
        async def load(keys: Sequence[int]) -> list[V | None]:
            async with self._database.read() as conn:
                found = await fetch(conn, list(dict.fromkeys(keys)))
            return [found.get(key) for key in keys]

        return DataLoader(load_fn=load)
