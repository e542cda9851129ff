"""Pan-and-zoom workload for maps: ``dealsInView`` and deal vector tiles at a running gateway.

    python -m bench.map --gateway-url http://127.0.0.1:8100 --concurrency 1 --duration 20

Views are 1024x768-pixel screens centred on the same city-weighted points as ``bench.run``
(:func:`bench.cities.query_points`), at a random zoom from 10 to 18 (fixed seed). The
``dealsInView`` run posts one query per view (clusters below zoom 14, up to 200 deals from
14 on, read as GeoJSON the way a map client would); the tile run fetches, view after view,
every 256-px tile covering the view, as a map does when it pans and zooms. Closed-loop
workers on keep-alive HTTP/1.1 connections; p50/p99 overall and per zoom band, CPU per
request of the gateway and of PostgreSQL (same accounting as ``bench.run``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from bench.cities import query_points
from bench.run import (
    CLK_TCK,
    gateway_cpu_ticks,
    listening_pids,
    percentile,
    postgres_cpu_ticks,
    with_descendants,
)

SCREEN_W, SCREEN_H = 1024, 768
MIN_ZOOM, MAX_ZOOM = 10, 18
CLUSTER_BELOW_ZOOM = 14

VIEW_QUERY = """query View($bbox: BoundingBoxInput!, $zoom: Int!) {
  dealsInView(bbox: $bbox, zoom: $zoom) { totalCount clustered truncated geojson }
}"""


@dataclass(frozen=True)
class View:
    lat: float
    lng: float
    zoom: int

    def world(self) -> tuple[float, float]:
        """Centre in world pixels at this zoom."""
        side = 256 << self.zoom
        phi = math.radians(self.lat)
        y = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2
        return (self.lng + 180) / 360 * side, y * side

    def bbox(self) -> dict[str, float]:
        side = 256 << self.zoom
        cx, cy = self.world()

        def lng(x: float) -> float:
            return x / side * 360 - 180

        def lat(y: float) -> float:
            return float(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / side)))))

        return {
            "west": lng(cx - SCREEN_W / 2),
            "east": lng(cx + SCREEN_W / 2),
            "north": lat(cy - SCREEN_H / 2),
            "south": lat(cy + SCREEN_H / 2),
        }

    def tiles(self) -> list[tuple[int, int, int]]:
        cx, cy = self.world()
        x0, x1 = int((cx - SCREEN_W / 2) // 256), int((cx + SCREEN_W / 2) // 256)
        y0, y1 = int((cy - SCREEN_H / 2) // 256), int((cy + SCREEN_H / 2) // 256)
        return [(self.zoom, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]


def views(count: int, seed: int = 7) -> list[View]:
    rng = random.Random(seed)
    return [View(lat, lng, rng.randint(MIN_ZOOM, MAX_ZOOM)) for lat, lng in query_points(count)]


def http_get(host: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode()


def http_post(host: str, body: bytes) -> bytes:
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def view_requests(host: str, chosen: Sequence[View]) -> list[tuple[int, bytes]]:
    return [
        (
            view.zoom,
            http_post(
                host,
                orjson.dumps(
                    {"query": VIEW_QUERY, "variables": {"bbox": view.bbox(), "zoom": view.zoom}}
                ),
            ),
        )
        for view in chosen
    ]


def tile_requests(host: str, chosen: Sequence[View]) -> list[tuple[int, bytes]]:
    return [
        (z, http_get(host, f"/tiles/deals/{z}/{x}/{y}.mvt"))
        for view in chosen
        for z, x, y in view.tiles()
    ]


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


@dataclass
class Sample:
    zoom: int
    ms: float
    ok: bool
    size: int


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    match = _CONTENT_LENGTH.search(head)
    body = await reader.readexactly(int(match.group(1))) if match else b""
    return int(head[9:12]), body


async def load(
    url: str, requests: Sequence[tuple[int, bytes]], concurrency: int, duration: float
) -> tuple[list[Sample], float]:
    graphql = requests[0][1].startswith(b"POST")
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    samples: list[Sample] = []
    stop = time.perf_counter() + duration

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        position = index * len(requests) // concurrency
        try:
            while time.perf_counter() < stop:
                zoom, request = requests[position % len(requests)]
                position += 1
                sent = time.perf_counter()
                status, body = await _exchange(reader, writer, request)
                ms = (time.perf_counter() - sent) * 1000.0
                ok = status == 200 and not (graphql and b'"errors"' in body)
                samples.append(Sample(zoom, ms, ok, len(body)))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return samples, time.perf_counter() - started


def summary(name: str, samples: list[Sample], seconds: float, cpu: tuple[float, float]) -> str:
    def line(label: str, chosen: list[Sample]) -> str:
        ms = sorted(s.ms for s in chosen)
        errors = sum(not s.ok for s in chosen)
        size = statistics.fmean(s.size for s in chosen) if chosen else 0.0
        return (
            f"  {label:<14}{len(chosen):>7}{errors:>6}{percentile(ms, 0.5):>9.2f}"
            f"{percentile(ms, 0.99):>9.2f}{(statistics.fmean(ms) if ms else 0):>9.2f}"
            f"{size / 1024:>9.1f}"
        )

    per = max(len(samples), 1)
    lines = [
        f"{name}: {len(samples)} requests in {seconds:.1f} s = {len(samples) / seconds:.1f}/s,"
        f" CPU per request: gateway {cpu[0] / per:.2f} ms + postgres {cpu[1] / per:.2f} ms",
        f"  {'zooms':<14}{'n':>7}{'err':>6}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'avg KiB':>9}",
        line("all", samples),
        line(f"{MIN_ZOOM}-{CLUSTER_BELOW_ZOOM - 1} clusters", [
            s for s in samples if s.zoom < CLUSTER_BELOW_ZOOM
        ]),
        line(f"{CLUSTER_BELOW_ZOOM}-{MAX_ZOOM} deals", [
            s for s in samples if s.zoom >= CLUSTER_BELOW_ZOOM
        ]),
    ]  # fmt: skip
    for zoom in range(MIN_ZOOM, MAX_ZOOM + 1):
        lines.append(line(f"z{zoom}", [s for s in samples if s.zoom == zoom]))
    return "\n".join(lines)


def measure(
    args: argparse.Namespace, name: str, requests: Sequence[tuple[int, bytes]], pids: list[int]
) -> str:
    asyncio.run(load(args.gateway_url, requests, args.concurrency, args.warmup))
    before = (gateway_cpu_ticks(pids), postgres_cpu_ticks())
    samples, seconds = asyncio.run(
        load(args.gateway_url, requests, args.concurrency, args.duration)
    )
    after = (gateway_cpu_ticks(pids), postgres_cpu_ticks())
    cpu = tuple((a - b) * 1000.0 / CLK_TCK for a, b in zip(after, before, strict=True))
    return summary(name, samples, seconds, (cpu[0], cpu[1]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.map", description=__doc__)
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8100")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--views", type=int, default=500, help="distinct views")
    parser.add_argument("--skip-view", action="store_true")
    parser.add_argument("--skip-tiles", action="store_true")
    args = parser.parse_args(argv)

    host = urlsplit(args.gateway_url).netloc
    port = urlsplit(args.gateway_url).port or 80
    pids = with_descendants(listening_pids(port))
    if not pids:
        raise SystemExit(f"no process listens on {args.gateway_url}")
    chosen = views(args.views)
    print(f"{len(chosen)} views (1024x768 px, zooms {MIN_ZOOM}-{MAX_ZOOM}), concurrency "
          f"{args.concurrency}, {args.duration:.0f} s per run")  # fmt: skip
    if not args.skip_view:
        print(measure(args, "dealsInView", view_requests(host, chosen), pids))
    if not args.skip_tiles:
        print(measure(args, "tiles", tile_requests(host, chosen), pids))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
