"""A scripted journey through two channels and one partner key gives exactly its numbers in
``Merchant.insights``, within seconds; tokens that are forged, stale or another deal's are
ignored (the booking counts as DIRECT), never an error."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from commerce.insights.attribution import Channel, attribution_key, make_token
from gateway.settings import Settings
from tests.insights.journey import (
    DEAL,
    INSIGHTS,
    NODE,
    book,
    eventually,
    map_token,
    nearby_token,
    period,
)
from tests.orders.fixtures import Caller, Shop, ShopFactory, token
from tests.orders.test_flow import REVIEW, pay, redeem

CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) {
  __typename } }"""


def owner(shop: Shop, caller: Caller) -> Caller:
    subject = f"staff-owner-{uuid.uuid4().hex[:8]}"
    bearer = token(subject, "merchant", shop.merchant_id, staff_role="owner")
    return Caller(caller.gql, bearer, subject)


async def insights(who: Caller, shop: Shop, **variables: Any) -> dict[str, Any]:
    values = {"id": shop.merchant, **period(), **variables}
    data = await who.data(INSIGHTS, values)
    found: dict[str, Any] = data["merchant"]["insights"]
    return found


def channels(found: dict[str, Any]) -> dict[tuple[str, int | None], tuple[int, int, int]]:
    return {
        (line["channel"], line["partnerKeyId"]): (
            line["impressions"],
            line["bookings"],
            line["redemptions"],
        )
        for line in found["byChannel"]
    }


async def test_a_scripted_journey_gives_exactly_its_numbers(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    make_key: Callable[..., str],
) -> None:
    shop = shops(stock=50, price="12.50", stores=1)
    name = f"insights partner {uuid.uuid4().hex[:8]}"
    key = make_key(name=name)
    row = sql.execute("SELECT id FROM api_keys WHERE name = %s", [name]).fetchone()
    assert row is not None
    partner_id = int(row[0])
    ann, bob, cat, dan, eve = (customer() for _ in range(5))
    partner = {"X-API-Key": key}

    # impressions: NEARBY 3 without a key and 2 with it, MAP 2
    nearby_plain = [await nearby_token(ann, shop) for _ in range(3)]
    nearby_partner = [await nearby_token(ann, shop, **partner) for _ in range(2)]
    map_tokens = [await map_token(bob, shop) for _ in range(2)]
    # detail views: 2 deal(id:) and 1 node(id:)
    for query in (DEAL, DEAL, NODE):
        await cat.data(query, {"id": shop.deal})

    # bookings: ann through the partner's nearby result (2 units), bob from the map, cat with
    # no token, dan with a forged one, eve with a stale one: 5 bookings, 2 attributed
    forged = nearby_plain[0][:-3] + ("AAA" if not nearby_plain[0].endswith("AAA") else "BBB")
    secret = Settings().voucher_secret.get_secret_value().encode()
    stale_at = int((datetime.now(UTC) - timedelta(days=8)).timestamp())
    stale = make_token(attribution_key(secret), shop.deal_id, Channel.NEARBY, None, stale_at)
    ann_booking = await book(ann, shop, "a", quantity=2, attribution=nearby_partner[1])
    bob_booking = await book(bob, shop, "b", attribution=map_tokens[0])
    cat_booking = await book(cat, shop, "c")
    dan_booking = await book(dan, shop, "d", attribution=forged)
    await book(eve, shop, "e", attribution=stale)
    stored = sql.execute(
        "SELECT user_id, channel, partner_key_id FROM bookings WHERE deal_id = %s",
        [shop.deal_id],
    ).fetchall()
    assert {r[0]: (r[1], r[2]) for r in stored} == {
        ann.subject: ("NEARBY", partner_id),
        bob.subject: ("MAP", None),
        cat.subject: ("DIRECT", None),
        dan.subject: ("DIRECT", None),
        eve.subject: ("DIRECT", None),
    }

    # payments (4 paid orders), a refund (cat cancels), redemptions (3) and reviews (2)
    paid = {}
    for who, booking in ((ann, ann_booking), (bob, bob_booking), (cat, cat_booking)):
        paid[who.subject] = await pay(who, booking)
    await pay(dan, dan_booking)
    cancelled = await cat.data(CANCEL, {"input": {"bookingId": cat_booking}})
    assert cancelled["cancelBooking"]["__typename"] == "BookingCancelled"
    clerk = owner(shop, ann)
    for index, voucher in enumerate(paid[ann.subject]["vouchers"]):
        assert (await redeem(clerk, voucher["code"], shop.store, key=f"a{index}"))[
            "__typename"
        ] == "VoucherRedeemed"
    await redeem(clerk, paid[bob.subject]["vouchers"][0]["code"], shop.store, key="b")
    for who in (ann, bob):
        review = {"merchantId": shop.merchant, "rating": 5, "text": "Good"}
        posted = (await who.data(REVIEW, {"input": review}))["postReview"]
        assert posted["__typename"] == "ReviewPosted"

    # within 5 s (flush every second) everything shows, exactly
    found = await eventually(
        lambda: insights(clerk, shop, granularity="HOUR"),
        lambda f: f["totals"]["impressions"] >= 7 and f["totals"]["detailViews"] >= 3,
    )
    totals = found["totals"]
    price = Decimal("12.50")
    assert totals == {
        "impressions": 7,
        "detailViews": 3,
        "bookings": 5,
        "paidOrders": 4,
        "redemptions": 3,
        "reviews": 2,
        "grossRevenue": {"amount": f"{price * 5:.2f}", "currency": "EUR"},
        "refunds": {"amount": f"{price:.2f}"},
        "net": {"amount": f"{price * 4:.2f}"},
        "conversion": {
            "detailViewRate": round(3 / 7, 4),
            "bookingRate": round(5 / 3, 4),
            "paymentRate": 0.8,
            "redemptionRate": 0.75,
            "reviewRate": round(2 / 3, 4),
        },
    }
    assert channels(found) == {
        ("NEARBY", None): (3, 0, 0),
        ("NEARBY", partner_id): (2, 1, 2),
        ("MAP", None): (2, 1, 1),
        ("DIRECT", None): (0, 3, 0),
    }
    assert [line["partner"] for line in found["byChannel"] if line["partnerKeyId"]] == [name]
    assert found["timeZone"] == "UTC" and found["granularity"] == "HOUR"
    # the buckets add up to the totals, and each starts on a whole hour
    assert len(found["buckets"]) in (4, 5)
    for figure in ("impressions", "detailViews", "bookings", "paidOrders", "redemptions"):
        assert sum(b[figure] for b in found["buckets"]) == totals[figure]
    for bucket in found["buckets"]:
        assert datetime.fromisoformat(bucket["start"]).minute == 0

    # narrowed to the deal and its store: the same; another period: nothing
    narrowed = await insights(clerk, shop, dealId=shop.deal, storeId=shop.store)
    assert narrowed["totals"] == totals
    earlier = {
        "from": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        "to": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
    }
    empty = await insights(clerk, shop, **earlier)
    assert empty["totals"]["bookings"] == 0 and empty["totals"]["impressions"] == 0
    assert empty["byChannel"] == []


