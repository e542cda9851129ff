"""What a live event is: the kind and ids one NOTIFY payload carries, and the topics it
reaches. Parsing is strict and bounded: a payload that is not ours is dropped, never raised."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

import orjson

Source = Literal["booking", "payment", "redemption", "review", "deal", "wallet"]
# ("store" | "merchant" | "booking" | "deal", id) or ("customer", token subject)
Topic = tuple[str, int | str]

SOURCES: Final[frozenset[str]] = frozenset(
    {"booking", "payment", "redemption", "review", "deal", "wallet"}
)
MAX_PAYLOAD_BYTES: Final = 8000  # PostgreSQL's NOTIFY limit; ours stay under 200
_ID_KEYS: Final = ("id", "booking", "deal", "merchant", "store", "voucher", "coupon")
_MAX_KIND_LENGTH: Final = 32
MAX_CUSTOMER_LENGTH: Final = 200  # a token subject (claimed_coupons.user_id is at most 120)

# which topics each source reaches (see ``LiveEvent.topics``)
_TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "booking": ("booking", "merchant"),
    "payment": ("booking", "merchant"),
    "redemption": ("store", "merchant", "booking"),
    "review": ("merchant",),
    "deal": ("deal",),
    "wallet": ("customer",),
}


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One committed change: ``source`` (the table), ``kind`` (BOOKED, a booking or payment
    status, REDEEMED, REVERSED, REVIEWED, STOCK, or CLAIMED/ISSUED for a wallet entry), the
    ids it concerns (``customer``: the wallet owner's token subject), and when this process
    received it (right after the commit)."""

    source: Source
    kind: str
    id: int
    received_at: datetime
    booking: int | None = None
    deal: int | None = None
    merchant: int | None = None
    store: int | None = None
    voucher: int | None = None
    coupon: int | None = None
    customer: str | None = None

    def topics(self) -> list[Topic]:
        """The subscription topics this event reaches: its store (redemptions), merchant
        (activity), booking (its owner), deal (stock) or customer (wallet)."""
        found: list[Topic] = []
        for name in _TOPICS[self.source]:
            value = getattr(self, name)
            if value is not None:
                found.append((name, value))
        return found


def parse_event(payload: str, received_at: datetime | None = None) -> LiveEvent | None:
    """The event of a NOTIFY payload (migration 0009's JSON), or None when it is not one."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    source, kind = data.get("e"), data.get("kind")
    if source not in SOURCES or not isinstance(kind, str) or len(kind) > _MAX_KIND_LENGTH:
        return None
    ids = {key: data.get(key) for key in _ID_KEYS}
    if not all(value is None or _is_id(value) for value in ids.values()) or ids["id"] is None:
        return None
    customer = data.get("customer")
    if customer is not None and not (
        isinstance(customer, str) and 0 < len(customer) <= MAX_CUSTOMER_LENGTH
    ):
        return None
    if source == "wallet" and customer is None:
        return None
    return LiveEvent(
        source=source,
        kind=kind,
        received_at=received_at or datetime.now(UTC),
        id=ids["id"],
        booking=ids["booking"],
        deal=ids["deal"],
        merchant=ids["merchant"],
        store=ids["store"],
        voucher=ids["voucher"],
        coupon=ids["coupon"],
        customer=customer,
    )


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# merchantActivity's kinds, from (source, kind) of the triggers; other changes are not shown
_MERCHANT_KINDS: Final[dict[tuple[str, str], str]] = {
    ("booking", "BOOKED"): "BOOKED",
    ("booking", "CANCELLED"): "CANCELLED",
    ("payment", "SUCCEEDED"): "PAID",
    ("payment", "REFUNDED"): "REFUNDED",
    ("payment", "PARTIALLY_REFUNDED"): "REFUNDED",
    ("redemption", "REDEEMED"): "REDEEMED",
    ("review", "REVIEWED"): "REVIEWED",
}


def merchant_kind(event: LiveEvent) -> str | None:
    """The ``MerchantEventKind`` of ``event`` (BOOKED, PAID, REDEEMED, REVIEWED, CANCELLED,
    REFUNDED), or None for changes the merchant's activity feed does not show (a hold that
    expired, a declined payment, a reversal: those show in the orders and redemptions)."""
    return _MERCHANT_KINDS.get((event.source, event.kind))
