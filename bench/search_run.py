"""What ``searchDeals`` adds over the search server: paired requests, CPU and server timing.

    python -m bench.search_run --gateway-url http://127.0.0.1:8000/graphql \\
        --search-url http://127.0.0.1:9200 --alias o2o-deals --pairs 300

The in-memory search server takes 60-180 ms per text query with a large variance, so the
difference of two medians measured apart is noise. This script measures the gateway's share
directly, at concurrency 1:

- **Paired requests.** For each of the queries, the same search goes to every gateway
  (``--gateway-url``, and ``--baseline-url`` for a second gateway, e.g. another branch, on
  the same database and index) and straight to the server (``/<alias>/_search`` with exactly
  the body the gateway builds, :func:`search.queries.deal_search_body`), one after another in
  a rotating order. The median of the per-pair differences (gateway - server) is the
  overhead; the quartiles say how sure it is.
- **CPU per request** of each gateway's processes (``/proc/<pid>/stat``; the gateway is idle
  while the others are asked, so all its CPU is for its own requests), also less what it
  spends when idle (measured for ``--idle-seconds`` first: the outbox publisher polls the
  database and the index every second).
- **Server-side timing** from each gateway's ``/metrics``: the mean time to answer a
  ``searchDeals`` request and the mean time spent awaiting the search server inside it; the
  difference is the gateway's own work, without the client and the network.

The gateways get the operation as a persisted query (registered once, then the hash only:
the compiled path where there is one); ``--text`` sends the text (normal execution).
``--load`` instead runs the older closed-loop throughput comparison at ``--concurrency``.

Run it against the demo data (``./dev.sh up``: 3.3k documents). The in-memory test server
scans every document on a text query, so keep its index small (at most ~20k documents);
production sizes belong on a real Elasticsearch cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import re
import statistics
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson

from bench.run import CLK_TCK, _exchange, gateway_cpu_ticks, http_load, listening_pids, percentile
from search.queries import DealQuery, deal_search_body

RADIUS_M = 2000.0
FIRST = 20
QUERY = """query Search($q: String!, $near: GeoPointInput!, $radius: Float!, $first: Int!) {
  searchDeals(query: $q, near: $near, radiusMeters: $radius, first: $first) {
    totalCount
    edges { score distanceMeters node { id title price { amount currency } merchant { name } } }
  }
}"""
QUERY_HASH = hashlib.sha256(QUERY.encode()).hexdigest()
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": QUERY_HASH}}
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


def _variables(s: Sample) -> dict[str, object]:
    return {"q": s.text, "near": {"lat": s.lat, "lng": s.lng}, "radius": RADIUS_M, "first": FIRST}


def gateway_requests(url: str, chosen: Sequence[Sample], *, persisted: bool = False) -> list[bytes]:
    """``persisted``: the hash only (register it first, :func:`register`)."""
    path = urlsplit(url).path or "/graphql"
    operation = {"extensions": PERSISTED} if persisted else {"query": QUERY}
    return [
        _post(url, path, orjson.dumps({**operation, "variables": _variables(s)})) for s in chosen
    ]


def register(url: str) -> None:
    """Register :data:`QUERY` as a persisted query (APQ: hash and text together)."""
    body = orjson.dumps(
        {"query": QUERY, "variables": _variables(samples(1)[0]), "extensions": PERSISTED}
    )
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = orjson.loads(response.read())
    if answer.get("errors"):
        raise SystemExit(f"cannot register the persisted query at {url}: {answer['errors']}")


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


_METRIC = re.compile(rb"^(o2o_[a-z_]+)_(sum|count)\{(.*)\} (\S+)$", re.MULTILINE)


@dataclass
class ServerTiming:
    """Sums and counts of a gateway's request and search-call histograms."""

    request_s: float = 0.0
    requests: float = 0.0
    search_s: float = 0.0
    searches: float = 0.0

    def minus(self, other: ServerTiming) -> ServerTiming:
        return ServerTiming(
            self.request_s - other.request_s,
            self.requests - other.requests,
            self.search_s - other.search_s,
            self.searches - other.searches,
        )


def server_timing(graphql_url: str) -> ServerTiming:
    """What ``/metrics`` says so far about GraphQL requests (run nothing else at it meanwhile)
    and their ``search_deals`` calls."""
    parts = urlsplit(graphql_url)
    with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/metrics", timeout=30) as r:
        text = r.read()
    timing = ServerTiming()
    for name, kind, labels, value in _METRIC.findall(text):
        number = float(value)
        # the operation's name (or its root fields): every GraphQL request, not http:<route>
        graphql = b'operation="http:' not in labels
        if name == b"o2o_request_duration_seconds" and graphql:
            if kind == b"sum":
                timing.request_s += number
            else:
                timing.requests += number
        elif name == b"o2o_search_request_duration_seconds" and b"search_deals" in labels:
            if kind == b"sum":
                timing.search_s += number
            else:
                timing.searches += number
    return timing


@dataclass
class Side:
    """One gateway of the paired run, or the search server itself (``direct``)."""

    name: str
    url: str
    requests: list[bytes]
    direct: bool = False
    pids: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    differences_ms: list[float] = field(default_factory=list)
    cpu_ticks: int = 0
    idle_ticks_per_s: float = 0.0
    busy_ticks: float = 0.0  # cpu_ticks less the idle rate over the run
    timing: ServerTiming = field(default_factory=ServerTiming)
    errors: int = 0


async def _connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 80)


