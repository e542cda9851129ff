"""``issueCoupon`` and ``walletUpdates`` on the real stack: an issue reaches exactly the
segment's members, once each, even when replayed or repeated; its refusals; a subscriber
receives the wallet entry when the issue commits."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.coupons.wallet_helpers import (
    ISSUE,
    add_coupon,
    add_member,
    coupon_shops,
    manager_of,
    save_segment,
)
from tests.live.conftest import (
    Gateway,
    Subscriber,
    customer_on,
    gateways,
    on_b,
    quiet_a,
    subscribers,
)
from tests.orders.fixtures import ShopFactory, staff

__all__ = ["coupon_shops", "gateways", "on_b", "quiet_a", "staff", "subscribers"]

WALLET = """subscription { walletUpdates { id code status coupon { id } } }"""


def wallet(sql: psycopg.Connection[Any], coupon_id: int) -> list[tuple[str, str]]:
    rows = sql.execute(
        "SELECT user_id, source FROM claimed_coupons WHERE coupon_id = %s ORDER BY user_id",
        [coupon_id],
    ).fetchall()
    return [(str(user), str(source)) for user, source in rows]


async def test_an_issue_reaches_exactly_the_segment_once_even_when_replayed(
    gql: GraphQL, coupon_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    shop = coupon_shops()
    tag = uuid.uuid4().hex[:8]
    regulars = [f"user-a{tag}", f"user-b{tag}"]
    add_member(sql, shop, regulars[0], visits=3)
    add_member(sql, shop, regulars[1], visits=1)
    add_member(sql, shop, f"user-c{tag}", visits=0)  # a member, not in the segment
    coupon = add_coupon(sql, shop, stock=5)
    manager = manager_of(gql, shop)
    segment = await save_segment(manager, shop, min_visits=1)
    variables = {
        "input": {
            "couponId": to_global_id("Coupon", coupon),
            "segmentId": segment,
            "idempotencyKey": f"issue-{tag}",
        }
    }
    first = await manager.data(ISSUE, variables)
    assert first["issueCoupon"] == {"issued": 2, "segmentSize": 2}
    assert wallet(sql, coupon) == [(regulars[0], "ISSUE"), (regulars[1], "ISSUE")]

    replay = await manager.data(ISSUE, variables)  # same key: the first answer, no write
    assert replay["issueCoupon"] == {"issued": 2, "segmentSize": 2}
    variables["input"]["idempotencyKey"] = f"again-{tag}"  # a new key: nobody gets a second
    again = await manager.data(ISSUE, variables)
    assert again["issueCoupon"] == {"issued": 0, "segmentSize": 2}
    assert wallet(sql, coupon) == [(regulars[0], "ISSUE"), (regulars[1], "ISSUE")]
    stock = sql.execute("SELECT remaining_quantity FROM coupons WHERE id = %s", [coupon])
    assert stock.fetchone() == (3,)

    add_member(sql, shop, f"user-d{tag}", visits=2)  # joins the segment later: only them
    variables["input"]["idempotencyKey"] = f"later-{tag}"
    later = await manager.data(ISSUE, variables)
    assert later["issueCoupon"] == {"issued": 1, "segmentSize": 3}
    assert len(wallet(sql, coupon)) == 3


async def test_issue_refusals_are_clear(
    gql: GraphQL,
    coupon_shops: ShopFactory,
    sql: psycopg.Connection[Any],
    staff: Any,
) -> None:
    shop, other = coupon_shops(), coupon_shops()
    tag = uuid.uuid4().hex[:8]
    for index in range(3):
        add_member(sql, shop, f"user-{index}{tag}", visits=1)
    manager = manager_of(gql, shop)
    segment = await save_segment(manager, shop, min_visits=1)

    def issue(coupon: int, key: str, segment_id: str = segment) -> dict[str, Any]:
        return {
            "input": {
                "couponId": to_global_id("Coupon", coupon),
                "segmentId": segment_id,
                "idempotencyKey": key,
            }
        }

    scarce = add_coupon(sql, shop, stock=2)
    error = (await manager(ISSUE, issue(scarce, f"k1{tag}")))["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "only 2 coupons remain for 3 new members" in error["message"]
    assert wallet(sql, scarce) == []  # all or nothing

    draft = add_coupon(sql, shop, status="DRAFT")
    body = await manager(ISSUE, issue(draft, f"k2{tag}"))
    assert "only a PUBLISHED" in body["errors"][0]["message"]

    cashier = staff(shop)  # a cashier may not issue
    assert await cashier.error_code(ISSUE, issue(add_coupon(sql, shop), f"k3{tag}")) in (
        "FORBIDDEN",
        "NOT_FOUND",
    )
    foreign = manager_of(gql, other)  # nor another merchant's manager
    assert await foreign.error_code(ISSUE, issue(scarce, f"k4{tag}")) == "NOT_FOUND"
    other_segment = await save_segment(foreign, other, min_visits=0)
    code = await manager.error_code(ISSUE, issue(add_coupon(sql, shop), f"k5{tag}", other_segment))
    assert code == "NOT_FOUND"


async def test_a_wallet_subscriber_receives_the_issued_coupon(
    quiet_a: Gateway,
    on_b: GraphQL,
    coupon_shops: ShopFactory,
    sql: psycopg.Connection[Any],
    subscribers: list[Subscriber],
) -> None:
    shop = coupon_shops()
    alice, bob = customer_on(on_b), customer_on(on_b)
    add_member(sql, shop, alice.subject, visits=2)
    coupon = add_coupon(sql, shop)
    follow = await Subscriber.start(
        quiet_a,
        {"query": WALLET},
        connection_params={"authorization": f"Bearer {alice.bearer}"},
    )
    subscribers.append(follow)
    bobs = await Subscriber.start(
        quiet_a, {"query": WALLET}, connection_params={"authorization": f"Bearer {bob.bearer}"}
    )
    subscribers.append(bobs)
    await quiet_a.wait_metric("o2o_live_subscriptions", 2)
    manager = manager_of(on_b, shop)
    segment = await save_segment(manager, shop, min_visits=1)
    variables = {
        "input": {
            "couponId": to_global_id("Coupon", coupon),
            "segmentId": segment,
            "idempotencyKey": f"live-{uuid.uuid4().hex[:8]}",
        }
    }
    assert (await manager.data(ISSUE, variables))["issueCoupon"]["issued"] == 1
    line = await follow.line("next", timeout_s=10)
    assert "errors" not in line["payload"], line
    entry = line["payload"]["data"]["walletUpdates"]
    assert entry["coupon"]["id"] == to_global_id("Coupon", coupon)
    assert entry["status"] == "ISSUED"
    assert len(entry["code"].replace("-", "").replace(" ", "")) == 14
    await manager.data(ISSUE, variables)  # a replay sends nothing
    await follow.nothing_for(1.0)
    await bobs.line("connected")
    await bobs.nothing_for(0.5)  # not in the segment: nothing
