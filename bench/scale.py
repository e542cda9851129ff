"""Scale figures: ``nearbyDeals`` on two data sets of different size, in the same run.

    python -m bench.scale \\
        --set 200k http://127.0.0.1:8230/graphql postgresql://postgres@127.0.0.1:5432/o2o_bench \\
        --set 1M http://127.0.0.1:8231/graphql postgresql://postgres@127.0.0.1:5432/o2o_bench_1m \\
        --rounds 3 --duration 15

One gateway per data set (each serving its own database), driven by the client of
:mod:`bench.run` with the same query points. Every round runs each set once per mode (the
query text, i.e. normal execution, and the persisted hash, i.e. the compiled plan) in
rotating order, then the gateway's statement through pgbench on each database. The first
``--set`` is the baseline: the report gives, per mode, the median and range over rounds of
every figure and of the other sets' p50 over the baseline's p50 in the same round.

Gateway CPU is the ``/proc`` delta of the processes listening on each URL's port; PostgreSQL
CPU of a gateway run is that of the backends named ``o2o-gateway`` on that set's database,
so other databases' load on a shared server is not counted. pgbench's PostgreSQL CPU is every
``postgres`` process (as in :mod:`bench.run`), so it includes whatever else runs.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bench.cities import query_points
from bench.run import (
    RunResult,
    backend_ticks,
    build_requests,
    gateway_sql,
    listening_pids,
    measure_http,
    partner_key,
    point_prelude,
    register_persisted,
    report,
    run_pgbench,
    vacuum_written_tables,
    with_descendants,
    write_results,
)

MODES = ("normal", "compiled", "raw SQL")


@dataclass(frozen=True, slots=True)
class DataSet:
    label: str
    gateway_url: str
    database_url: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """One set's prebuilt requests (per mode), gateway processes and key header."""

    data: DataSet
    requests: dict[str, list[bytes]]
    pids: list[int]


def parse_sets(raw: Sequence[Sequence[str]]) -> list[DataSet]:
    sets = [DataSet(label, url, database) for label, url, database in raw]
    if len(sets) < 2:
        raise SystemExit("give at least two --set LABEL GATEWAY_URL DATABASE_URL (baseline first)")
    return sets


def gateway_pids(url: str) -> list[int]:
    pids = with_descendants(listening_pids(urlsplit(url).port or 80))
    if not pids:
        raise SystemExit(f"no process listens on {url}")
    return pids


def key_args(args: argparse.Namespace, database_url: str) -> argparse.Namespace:
    """What :func:`bench.run.partner_key` reads, for one set's database."""
    return argparse.Namespace(
        api_key=None, anonymous=args.anonymous, key_rate=args.key_rate, database_url=database_url
    )


@contextlib.contextmanager
def prepared_sets(
    args: argparse.Namespace, sets: Sequence[DataSet], points: Sequence[tuple[float, float]]
) -> Iterator[list[Prepared]]:
    """A partner key on each database (revoked afterwards) and each set's prebuilt requests."""
    with contextlib.ExitStack() as stack:
        prepared = []
        for data in sets:
            headers = stack.enter_context(partner_key(key_args(args, data.database_url)))
            register_persisted(data.gateway_url, headers)
            requests = {
                "normal": build_requests(data.gateway_url, points, headers),
                "compiled": build_requests(data.gateway_url, points, headers, persisted=True),
            }
            prepared.append(Prepared(data, requests, gateway_pids(data.gateway_url)))
        yield prepared


def gateway_run(
    args: argparse.Namespace, item: Prepared, mode: str, concurrency: int, round_number: int
) -> RunResult:
    def pg_ticks() -> int:
        return backend_ticks(item.data.database_url, "o2o-gateway")

    result = measure_http(
        f"{item.data.label} {mode}", item.data.gateway_url, item.requests[mode], item.pids,
        pg_ticks, concurrency, args.duration, args.warmup,
    )  # fmt: skip
    result.notes.update(label=item.data.label, mode=mode, round=round_number)
    sample = result.notes.get("sample")
    if not isinstance(sample, dict) or not sample.get("edges"):
        raise SystemExit(f"{result.name}: no edges in the first answer: {sample}")
    return result


