"""The merchant's CRM: member filters and pages, segments, eligibility, role checks, and
retention cohorts against an independent computation on a scripted history."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from commerce.members.crm import is_eligible, segment_subjects
from gateway.settings import Settings
from tests.conftest import GraphQL
from tests.helpers import decode_id
from tests.members.helpers import (
    JOIN,
    LEAVE,
    MEMBERS,
    RETENTION,
    SAVE_SEGMENT,
    SEGMENTS,
    database,
    member_of,
    set_program,
    staff_as,
    visit,
)
from tests.orders.fixtures import Caller, ShopFactory

T0 = datetime(2026, 1, 10, 12, tzinfo=UTC)


async def members(who: Caller, merchant: str, **variables: Any) -> dict[str, Any]:
    data = await who.data(MEMBERS, {"id": merchant, **variables})
    found: dict[str, Any] = data["merchant"]["members"]
    return found


async def test_member_filters_pages_and_pseudonyms(
    shops: ShopFactory, gql: GraphQL, settings: Settings
) -> None:
    shop = shops()
    await set_program(gql, shop, False, "1", [("SILVER", 30)])
    people = [member_of(gql) for _ in range(5)]
    # (visits, spend each, days after T0 of the first visit)
    script = [(1, "5.00", 0), (2, "10.00", 10), (3, "10.00", 20), (4, "20.00", 30), (0, "0", 0)]
    async with database(settings.database_url) as db:
        for who, (count, spend, day) in zip(people, script, strict=True):
            await who.data(JOIN, {"input": {"merchantId": shop.merchant}})
            for n in range(count):
                await visit(db, shop, who.subject, spend, T0 + timedelta(days=day + n))
    manager = staff_as(gql, shop, "manager")
    everyone = await members(manager, shop.merchant)
    assert everyone["totalCount"] == 5
    refs = [edge["node"]["customerRef"] for edge in everyone["edges"]]
    assert len(set(refs)) == 5 and all(r.startswith("cus_") for r in refs)
    assert not any(p.subject in r for p in people for r in refs)
    # newest membership first
    assert [e["node"]["visits"] for e in everyone["edges"]] == [0, 4, 3, 2, 1]

    def visits_of(found: dict[str, Any]) -> list[int]:
        return [edge["node"]["visits"] for edge in found["edges"]]

    assert visits_of(await members(manager, shop.merchant, filter={"minVisits": 2})) == [4, 3, 2]
    rich = {"minSpend": {"amount": "30.00", "currency": "EUR"}}
    assert visits_of(await members(manager, shop.merchant, filter=rich)) == [4, 3]
    other_currency = {"minSpend": {"amount": "1.00", "currency": "SEK"}}
    assert visits_of(await members(manager, shop.merchant, filter=other_currency)) == []
    assert visits_of(await members(manager, shop.merchant, filter={"tier": "SILVER"})) == [4, 3]
    # last visits: T0, T0+11, T0+22, T0+33 days
    before = {"lastVisitBefore": (T0 + timedelta(days=22)).isoformat()}
    assert visits_of(await members(manager, shop.merchant, filter=before)) == [2, 1]
    after = {"lastVisitAfter": (T0 + timedelta(days=11)).isoformat(), "minVisits": 3}
    assert visits_of(await members(manager, shop.merchant, filter=after)) == [4, 3]

    walked: list[str] = []
    cursor = None
    while True:
        page = await members(manager, shop.merchant, first=2, after=cursor)
        walked += [edge["node"]["customerRef"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert walked == refs

    for bad, argument in (
        ({"minVisits": -1}, "filter.minVisits"),
        ({"minSpend": {"amount": "x", "currency": "EUR"}}, "filter.minSpend"),
        ({"minSpend": {"amount": "1", "currency": "eur"}}, "filter.minSpend"),
        ({"lastVisitBefore": "2026-01-01T00:00:00"}, "filter.lastVisitBefore"),
    ):
        body = await manager(MEMBERS, {"id": shop.merchant, "filter": bad})
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (bad, error)
        assert error["extensions"]["argument"] == argument


async def test_only_owners_and_managers_see_members_segments_and_retention(
    shops: ShopFactory, gql: GraphQL
) -> None:
    shop, other = shops(), shops()
    save = {"merchantId": shop.merchant, "name": "all", "filter": {}}
    retention = {"id": shop.merchant, "from": "2026-01-01", "to": "2026-03-31"}
    for role in ("owner", "manager"):
        who = staff_as(gql, shop, role)
        assert (await members(who, shop.merchant))["totalCount"] == 0
        assert (await who.data(SAVE_SEGMENT, {"input": save}))["saveSegment"]["name"] == "all"
        assert (await who.data(RETENTION, retention))["merchant"]["retention"] == {
            "repeatRate": 0.0,
            "cohorts": [],
        }
    outsiders = [
        staff_as(gql, shop, "cashier"),
        staff_as(gql, other, "owner"),
        member_of(gql),
    ]
    for who in outsiders:
        for query, variables in (
            (MEMBERS, {"id": shop.merchant}),
            (SEGMENTS, {"id": shop.merchant}),
            (RETENTION, retention),
            (SAVE_SEGMENT, {"input": save}),
        ):
            assert await who.error_code(query, variables) == "FORBIDDEN", (who.subject, query)
    program = """mutation($input: SetMembershipProgramInput!) {
      setMembershipProgram(input: $input) { autoJoin } }"""
    cashier = staff_as(gql, shop, "cashier")
    code = await cashier.error_code(
        program, {"input": {"merchantId": shop.merchant, "autoJoin": True}}
    )
    assert code == "FORBIDDEN"
    too_long = {"id": shop.merchant, "from": "2026-01-01", "to": "2029-01-01"}
    body = await staff_as(gql, shop, "owner")(RETENTION, too_long)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_segments_and_eligibility_follow_membership(
    shops: ShopFactory, gql: GraphQL, settings: Settings
) -> None:
    shop, other = shops(), shops()
    manager = staff_as(gql, shop, "manager")
    regular, newcomer, stranger = member_of(gql), member_of(gql), member_of(gql)
    async with database(settings.database_url) as db:
        for who in (regular, newcomer):
            await who.data(JOIN, {"input": {"merchantId": shop.merchant}})
        for day in range(3):
            await visit(db, shop, regular.subject, "10.00", T0 + timedelta(days=day))
        filter_ = {"minVisits": 2, "minSpend": {"amount": "20", "currency": "EUR"}}
        saved = await manager.data(
            SAVE_SEGMENT,
            {"input": {"merchantId": shop.merchant, "name": " vip ", "filter": filter_}},
        )
        segment = saved["saveSegment"]
        assert segment["name"] == "vip" and segment["size"] == 1
        assert segment["filter"]["minVisits"] == 2
        assert segment["filter"]["minSpend"] == {"amount": "20.00", "currency": "EUR"}
        segment_id = decode_id(segment["id"])
        async with db.read() as conn:
            checks = {
                (audience, who.subject): await is_eligible(
                    conn, audience, shop.merchant_id, segment_id, who.subject
                )
                for audience in ("EVERYONE", "MEMBERS", "SEGMENT")
                for who in (regular, newcomer, stranger)
            }
            assert await segment_subjects(conn, shop.merchant_id, segment_id) == [regular.subject]
            # another merchant's segment never admits anyone
            assert not await is_eligible(
                conn, "SEGMENT", other.merchant_id, segment_id, regular.subject
            )
        assert checks == {
            ("EVERYONE", regular.subject): True,
            ("EVERYONE", newcomer.subject): True,
            ("EVERYONE", stranger.subject): True,
            ("MEMBERS", regular.subject): True,
            ("MEMBERS", newcomer.subject): True,
            ("MEMBERS", stranger.subject): False,
            ("SEGMENT", regular.subject): True,
            ("SEGMENT", newcomer.subject): False,
            ("SEGMENT", stranger.subject): False,
        }
        # saving the same name replaces the filter
        again = await manager.data(
            SAVE_SEGMENT,
            {"input": {"merchantId": shop.merchant, "name": "vip", "filter": {"minVisits": 0}}},
        )
        assert again["saveSegment"]["id"] == segment["id"]
        assert again["saveSegment"]["size"] == 2
        await regular.data(LEAVE, {"input": {"merchantId": shop.merchant}})
        async with db.read() as conn:
            assert not await is_eligible(conn, "MEMBERS", shop.merchant_id, None, regular.subject)
            assert not await is_eligible(
                conn, "SEGMENT", shop.merchant_id, segment_id, regular.subject
            )
            assert await segment_subjects(conn, shop.merchant_id, segment_id) == [newcomer.subject]
    listed = await manager.data(SEGMENTS, {"id": shop.merchant})
    assert listed["merchant"]["segments"] == [{"id": segment["id"], "name": "vip", "size": 1}]
    node = await manager.data(
        """query($id: ID!) { node(id: $id) { ... on Segment { name } } }""", {"id": segment["id"]}
    )
    assert node == {"node": {"name": "vip"}}
    outsider = staff_as(gql, other, "owner")
    body = await outsider("""query($id: ID!) { node(id: $id) { id } }""", {"id": segment["id"]})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def expected_retention(
    visits: dict[str, list[datetime]], zone: str, first: date, last: date
) -> tuple[list[dict[str, Any]], float]:
    """Cohorts computed in Python from the scripted visits, as the field documents them."""
    tz = ZoneInfo(zone)

    def month(moment: datetime) -> int:
        local = moment.astimezone(tz)
        return local.year * 12 + local.month

    first_m, last_m = first.year * 12 + first.month, last.year * 12 + last.month
    months: dict[str, set[int]] = {}
    counts: dict[str, int] = {}
    for who, moments in visits.items():
        inside = [month(m) for m in moments if month(m) <= last_m]
        if inside:
            months[who], counts[who] = set(inside), len(inside)
    cohorts: dict[int, list[str]] = defaultdict(list)
    for who, seen in months.items():
        if first_m <= min(seen) <= last_m:
            cohorts[min(seen)].append(who)
    result = []
    for cohort in sorted(cohorts):
        people = cohorts[cohort]
        returned = [
            sum(1 for who in people if cohort + k in months[who]) / len(people)
            for k in range(1, last_m - cohort + 1)
        ]
        year, index = divmod(cohort - 1, 12)
        result.append(
            {
                "month": date(year, index + 1, 1).isoformat(),
                "size": len(people),
                "returned": returned,
            }
        )
    everyone = [who for people in cohorts.values() for who in people]
    repeat = sum(1 for who in everyone if counts[who] >= 2) / len(everyone) if everyone else 0.0
    return result, repeat


async def test_retention_cohorts_equal_an_independent_computation(
    shops: ShopFactory, gql: GraphQL, settings: Settings, sql: psycopg.Connection[Any]
) -> None:
    shop = shops()
    zone = "Pacific/Auckland"  # UTC+13 in summer: month edges differ from UTC's
    sql.execute("UPDATE stores SET timezone = %s WHERE merchant_id = %s", [zone, shop.merchant_id])
    people = [member_of(gql) for _ in range(9)]
    day = timedelta(days=1)
    edge = datetime(2026, 1, 31, 12, tzinfo=UTC)  # already 1 February in Auckland
    script: dict[int, list[datetime]] = {
        0: [datetime(2025, 11, 20, tzinfo=UTC)],  # before the period: no cohort in it
        1: [datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC)],
        2: [datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC)],
        3: [datetime(2026, 1, 7, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC)],
        4: [edge, edge + 40 * day],  # cohort February (local), back in March
        5: [datetime(2026, 2, 10, tzinfo=UTC)],
        6: [datetime(2026, 2, 11, tzinfo=UTC), datetime(2026, 4, 11, tzinfo=UTC)],
        7: [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)],  # after `to`
        8: [datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 2, 20, tzinfo=UTC)],  # will leave
    }
    async with database(settings.database_url) as db:
        for index, moments in script.items():
            who = people[index]
            await who.data(JOIN, {"input": {"merchantId": shop.merchant}})
            for moment in moments:
                await visit(db, shop, who.subject, "9.99", moment)
    owner = staff_as(gql, shop, "owner")
    variables = {"id": shop.merchant, "from": "2026-01-15", "to": "2026-04-02"}

    got = (await owner.data(RETENTION, variables))["merchant"]["retention"]
    subjects = {people[i].subject: moments for i, moments in script.items()}
    cohorts, repeat = expected_retention(subjects, zone, date(2026, 1, 15), date(2026, 4, 2))
    assert got["cohorts"] == cohorts
    assert abs(got["repeatRate"] - repeat) < 1e-12
    print(f"\nretention: {cohorts}, repeatRate {repeat:.4f}")
    assert [c["size"] for c in cohorts] == [4, 3, 1]  # Jan 1,2,3,8; Feb 4,5,6; Mar 7

    await people[8].data(LEAVE, {"input": {"merchantId": shop.merchant}})
    del subjects[people[8].subject]
    got = (await owner.data(RETENTION, variables))["merchant"]["retention"]
    cohorts, repeat = expected_retention(subjects, zone, date(2026, 1, 15), date(2026, 4, 2))
    assert got["cohorts"] == cohorts and cohorts[0]["size"] == 3
    assert abs(got["repeatRate"] - repeat) < 1e-12


async def test_a_merchant_keeps_at_most_a_hundred_segments(
    shops: ShopFactory, gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    shop = shops()
    sql.execute(
        "INSERT INTO member_segments (merchant_id, name, filter, created_by)"
        " SELECT %s, 'segment ' || n, '{}', 'test' FROM generate_series(1, 100) n",
        [shop.merchant_id],
    )
    owner = staff_as(gql, shop, "owner")
    new = {"merchantId": shop.merchant, "name": "one more", "filter": {}}
    body = await owner(SAVE_SEGMENT, {"input": new})
    assert body["errors"][0]["extensions"]["argument"] == "input.name"
    replaced = {"merchantId": shop.merchant, "name": "segment 7", "filter": {"minVisits": 1}}
    saved = await owner.data(SAVE_SEGMENT, {"input": replaced})
    assert saved["saveSegment"]["filter"]["minVisits"] == 1
