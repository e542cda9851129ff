"""Pan-and-zoom workload for maps: ``dealsInView`` and deal vector tiles at a running gateway.

    python -m bench.map --gateway-url http://127.0.0.1:8100 --concurrency 1 --duration 20

Views are 1024x768-pixel screens centred on the same city-weighted points as ``bench.run``
(:func:`bench.cities.query_points`), at a random zoom from 10 to 18 (fixed seed). With
``--area shanghai`` they are screens over central Shanghai (the densest area of the data
set) at every cluster zoom 0-13, plus a whole-world screen at zoom 2 (reported as
``world``). With ``--peer-url`` a second gateway (say, one without the map layer) gets the
same requests on interleaved rounds, and both are printed. The
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


SHANGHAI = (31.2304, 121.4737)
WORLD = {"west": -180.0, "east": 180.0, "north": 85.0, "south": -85.0}
WORLD_ZOOM = -2
"""The zoom key of the whole-world screen in the figures (its real zoom is 2)."""


@dataclass(frozen=True)
class View:
    lat: float
    lng: float
    zoom: int
    world_view: bool = False

    def world(self) -> tuple[float, float]:
        """Centre in world pixels at this zoom."""
        side = 256 << self.zoom
        phi = math.radians(self.lat)
        y = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2
        return (self.lng + 180) / 360 * side, y * side

    def bbox(self) -> dict[str, float]:
        if self.world_view:
            return dict(WORLD)
        side = 256 << self.zoom
        cx, cy = self.world()

        def lng(x: float) -> float:
            return x / side * 360 - 180

        def lat(y: float) -> float:
            return float(math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / side)))))

        if side <= SCREEN_W:  # the screen shows the whole world's width
            west, east = -180.0, 180.0
        else:  # wrapped into [-180, 180] (west > east: across the antimeridian)
            west = (lng(cx - SCREEN_W / 2) + 180) % 360 - 180
            east = (lng(cx + SCREEN_W / 2) + 180) % 360 - 180
        return {
            "west": west,
            "east": east,
            "north": lat(max(cy - SCREEN_H / 2, 0)),
            "south": lat(min(cy + SCREEN_H / 2, side)),
        }

    def tiles(self) -> list[tuple[int, int, int]]:
        cx, cy = self.world()
        x0, x1 = int((cx - SCREEN_W / 2) // 256), int((cx + SCREEN_W / 2) // 256)
        y0, y1 = int((cy - SCREEN_H / 2) // 256), int((cy + SCREEN_H / 2) // 256)
        side = 1 << self.zoom  # tiles per axis: x wraps around the world, y is clamped
        xs = sorted({x % side for x in range(x0, x1 + 1)})
        ys = range(max(y0, 0), min(y1, side - 1) + 1)
        return [(self.zoom, x, y) for y in ys for x in xs]


def views(count: int, seed: int = 7) -> list[View]:
    rng = random.Random(seed)
    return [View(lat, lng, rng.randint(MIN_ZOOM, MAX_ZOOM)) for lat, lng in query_points(count)]


def shanghai_views(count: int, seed: int = 7) -> list[View]:
    """Screens over central Shanghai, zooms 0-13 in turn (centres within a quarter screen of
    the city centre), every fifteenth one the whole world at zoom 2."""
    rng = random.Random(seed)
    chosen = []
    for index in range(count):
        zoom = index % (CLUSTER_BELOW_ZOOM + 1)
        if zoom == CLUSTER_BELOW_ZOOM:
            chosen.append(View(0.0, 0.0, 2, world_view=True))
            continue
        degrees = 360 / 2**zoom * SCREEN_W / 256 / 4
        lat = SHANGHAI[0] + rng.uniform(-1, 1) * min(degrees * 0.75, 20)
        lng = SHANGHAI[1] + rng.uniform(-1, 1) * min(degrees, 40)
        chosen.append(View(lat, lng, zoom))
    return chosen


def zoom_key(view: View) -> int:
    return WORLD_ZOOM if view.world_view else view.zoom


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
            zoom_key(view),
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
        (WORLD_ZOOM if view.world_view else z, http_get(host, f"/tiles/deals/{z}/{x}/{y}.mvt"))
        for view in chosen
        for z, x, y in (_world_tiles() if view.world_view else view.tiles())
    ]


def _world_tiles() -> list[tuple[int, int, int]]:
    return [(2, x, y) for y in range(4) for x in range(4)]


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


def summary(
    name: str,
    samples: list[Sample],
    seconds: float,
    cpu: tuple[float, float],
    zooms: Sequence[int] = tuple(range(MIN_ZOOM, MAX_ZOOM + 1)),
) -> str:
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
        line(f"..{CLUSTER_BELOW_ZOOM - 1} clusters", [
            s for s in samples if s.zoom < CLUSTER_BELOW_ZOOM
        ]),
        line(f"{CLUSTER_BELOW_ZOOM}-{MAX_ZOOM} deals", [
            s for s in samples if s.zoom >= CLUSTER_BELOW_ZOOM
        ]),
    ]  # fmt: skip
    for zoom in zooms:
        label = "world z2" if zoom == WORLD_ZOOM else f"z{zoom}"
        lines.append(line(label, [s for s in samples if s.zoom == zoom]))
    return "\n".join(lines)


@dataclass
class Target:
    """One gateway under test: its URL, processes and what was measured on it."""

    name: str
    url: str
    pids: list[int]
    samples: list[Sample]
    seconds: float = 0.0
    gateway_ms: float = 0.0
    postgres_ms: float = 0.0


def target(name: str, url: str) -> Target:
    pids = with_descendants(listening_pids(urlsplit(url).port or 80))
    if not pids:
        raise SystemExit(f"no process listens on {url}")
    return Target(name, url, pids, [])


def measure(
    args: argparse.Namespace,
    name: str,
    requests: Sequence[tuple[int, bytes]],
    targets: Sequence[Target],
    zooms: Sequence[int],
) -> str:
    """``args.rounds`` interleaved rounds on every target (warm-up first, unmeasured)."""
    for each in targets:
        each.samples, each.seconds, each.gateway_ms, each.postgres_ms = [], 0.0, 0.0, 0.0
        asyncio.run(load(each.url, requests, args.concurrency, args.warmup))
    for _ in range(args.rounds):
        for each in targets:
            before = (gateway_cpu_ticks(each.pids), postgres_cpu_ticks())
            samples, seconds = asyncio.run(
                load(each.url, requests, args.concurrency, args.duration / args.rounds)
            )
            after = (gateway_cpu_ticks(each.pids), postgres_cpu_ticks())
            each.samples.extend(samples)
            each.seconds += seconds
            each.gateway_ms += (after[0] - before[0]) * 1000.0 / CLK_TCK
            each.postgres_ms += (after[1] - before[1]) * 1000.0 / CLK_TCK
    return "\n".join(
        summary(
            f"{name} [{each.name}]",
            each.samples,
            each.seconds,
            (each.gateway_ms, each.postgres_ms),
            zooms,
        )
        for each in targets
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.map", description=__doc__)
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8100")
    parser.add_argument("--peer-url", help="a second gateway, measured on interleaved rounds")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--views", type=int, default=500, help="distinct views")
    parser.add_argument("--area", choices=["cities", "shanghai"], default="cities")
    parser.add_argument("--skip-view", action="store_true")
    parser.add_argument("--skip-tiles", action="store_true")
    args = parser.parse_args(argv)

    host = urlsplit(args.gateway_url).netloc
    targets = [target("gateway", args.gateway_url)]
    if args.peer_url:
        targets.append(target("peer", args.peer_url))
    if args.area == "shanghai":
        chosen = shanghai_views(args.views)
        zooms: Sequence[int] = (*range(0, CLUSTER_BELOW_ZOOM), WORLD_ZOOM)
    else:
        chosen = views(args.views)
        zooms = tuple(range(MIN_ZOOM, MAX_ZOOM + 1))
    print(f"{len(chosen)} views (1024x768 px, area {args.area}), concurrency "
          f"{args.concurrency}, {args.duration:.0f} s per run in {args.rounds} rounds")  # fmt: skip
    if not args.skip_view:
        print(measure(args, "dealsInView", view_requests(host, chosen), targets, zooms))
    if not args.skip_tiles:
        print(measure(args, "tiles", tile_requests(host, chosen), targets, zooms))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
