"""Drive the O2O loop at a running gateway: many buyers book and pay one hot deal, then
staff redeem every voucher; prints latency percentiles, throughput and the exact outcome
counts (the stock must end at exactly zero, every unit sold once).

    python -m bench.loop --gateway-url http://127.0.0.1:8000/graphql \\
        --database-url postgresql://postgres@127.0.0.1:5432/o2o --buyers 400 --units 300 \\
        --concurrency 32

It creates its own merchant, store and deal (far from every seeded place) and deletes them
afterwards. Tokens are signed with ``JWT_SECRET`` from the environment, as the gateway's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg

from gateway.auth import mint_token
from gateway.settings import Settings
from schema.ids import to_global_id

BOOK = """mutation($i: BookDealInput!) { bookDeal(input: $i) { __typename
  ... on BookDealSuccess { booking { id } } } }"""
PAY = """mutation($i: PayBookingInput!) { payBooking(input: $i) { __typename
  ... on PaymentSucceeded { vouchers { code } } } }"""
REDEEM = """mutation($i: RedeemVoucherInput!) { redeemVoucher(input: $i) { __typename } }"""


def create_shop(sql: psycopg.Connection[Any], units: int) -> tuple[int, int, int]:
    tag = uuid.uuid4().hex[:10]
    category = sql.execute("SELECT slug FROM categories ORDER BY slug LIMIT 1").fetchone()
    assert category is not None, "run o2o seed first"
    merchant = sql.execute(
        "INSERT INTO merchants (external_key, name, category_slug, source, is_demo)"
        " VALUES (%s, 'Bench shop', %s, 'bench', true) RETURNING id",
        [f"bench:{tag}", category[0]],
    ).fetchone()
    assert merchant is not None
    store = sql.execute(
        "INSERT INTO stores (merchant_id, external_key, name, location, timezone, country_code)"
        " VALUES (%s, %s, 'Bench store', ST_GeogFromText('POINT(3.36 -54.42)'), 'UTC', 'NO')"
        " RETURNING id",
        [merchant[0], f"bench:{tag}"],
    ).fetchone()
    assert store is not None
    deal = sql.execute(
        "INSERT INTO deals (merchant_id, external_key, title, price, currency, valid_from,"
        " valid_until, total_quantity, remaining_quantity, per_user_limit, is_demo)"
        " VALUES (%s, %s, 'Bench deal', 9.90, 'EUR', now() - interval '1 day',"
        " now() + interval '30 days', %s, %s, 1, true) RETURNING id",
        [merchant[0], f"bench:{tag}", units, units],
    ).fetchone()
    assert deal is not None
    sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [deal[0], store[0]])
    return merchant[0], store[0], deal[0]


def delete_shop(sql: psycopg.Connection[Any], merchant_id: int) -> None:
    bookings = "SELECT b.id FROM bookings b JOIN deals d ON d.id = b.deal_id"
    bookings += " WHERE d.merchant_id = %(m)s"
    with sql.transaction():
        sql.execute("SET LOCAL o2o.purge = 'on'")
        for statement in (
            "DELETE FROM redemptions WHERE merchant_id = %(m)s",
            "DELETE FROM vouchers WHERE merchant_id = %(m)s",
            "DELETE FROM payment_events WHERE payment_id IN"
            f" (SELECT id FROM payments WHERE booking_id IN ({bookings}))",
            f"DELETE FROM refunds WHERE booking_id IN ({bookings})",
            f"DELETE FROM payments WHERE booking_id IN ({bookings})",
            f"DELETE FROM bookings WHERE id IN ({bookings})",
            "DELETE FROM merchants WHERE id = %(m)s",
        ):
            sql.execute(statement, {"m": merchant_id})


async def timed_all(
    jobs: list[Callable[[], Awaitable[str]]], concurrency: int
) -> tuple[Counter[str], list[float], float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def run(job: Callable[[], Awaitable[str]]) -> str:
        async with gate:
            started = time.perf_counter()
            outcome = await job()
            latencies.append((time.perf_counter() - started) * 1000)
            return outcome

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(run(job) for job in jobs))
    return Counter(outcomes), latencies, time.perf_counter() - started


def report(name: str, outcomes: Counter[str], latencies: list[float], seconds: float) -> None:
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    print(
        f"{name:<28} n={len(latencies):>5}  {len(latencies) / seconds:8.1f}/s"
        f"  p50 {cuts[49]:7.1f} ms  p95 {cuts[94]:7.1f} ms  p99 {cuts[98]:7.1f} ms"
        f"  {dict(outcomes)}"
    )


async def bench(args: argparse.Namespace) -> None:
    secret = Settings().jwt_secret.get_secret_value()
    with psycopg.connect(args.database_url, autocommit=True) as sql:
        merchant_id, store_id, deal_id = create_shop(sql, args.units)
        try:
            async with httpx.AsyncClient(timeout=60) as http:

                async def call(token: str, query: str, payload: dict[str, Any], field: str) -> Any:
                    response = await http.post(
                        args.gateway_url,
                        json={"query": query, "variables": {"i": payload}},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    body = response.json()
                    if body.get("errors"):  # counted as an outcome, e.g. SERVICE_UNAVAILABLE
                        return {"__typename": body["errors"][0]["extensions"].get("code", "?")}
                    return body["data"][field]

                run = uuid.uuid4().hex[:8]
                buyers = [
                    mint_token(secret, f"bench-{run}-{i}", ["customer"]) for i in range(args.buyers)
                ]
                booked: dict[str, str] = {}

                def book_job(token: str) -> Callable[[], Awaitable[str]]:
                    async def job() -> str:
                        data = await call(
                            token,
                            BOOK,
                            {"dealId": to_global_id("Deal", deal_id), "idempotencyKey": "b"},
                            "bookDeal",
                        )
                        if data["__typename"] == "BookDealSuccess":
                            booked[token] = data["booking"]["id"]
                        return str(data["__typename"])

                    return job

                outcomes, latencies, seconds = await timed_all(
                    [book_job(t) for t in buyers], args.concurrency
                )
                report("bookDeal (one hot deal)", outcomes, latencies, seconds)
                codes: list[str] = []

                def pay_job(token: str, booking_id: str) -> Callable[[], Awaitable[str]]:
                    async def job() -> str:
                        data = await call(
                            token,
                            PAY,
                            {
                                "bookingId": booking_id,
                                "paymentMethod": "pm_card_visa",
                                "idempotencyKey": "p",
                            },
                            "payBooking",
                        )
                        codes.extend(v["code"] for v in data.get("vouchers", []))
                        return str(data["__typename"])

                    return job

                outcomes, latencies, seconds = await timed_all(
                    [pay_job(t, b) for t, b in booked.items()], args.concurrency
                )
                report("payBooking (sandbox)", outcomes, latencies, seconds)
                clerk = mint_token(secret, f"bench-clerk-{run}", ["merchant"], merchant_id)

                def redeem_job(index: int, code: str) -> Callable[[], Awaitable[str]]:
                    async def job() -> str:
                        data = await call(
                            clerk,
                            REDEEM,
                            {
                                "code": code,
                                "storeId": to_global_id("Store", store_id),
                                "idempotencyKey": f"r{index}",
                            },
                            "redeemVoucher",
                        )
                        return str(data["__typename"])

                    return job

                outcomes, latencies, seconds = await timed_all(
                    [redeem_job(i, c) for i, c in enumerate(codes)], args.concurrency
                )
                report("redeemVoucher", outcomes, latencies, seconds)
            left = sql.execute(
                "SELECT remaining_quantity FROM deals WHERE id = %s", [deal_id]
            ).fetchone()
            print(f"stock left: {left[0] if left else '?'} of {args.units}")
        finally:
            delete_shop(sql, merchant_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--database-url", default=Settings().database_url)
    parser.add_argument("--buyers", type=int, default=400)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