async def run_pairs(sides: Sequence[Side], rounds: int, warmup: int) -> None:
    """Each sample through every side in a rotating order, one request at a time; the
    per-sample differences of each gateway against the direct side."""
    connections = [await _connect(side.url) for side in sides]
    direct = next(i for i, side in enumerate(sides) if side.direct)
    try:
        for position in range(warmup + rounds):
            sample = position % len(sides[0].requests)
            took: list[float] = [0.0] * len(sides)
            for step in range(len(sides)):
                i = (position + step) % len(sides)
                reader, writer = connections[i]
                started = time.perf_counter()
                status, body = await _exchange(reader, writer, sides[i].requests[sample])
                took[i] = (time.perf_counter() - started) * 1000
                if position >= warmup and (status != 200 or b'"errors"' in body):
                    sides[i].errors += 1
            if position < warmup:
                continue
            for i, side in enumerate(sides):
                side.latencies_ms.append(took[i])
                if not side.direct:
                    side.differences_ms.append(took[i] - took[direct])
    finally:
        for _, writer in connections:
            writer.close()


def paired(args: argparse.Namespace, chosen: Sequence[Sample]) -> list[Side]:
    gateways = [("gateway", args.gateway_url)]
    if args.baseline_url:
        gateways.append(("baseline", args.baseline_url))
    sides = []
    for name, url in gateways:
        if not args.text:
            register(url)
        requests = gateway_requests(url, chosen, persisted=not args.text)
        sides.append(Side(name, url, requests, pids=listening_pids(urlsplit(url).port or 80)))
    search = direct_requests(args.search_url, args.alias, chosen)
    sides.append(Side("search server", args.search_url, search, direct=True))
    sides[-1].pids = listening_pids(urlsplit(args.search_url).port or 80)
    idle = {side.name: gateway_cpu_ticks(side.pids) for side in sides}
    time.sleep(args.idle_seconds)  # background work (the outbox publisher's polls) per second
    for side in sides:
        side.idle_ticks_per_s = (gateway_cpu_ticks(side.pids) - idle[side.name]) / args.idle_seconds
    before = {side.name: (gateway_cpu_ticks(side.pids), _timing(side)) for side in sides}
    started = time.perf_counter()
    asyncio.run(run_pairs(sides, args.pairs, args.warmup_pairs))
    elapsed = time.perf_counter() - started
    for side in sides:
        ticks, timing = before[side.name]
        side.cpu_ticks = gateway_cpu_ticks(side.pids) - ticks
        side.busy_ticks = side.cpu_ticks - side.idle_ticks_per_s * elapsed
        side.timing = _timing(side).minus(timing)
    return sides


def _timing(side: Side) -> ServerTiming:
    return ServerTiming() if side.direct else server_timing(side.url)


def paired_report(sides: Sequence[Side], pairs: int) -> str:
    direct = next(side for side in sides if side.direct)
    searches = sum(len(s.latencies_ms) for s in sides)  # every side asks the server once
    lines = [
        f"paired requests at concurrency 1: {pairs} rounds, each query to "
        + ", ".join(s.name for s in sides)
        + " in a rotating order",
        f"{'':<15} {'p50 ms':>8} {'p90 ms':>8} {'errors':>6} {'CPU ms/req':>10}"
        f" {'less idle':>10} {'idle ms/s':>9}",
    ]
    for side in sides:
        latencies = sorted(side.latencies_ms)
        count = (searches if side.direct else len(latencies)) or 1
        cpu, busy = (t * 1000 / CLK_TCK / count for t in (side.cpu_ticks, side.busy_ticks))
        lines.append(
            f"{side.name:<15} {percentile(latencies, 0.5):>8.2f} {percentile(latencies, 0.9):>8.2f}"
            f" {side.errors:>6} {cpu:>10.2f} {busy:>10.2f}"
            f" {side.idle_ticks_per_s * 1000 / CLK_TCK:>9.1f}"
            + ("  (per search, all sides)" if side.direct else "")
        )
    for side in sides:
        if side.direct:
            continue
        diffs = sorted(side.differences_ms)
        lines.append(
            f"{side.name} - search server, per pair: median {percentile(diffs, 0.5):+.2f} ms "
            f"(quartiles {percentile(diffs, 0.25):+.2f} / {percentile(diffs, 0.75):+.2f}, "
            f"mean {statistics.fmean(diffs):+.2f})"
        )
        t = side.timing
        if t.requests and t.searches:
            request_ms, search_ms = 1000 * t.request_s / t.requests, 1000 * t.search_s / t.searches
            lines.append(
                f"{side.name} server-side: request {request_ms:.2f} ms, awaiting search "
                f"{search_ms:.2f} ms, own work {request_ms - search_ms:.2f} ms "
                f"(means over {t.requests:.0f} requests)"
            )
    lines.append(
        f"(search server alone: p50 {percentile(sorted(direct.latencies_ms), 0.5):.2f} ms)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--baseline-url", help="a second gateway measured in the same rounds")
    parser.add_argument("--search-url", default="http://127.0.0.1:9200")
    parser.add_argument("--alias", default="o2o-deals")
    parser.add_argument("--pairs", type=int, default=300, help="measured rounds")
    parser.add_argument("--warmup-pairs", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="idle CPU measured")
    parser.add_argument("--text", action="store_true", help="send the text, not the hash")
    parser.add_argument("--load", action="store_true", help="closed-loop throughput instead")
    parser.add_argument("--concurrency", type=int, default=2, help="with --load")
    parser.add_argument("--duration", type=float, default=20.0, help="with --load")
    parser.add_argument("--warmup", type=float, default=3.0, help="with --load")
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args(argv)
    chosen = samples(args.samples)
    if not args.load:
        print(paired_report(paired(args, chosen), args.pairs))
        return 0
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
    print(f"gateway p50 - search server p50 = {difference:+.2f} ms (medians apart: noisy)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
