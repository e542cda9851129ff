"""Opening hours: the evaluator itself, then Store.isOpenNow/openAt and the filters over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from commerce.hours import HoursState, is_open, open_state
from tests.conftest import GraphQL
from tests.helpers import decode_id, walk

HEL = "Europe/Helsinki"


@pytest.mark.parametrize(
    ("hours", "instant", "expected"),
    [
        # Friday 23:30 and Saturday 02:30 local: a span past midnight
        ("Mo-Su 16:00-04:00", "2026-06-05T23:30:00+03:00", True),
        ("Mo-Su 16:00-04:00", "2026-06-06T02:30:00+03:00", True),
        ("Mo-Su 16:00-04:00", "2026-06-06T04:30:00+03:00", False),
        # the same instant given in UTC is judged on the Helsinki wall clock
        ("Mo-Su 16:00-04:00", "2026-06-05T23:30:00+00:00", True),
        ("Mo-Fr 10:00-18:00", "2026-06-05T15:30:00+00:00", False),
        ("Mo-Fr 10:00-18:00", "2026-06-05T14:30:00+00:00", True),
        # 24:00 closes at midnight
        ("Mo-Su 10:00-24:00", "2026-06-05T23:59:00+03:00", True),
        ("Mo-Su 10:00-24:00", "2026-06-06T00:01:00+03:00", False),
        # lists, several spans a day, off
        ("Mo,We 09:00-12:00,14:00-17:00; Tu off", "2026-06-01T13:00:00+03:00", False),
        ("Mo,We 09:00-12:00,14:00-17:00; Tu off", "2026-06-03T14:30:00+03:00", True),
        ("Mo,We 09:00-12:00,14:00-17:00; Tu off", "2026-06-02T10:00:00+03:00", False),
        ("24/7", "2026-01-01T03:00:00+02:00", True),
        ("closed", "2026-06-05T12:00:00+03:00", False),
        # PH off: Finnish Independence Day (Sunday 6 December 2026)
        ("Mo-Su 10:00-20:00; PH off", "2026-12-06T12:00:00+02:00", False),
        ("Mo-Su 10:00-20:00; PH off", "2026-12-07T12:00:00+02:00", True),
    ],
)
def test_open_state_in_helsinki(hours: str, instant: str, expected: bool) -> None:
    assert is_open(hours, HEL, "FI", datetime.fromisoformat(instant)) is expected


def test_summer_time_change_is_judged_on_the_local_wall_clock() -> None:
    # EU summer time starts 2027-03-28 at 03:00 EET (01:00 UTC): clocks jump to 04:00 EEST.
    hours = "Mo-Su 03:30-04:30"
    before = datetime(2027, 3, 28, 0, 45, tzinfo=UTC)  # 02:45 EET: not yet open
    after = datetime(2027, 3, 28, 1, 15, tzinfo=UTC)  # 04:15 EEST: open
    later = datetime(2027, 3, 28, 1, 45, tzinfo=UTC)  # 04:45 EEST: closed again
    assert is_open(hours, HEL, "FI", before) is False
    assert is_open(hours, HEL, "FI", after) is True
    assert is_open(hours, HEL, "FI", later) is False
    # the autumn change (2026-10-25 04:00 EEST -> 03:00 EET): 03:30 happens twice, open both
    assert is_open(hours, HEL, "FI", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) is True
    assert is_open(hours, HEL, "FI", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) is True
    # Shanghai has no summer time: the same UTC instants stay 8 hours ahead
    assert is_open("Mo-Su 09:00-10:00", "Asia/Shanghai", "CN", after) is True  # 09:15 CST


@pytest.mark.parametrize(
    "hours", [None, "", "Mon - Fri 11am - 11pm", "Mo-Fr 16:00-, Sa 14:00-", "garbage ;;"]
)
def test_unparseable_or_missing_hours_are_unknown_not_errors(hours: str | None) -> None:
    assert open_state(hours, HEL, "FI", datetime(2026, 6, 1, 12, tzinfo=UTC)) is HoursState.UNKNOWN
    assert is_open(hours, HEL, "FI", datetime(2026, 6, 1, 12, tzinfo=UTC)) is None


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        open_state("24/7", HEL, "FI", datetime(2026, 6, 1, 12))


@pytest.fixture(scope="module")
def night_store(sql: psycopg.Connection[Any]) -> tuple[str, float, float]:
    row = sql.execute(
        "SELECT id, ST_Y(location::geometry), ST_X(location::geometry) FROM stores"
        " WHERE opening_hours = 'Mo-Su 16:00-04:00' AND timezone = %s ORDER BY id LIMIT 1",
        [HEL],
    ).fetchone()
    assert row is not None, "the Helsinki data has a bar open 16:00-04:00"
    return row[0], row[1], row[2]


STORE_OPEN_AT = """query($id: ID!, $a: DateTime!, $b: DateTime!, $c: DateTime!, $d: DateTime!) {
  store(id: $id) { timezone openingHours isOpenNow
                   a: openAt(at: $a) b: openAt(at: $b) c: openAt(at: $c) d: openAt(at: $d) }
}"""


async def test_store_open_at_across_midnight_and_summer_time(
    gql: GraphQL, night_store: tuple[int, float, float]
) -> None:
    from schema.ids import to_global_id

    variables = {
        "id": to_global_id("Store", night_store[0]),
        "a": "2027-03-27T23:30:00+00:00",  # Sun 01:30 EET: open since Saturday 16:00
        "b": "2027-03-28T01:30:00+00:00",  # Sun 04:30 EEST (after the jump): closed
        "c": "2027-03-28T00:30:00+00:00",  # Sun 02:30 EET: open
        "d": "2027-03-28T12:00:00+03:00",  # Sun noon: closed
    }
    store = (await gql.data(STORE_OPEN_AT, variables))["store"]
    assert store["timezone"] == HEL
    assert (store["a"], store["b"], store["c"], store["d"]) == (True, False, True, False)
    assert store["isOpenNow"] in (True, False)


async def test_open_at_filter_keeps_exactly_the_open_stores(
    gql: GraphQL, sql: psycopg.Connection[Any], night_store: tuple[int, float, float]
) -> None:
    _, lat, lng = night_store
    at = datetime.fromisoformat("2027-03-28T02:30:00+02:00")
    variables = {
        "near": {"lat": lat, "lng": lng},
        "radius": 1200.0,
        "filter": {"openAt": at.isoformat()},
    }
    selection = 'store { id openingHours timezone openAt(at: "2027-03-28T02:30:00+02:00") }'
    edges, total = await walk(gql, "nearbyDeals", selection + " node { id }", variables, 9)
    assert total == len(edges) > 0
    assert all(edge["store"]["openAt"] is True for edge in edges)
    unfiltered, _ = await walk(
        gql, "nearbyDeals", selection + " node { id }", {**variables, "filter": None}, 100
    )
    rows = sql.execute(
        "SELECT ds.deal_id, s.opening_hours, s.timezone, s.country_code FROM deal_stores ds"
        " JOIN stores s ON s.id = ds.store_id"
        " WHERE ds.deal_id = ANY(%s)",
        [[decode_id(e["node"]["id"]) for e in unfiltered]],
    ).fetchall()
    expected = {deal for deal, hours, tz, cc in rows if is_open(hours, tz, cc, at)}
    assert {decode_id(e["node"]["id"]) for e in edges} <= expected
    assert len(expected) - len(edges) <= 5  # only deals whose open store lies outside
    assert len(edges) < len(unfiltered)  # at 02:30 on a Sunday most shops are closed


async def test_open_now_filter_uses_the_same_evaluator(gql: GraphQL) -> None:
    variables = {
        "near": {"lat": 60.1699, "lng": 24.9384},
        "radius": 900.0,
        "filter": {"openNow": True},
    }
    edges, total = await walk(gql, "nearbyDeals", "store { isOpenNow } node { id }", variables, 50)
    assert total == len(edges)
    assert all(edge["store"]["isOpenNow"] is True for edge in edges)
