"""What partner keys cost per request: the same query anonymously and with a key.

    python -m bench.keys --gateway-url http://127.0.0.1:8000/graphql \\
        --database-url postgresql://postgres@127.0.0.1:5432/o2o --requests 2000 --concurrency 16

Creates a key with budgets far above the run (``o2o apikey create``'s code path), runs the
same query both ways, prints latency percentiles and throughput side by side, and revokes
the key. A key adds one indexed PostgreSQL lookup and two Redis script calls per request.
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

QUERY = "{ nearbyDeals(near: {lat: 60.1699, lng: 24.9384}, first: 5) { edges { node { title } } } }"


async def drive(
    url: str, headers: dict[str, str], requests: int, concurrency: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = iter(range(requests))

    async def worker(http: httpx.AsyncClient) -> None:
        for _ in queue:
            started = time.perf_counter()
            response = await http.post(url, json={"query": QUERY}, headers=headers)
            latencies.append(time.perf_counter() - started)
            body = response.json()
            if response.status_code != 200 or "errors" in body:
                raise RuntimeError(f"HTTP {response.status_code}: {body}")

    async with httpx.AsyncClient(timeout=30) as http:
        began = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return latencies, time.perf_counter() - began


def report(label: str, latencies: list[float], elapsed: float) -> None:
    ms = sorted(value * 1000 for value in latencies)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(
        f"{label:>10}: {len(ms)} requests, {len(ms) / elapsed:7.1f} req/s, "
        f"p50 {statistics.median(ms):6.2f} ms, p95 {p95:6.2f} ms, max {ms[-1]:6.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--database-url", default=Settings().database_url)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    database = database_from(Settings(database_url=args.database_url))
    try:
        key = await keys.create_key(database, "bench.keys", 1_000_000, 100_000_000)
        try:
            await drive(args.gateway_url, {}, 100, args.concurrency)  # warm up
            for label, headers in (("anonymous", {}), ("with key", {"X-API-Key": key.secret})):
                latencies, elapsed = await drive(
                    args.gateway_url, headers, args.requests, args.concurrency
                )
                report(label, latencies, elapsed)
        finally:
            await keys.revoke_key(database, key.id)
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
