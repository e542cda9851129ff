"""Drive ``nearbyDeals`` at a running gateway, then the same SQL through pgbench, and compare.

    python -m bench.run --gateway-url http://127.0.0.1:8100/graphql \\
        --database-url postgresql://postgres@127.0.0.1:5432/o2o_bench --concurrency 1 --duration 20

The HTTP client is a minimal keep-alive HTTP/1.1 client on asyncio (uvloop when available):
one connection per concurrent worker, request bytes prebuilt, responses read by
Content-Length, so the client's own CPU stays small on a machine it shares with the server.

CPU is read from ``/proc/<pid>/stat`` (utime + stime) for the gateway process(es) and for
every ``postgres`` process, before and after each run. Exited backends are accounted through
the postmaster's cutime + cstime, so connections that close during the run still count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

from bench.cities import query_points
from domain.sorting import SortOrder
from geo.nearby import Columns, Entity, NearbyParams, bind_values, page_statement

CLK_TCK = os.sysconf("SC_CLK_TCK")
RADIUS_M = 2000.0
FIRST = 20

QUERY = """query Nearby($near: GeoPointInput!, $radius: Float!, $first: Int!) {
  nearbyDeals(near: $near, radiusMeters: $radius, first: $first) {
    edges {
      distanceMeters
      node { id title price { amount currency } discountPercent merchant { name rating } }
    }
  }
}"""

POINT = "CAST(ST_SetSRID(ST_MakePoint(:lng, :lat), 4326) AS geography(POINT,4326))"

# Reference: stores in KNN order (GiST ``<->``), joined to deals and merchants, first 20
# pairs. Not the same semantics as the gateway (a deal valid at two nearby stores can appear
# twice; ``<->`` on geography is a sphere distance), so it is a lower bound, not a substitute.
KNN_SQL = f"""SELECT d.id, ST_Distance(s.location, {POINT}) AS distance, s.id AS store_id,
  d.title, d.price, d.currency, d.discount_percent, m.name, m.rating
FROM stores s
JOIN deal_stores ds ON ds.store_id = s.id
JOIN deals d ON d.id = ds.deal_id
JOIN merchants m ON m.id = d.merchant_id
WHERE ST_DWithin(s.location, {POINT}, :radius)
  AND d.valid_from <= :now::timestamptz AND d.valid_until > :now::timestamptz
  AND (d.remaining_quantity IS NULL OR d.remaining_quantity > 0)
ORDER BY s.location <-> {POINT}, d.id
LIMIT :limit;
"""

# Nearest store per deal without sorting every pair: walk stores in KNN order and keep a
# (deal, store) pair only if the deal has no nearer store (same tie-break as the gateway).
# Stops after the page; exact except that ``<->`` orders by sphere distance.
KNN_EXACT_SQL = f"""SELECT d.id AS entity_id, ST_Distance(s.location, {POINT}) AS distance,
  s.id AS s_id, d.title, d.price, d.currency, d.discount_percent, d.merchant_id
FROM stores s
JOIN deal_stores ds ON ds.store_id = s.id
JOIN deals d ON d.id = ds.deal_id
WHERE ST_DWithin(s.location, {POINT}, :radius)
  AND d.valid_from <= :now::timestamptz AND d.valid_until > :now::timestamptz
  AND (d.remaining_quantity IS NULL OR d.remaining_quantity > 0)
  AND NOT EXISTS (
    SELECT 1 FROM deal_stores ds2 JOIN stores s2 ON s2.id = ds2.store_id
    WHERE ds2.deal_id = d.id AND s2.id <> s.id
      AND (ST_Distance(s2.location, {POINT}), s2.id) < (ST_Distance(s.location, {POINT}), s.id))
