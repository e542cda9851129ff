"""A peer for ``bench.run``: PostGraphile v4 serving the gateway's own ``nearbyDeals`` SQL.

``python -m bench.run --peer postgraphile`` installs PostGraphile (pinned in
``bench/peer/package.json`` and its lock file) with ``npm ci``, creates
``bench_peer.nearby_deals(lat, lng)`` from the statement ``geo.nearby.page_statement``
compiles for the workload (2 km, first 20; the point as the function's arguments, every
other value rendered as a literal) with the columns the gateway's compiled plan of
``bench.run.QUERY`` selects, so when our statement changes the function changes with it,
and serves that schema with one Node process. Both servers are first asked the same
points and must give the same deals at the same distances; then they are driven with the
same client and points on interleaved rounds.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

from domain.sorting import SortOrder
from geo.nearby import Columns, Entity, NearbyParams, bind_values, page_statement

PEER_DIR = Path(__file__).resolve().parent / "peer"
SCHEMA = "bench_peer"
APPLICATION_NAME = "bench-peer"
RADIUS_M = 2000.0
FIRST = 20

PEER_QUERY = """query Nearby($lat: Float!, $lng: Float!) {
  nearbyDeals(lat: $lat, lng: $lng) {
    nodes { id distance title price currency discountPercent merchantName merchantRating }
  }
}"""


def install() -> Path:
    """``npm ci`` in bench/peer unless the pinned PostGraphile is already there."""
    wanted = orjson.loads((PEER_DIR / "package.json").read_bytes())["dependencies"]["postgraphile"]
    installed = PEER_DIR / "node_modules" / "postgraphile" / "package.json"
    if not installed.exists() or orjson.loads(installed.read_bytes())["version"] != wanted:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm not found: the PostGraphile peer needs Node.js 18+ and npm")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PEER_DIR, check=True)
    return PEER_DIR / "node_modules" / "postgraphile" / "cli.js"


def _literal(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "NULL"}[value]
    if isinstance(value, int | float | Decimal):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return "ARRAY[" + ",".join(_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {value!r}")


def plan_columns() -> Columns:
    """The columns of the gateway's compiled plan of the workload's query."""
    from bench.run import QUERY
    from schema.build import build_schema
    from schema.compiled import Limits, compile_plan

    schema = build_schema()._schema
    plan = compile_plan(schema, QUERY, None, Limits(max_depth=100, max_cost=10_000_000))
    return plan.columns


def function_body() -> str:
    """Our statement for the workload: ``$1``/``$2`` the point, ``now()`` the instant."""
    params = NearbyParams(
        entity=Entity.DEAL,
        lat=0.0,
        lng=0.0,
        radius_m=RADIUS_M,
        sort=SortOrder.DISTANCE,
        limit=FIRST,
        now=datetime.now(UTC),
    )
    compiled = page_statement(params, columns=plan_columns()).compile(
        dialect=psycopg_dialect.dialect()  # type: ignore[no-untyped-call]
    )
    values = {**compiled.params, **bind_values(params, FIRST + 1)}
    rendered = {"lat": "$1", "lng": "$2", "now": "now()"}

    def bind(match: re.Match[str]) -> str:
        name = match.group(1)
        return rendered[name] if name in rendered else _literal(values[name])

    return re.sub(r"%\((\w+)\)s", bind, compiled.string).replace("%%", "%")


def create_function(database_url: str) -> None:
    body = (
        "SELECT q.entity_id::bigint, q.distance::float8, q.e_title::text, q.e_price::numeric,"
        " q.e_currency::text, q.e_discount_percent::int, q.m_name::text, q.m_rating::numeric"
        f" FROM ({function_body()}) q ORDER BY q.distance, q.entity_id LIMIT {FIRST}"
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        conn.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.nearby_deals(float8, float8)")
        conn.execute(
            f"CREATE FUNCTION {SCHEMA}.nearby_deals(lat float8, lng float8)"
            " RETURNS TABLE (id bigint, distance float8, title text, price numeric,"
            " currency text, discount_percent int, merchant_name text, merchant_rating numeric)"
            " LANGUAGE sql STABLE PARALLEL SAFE AS $body$" + body + "$body$"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Peer:
    url: str
    pid: int


@contextlib.contextmanager
def serve(database_url: str) -> Iterator[Peer]:
    """PostGraphile on a free port (one Node process), stopped on exit."""
    cli = install()
    create_function(database_url)
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node not found")
    port = free_port()
    conninfo = make_conninfo(database_url, application_name=APPLICATION_NAME)
    info = conninfo_to_dict(conninfo)
    url = (
        f"postgres://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', 5432)}/{info['dbname']}?application_name={APPLICATION_NAME}"
    )
    env = {**os.environ, "NODE_ENV": "production"}
    if "password" in info:
        env["PGPASSWORD"] = str(info["password"])
    process = subprocess.Popen(
        [node, str(cli), "--connection", url, "--schema", SCHEMA, "--host", "127.0.0.1",
         "--port", str(port), "--disable-query-log", "--disable-default-mutations",
         "--no-ignore-rbac", "--max-pool-size", "4"],
        cwd=PEER_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    peer = Peer(url=f"http://127.0.0.1:{port}/graphql", pid=process.pid)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(f"PostGraphile exited: {error[-2000:]}")
            with contextlib.suppress(OSError):
                post(peer.url, PEER_QUERY, {"lat": 0.0, "lng": 0.0})
                break
            if time.monotonic() > deadline:
                raise SystemExit("PostGraphile did not answer within 60 s")
            time.sleep(0.3)
        yield peer
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is None:
            process.kill()


def post(
    url: str, query: str, variables: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=orjson.dumps({"query": query, "variables": variables}),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        decoded: dict[str, Any] = orjson.loads(response.read())
    if decoded.get("errors"):
        raise RuntimeError(f"{url}: {decoded['errors']}")
    return decoded


def _deal_id(global_id: str) -> int:
    import base64

    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.split(":")[1])


def check_same_answers(
    gateway_url: str,
    gateway_query: str,
    headers: dict[str, str],
    peer_url: str,
    points: Sequence[tuple[float, float]],
) -> int:
    """Ask both servers every point; raise on the first difference in (deal id, distance)."""
    for lat, lng in points:
        ours = post(
            gateway_url,
            gateway_query,
            {"near": {"lat": lat, "lng": lng}, "radius": RADIUS_M, "first": FIRST},
            headers,
        )
        theirs = post(peer_url, PEER_QUERY, {"lat": lat, "lng": lng})
        a = [
            (_deal_id(edge["node"]["id"]), edge["distanceMeters"])
            for edge in ours["data"]["nearbyDeals"]["edges"]
        ]
        # the gateway shows distances to the centimetre; PostGraphile a bigint as a string
        b = [
            (int(node["id"]), round(node["distance"], 2))
            for node in theirs["data"]["nearbyDeals"]["nodes"]
        ]
        if a != b:
            raise SystemExit(f"different answers at ({lat}, {lng}):\n gateway {a}\n peer    {b}")
    return len(points)


def peer_requests(url: str, points: Sequence[tuple[float, float]]) -> list[bytes]:
    """Prebuilt HTTP/1.1 requests for the peer, one per point."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    requests = []
    for lat, lng in points:
        body = orjson.dumps({"query": PEER_QUERY, "variables": {"lat": lat, "lng": lng}})
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    return requests


def backend_pids(database_url: str, application_name: str) -> list[int]:
    """PostgreSQL backends of ``application_name`` on the bench database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s AND pid <> pg_backend_pid()",
            [application_name],
        ).fetchall()
    return [int(row[0]) for row in rows]
