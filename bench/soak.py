"""Soak: a mixed read load for minutes, sampling each gateway worker's resident memory.

    python -m bench.soak --gateway-url http://127.0.0.1:8232/graphql \\
        --database-url postgresql://postgres@127.0.0.1:5432/o2o_bench_1m \\
        --minutes 10 --concurrency 4 --interval 30

The gateway runs with several workers (``o2o serve --workers 2``); the workers are the
children of the process holding the listening socket. Closed-loop keep-alive clients (the
client of :mod:`bench.run`) cycle through a fixed mix: ``nearbyDeals`` as query text (normal
execution) and as a persisted hash (compiled plan), ``dealsInView`` at zoom 14-16,
``nearbyMerchants`` and ``deal(id)`` with its merchant's latest reviews (the ids come from
``nearbyDeals`` answers) -- nothing that needs the search server. Clients open a new
connection every ``--reconnect-every`` requests, so the load spreads over the workers that
share the listening socket. Every ``--interval`` seconds each worker's ``VmRSS``
(``/proc/<pid>/status``) and CPU seconds are recorded with the requests done so far. It
prints the curve, then per worker the start, end and peak, and the growth over the second
half of the run (a leak keeps growing there; a warmed-up process plateaus), and per request
kind the count, errors, p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from bench.cities import query_points
from bench.map import VIEW_QUERY, View
from bench.run import (
    CLK_TCK,
    _exchange,
    _run_async,
    build_requests,
    cpu_ticks,
    partner_key,
    percentile,
    register_persisted,
    socket_holders,
)

MERCHANTS_QUERY = """query Merchants($near: GeoPointInput!) {
  nearbyMerchants(near: $near, radiusMeters: 1500, first: 10) {
    edges { distanceMeters node { id name rating reviewCount } }
  }
}"""

DEAL_QUERY = """query Deal($id: ID!) {
  deal(id: $id) {
    id title price { amount currency }
    merchant { name rating reviews(first: 5) { edges { node { rating text } } } }
  }
}"""

IDS_QUERY = """query Ids($near: GeoPointInput!) {
  nearbyDeals(near: $near, radiusMeters: 2000, first: 20) { edges { node { id } } }
}"""

# One cycle of the mix: kind names, in the order each client walks them.
MIX = (
    "nearbyDeals", "nearbyDeals compiled", "dealsInView", "nearbyDeals", "deal",
    "nearbyDeals compiled", "nearbyMerchants", "nearbyDeals compiled", "dealsInView", "deal",
)  # fmt: skip


@dataclass
class Sample:
    seconds: float
    requests: int
    rss_kib: dict[int, int]
    cpu_s: dict[int, float]  # user + system CPU of each worker so far: how the load split


@dataclass
class SoakResult:
    concurrency: int
    seconds: float
    workers: list[int]
    samples: list[Sample] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def worker_pids(port: int) -> list[int]:
    """The uvicorn workers: children of the process holding the listening socket."""
    holders = socket_holders(port)
    children = [pid for pid in holders if parent(pid) in holders]
    return sorted(children or holders)


def parent(pid: int) -> int:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(raw[raw.rindex(")") + 2 :].split()[1])


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (0 once it has exited)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def graphql_request(url: str, headers: dict[str, str], query: str, variables: object) -> bytes:
    parts = urlsplit(url)
    body = orjson.dumps({"query": query, "variables": variables})
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def deal_ids(url: str, headers: dict[str, str], points: Sequence[tuple[float, float]]) -> list[str]:
    """Deal ids near some of the points (the ``deal(id)`` part of the mix)."""
    import urllib.request

    found: list[str] = []
    for lat, lng in points[:20]:
        body = orjson.dumps({"query": IDS_QUERY, "variables": {"near": {"lat": lat, "lng": lng}}})
        request = urllib.request.Request(
            url, body, {"Content-Type": "application/json", **headers}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = orjson.loads(response.read())
        edges = answer["data"]["nearbyDeals"]["edges"]
        found += [edge["node"]["id"] for edge in edges]
    if not found:
        raise SystemExit("no deals near the query points: is the gateway serving the bench set?")
    return found


def mixed_requests(
    url: str, headers: dict[str, str], points: Sequence[tuple[float, float]], ids: Sequence[str]
) -> list[tuple[str, bytes]]:
    """``len(points)`` cycles of :data:`MIX`, each kind at its own point, view or id."""
    rng = random.Random(11)
    normal = build_requests(url, points, headers)
    compiled = build_requests(url, points, headers, persisted=True)
    requests: list[tuple[str, bytes]] = []
    for index, (lat, lng) in enumerate(points):
        view = View(lat, lng, rng.randint(14, 16))
        made = {
            "nearbyDeals": normal[index],
            "nearbyDeals compiled": compiled[index],
            "dealsInView": graphql_request(
                url, headers, VIEW_QUERY, {"bbox": view.bbox(), "zoom": view.zoom}
            ),
            "nearbyMerchants": graphql_request(
                url, headers, MERCHANTS_QUERY, {"near": {"lat": lat, "lng": lng}}
            ),
            "deal": graphql_request(url, headers, DEAL_QUERY, {"id": rng.choice(ids)}),
        }
        requests += [(kind, made[kind]) for kind in MIX]
    return requests


async def soak(
    url: str,
    requests: Sequence[tuple[str, bytes]],
    workers: Sequence[int],
    *,
    concurrency: int,
    seconds: float,
    interval: float,
    reconnect_every: int = 50,
) -> SoakResult:
    """Closed-loop clients for ``seconds``; each worker's RSS every ``interval`` seconds."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = SoakResult(concurrency=concurrency, seconds=seconds, workers=list(workers))
    done = 0
    started = time.perf_counter()
    stop = started + seconds

    def sample() -> None:
        rss = {pid: rss_kib(pid) for pid in workers}
        cpu = {pid: cpu_ticks(pid) / CLK_TCK for pid in workers}
        result.samples.append(Sample(round(time.perf_counter() - started, 1), done, rss, cpu))

    async def client(index: int) -> None:
        nonlocal done
        position = index * len(requests) // concurrency
        while time.perf_counter() < stop:
            # A new connection every ``reconnect_every`` requests: the workers share one
            # listening socket, so long-lived connections could all land on one worker.
            reader, writer = await asyncio.open_connection(host, port)
            try:
                for _ in range(reconnect_every):
                    if time.perf_counter() >= stop:
                        break
                    kind, request = requests[position % len(requests)]
                    position += 1
                    sent = time.perf_counter()
                    status, body = await _exchange(reader, writer, request)
                    elapsed_ms = (time.perf_counter() - sent) * 1e3
                    result.latencies.setdefault(kind, []).append(elapsed_ms)
                    if status != 200 or b'"errors"' in body:
                        result.errors[kind] = result.errors.get(kind, 0) + 1
                    done += 1
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def sampler() -> None:
        while time.perf_counter() < stop:
            await asyncio.sleep(min(interval, max(0.0, stop - time.perf_counter())))
            sample()
            print(curve_line(result.samples[-1], workers), flush=True)

    sample()
    print(curve_line(result.samples[-1], workers), flush=True)
    await asyncio.gather(sampler(), *(client(i) for i in range(concurrency)))
    return result