ORDER BY s.location <-> {POINT}, d.id
LIMIT :limit;
"""


# --------------------------------------------------------------------------- CPU accounting


def _stat_fields(pid: int) -> tuple[str, list[str]] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    return comm, raw[raw.rindex(")") + 2 :].split()


def cpu_ticks(pid: int, *, children: bool = False) -> int:
    """utime + stime of ``pid`` (plus its reaped children's when ``children``), in ticks."""
    stat = _stat_fields(pid)
    if stat is None:
        return 0
    rest = stat[1]  # rest[0] is field 3 (state); utime is field 14
    ticks = int(rest[11]) + int(rest[12])
    if children:
        ticks += int(rest[13]) + int(rest[14])
    return ticks


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def postgres_pids() -> tuple[list[int], int | None]:
    """Every process named ``postgres`` and the postmaster (the one whose parent is not)."""
    pids, parents = [], {}
    for pid in all_pids():
        stat = _stat_fields(pid)
        if stat and stat[0] == "postgres":
            pids.append(pid)
            parents[pid] = int(stat[1][1])
    postmaster = next((p for p in pids if parents[p] not in parents), None)
    return pids, postmaster


def postgres_cpu_ticks() -> int:
    """Live postgres processes plus the exited ones (in the postmaster's children time)."""
    pids, postmaster = postgres_pids()
    total = sum(cpu_ticks(pid) for pid in pids)
    if postmaster is not None:
        stat = _stat_fields(postmaster)
        if stat:
            total += int(stat[1][13]) + int(stat[1][14])
    return total


def listening_pids(port: int) -> list[int]:
    """Processes holding a listening TCP socket on ``port`` (uvicorn parent and workers)."""
    return with_descendants(socket_holders(port))


def socket_holders(port: int) -> list[int]:
    """Processes holding a listening TCP socket on ``port`` themselves (not their children)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    found = []
    for pid in all_pids():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        found.append(pid)
                        break
    return found


def with_descendants(pids: Iterable[int]) -> list[int]:
    parents: dict[int, int] = {}
    for pid in all_pids():
        stat = _stat_fields(pid)
        if stat:
            parents[pid] = int(stat[1][1])
    selected = set(pids)
    grew = True
    while grew:
        extra = {pid for pid, ppid in parents.items() if ppid in selected} - selected
        grew = bool(extra)
        selected |= extra
    return sorted(selected)


def gateway_cpu_ticks(pids: Sequence[int]) -> int:
    return sum(cpu_ticks(pid, children=True) for pid in pids)


# --------------------------------------------------------------------------- HTTP workload


@dataclass
class RunResult:
    name: str
    concurrency: int
    seconds: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    server_cpu_ms_per_req: float  # gateway processes (0 for pgbench runs)
    postgres_cpu_ms_per_req: float
    client_cpu_ms_per_req: float
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def total_cpu_ms_per_req(self) -> float:
        return self.server_cpu_ms_per_req + self.postgres_cpu_ms_per_req


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


QUERY_HASH = hashlib.sha256(QUERY.encode()).hexdigest()
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": QUERY_HASH}}


def register_persisted(url: str, headers: dict[str, str] | None) -> None:
    """Register :data:`QUERY` as a persisted query (Apollo APQ: hash and text together)."""
    body = orjson.dumps(
        {"query": QUERY, "variables": _variables(0.0, 0.0), "extensions": PERSISTED}
    )
    request = urllib.request.Request(
        url, body, {"Content-Type": "application/json", **(headers or {})}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = orjson.loads(response.read())
    if answer.get("errors"):
        raise SystemExit(f"cannot register the persisted query: {answer['errors']}")


def _variables(lat: float, lng: float) -> dict[str, object]:
    return {"near": {"lat": lat, "lng": lng}, "radius": RADIUS_M, "first": FIRST}


def build_requests(
    url: str,
    points: Sequence[tuple[float, float]],
    headers: dict[str, str] | None = None,
    *,
    persisted: bool = False,
) -> list[bytes]:
    """Prebuilt requests; ``persisted``: the hash only (the gateway's compiled path)."""
    parts = urlsplit(url)
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    host = parts.netloc
    path = parts.path or "/"
    requests = []
    for lat, lng in points:
        operation = {"extensions": PERSISTED} if persisted else {"query": QUERY}
        body = orjson.dumps({**operation, "variables": _variables(lat, lng)})
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    return requests


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = _CONTENT_LENGTH.search(head)
    if match is None:
        raise RuntimeError("response without Content-Length")
    body = await reader.readexactly(int(match.group(1)))
    return status, body


async def http_load(
    url: str, requests: Sequence[bytes], concurrency: int, duration: float, warmup: float
) -> tuple[list[float], int, int, float, dict[str, object]]:
    """Run ``concurrency`` closed-loop workers; return latencies (ms) measured after warmup."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    errors = 0
    measured = 0
    sample: dict[str, object] = {}
    # time.perf_counter, not loop.time(): uvloop's clock has millisecond resolution.
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + duration

    async def worker(index: int) -> None:
        nonlocal errors, measured
        reader, writer = await asyncio.open_connection(host, port)
        position = index * len(requests) // concurrency
        try:
            while True:
                sent = time.perf_counter()
                if sent >= stop:
                    return
                request = requests[position % len(requests)]
                position += 1
                status, body = await _exchange(reader, writer, request)
                done = time.perf_counter()
                if not sample:
                    decoded = orjson.loads(body)
                    found = (decoded.get("data") or {}).get("nearbyDeals") or {}
                    edges = found.get("edges") or found.get("nodes") or []
                    sample.update(
                        status=status, edges=len(edges), errors=decoded.get("errors"),
                        first_edge=edges[0] if edges else None,
                    )  # fmt: skip
                if sent >= measure_from:
                    measured += 1
                    latencies.append((done - sent) * 1000.0)
                    if status != 200 or b'"errors"' in body:
                        errors += 1
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    measured_start = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - measured_start
    return latencies, measured, errors, elapsed, sample


def run_gateway(args: argparse.Namespace, points: Sequence[tuple[float, float]]) -> RunResult:
    pids = args.gateway_pid or listening_pids(urlsplit(args.gateway_url).port or 80)
    pids = with_descendants(pids)
    if not pids:
        raise SystemExit(f"no process listens on {args.gateway_url}; pass --gateway-pid")
    requests = build_requests(args.gateway_url, points, args.headers)
    return measure_http(
        "gateway nearbyDeals", args.gateway_url, requests, pids, postgres_cpu_ticks,
        args.concurrency, args.duration, args.warmup,
    )  # fmt: skip


def measure_http(
    name: str,
    url: str,
    requests: Sequence[bytes],
    server_pids: Sequence[int],
    pg_ticks: Callable[[], int],
    concurrency: int,
    duration: float,
    warmup: float,
) -> RunResult:
    """One closed-loop run; CPU of ``server_pids`` and ``pg_ticks()`` over the measured window."""
    window = _Window()

    async def main() -> None:
        # CPU snapshots bracket the measured window only (after warmup).
        task = asyncio.create_task(http_load(url, requests, concurrency, duration, warmup))
        await asyncio.sleep(warmup)
        window.before = (gateway_cpu_ticks(server_pids), pg_ticks(), _self_seconds())
        window.load = await task
        window.after = (gateway_cpu_ticks(server_pids), pg_ticks(), _self_seconds())

    _run_async(main())
    latencies, count, errors, elapsed, sample = window.load
    before, after = window.before, window.after
    latencies.sort()
    per = max(count, 1)
    return RunResult(
        name=name,
        concurrency=concurrency,
        seconds=elapsed,
        requests=count,
        errors=errors,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        mean_ms=statistics.fmean(latencies) if latencies else float("nan"),
        server_cpu_ms_per_req=(after[0] - before[0]) * 1000.0 / CLK_TCK / per,
        postgres_cpu_ms_per_req=(after[1] - before[1]) * 1000.0 / CLK_TCK / per,
        client_cpu_ms_per_req=(after[2] - before[2]) * 1000.0 / per,
        notes={"server_pids": list(server_pids), "sample": sample},
    )


@dataclass
class _Window:
    before: tuple[int, int, float] = (0, 0, 0.0)
    after: tuple[int, int, float] = (0, 0, 0.0)
    load: tuple[list[float], int, int, float, dict[str, object]] = ([], 0, 0, 0.0, {})


def _self_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_async(coroutine: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop

        uvloop.run(coroutine)
    except ImportError:
        asyncio.run(coroutine)


# --------------------------------------------------------------------------- pgbench


def gateway_sql(
    now: datetime, *, knn: bool = True, columns: Columns | None = None
) -> tuple[str, dict[str, str]]:
    """The gateway's nearbyDeals statement with pgbench ``:variables`` for its parameters
    (``columns``: the compiled plan's statement, selecting only those)."""
    params = NearbyParams(
        entity=Entity.DEAL,
        lat=0.0,
        lng=0.0,
        radius_m=RADIUS_M,
        sort=SortOrder.DISTANCE,
        limit=FIRST,
        now=now,
    )
    compiled = page_statement(params, knn=knn, columns=columns).compile(
        dialect=psycopg_dialect.dialect()  # type: ignore[no-untyped-call]
    )
    values = {**compiled.params, **bind_values(params, FIRST + 1)}
    text = re.sub(r"%\((\w+)\)s", r":\1", compiled.string).replace("%%", "%")
    variables = {
        name: (value.isoformat() if isinstance(value, datetime) else str(value))
        for name, value in values.items()
        if name not in ("lat", "lng")
    }
    return text + ";\n", variables


def point_prelude(points: Sequence[tuple[float, float]]) -> str:
    """pgbench meta-commands choosing one of ``points`` uniformly into :lat and :lng."""
    lat = " ".join(f"WHEN :i = {i} THEN {p[0]}" for i, p in enumerate(points))
    lng = " ".join(f"WHEN :i = {i} THEN {p[1]}" for i, p in enumerate(points))
    return (
        f"\\set i random(0, {len(points) - 1})\n"
        f"\\set lat CASE {lat} ELSE 0.0 END\n"
        f"\\set lng CASE {lng} ELSE 0.0 END\n"
    )


def run_pgbench(
    args: argparse.Namespace,
    name: str,
    script: str,
    variables: dict[str, str],
    workdir: Path,
) -> RunResult:
    pgbench = args.pgbench or shutil.which("pgbench")
    if not pgbench:
        raise SystemExit(
            "pgbench not found: apt-get install -y postgresql-client-15 (or pass --pgbench)"
        )
    slug = re.sub(r"\W+", "_", name)
    script_path = workdir / f"{slug}.sql"
    script_path.write_text(script, encoding="utf-8")
    log_prefix = workdir / f"{slug}_log"
    for old in glob.glob(f"{log_prefix}*"):
        os.unlink(old)
    conninfo = conninfo_to_dict(args.database_url)
    command = [
        pgbench, "-n", "-M", "prepared", "-f", str(script_path),
        "-c", str(args.concurrency), "-j", str(args.concurrency), "-T", str(int(args.duration)),
        "--random-seed", "42", "--log", f"--log-prefix={log_prefix}",
        "-h", str(conninfo.get("host", "127.0.0.1")), "-p", str(conninfo.get("port", 5432)),
        "-U", str(conninfo.get("user", "postgres")), str(conninfo.get("dbname", "o2o_bench")),
    ]  # fmt: skip
    for key, value in variables.items():
        command += ["-D", f"{key}={value}"]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_before = postgres_cpu_ticks()
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    pg_after = postgres_cpu_ticks()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(f"pgbench failed for {name} (script kept at {script_path})")
    latencies: list[float] = []
    failures = 0
    for path in glob.glob(f"{log_prefix}*"):
        with open(path, encoding="ascii") as handle:
            for line in handle:
                cols = line.split()
                if len(cols) >= 3 and cols[2].isdigit():
                    latencies.append(int(cols[2]) / 1000.0)
                else:
                    failures += 1
    latencies.sort()
    tps_match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", completed.stdout)
    count = len(latencies)
    seconds = count / float(tps_match.group(1)) if tps_match and count else elapsed
    client_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    per = max(count, 1)
    return RunResult(
        name=name,
        concurrency=args.concurrency,
        seconds=seconds,
        requests=count,
        errors=failures,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        mean_ms=statistics.fmean(latencies) if latencies else float("nan"),
        server_cpu_ms_per_req=0.0,
        postgres_cpu_ms_per_req=(pg_after - pg_before) * 1000.0 / CLK_TCK / per,
        client_cpu_ms_per_req=client_cpu * 1000.0 / per,
        notes={"script": str(script_path), "wall_s": round(elapsed, 2)},
    )


# --------------------------------------------------------------------------- report


def write_results(path: str, results: Sequence[RunResult]) -> None:
    """``--json``: every run's figures, with its request rate."""
    rows = [{**asdict(r), "rate": r.rate} for r in results]
    Path(path).write_text(json.dumps(rows, indent=2, default=str))


def report(results: Sequence[RunResult]) -> str:
    header = (
        f"{'run':<26}{'conc':>5}{'n':>8}{'err':>5}{'rate/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'gw CPU':>9}{'pg CPU':>9}{'tot CPU':>9}{'client':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.name:<26}{r.concurrency:>5}{r.requests:>8}{r.errors:>5}{r.rate:>9.1f}"
            f"{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.server_cpu_ms_per_req:>9.2f}"
            f"{r.postgres_cpu_ms_per_req:>9.2f}{r.total_cpu_ms_per_req:>9.2f}"
            f"{r.client_cpu_ms_per_req:>8.2f}"
        )
    lines.append("(CPU columns are milliseconds per request/transaction)")
    gateway = next((r for r in results if r.name.startswith("gateway")), None)
    raw = next((r for r in results if r.name == "raw SQL (gateway stmt)"), None)
    if gateway and raw and raw.rate and raw.total_cpu_ms_per_req:
        lines += [
            "",
            f"gateway req/s / raw SQL tps      {gateway.rate / raw.rate:8.3f}",
            f"p50 gateway - raw SQL (ms)       {gateway.p50_ms - raw.p50_ms:8.2f}",
            f"CPU/req gateway+pg / raw pg CPU  "
            f"{gateway.total_cpu_ms_per_req / raw.total_cpu_ms_per_req:8.2f}",
            f"  of which postgres side         "
            f"{gateway.postgres_cpu_ms_per_req / raw.total_cpu_ms_per_req:8.2f}",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- partner key


ROOT = Path(__file__).resolve().parent.parent


def _cli(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``o2o`` from this checkout, against the bench database."""
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "gateway.cli", *arguments]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"o2o {' '.join(arguments)} failed: {done.stderr.strip()}")
    return done


@contextlib.contextmanager
def partner_key(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    """The ``X-API-Key`` header of a partner key with budgets far above the run, created with
    ``o2o apikey create`` and revoked afterwards (or ``--api-key``'s, or none)."""
    if args.api_key or args.anonymous:
        yield {"X-API-Key": args.api_key} if args.api_key else {}
        return
    rate = str(args.key_rate)
    done = _cli(args.database_url, "apikey", "create", "--name", "bench", "--rate", rate,
                "--cost", str(min(args.key_rate * 100, 100_000_000)))  # fmt: skip
    found = re.search(r"key (\d+)", done.stderr)
    secret = done.stdout.strip().splitlines()[-1]
    try:
        yield {"X-API-Key": secret}
    finally:
        if found:
            _cli(args.database_url, "apikey", "revoke", found.group(1))


# Tables the gateway writes while it serves reads: the live funnel's counters, upserted every
# second. Where autovacuum is off (this machine's PostgreSQL runs with the CI image's
# ``autovacuum = off``) their dead rows pile up run after run and tax every flush, which
# counts in the gateway's PostgreSQL CPU; a production server vacuums them itself.
WRITTEN_BY_READS = ("funnel_counts",)


def vacuum_written_tables(database_url: str) -> None:
    """``VACUUM (ANALYZE)`` what earlier runs wrote, before a round is timed."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in WRITTEN_BY_READS:
            conn.execute(f"VACUUM (ANALYZE) {table}")


# --------------------------------------------------------------------------- peer


def backend_ticks(database_url: str, application_name: str) -> int:
    """CPU ticks of the PostgreSQL backends serving ``application_name`` on the database."""
    from bench.peer import backend_pids

    return sum(cpu_ticks(pid) for pid in backend_pids(database_url, application_name))


def run_peer(args: argparse.Namespace, points: Sequence[tuple[float, float]]) -> list[RunResult]:
    """Check the answers, then the gateway and PostGraphile on interleaved rounds."""
    from bench import peer

    gateway_pids = with_descendants(
        args.gateway_pid or listening_pids(urlsplit(args.gateway_url).port or 80)
    )
    if not gateway_pids:
        raise SystemExit(f"no process listens on {args.gateway_url}; pass --gateway-pid")
    results: list[RunResult] = []
    with peer.serve(args.database_url) as server:
        checked = peer.check_same_answers(
            args.gateway_url, QUERY, args.headers, server.url, points[: args.check_points]
        )
        print(f"same answers (deal ids and distances) from both on {checked} points")
        register_persisted(args.gateway_url, args.headers)
        compiled = build_requests(args.gateway_url, points, args.headers, persisted=True)
        runs = {
            "gateway": (
                args.gateway_url, build_requests(args.gateway_url, points, args.headers),
                gateway_pids, "o2o-gateway",
            ),
            "gateway compiled": (args.gateway_url, compiled, gateway_pids, "o2o-gateway"),
            "postgraphile": (
                server.url, peer.peer_requests(server.url, points), with_descendants([server.pid]),
                peer.APPLICATION_NAME,
            ),
        }  # fmt: skip
        raw_sql = None
        if args.peer_sql:  # the compiled plan's statement through pgbench, in every round
            text, variables = gateway_sql(
                datetime.now(UTC).replace(microsecond=0), columns=peer.plan_columns()
            )
            raw_sql = (point_prelude(points) + text, variables)
        for concurrency in args.peer_concurrency:
            for round_number in range(args.rounds):
                vacuum_written_tables(args.database_url)
                if raw_sql is not None:
                    sql_args = argparse.Namespace(**{**vars(args), "concurrency": concurrency})
                    result = run_pgbench(
                        sql_args, RAW_SQL, *raw_sql, Path(tempfile.mkdtemp(prefix="o2o_bench_"))
                    )
                    result.notes["round"] = round_number
                    print(report([result]).splitlines()[2], flush=True)
                    results.append(result)
                names = ["gateway", "gateway compiled", "postgraphile"]
                shift = round_number % len(names)  # each goes first in turn
                for name in names[shift:] + names[:shift]:
                    url, requests, pids, application = runs[name]

                    def pg_ticks(application: str = application) -> int:
                        return backend_ticks(args.database_url, application)

                    result = measure_http(
                        name, url, requests, pids, pg_ticks, concurrency, args.duration,
                        args.warmup,
                    )  # fmt: skip
                    result.notes["round"] = round_number
                    print(report([result]).splitlines()[2], flush=True)
                    results.append(result)
    return results


RAW_SQL = "raw SQL (compiled stmt)"


def peer_report(results: Sequence[RunResult]) -> str:
    """Our figures over PostGraphile's, per concurrency: median and range over the rounds."""

    def spread(values: Sequence[float]) -> str:
        return f"{statistics.median(values):7.2f} ({min(values):.2f}-{max(values):.2f})"

    lines = [
        "",
        "gateway vs PostGraphile (same SQL, same points, same client; median (range) of rounds)",
    ]
    for ours_name in ("gateway", "gateway compiled"):
        lines.append(f"{'':<34}{ours_name:>22}{'PostGraphile':>22}")
        lines += _peer_rows(results, ours_name, spread)
    return "\n".join(lines)


def _peer_rows(
    results: Sequence[RunResult], ours_name: str, spread: Callable[[Sequence[float]], str]
) -> list[str]:
    lines = []
    for concurrency in sorted({r.concurrency for r in results}):
        ours = [r for r in results if r.concurrency == concurrency and r.name == ours_name]
        theirs = [r for r in results if r.concurrency == concurrency and r.name == "postgraphile"]
        rows = [
            ("req/s", [r.rate for r in ours], [r.rate for r in theirs]),
            ("server CPU ms/request", [r.server_cpu_ms_per_req for r in ours],
             [r.server_cpu_ms_per_req for r in theirs]),
            ("PostgreSQL CPU ms/request", [r.postgres_cpu_ms_per_req for r in ours],
             [r.postgres_cpu_ms_per_req for r in theirs]),
            ("p50 ms", [r.p50_ms for r in ours], [r.p50_ms for r in theirs]),
            ("p99 ms", [r.p99_ms for r in ours], [r.p99_ms for r in theirs]),
        ]  # fmt: skip
        lines.append(f"concurrency {concurrency}, {len(ours)} rounds")
        for label, a, b in rows:
            lines.append(f"  {label:<32}{spread(a):>22}{spread(b):>22}")
        ratios = [a.rate / b.rate for a, b in zip(ours, theirs, strict=True) if b.rate]
        if ratios:
            lines.append(f"  {'our req/s / PostGraphile req/s':<32}{spread(ratios):>22}")
        raw = [r for r in results if r.concurrency == concurrency and r.name == RAW_SQL]
        if raw and len(raw) == len(ours):
            lines.append(f"  {'raw SQL p50 ms (pgbench)':<32}{spread([r.p50_ms for r in raw]):>22}")
            gaps = [a.p50_ms - r.p50_ms for a, r in zip(ours, raw, strict=True)]
            lines.append(f"  {'our p50 - raw SQL p50 ms':<32}{spread(gaps):>22}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8100/graphql")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/o2o_bench")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--points", type=int, default=500, help="distinct query points")
    parser.add_argument("--gateway-pid", type=int, action="append", default=[])
    parser.add_argument("--pgbench", help="path to pgbench (default: from PATH)")
    parser.add_argument("--skip-gateway", action="store_true")
    parser.add_argument("--skip-sql", action="store_true")
    parser.add_argument("--no-knn", action="store_true", help="skip the KNN reference runs")
    parser.add_argument("--workdir", help="where pgbench scripts and logs go (default: temp)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--api-key", help="use this partner key (default: create one, revoke it)")
    parser.add_argument(
        "--anonymous", action="store_true", help="no partner key (the anonymous limit applies)"
    )
    parser.add_argument("--key-rate", type=int, default=1_000_000, help="the key's requests/min")
    parser.add_argument("--peer", choices=["postgraphile"], help="compare with a peer instead")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds with --peer")
    parser.add_argument("--peer-concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--check-points", type=int, default=50, help="answers compared first")
    parser.add_argument(
        "--peer-sql",
        action="store_true",
        help="with --peer: also the compiled plan's statement through pgbench in every round",
    )
    args = parser.parse_args(argv)
    with partner_key(args) as headers:
        args.headers = headers
        return _main(args)


def _main(args: argparse.Namespace) -> int:

    points = query_points(args.points)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="o2o_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[RunResult] = []
    if args.peer:
        results = run_peer(args, points)
        print(report(results))
        print(peer_report(results))
        if args.json:
            write_results(args.json, results)
        return 0
    if not args.skip_gateway:
        result = run_gateway(args, points)
        print(f"gateway sample response: {json.dumps(result.notes['sample'], default=str)}")
        results.append(result)
    if not args.skip_sql:
        now = datetime.now(UTC).replace(microsecond=0)
        prelude = point_prelude(points)
        text, variables = gateway_sql(now)
        results.append(
            run_pgbench(args, "raw SQL (gateway stmt)", prelude + text, variables, workdir)
        )
        text, variables = gateway_sql(now, knn=False)
        results.append(run_pgbench(args, "raw SQL (full stmt)", prelude + text, variables, workdir))
        if not args.no_knn:
            knn_vars = {"radius": str(RADIUS_M), "now": now.isoformat(), "limit": str(FIRST + 1)}
            results.append(
                run_pgbench(args, "raw SQL KNN pairs (ref)", prelude + KNN_SQL, knn_vars, workdir)
            )
            results.append(
                run_pgbench(args, "raw SQL KNN exact", prelude + KNN_EXACT_SQL, knn_vars, workdir)
            )
    print(report(results))
    print(f"(pgbench scripts and logs in {workdir})")
    if args.json:
        write_results(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
