"""What the live funnel costs ``nearbyDeals``: the same gateway with ``FUNNEL_ENABLED`` on and
off, in interleaved rounds of the same run.

    python -m bench.funnel --database-url postgresql://postgres@127.0.0.1:5432/o2o_test \\
        --rounds 6 --seconds 5 --concurrency 4

Two ``o2o serve`` processes (one worker each) start on free ports against the same database,
one with the funnel on (impressions counted in memory, flushed every second, an attribution
token signed per edge) and one with it off (no counting, ``attribution`` null). Each round
drives one, then the other (the order alternates), for ``--seconds`` with ``--concurrency``
keep-alive clients asking for 20 deals near seeded cities with ``attribution`` selected.
The figure is the ratio of the medians of the rounds' requests per second; the target is at
most 5 % fewer with the funnel on. The database needs the demo seed (``o2o seed``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUERY = """query($near: GeoPointInput!) {
  nearbyDeals(near: $near, radiusMeters: 3000, first: 20) {
    edges { distanceMeters attribution node { id title price { amount currency } } } } }"""
POINTS = [  # seeded cities: Helsinki and Shanghai, a few points each
    {"lat": 60.1699 + dy, "lng": 24.9384 + dx}
    for dy in (-0.01, 0.0, 0.01)
    for dx in (-0.02, 0.0, 0.02)
] + [
    {"lat": 31.2222 + dy, "lng": 121.4581 + dx}
    for dy in (-0.01, 0.0, 0.01)
    for dx in (-0.01, 0.0, 0.01)
]


@dataclass
class Gateway:
    name: str
    url: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, database_url: str, funnel: bool) -> Gateway:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FUNNEL_ENABLED": "true" if funnel else "false",
        "SEARCH_SYNC": "false",
        "ANONYMOUS_RATE_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
        "HOLD_SWEEP_INTERVAL_SECONDS": "3600",
    }
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    return Gateway(name, f"http://127.0.0.1:{port}/graphql", process)


async def wait_ready(gateway: Gateway, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with suppress(httpx.HTTPError):
                answer = await client.post(
                    gateway.url, json={"query": QUERY, "variables": {"near": POINTS[0]}}
                )
                if answer.status_code == 200 and "errors" not in answer.json():
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{gateway.name} did not start")


async def drive(url: str, seconds: float, concurrency: int) -> float:
    """Requests per second over ``seconds`` with ``concurrency`` keep-alive clients."""
    bodies = [
        httpx.Request("POST", url, json={"query": QUERY, "variables": {"near": p}}).content
        for p in POINTS
    ]
    headers = {"content-type": "application/json"}
    done = 0
    stop_at = time.monotonic() + seconds

    async def worker(offset: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(timeout=30) as client:
            index = offset
            while time.monotonic() < stop_at:
                answer = await client.post(
                    url, content=bodies[index % len(bodies)], headers=headers
                )
                answer.raise_for_status()
                done += 1
                index += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(i * 7) for i in range(concurrency)))
    return done / (time.monotonic() - started)


async def run(args: argparse.Namespace) -> None:
    on = start("funnel on", args.database_url, funnel=True)
    off = start("funnel off", args.database_url, funnel=False)
    try:
        await asyncio.gather(wait_ready(on), wait_ready(off))
        for gateway in (on, off):  # warm caches and pools
            await drive(gateway.url, 2, args.concurrency)
        rates: dict[str, list[float]] = {on.name: [], off.name: []}
        for round_no in range(args.rounds):
            order = (on, off) if round_no % 2 == 0 else (off, on)
            for gateway in order:
                rate = await drive(gateway.url, args.seconds, args.concurrency)
                rates[gateway.name].append(rate)
                print(f"round {round_no + 1} {gateway.name:10s} {rate:8.1f} req/s", flush=True)
        with_funnel = statistics.median(rates[on.name])
        without = statistics.median(rates[off.name])
        change = (with_funnel / without - 1) * 100
        print(
            f"\nnearbyDeals (20 edges, attribution selected), concurrency {args.concurrency},"
            f" {args.rounds} interleaved rounds of {args.seconds:g} s:\n"
            f"  funnel off: median {without:.1f} req/s\n"
            f"  funnel on:  median {with_funnel:.1f} req/s\n"
            f"  change with the funnel on: {change:+.1f} % (target: no worse than -5 %)"
        )
    finally:
        for gateway in (on, off):
            gateway.process.terminate()
        for gateway in (on, off):
            with suppress(subprocess.TimeoutExpired):
                gateway.process.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/o2o"),
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=4)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