def curve_line(item: Sample, workers: Sequence[int]) -> str:
    cells = "".join(
        f"{item.rss_kib.get(pid, 0) / 1024:>12.1f}{item.cpu_s.get(pid, 0.0):>8.0f}"
        for pid in workers
    )
    return f"{item.seconds:>8.0f}{item.requests:>10}{cells}"


def summary(result: SoakResult) -> str:
    lines = [f"{'':>8}{'':>10}" + "".join(f"{'pid ' + str(p):>20}" for p in result.workers)]
    heads = "".join(f"{'RSS MiB':>12}{'CPU s':>8}" for _ in result.workers)
    lines.append(f"{'s':>8}{'requests':>10}{heads}")
    lines += [curve_line(item, result.workers) for item in result.samples]
    lines.append("")
    half = min(result.samples, key=lambda s: abs(s.seconds - result.seconds / 2))
    first_minute = min(result.samples, key=lambda s: abs(s.seconds - 60))
    for pid in result.workers:
        curve = [s.rss_kib.get(pid, 0) / 1024 for s in result.samples]
        lines.append(
            f"worker {pid}: start {curve[0]:.1f} MiB, after 1 min "
            f"{first_minute.rss_kib.get(pid, 0) / 1024:.1f}, end {curve[-1]:.1f}, "
            f"peak {max(curve):.1f}; second half {curve[-1] - half.rss_kib.get(pid, 0) / 1024:+.1f}"
            f" MiB"
        )
    total = sum(len(v) for v in result.latencies.values())
    lines.append(f"\n{total} requests in {result.seconds:.0f} s ({total / result.seconds:.1f}/s)")
    lines.append(f"{'kind':<22}{'n':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, values in sorted(result.latencies.items()):
        values.sort()
        lines.append(
            f"{kind:<22}{len(values):>8}{result.errors.get(kind, 0):>8}"
            f"{percentile(values, 0.5):>9.2f}{percentile(values, 0.99):>9.2f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8232/graphql")
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/o2o_bench_1m"
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--reconnect-every", type=int, default=50, help="requests per connection")
    parser.add_argument("--key-rate", type=int, default=1_000_000)
    parser.add_argument("--json", help="also write the samples and latencies here")
    args = parser.parse_args(argv)
    port = urlsplit(args.gateway_url).port or 80
    workers = worker_pids(port)
    if not workers:
        raise SystemExit(f"no process listens on {args.gateway_url}")
    print(f"workers {workers} (this client is pid {os.getpid()})")
    points = query_points(args.points)
    key = argparse.Namespace(
        api_key=None, anonymous=False, key_rate=args.key_rate, database_url=args.database_url
    )
    holder: list[SoakResult] = []
    with partner_key(key) as headers:
        register_persisted(args.gateway_url, headers)
        ids = deal_ids(args.gateway_url, headers, points)
        requests = mixed_requests(args.gateway_url, headers, points, ids)

        async def run() -> None:
            seconds, interval = args.minutes * 60, args.interval
            result = await soak(
                args.gateway_url, requests, workers, concurrency=args.concurrency,
                seconds=seconds, interval=interval, reconnect_every=args.reconnect_every,
            )  # fmt: skip
            holder.append(result)

        _run_async(run())
    result = holder[0]
    print(summary(result))
    if args.json:
        latencies = {k: statistics.median(v) for k, v in result.latencies.items() if v}
        Path(args.json).write_text(
            json.dumps({**asdict(result), "latencies": latencies}, indent=2, default=str)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