def sql_run(
    args: argparse.Namespace,
    data: DataSet,
    points: Sequence[tuple[float, float]],
    concurrency: int,
    round_number: int,
    workdir: Path,
) -> RunResult:
    """The gateway's exact statement through pgbench on this set's database."""
    now = datetime.now(UTC).replace(microsecond=0)
    text, variables = gateway_sql(now)
    bench_args = argparse.Namespace(
        pgbench=args.pgbench, database_url=data.database_url, concurrency=concurrency,
        duration=args.sql_duration,
    )  # fmt: skip
    result = run_pgbench(
        bench_args, f"{data.label} raw SQL", point_prelude(points) + text, variables, workdir
    )
    result.notes.update(label=data.label, mode="raw SQL", round=round_number)
    return result


def run_rounds(
    args: argparse.Namespace,
    prepared: Sequence[Prepared],
    points: Sequence[tuple[float, float]],
    workdir: Path,
) -> list[RunResult]:
    results: list[RunResult] = []
    for concurrency in args.concurrency:
        for round_number in range(args.rounds):
            shift = round_number % len(prepared)  # each set goes first in turn
            order = [*prepared[shift:], *prepared[:shift]]
            for item in order:
                vacuum_written_tables(item.data.database_url)
            for mode in ("normal", "compiled"):
                for item in order:
                    results.append(gateway_run(args, item, mode, concurrency, round_number))
                    print(report(results[-1:]).splitlines()[2], flush=True)
            if args.sql_duration > 0:
                for item in order:
                    results.append(
                        sql_run(args, item.data, points, concurrency, round_number, workdir)
                    )
                    print(report(results[-1:]).splitlines()[2], flush=True)
    return results


def spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def summary(results: Sequence[RunResult], labels: Sequence[str]) -> str:
    """Per concurrency and mode: median (range) over rounds per set, and p50 over baseline's."""
    lines = ["", "median (range) over rounds; CPU in ms per request"]
    for concurrency in sorted({r.concurrency for r in results}):
        for mode in MODES:
            runs = {
                label: [
                    r for r in results
                    if r.concurrency == concurrency and r.notes.get("mode") == mode
                    and r.notes.get("label") == label
                ]
                for label in labels
            }  # fmt: skip
            if not runs[labels[0]]:
                continue
            lines.append(f"concurrency {concurrency}, {mode}")
            lines.append(f"  {'':<22}" + "".join(f"{label:>26}" for label in labels))
            for name, value in FIGURES:
                cells = "".join(f"{spread([value(r) for r in runs[x]]):>26}" for x in labels)
                lines.append(f"  {name:<22}{cells}")
            base = {r.notes["round"]: r for r in runs[labels[0]]}
            for label in labels[1:]:
                ratios = [
                    r.p50_ms / base[r.notes["round"]].p50_ms
                    for r in runs[label]
                    if r.notes["round"] in base and base[r.notes["round"]].p50_ms
                ]
                lines.append(f"  p50 {label} / {labels[0]:<12}{spread(ratios):>26}")
    return "\n".join(lines)


def _rate(r: RunResult) -> float:
    return r.rate


def _p50(r: RunResult) -> float:
    return r.p50_ms


def _p99(r: RunResult) -> float:
    return r.p99_ms


def _server(r: RunResult) -> float:
    return r.server_cpu_ms_per_req


def _postgres(r: RunResult) -> float:
    return r.postgres_cpu_ms_per_req


def _errors(r: RunResult) -> float:
    return float(r.errors)


FIGURES = (
    ("req/s", _rate),
    ("p50 ms", _p50),
    ("p99 ms", _p99),
    ("gateway CPU", _server),
    ("PostgreSQL CPU", _postgres),
    ("errors", _errors),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument(
        "--set", nargs=3, action="append", required=True, dest="sets",
        metavar=("LABEL", "GATEWAY_URL", "DATABASE_URL"), help="baseline first",
    )  # fmt: skip
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=15.0, help="measured s per gateway run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--sql-duration", type=int, default=10, help="pgbench s per run; 0: none")
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--pgbench", help="path to pgbench (default: from PATH)")
    parser.add_argument("--anonymous", action="store_true", help="no partner key")
    parser.add_argument("--key-rate", type=int, default=1_000_000)
    parser.add_argument("--workdir", help="pgbench scripts and logs (default: temp)")
    parser.add_argument("--json", help="also write every run to this file")
    args = parser.parse_args(argv)
    sets = parse_sets(args.sets)
    points = query_points(args.points)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="o2o_scale_"))
    workdir.mkdir(parents=True, exist_ok=True)
    with prepared_sets(args, sets, points) as prepared:
        results = run_rounds(args, prepared, points, workdir)
    print(report(results))
    print(summary(results, [s.label for s in sets]))
    if args.json:
        write_results(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
