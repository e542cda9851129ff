"""Generate a large deterministic synthetic data set for benchmarking (server-side SQL).

    python -m bench.generate --database-url postgresql://postgres@127.0.0.1:5432/o2o_bench \\
        --merchants 200000 --deals-per-merchant 3 --reviews 1000000

Creates the database if missing, applies the project's migrations, loads the categories,
then generates merchants clustered around the most populous real cities (see
:mod:`bench.cities`), ~1.07 stores per merchant, deals valid now and for years, deal-store
links and reviews, with ``merchants.review_count``/``rating_total`` consistent with the
reviews. Every row is ``is_demo``, merchants have ``source = 'bench'``, and external keys
look like ``bench:m:123``. Randomness is a hash of (row number, purpose), so the same
arguments always give the same rows, whatever plan PostgreSQL picks.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.cities import DEFAULT_CITIES, top_cities
from db.migrate import upgrade
from seed.build import build_categories

BENCH_TABLES = ("merchants", "stores", "deals", "deal_stores", "reviews")

# u(key): a uniform number in [0, 1) from md5(key); g(key): a standard normal (Box-Muller).
FUNCTIONS = """
CREATE FUNCTION pg_temp.u(k text) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (('x' || substr(md5(k), 1, 13))::bit(52)::bigint)::float8 / 4503599627370496.0 $$;
CREATE FUNCTION pg_temp.g(k text) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT sqrt(-2 * ln(1 - pg_temp.u(k || ':a'))) * cos(2 * pi() * pg_temp.u(k || ':b')) $$;
CREATE FUNCTION pg_temp.pick(items text[], x float8) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT items[1 + floor(x * cardinality(items))::int] $$;
"""

KINDS = [
    "Hotpot", "Noodle Bar", "Dumpling House", "Dim Sum", "Grill", "Bakery", "Tea House",
    "Coffee", "Dessert Bar", "Karaoke", "Spa", "Hair Studio", "Nail Bar", "Fitness Studio",
    "Cinema", "Craft Beer", "Bistro", "Sushi", "Curry House", "Taqueria",
]  # fmt: skip
PREFIXES = [
    "Golden", "Lucky", "Old Town", "Corner", "Riverside", "Jade", "Sunny", "Twin Dragon",
    "Harbour", "Lotus", "Red Lantern", "Bamboo", "Silver", "Happy", "Star",
]  # fmt: skip
HOURS = [
    "Mo-Su 10:00-22:00",
    "Mo-Su 11:00-14:00,17:00-02:00",
    "Mo-Fr 07:30-20:00; Sa,Su 09:00-20:00",
    "Mo-Th 11:00-23:00; Fr-Sa 11:00-03:00; Su 11:00-23:00",
    "24/7",
]
DEAL_TITLES = [
    "Set menu for two", "Voucher worth 100", "Weekday lunch deal", "Happy hour",
    "Family package", "Weekend brunch", "Two-hour session", "Member special",
]  # fmt: skip
REVIEW_TEXTS = [
    "Great value, would come again.", "Friendly staff.", "A bit crowded.", "Excellent!",
    "Average, nothing special.", "Slow service but good food.", "",
]  # fmt: skip
AUTHORS = ["Aino K.", "Mikko L.", "Sofia V.", "Li Wei", "Wang Fang", "Zhang Wei", "Emma S."]


def ensure_database(url: str) -> None:
    """Create the target database (as a copy of template1) unless it exists."""
    params = conninfo_to_dict(url)
    name = str(params.get("dbname") or "")
    if not name:
        raise SystemExit("--database-url must name a database")
    admin = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def load_categories(conn: psycopg.Connection) -> list[str]:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO categories (slug, names, terms, position)"
            " VALUES (%s, %s::jsonb, %s::jsonb, %s)"
            " ON CONFLICT (slug) DO UPDATE SET names = excluded.names,"
            " terms = excluded.terms, position = excluded.position",
            [
                (c.slug, psycopg.types.json.Jsonb(c.names), psycopg.types.json.Jsonb(c.terms),
                 c.position)
                for c in build_categories()
            ],
        )  # fmt: skip
    conn.commit()
    return [c.slug for c in build_categories()]


def counts(conn: psycopg.Connection) -> dict[str, int]:
    found: dict[str, int] = {}
    for table in BENCH_TABLES:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        found[table] = int(row.fetchone()[0])  # type: ignore[index]
    return found


def reset(conn: psycopg.Connection) -> None:
    """Remove earlier bench rows: TRUNCATE when the database holds nothing else."""
    other = conn.execute("SELECT count(*) FROM merchants WHERE source <> 'bench'").fetchone()
    if other and other[0] == 0:
        conn.execute("TRUNCATE merchants, stores, deals, deal_stores, reviews RESTART IDENTITY")
    else:
        conn.execute("DELETE FROM merchants WHERE source = 'bench'")  # cascades
    conn.commit()


def step(
    conn: psycopg.Connection, label: str, statement: str, *params: object, analyze: str = ""
) -> None:
    """Run one generation statement, commit, ANALYZE what it filled (joins need the stats)."""
    started = time.perf_counter()
    cur = conn.execute(statement, params or None)
    if analyze:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(analyze)))
    conn.commit()
    print(f"  {label:<28} {cur.rowcount:>10} rows  {time.perf_counter() - started:6.1f} s")


def generate(
    conn: psycopg.Connection,
    *,
    merchants: int,
    deals_per_merchant: int,
    reviews: int,
    cities: int,
    extra_store_share: float,
    categories: Sequence[str],
) -> None:
    conn.execute("SET synchronous_commit = off")
    # Bulk load: no per-row triggers (search outbox rows, a NOTIFY per review that every
    # listener of the cluster would have to read) and no foreign-key checks; the rows are
    # consistent by construction. Session-local; needs a superuser, as the bench runs as.
    conn.execute("SET session_replication_role = replica")
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET max_parallel_workers_per_gather = 0")
    conn.execute(FUNCTIONS)
    conn.execute(
        "CREATE TEMP TABLE bench_city (idx int PRIMARY KEY, name text, lat float8, lng float8,"
        " timezone text, country_code text, currency text, sigma_km float8,"
        " first_n int, last_n int)"
    )
    first = 1
    rows = []
    for city in top_cities(cities, merchants):
        rows.append(
            (city.index, city.name, city.lat, city.lng, city.timezone, city.country_code,
             city.currency, city.sigma_km, first, first + city.merchants - 1)
        )  # fmt: skip
        first += city.merchants
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO bench_city VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", rows)
    arrays = {
        "cats": list(categories),
        "kinds": KINDS,
        "prefixes": PREFIXES,
        "hours": HOURS,
        "titles": DEAL_TITLES,
        "texts": REVIEW_TEXTS,
        "authors": AUTHORS,
    }
    conn.execute("CREATE TEMP TABLE bench_arrays (name text PRIMARY KEY, items text[])")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO bench_arrays VALUES (%s, %s)", list(arrays.items()))
    conn.execute(
        "CREATE FUNCTION pg_temp.arr(n text) RETURNS text[] LANGUAGE sql STABLE AS"
        " $$ SELECT items FROM bench_arrays WHERE name = n $$"
    )
    conn.commit()

    # Merchant number -> city; then reviews first, so merchants get consistent aggregates.
    step(
        conn,
        "temp merchant/city map",
        "CREATE TEMP TABLE bench_mc AS SELECT n, c.idx AS city_idx FROM bench_city c,"
        " generate_series(c.first_n, c.last_n) n",
        analyze="bench_mc",
    )
    conn.execute("ALTER TABLE bench_mc ADD PRIMARY KEY (n)")
    step(
        conn,
        "temp reviews",
        "CREATE TEMP TABLE bench_r AS SELECT r,"
        " 1 + floor(pg_temp.u('rm' || r) * %s)::int AS n,"
        " (CASE WHEN x < 0.07 THEN 1 WHEN x < 0.13 THEN 2 WHEN x < 0.25 THEN 3"
        "  WHEN x < 0.55 THEN 4 ELSE 5 END)::smallint AS rating"
        " FROM (SELECT r, pg_temp.u('rr' || r) AS x FROM generate_series(1, %s) r) s",
        merchants,
        reviews,
        analyze="bench_r",
    )
    conn.execute(
        "CREATE TEMP TABLE bench_agg AS SELECT n, count(*)::int AS cnt, sum(rating)::int AS tot"
        " FROM bench_r GROUP BY n"
    )
    conn.execute("ALTER TABLE bench_agg ADD PRIMARY KEY (n)")
    conn.execute("ANALYZE bench_agg")
    conn.commit()

    step(
        conn,
        "merchants",
        "WITH a AS (SELECT pg_temp.arr('prefixes') p, pg_temp.arr('kinds') k,"
        " pg_temp.arr('cats') c)"
        " INSERT INTO merchants (external_key, name, names, category_slug, price_level,"
        " review_count, rating_total, is_demo, source)"
        " SELECT 'bench:m:' || mc.n, nm, jsonb_build_object('en', nm),"
        "  pg_temp.pick(a.c, pg_temp.u('mc' || mc.n)),"
        "  1 + floor(pg_temp.u('mp' || mc.n) * 4)::int,"
        "  coalesce(ag.cnt, 0), coalesce(ag.tot, 0), true, 'bench'"
        " FROM bench_mc mc CROSS JOIN a"
        " LEFT JOIN bench_agg ag ON ag.n = mc.n"
        " CROSS JOIN LATERAL (SELECT pg_temp.pick(a.p, pg_temp.u('mn1' || mc.n)) || ' '"
        "  || pg_temp.pick(a.k, pg_temp.u('mn2' || mc.n)) || ' ' || mc.n AS nm) x"
        " ORDER BY mc.n",
        analyze="merchants",
    )
    conn.execute(
        "CREATE TEMP TABLE bench_m AS SELECT m.id, mc.n, mc.city_idx, m.name"
        " FROM bench_mc mc JOIN merchants m ON m.external_key = 'bench:m:' || mc.n"
    )
    conn.execute("ALTER TABLE bench_m ADD PRIMARY KEY (n)")
    conn.execute("ANALYZE bench_m")
    conn.commit()

    step(
        conn,
        "stores",
        "INSERT INTO stores (merchant_id, external_key, name, address, location, timezone,"
        " country_code, opening_hours)"
        " SELECT m.id, 'bench:s:' || m.n || ':' || k,"
        "  m.name || CASE WHEN k > 0 THEN ' (branch ' || k || ')' ELSE '' END,"
        "  'No. ' || (1 + floor(pg_temp.u('sa' || m.n || k) * 999)) || ' ' || c.name || ' Road',"
        "  ST_SetSRID(ST_MakePoint("
        "   c.lng + c.sigma_km * pg_temp.g('sx' || m.n || ':' || k)"
        "     / (111.320 * cos(radians(c.lat))),"
        "   c.lat + c.sigma_km * pg_temp.g('sy' || m.n || ':' || k) / 110.574), 4326)::geography,"
        "  c.timezone, c.country_code,"
        "  CASE WHEN pg_temp.u('sh' || m.n || k) < 0.2 THEN NULL"
        "   ELSE pg_temp.pick(h.items, pg_temp.u('sh2' || m.n || k)) END"
        " FROM bench_m m JOIN bench_city c ON c.idx = m.city_idx"
        " CROSS JOIN (SELECT pg_temp.arr('hours') items) h"
        " CROSS JOIN LATERAL generate_series(0,"
        "  CASE WHEN pg_temp.u('sc' || m.n) < %s THEN 1 ELSE 0 END) k"
        " ORDER BY m.n, k",
        extra_store_share,
        analyze="stores",
    )
    step(
        conn,
        "deals",
        "INSERT INTO deals (merchant_id, external_key, title, description, price, original_price,"
        " currency, valid_from, valid_until, total_quantity, remaining_quantity, per_user_limit,"
        " requires_booking, is_demo)"
        " SELECT m.id, 'bench:d:' || m.n || ':' || j, pg_temp.pick(t.items, x1),"
        "  'Synthetic benchmark deal ' || j || ' of ' || m.name,"
        "  round((5 + x2 * 295)::numeric, 2),"
        "  CASE WHEN x3 < 0.15 THEN NULL ELSE round(((5 + x2 * 295) * (1.1 + x3))::numeric, 2) END,"
        "  c.currency,"
        "  date_trunc('day', now()) - make_interval(days => 1 + floor(x4 * 60)::int),"
        "  date_trunc('day', now()) + make_interval(days => 730 + floor(x4 * 365)::int),"
        "  CASE WHEN x5 < 0.5 THEN NULL ELSE 100 + floor(x5 * 900)::int END,"
        "  CASE WHEN x5 < 0.5 THEN NULL WHEN x6 < 0.02 THEN 0"
        "   ELSE 1 + floor(x6 * (99 + floor(x5 * 900)))::int END,"
        "  1 + floor(x1 * 3)::int, x6 > 0.8, true"
        " FROM bench_m m JOIN bench_city c ON c.idx = m.city_idx"
        " CROSS JOIN (SELECT pg_temp.arr('titles') items) t"
        " CROSS JOIN LATERAL generate_series(1, %s) j"
        " CROSS JOIN LATERAL (SELECT pg_temp.u('d1' || m.n || ':' || j) x1,"
        "  pg_temp.u('d2' || m.n || ':' || j) x2, pg_temp.u('d3' || m.n || ':' || j) x3,"
        "  pg_temp.u('d4' || m.n || ':' || j) x4, pg_temp.u('d5' || m.n || ':' || j) x5,"
        "  pg_temp.u('d6' || m.n || ':' || j) x6) x"
        " ORDER BY m.n, j",
        deals_per_merchant,
        analyze="deals",
    )
    step(
        conn,
        "deal_stores",
        "INSERT INTO deal_stores (deal_id, store_id)"
        " SELECT d.id, s.id FROM bench_m m JOIN deals d ON d.merchant_id = m.id"
        " JOIN stores s ON s.merchant_id = m.id ORDER BY d.id, s.id",
        analyze="deal_stores",
    )
    step(
        conn,
        "reviews",
        "INSERT INTO reviews (merchant_id, external_key, author_id, author_name, rating, text,"
        " created_at, verified, merchant_reply, replied_at, is_demo)"
        " SELECT m.id, 'bench:r:' || r.r, 'bench:u:' || r.r,"
        "  pg_temp.pick(a.items, x1), r.rating, pg_temp.pick(tx.items, x2),"
        "  date_trunc('day', now()) - make_interval(secs => floor(x2 * 63072000)),"
        "  x3 < 0.3,"
        "  CASE WHEN x3 > 0.9 THEN 'Thank you for your visit!' END,"
        "  CASE WHEN x3 > 0.9 THEN date_trunc('day', now())"
        "   - make_interval(secs => floor(x2 * 63072000)) + interval '1 day' END,"
        "  true"
        " FROM bench_r r JOIN bench_m m ON m.n = r.n"
        " CROSS JOIN (SELECT pg_temp.arr('authors') items) a"
        " CROSS JOIN (SELECT pg_temp.arr('texts') items) tx"
        " CROSS JOIN LATERAL (SELECT pg_temp.u('r1' || r.r) x1, pg_temp.u('r2' || r.r) x2,"
        "  pg_temp.u('r3' || r.r) x3) x"
        " ORDER BY r.r",
    )


def temp_bytes(conn: psycopg.Connection) -> int:
    """Bytes this database has written to temporary files so far (sorts and hashes that spilled)."""
    row = conn.execute(
        "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()"
    ).fetchone()
    return int(row[0]) if row else 0


def database_size(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    return str(row[0]) if row else "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/o2o_bench")
    parser.add_argument("--merchants", type=int, default=200_000)
    parser.add_argument("--deals-per-merchant", type=int, default=3)
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--cities", type=int, default=DEFAULT_CITIES)
    parser.add_argument(
        "--extra-store-share", type=float, default=0.07, help="merchants with a second store"
    )
    parser.add_argument(
        "--reset", action="store_true", help="replace earlier bench rows instead of stopping"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ensure_database(args.database_url)
    upgrade(args.database_url)
    print("migrations applied")
    with psycopg.connect(args.database_url) as conn:
        categories = load_categories(conn)
        existing = conn.execute("SELECT count(*) FROM merchants WHERE source = 'bench'").fetchone()
        if existing and existing[0]:
            if not args.reset:
                print(f"{existing[0]} bench merchants already present (use --reset to rebuild)")
                print(counts(conn))
                return 0
            reset(conn)
            print("removed the earlier bench rows")
        spilled = temp_bytes(conn)
        generate(
            conn,
            merchants=args.merchants,
            deals_per_merchant=args.deals_per_merchant,
            reviews=args.reviews,
            cities=args.cities,
            extra_store_share=args.extra_store_share,
            categories=categories,
        )
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        vacuum_started = time.perf_counter()
        for table in (*BENCH_TABLES, "categories"):
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
        vacuum_s = time.perf_counter() - vacuum_started
        print(f"  {'VACUUM (ANALYZE)':<28} {'':>10}       {vacuum_s:6.1f} s")
        for table, count in counts(conn).items():
            print(f"{table:<12} {count:>10}")
        print(f"temporary files written: {(temp_bytes(conn) - spilled) / 2**20:.0f} MiB")
        print(f"database size: {database_size(conn)}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
