"""Keyset pages of the newest-first lists (a user's bookings, vouchers and reviews, a
merchant's redemptions): one row more than the page is read to know whether more follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T]):
    rows: list[T]
    has_next: bool
    total: int


def page_of(rows: list[T], limit: int, total: int) -> KeysetPage[T]:
    """The page of ``rows`` read with ``limit + 1``."""
    return KeysetPage(rows=rows[:limit], has_next=len(rows) > limit, total=total)