async def test_day_buckets_start_at_local_midnight(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops()
    sql.execute("UPDATE stores SET timezone = 'Asia/Kolkata' WHERE id = %s", [shop.store_ids[0]])
    clerk = owner(shop, customer())
    await book(customer(), shop, "k")
    found = await insights(clerk, shop, granularity="DAY", **period(72, 24))
    assert found["timeZone"] == "Asia/Kolkata"
    starts = [datetime.fromisoformat(b["start"]) for b in found["buckets"]]
    assert len(starts) in (4, 5)
    for start in starts:
        local = start.astimezone(ZoneInfo("Asia/Kolkata"))
        assert (local.hour, local.minute) == (0, 0)
    assert sum(b["bookings"] for b in found["buckets"]) == 1


async def test_a_token_is_ignored_unless_it_is_ours_fresh_and_this_deals(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop, other = shops(), shops()
    ann = customer()
    good = await nearby_token(ann, shop)
    theirs = await nearby_token(ann, other)
    secret = Settings().voucher_secret.get_secret_value().encode()
    key = attribution_key(secret)
    now = datetime.now(UTC)
    future = make_token(key, shop.deal_id, Channel.MAP, None, int(now.timestamp()) + 3600)
    wrong_key = make_token(b"k" * 32, shop.deal_id, Channel.MAP, None, int(now.timestamp()))
    tokens = [theirs, future, wrong_key, "!!!", "A" * 500, "", good[::-1], good + "A"]
    for index, bad in enumerate(tokens):
        await book(customer(), shop, f"bad-{index}", attribution=bad)
    await book(customer(), shop, "good", attribution=good)
    rows = sql.execute(
        "SELECT channel, count(*) FROM bookings WHERE deal_id = %s GROUP BY 1 ORDER BY 1",
        [shop.deal_id],
    ).fetchall()
    assert rows == [("DIRECT", len(tokens)), ("NEARBY", 1)]
