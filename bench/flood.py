"""An alias flood against a served gateway, and what it does to everybody else.

    python -m bench.flood --gateway-url http://127.0.0.1:8000/graphql \\
        --database-url postgresql://postgres@127.0.0.1:5432/o2o --floods 40 --aliases 5000

Measures, in one run: the quiet p50/p99 of a small ``nearbyDeals`` at concurrency 2; the
time to refuse each flood (5,000 aliased ``categories``, distinct texts so no parse cache
helps) and its error code; and the ``nearbyDeals`` p50/p99 while floods keep arriving. The
issue's targets: each refusal well under 100 ms with a coded error and no 500, and the
loaded p50 within 2x the quiet one. Uses a partner key with a high rate so the limiter runs as
in production and does not refuse the bench itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from commerce.partners import keys
from gateway.app import database_from
from gateway.settings import Settings

NEARBY = (
    "{ nearbyDeals(near: {lat: 60.1699, lng: 24.9384}, first: 5) { edges { node { title } } } }"
)


def flood_query(aliases: int, round_number: int) -> str:
    fields = " ".join(f"f{round_number}_{i}: categories {{ slug }}" for i in range(aliases))
    return "{ " + fields + " }"


async def nearby_loop(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], stop: asyncio.Event
) -> list[float]:
    latencies: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        response = await http.post(url, json={"query": NEARBY}, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"nearbyDeals failed: {response.status_code} {response.text[:200]}")
    return latencies


async def floods(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], count: int, aliases: int
) -> tuple[list[float], set[str]]:
    times: list[float] = []
    codes: set[str] = set()
    for number in range(count):
        query = flood_query(aliases, number)
        started = time.perf_counter()
        response = await http.post(url, json={"query": query}, headers=headers)
        times.append(time.perf_counter() - started)
        if response.status_code >= 500:
            raise RuntimeError(f"flood answered HTTP {response.status_code}")
        codes.update(e["extensions"]["code"] for e in response.json().get("errors", []))
    return times, codes


async def measure_nearby(url: str, headers: dict[str, str], seconds: float) -> list[float]:
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=30) as http:
        loops = [asyncio.create_task(nearby_loop(http, url, headers, stop)) for _ in range(2)]
        await asyncio.sleep(seconds)
        stop.set()
        return [value for batch in await asyncio.gather(*loops) for value in batch]


def percentiles(values: list[float]) -> str:
    ms = sorted(value * 1000 for value in values)
    p99 = ms[max(0, int(len(ms) * 0.99) - 1)]
    return f"n={len(ms)} p50 {statistics.median(ms):6.1f} ms  p99 {p99:6.1f} ms"


async def run(url: str, headers: dict[str, str], count: int, aliases: int) -> None:
    await measure_nearby(url, headers, 2.0)  # warm up
    quiet = await measure_nearby(url, headers, 10.0)
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=60) as http:
        loops = [asyncio.create_task(nearby_loop(http, url, headers, stop)) for _ in range(2)]
        flood_times, codes = await floods(http, url, headers, count, aliases)
        stop.set()
        loaded = [value for batch in await asyncio.gather(*loops) for value in batch]
    print(f"quiet nearbyDeals (c2):      {percentiles(quiet)}")
    print(f"nearbyDeals during floods:   {percentiles(loaded)}")
    print(f"flood of {aliases} aliases:  {percentiles(flood_times)}  codes {sorted(codes)}")
    ratio = statistics.median(loaded) / statistics.median(quiet)
    print(f"loaded p50 / quiet p50:      {ratio:.2f}x (target <= 2x)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--database-url", default=Settings().database_url)
    parser.add_argument("--floods", type=int, default=40)
    parser.add_argument("--aliases", type=int, default=5000)
    args = parser.parse_args()
    database = database_from(Settings(database_url=args.database_url))
    try:
        key = await keys.create_key(database, "bench.flood", 1_000_000, 100_000_000)
        try:
            headers = {"X-API-Key": key.secret}
            await run(args.gateway_url, headers, args.floods, args.aliases)
        finally:
            await keys.revoke_key(database, key.id)
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
