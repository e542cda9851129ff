"""Ledger postings: every movement of money as a balanced journal, written by the caller's
transaction together with the event that caused it (see ``db/ledger_sql.py`` for the
accounts and the signs).

- a payment captured:  customer_funds -> platform_escrow
- a voucher redeemed:  platform_escrow -> merchant_payable, less the platform's commission
  (the merchant's ``commission_rate``, else :data:`DEFAULT_COMMISSION_RATE`), which goes to
  platform_commission; rounded half-up to the currency's minor unit
- a redemption reversed: the redemption's journal negated
- a refund succeeded:  platform_escrow -> customer_funds
- a platform-funded coupon redeemed: platform_marketing -> merchant_payable, the discount
  the merchant gave on the bill (the platform pays it); its reversal the journal negated

Each journal is keyed by its event (``payment:<id>`` ...), so posting twice writes once.
Zero amounts (free vouchers, a 0 % rate) write no entry; the database refuses zero entries
and, at commit, any journal that does not sum to zero per currency.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from db import ledger_sql
from db.ledger_sql import Journal, Leg

DEFAULT_COMMISSION_RATE = Decimal("0.10")
# ISO 4217 currencies without minor units; every other currency has cents
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX"})


def minor_unit(currency: str) -> Decimal:
    return Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")


def commission_of(price: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The platform's share of ``price``; never more than the price, never negative."""
    if not Decimal(0) <= rate <= Decimal(1):
        raise ValueError(f"commission rate {rate} is outside 0..1")
    return (price * rate).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def _legs(*legs: Leg) -> list[Leg]:
    return [leg for leg in legs if leg.amount != 0]


async def post_payment(
    conn: AsyncConnection, payment_id: int, booking_id: int, amount: Decimal
) -> int | None:
    """A captured payment: the customer's money into escrow."""
    if amount <= 0:
        return None
    parties = await ledger_sql.booking_parties(conn, booking_id)
    currency = parties.currency
    journal = Journal(
        kind="PAYMENT",
        event_key=f"payment:{payment_id}",
        merchant_id=parties.merchant_id,
        booking_id=booking_id,
        payment_id=payment_id,
    )
    legs = _legs(
        Leg(ledger_sql.customer_funds(parties.user_id, currency), -amount),
        Leg(ledger_sql.platform_escrow(currency), amount),
    )
    return await ledger_sql.post(conn, journal, legs)


async def post_redemption(
    conn: AsyncConnection,
    redemption_id: int,
    voucher_id: int,
    booking_id: int,
    price: Decimal,
) -> int | None:
    """A redeemed voucher: its price leaves escrow, to the merchant less the commission."""
    if price <= 0:
        return None
    parties = await ledger_sql.booking_parties(conn, booking_id)
    currency, merchant_id = parties.currency, parties.merchant_id
    rate = await ledger_sql.commission_rate(conn, merchant_id)
    commission = commission_of(price, DEFAULT_COMMISSION_RATE if rate is None else rate, currency)
    journal = Journal(
        kind="REDEMPTION",
        event_key=f"redemption:{redemption_id}",
        merchant_id=merchant_id,
        booking_id=booking_id,
        voucher_id=voucher_id,
        redemption_id=redemption_id,
    )
    legs = _legs(
        Leg(ledger_sql.platform_escrow(currency), -price),
        Leg(ledger_sql.merchant_payable(merchant_id, currency), price - commission),
        Leg(ledger_sql.platform_commission(currency), commission),
    )
    return await ledger_sql.post(conn, journal, legs)


async def post_reversal(
    conn: AsyncConnection, redemption_id: int, voucher_id: int, booking_id: int
) -> int | None:
    """A reversed redemption: exactly the opposite of its journal (none for a free one)."""
    original = await ledger_sql.journal_by_key(conn, f"redemption:{redemption_id}")
    if original is None:
        return None
    parties = await ledger_sql.booking_parties(conn, booking_id)
    journal = Journal(
        kind="REVERSAL",
        event_key=f"reversal:{redemption_id}",
        merchant_id=parties.merchant_id,
        booking_id=booking_id,
        voucher_id=voucher_id,
        redemption_id=redemption_id,
        reverses_id=original,
    )
    legs = [Leg(leg.account, -leg.amount) for leg in await ledger_sql.legs_of(conn, original)]
    return await ledger_sql.post(conn, journal, legs)


async def post_refund(
    conn: AsyncConnection, refund_id: int, payment_id: int, booking_id: int, amount: Decimal
) -> int | None:
    """A refund the provider confirmed: the amount leaves escrow, back to the customer."""
    if amount <= 0:
        return None
    parties = await ledger_sql.booking_parties(conn, booking_id)
    currency = parties.currency
    journal = Journal(
        kind="REFUND",
        event_key=f"refund:{refund_id}",
        merchant_id=parties.merchant_id,
        booking_id=booking_id,
        payment_id=payment_id,
        refund_id=refund_id,
    )
    legs = _legs(
        Leg(ledger_sql.platform_escrow(currency), -amount),
        Leg(ledger_sql.customer_funds(parties.user_id, currency), amount),
    )
    return await ledger_sql.post(conn, journal, legs)


async def post_coupon_discount(
    conn: AsyncConnection,
    coupon_redemption_id: int,
    merchant_id: int,
    currency: str,
    discount: Decimal,
) -> int | None:
    """A platform-funded coupon redeemed: the platform's marketing budget pays the merchant
    the discount it gave on the bill. Call it in the redemption's transaction, only for a
    coupon with ``platform_funded``; nothing is written for a zero discount (FREE_ITEM)."""
    if discount <= 0:
        return None
    journal = Journal(
        kind="COUPON",
        event_key=f"coupon:{coupon_redemption_id}",
        merchant_id=merchant_id,
        coupon_redemption_id=coupon_redemption_id,
    )
    legs = _legs(
        Leg(ledger_sql.platform_marketing(currency), -discount),
        Leg(ledger_sql.merchant_payable(merchant_id, currency), discount),
    )
    return await ledger_sql.post(conn, journal, legs)


async def post_coupon_reversal(
    conn: AsyncConnection, coupon_redemption_id: int, merchant_id: int
) -> int | None:
    """A coupon redemption reversed: its ``COUPON`` journal negated (none when the coupon
    was not platform-funded, so nothing was posted)."""
    original = await ledger_sql.journal_by_key(conn, f"coupon:{coupon_redemption_id}")
    if original is None:
        return None
    journal = Journal(
        kind="COUPON_BACK",
        event_key=f"coupon_back:{coupon_redemption_id}",
        merchant_id=merchant_id,
        coupon_redemption_id=coupon_redemption_id,
        reverses_id=original,
    )
    legs = [Leg(leg.account, -leg.amount) for leg in await ledger_sql.legs_of(conn, original)]
    return await ledger_sql.post(conn, journal, legs)
