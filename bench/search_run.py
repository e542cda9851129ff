"""Drive ``searchDeals`` (text + 2 km + first 20) at a running gateway, then send the same
search body straight to the search server, and print both latencies side by side.

    python -m bench.search_run --gateway-url http://127.0.0.1:8000/graphql \\
        --search-url http://127.0.0.1:9200 --alias o2o-deals --concurrency 2 --duration 20

Run it against the demo data (``./dev.sh up``: 3.3k documents). The in-memory test server
scans every document on a text query, so keep its index small (at most ~20k documents);
production sizes belong on a real Elasticsearch cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson

from bench.run import http_load, percentile
from search.queries import DealQuery, deal_search_body

RADIUS_M = 2000.0
FIRST = 20
QUERY = """query Search($q: String!, $near: GeoPointInput!, $radius: Float!, $first: Int!) {
  searchDeals(query: $q, near: $near, radiusMeters: $radius, first: $first) {
    totalCount
    edges { score distanceMeters node { id title price { amount currency } merchant { name } } }
  }
}"""
# (words, centre) pairs over the demo data: Helsinki in Latin script, Shanghai in Chinese
WORKLOAD: tuple[tuple[str, tuple[float, float]], ...] = (
    ("happy hour", (60.1699, 24.9384)),
    ("lunch", (60.1699, 24.9384)),
    ("set menu", (60.1660, 24.9430)),
    ("kahvila", (60.1699, 24.9384)),
    ("voucher", (60.1720, 24.9410)),
    ("pizza", (60.1650, 24.9350)),
    ("咖啡", (31.2222, 121.4581)),
    ("火锅", (31.2222, 121.4581)),
    ("代金券", (31.2304, 121.4737)),
    ("欢乐时光", (31.2304, 121.4737)),
)


@dataclass(frozen=True)
class Sample:
    text: str
    lat: float
    lng: float


def samples(count: int, seed: int = 7) -> list[Sample]:
    rng = random.Random(seed)
    chosen = []
    for _ in range(count):
        text, (lat, lng) = rng.choice(WORKLOAD)
        chosen.append(Sample(text, lat + rng.uniform(-0.01, 0.01), lng + rng.uniform(-0.02, 0.02)))
    return chosen


def _post(url: str, path: str, body: bytes) -> bytes:
    host = urlsplit(url).netloc
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def gateway_requests(url: str, chosen: Sequence[Sample]) -> list[bytes]:
    path = urlsplit(url).path or "/graphql"
    return [
        _post(
            url,
            path,
            orjson.dumps(
                {
                    "query": QUERY,
                    "variables": {
                        "q": s.text,
                        "near": {"lat": s.lat, "lng": s.lng},
                        "radius": RADIUS_M,
                        "first": FIRST,
                    },
                }
            ),
        )
        for s in chosen
    ]


def direct_requests(url: str, alias: str, chosen: Sequence[Sample]) -> list[bytes]:
    """The body the gateway sends for the same search (its own query builder)."""
    now = datetime.now(UTC)
    requests = []
    for s in chosen:
        query = DealQuery(
            text=s.text,
            now=now,
            size=FIRST,
            near=(s.lat, s.lng),
            radius_m=RADIUS_M,
            decay_scale_m=RADIUS_M / 2,
        )
        requests.append(_post(url, f"/{alias}/_search", orjson.dumps(deal_search_body(query))))
    return requests


def measure(
    name: str, url: str, requests: Sequence[bytes], args: argparse.Namespace
) -> dict[str, float | str | int]:
    load = http_load(url, requests, args.concurrency, args.duration, args.warmup)
    latencies, count, errors, elapsed, _ = asyncio.run(load)
    latencies.sort()
    return {
        "name": name,
        "requests": count,
        "errors": errors,
        "rate": round(count / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else float("nan"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--search-url", default="http://127.0.0.1:9200")
    parser.add_argument("--alias", default="o2o-deals")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args(argv)
    chosen = samples(args.samples)
    gateway = measure(
        "gateway searchDeals", args.gateway_url, gateway_requests(args.gateway_url, chosen), args
    )
    direct = measure(
        "search server _search",
        args.search_url,
        direct_requests(args.search_url, args.alias, chosen),
        args,
    )
    print(f"concurrency {args.concurrency}, {args.duration:.0f} s each, {args.samples} queries")
    for row in (gateway, direct):
        print(
            f"{row['name']:<24} {row['rate']:>7} req/s  p50 {row['p50_ms']:>7} ms  "
            f"p99 {row['p99_ms']:>7} ms  errors {row['errors']}"
        )
    difference = float(gateway["p50_ms"]) - float(direct["p50_ms"])
    print(f"gateway p50 - search server p50 = {difference:+.2f} ms (target: within 3 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
