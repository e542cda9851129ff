"""Joining, leaving, auto-join with consent, and what redemptions do to a membership."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from gateway.settings import Settings
from tests.conftest import GraphQL
from tests.members.helpers import (
    ACCEPT,
    JOIN,
    LEAVE,
    MEMBERS,
    MY_MEMBERSHIPS,
    SAVE_SEGMENT,
    database,
    member_of,
    set_program,
    staff_as,
    visit,
)
from tests.orders.fixtures import Caller, Shop, ShopFactory
from tests.orders.test_flow import redeem
from tests.orders.test_payments import paid_booking
from tests.orders.test_redemption import REVERSE


async def test_join_is_idempotent_and_leave_keeps_only_anonymous_figures(
    shops: ShopFactory, gql: GraphQL, sql: psycopg.Connection[Any], settings: Settings
) -> None:
    shop = shops()
    alice = member_of(gql)
    first = (await alice.data(JOIN, {"input": {"merchantId": shop.merchant}}))["joinMembership"]
    again = (await alice.data(JOIN, {"input": {"merchantId": shop.merchant}}))["joinMembership"]
    assert first == again
    assert (first["visits"], first["points"], first["tier"], first["autoJoined"]) == (
        0,
        0,
        None,
        False,
    )
    assert first["totalSpend"] == {"amount": "0.00", "currency": "EUR"}
    async with database(settings.database_url) as db:
        await visit(db, shop, alice.subject, "12.50", datetime(2026, 3, 1, 12, tzinfo=UTC))
        await visit(db, shop, alice.subject, "7.50", datetime(2026, 3, 9, 12, tzinfo=UTC))
    mine = (await alice.data(MY_MEMBERSHIPS))["me"]["memberships"]
    assert [(m["visits"], m["totalSpend"]["amount"], m["points"]) for m in mine] == [
        (2, "20.00", 19)  # 12 + 7: rounded down per visit, rate 1 without a program
    ]

    manager = staff_as(gql, shop, "manager")
    segment = await manager.data(
        SAVE_SEGMENT,
        {"input": {"merchantId": shop.merchant, "name": "regulars", "filter": {"minVisits": 2}}},
    )
    assert segment["saveSegment"]["size"] == 1

    left = await alice.data(LEAVE, {"input": {"merchantId": shop.merchant}})
    assert left == {"leaveMembership": True}
    assert (await alice.data(LEAVE, {"input": {"merchantId": shop.merchant}})) == {
        "leaveMembership": False
    }
    assert (await alice.data(MY_MEMBERSHIPS))["me"]["memberships"] == []
    listed = await manager.data(MEMBERS, {"id": shop.merchant})
    assert listed["merchant"]["members"]["totalCount"] == 0
    segments = await manager.data(
        """query($id: ID!) { merchant(id: $id) { segments { name size } } }""",
        {"id": shop.merchant},
    )
    assert segments["merchant"]["segments"] == [{"name": "regulars", "size": 0}]
    subjects = sql.execute(
        "SELECT count(*) FROM memberships WHERE subject = %s", [alice.subject]
    ).fetchone()
    visits = sql.execute(
        "SELECT count(*) FROM membership_visits WHERE merchant_id = %s", [shop.merchant_id]
    ).fetchone()
    assert (subjects, visits) == ((0,), (0,))
    aggregate = sql.execute(
        "SELECT currency, members_left, visits, total_spend, points FROM membership_aggregates"
        " WHERE merchant_id = %s",
        [shop.merchant_id],
    ).fetchall()
    assert [tuple(map(str, row)) for row in aggregate] == [("EUR", "1", "2", "20.00", "19")]
    # a later visit of the former member counts nowhere
    async with database(settings.database_url) as db:
        await visit(db, shop, alice.subject, "5.00", datetime(2026, 4, 1, tzinfo=UTC))
    assert (await alice.data(MY_MEMBERSHIPS))["me"]["memberships"] == []


async def test_joining_an_unknown_merchant_is_not_found(gql: GraphQL) -> None:
    alice = member_of(gql)
    code = await alice.error_code(JOIN, {"input": {"merchantId": "TWVyY2hhbnQ6OTk5OTk5OTk5"}})
    assert code == "NOT_FOUND"
    anonymous = await gql(JOIN, {"input": {"merchantId": "TWVyY2hhbnQ6OTk5OTk5OTk5"}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_auto_join_on_first_redemption_only_with_consent(
    shops: ShopFactory,
    gql: GraphQL,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
) -> None:
    shop = shops(stock=20, price="10.00")
    await set_program(gql, shop, True, "1", [])
    clerk = staff(shop)
    consenting, silent = customer(), customer()
    assert await consenting.data(ACCEPT, {"input": {"merchantId": shop.merchant}}) == {
        "acceptAutoJoin": True
    }
    for who in (consenting, silent):
        paid = await paid_booking(who, shop, 1)
        redeemed = await redeem(clerk, paid["vouchers"][0]["code"], shop.store, key=who.subject)
        assert redeemed["__typename"] == "VoucherRedeemed"
    joined = (await consenting.data(MY_MEMBERSHIPS))["me"]["memberships"]
    assert [(m["visits"], m["autoJoined"], m["totalSpend"]["amount"]) for m in joined] == [
        (1, True, "10.00")
    ]
    assert (await silent.data(MY_MEMBERSHIPS))["me"]["memberships"] == []

    # without auto_join in the program, consent alone enrols nobody
    other = shops(stock=5, price="10.00")
    await set_program(gql, other, False, "1", [])
    await consenting.data(ACCEPT, {"input": {"merchantId": other.merchant}})
    paid = await paid_booking(consenting, other, 2)  # quantities keep idempotency keys apart
    await redeem(staff(other), paid["vouchers"][0]["code"], other.store, key="o")
    merchants = [
        m["merchant"]["id"] for m in (await consenting.data(MY_MEMBERSHIPS))["me"]["memberships"]
    ]
    assert merchants == [shop.merchant]

    # a withdrawn consent (and leaving) stops auto-join
    await silent.data(ACCEPT, {"input": {"merchantId": shop.merchant, "accept": True}})
    await silent.data(ACCEPT, {"input": {"merchantId": shop.merchant, "accept": False}})
    paid = await paid_booking(silent, shop, 2)
    await redeem(clerk, paid["vouchers"][0]["code"], shop.store, key="silent-2")
    assert (await silent.data(MY_MEMBERSHIPS))["me"]["memberships"] == []
    await consenting.data(LEAVE, {"input": {"merchantId": shop.merchant}})
    paid = await paid_booking(consenting, shop, 3)
    await redeem(clerk, paid["vouchers"][0]["code"], shop.store, key="after-leave")
    assert [
        m["merchant"]["id"] for m in (await consenting.data(MY_MEMBERSHIPS))["me"]["memberships"]
    ] == []


async def test_redemptions_make_visits_spend_points_and_tiers_and_a_reversal_undoes_one(
    shops: ShopFactory,
    gql: GraphQL,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
) -> None:
    shop = shops(stock=20, price="25.00")
    program = await set_program(gql, shop, False, "1.5", [("GOLD", 100), ("SILVER", 50)])
    assert program == {
        "autoJoin": False,
        "pointsPerUnit": "1.5",
        "tiers": [{"name": "SILVER", "minPoints": 50}, {"name": "GOLD", "minPoints": 100}],
    }
    alice, clerk = customer(), staff(shop)
    await alice.data(JOIN, {"input": {"merchantId": shop.merchant}})
    paid = await paid_booking(alice, shop, 3)
    seen: list[tuple[int, str, int, str | None]] = []
    for index, voucher in enumerate(paid["vouchers"]):
        redeemed = await redeem(clerk, voucher["code"], shop.store, key=f"r{index}")
        assert redeemed["__typename"] == "VoucherRedeemed"
        (mine,) = (await alice.data(MY_MEMBERSHIPS))["me"]["memberships"]
        seen.append((mine["visits"], mine["totalSpend"]["amount"], mine["points"], mine["tier"]))
        assert mine["lastVisitAt"] == redeemed["voucher"]["redeemedAt"]
    # 25.00 x 1.5 = 37.5 -> 37 points a visit
    assert seen == [(1, "25.00", 37, None), (2, "50.00", 74, "SILVER"), (3, "75.00", 111, "GOLD")]

    last = paid["vouchers"][2]["id"]
    reversed_ = await clerk.data(REVERSE, {"input": {"voucherId": last, "reason": "mistake"}})
    assert reversed_["reverseRedemption"]["__typename"] == "RedemptionReversed"
    (mine,) = (await alice.data(MY_MEMBERSHIPS))["me"]["memberships"]
    assert (mine["visits"], mine["totalSpend"]["amount"], mine["points"], mine["tier"]) == (
        2,
        "50.00",
        74,
        "SILVER",
    )
    # raising the thresholds re-grades the member
    await set_program(gql, shop, False, "1.5", [("SILVER", 80)])
    (mine,) = (await alice.data(MY_MEMBERSHIPS))["me"]["memberships"]
    assert mine["tier"] is None


async def test_bad_programs_are_refused(shops: ShopFactory, gql: GraphQL) -> None:
    shop = shops()
    owner = staff_as(gql, shop, "owner")
    base = {"merchantId": shop.merchant, "autoJoin": True}
    for fields, argument in (
        ({"pointsPerUnit": "-1"}, "input.pointsPerUnit"),
        ({"pointsPerUnit": "abc"}, "input.pointsPerUnit"),
        ({"pointsPerUnit": "0.00001"}, "input.pointsPerUnit"),
        ({"tiers": [{"name": "A", "minPoints": 5}, {"name": "B", "minPoints": 5}]}, "input.tiers"),
        ({"tiers": [{"name": "A", "minPoints": 5}, {"name": "A", "minPoints": 9}]}, "input.tiers"),
    ):
        body = await owner(
            """mutation($input: SetMembershipProgramInput!) {
              setMembershipProgram(input: $input) { autoJoin } }""",
            {"input": {**base, **fields}},
        )
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (fields, error)
        assert error["extensions"].get("argument") == argument, error
