"""What an idle gap costs the work after it: the search page's statement, after N ms asleep.

    python -m bench.idle --database-url postgresql://postgres@127.0.0.1:5432/o2o \\
        --search-url http://127.0.0.1:9200 --gaps 0 1 5 20 45 0

At concurrency 1, ``searchDeals`` waits 40-180 ms for the in-memory search server, and all
of the gateway's own work follows such a wait (or the client's think time). This script
runs the same work, the compiled search plan's statement on a driver connection
(:func:`geo.found.found_deals` for the deals a real search found), after sleeping each gap
before every call, and prints the process's CPU time and the wall time per call. On a
virtual machine whose cores sleep when idle, the same work costs several times as much CPU
after a gap of a few milliseconds as back to back (bench/README.md, "Idle gaps").
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench import search_run
from db.database import Database, DatabaseConfig
from geo.found import found_deals
from schema.build import build_schema
from schema.compiled import Limits
from schema.compiled_search import compile_search_plan
from search.client import SearchConfig, make_client
from search.index import SearchIndex
from search.queries import DealQuery


async def measure(args: argparse.Namespace) -> list[tuple[float, float, float]]:
    """(gap ms, CPU ms per call, wall ms per call) for each of ``args.gaps``."""
    plan = compile_search_plan(
        build_schema()._schema, search_run.QUERY, None, Limits(100, 10_000_000)
    )
    client = make_client(SearchConfig(url=args.search_url, plain_json=args.plain_json))
    index = SearchIndex(client, args.alias)
    database = Database(DatabaseConfig(url=args.database_url, pool_size=1, max_overflow=0))
    now = datetime.now(UTC)
    searches = []
    try:
        for sample in search_run.samples(args.calls):
            query = DealQuery(
                text=sample.text, now=now, size=search_run.FIRST, near=(sample.lat, sample.lng),
                radius_m=search_run.RADIUS_M, decay_scale_m=search_run.RADIUS_M / 2,
            )  # fmt: skip
            found = await index.search_deals(query)
            searches.append(([hit.deal_id for hit in found.hits], query.near))
        results = []
        for gap_ms in args.gaps:
            cpu = wall = 0.0
            for ids, near in searches:
                if gap_ms:
                    await asyncio.sleep(gap_ms / 1000)
                cpu_started, wall_started = time.process_time(), time.perf_counter()
                async with database.driver() as conn:
                    await found_deals(conn, ids, near, fields=plan.fields)
                cpu += time.process_time() - cpu_started
                wall += time.perf_counter() - wall_started
            calls = len(searches)
            results.append((gap_ms, 1000 * cpu / calls, 1000 * wall / calls))
    finally:
        await database.dispose()
        await client.close()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/o2o")
    parser.add_argument("--search-url", default="http://127.0.0.1:9200")
    parser.add_argument("--alias", default="o2o-deals")
    parser.add_argument("--plain-json", action="store_true", help="the in-memory test server")
    parser.add_argument("--calls", type=int, default=100, help="searches per gap")
    parser.add_argument("--gaps", type=float, nargs="+", default=[0, 1, 5, 20, 45, 0])
    args = parser.parse_args(argv)
    print("idle gap before each call   CPU ms per call   wall ms per call")
    for gap_ms, cpu_ms, wall_ms in asyncio.run(measure(args)):
        print(f"{gap_ms:>15.0f} ms {cpu_ms:>20.3f} {wall_ms:>18.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
