"""The pre-aggregated map layer in SQL: building a generation, and clusters answered from it.

**What the layer holds.** A generation is built from one moment ``T`` for a horizon ``H``:
the deals on offer at ``T`` whose sale window also covers ``T + H`` (published and in stock
at ``T``), each at its representative store (its lowest-id store) with integer Web Mercator
coordinates. A deal's *split* level is the first level at which its stores fall in different
cells (never, for one store). ``map_cells`` holds, for every level from ``MIN_LEVEL`` to
``MAX_LEVEL`` and every cell, the count, coordinate sums and fine min/max of the deals whose
representative is in the cell and whose split is finer than the level (all their stores are
in the cell). ``map_deals`` keeps each deal's representative, ``map_spread`` every store of
the deals that split at some layer level, ``map_volatile`` the deals whose sale window
opens or closes within the horizon.

**Answering a view** (:func:`layer_clusters`): a probe reads the published generation, the
changes since its build and the view's store count; the view is then cut by :mod:`geo.cover`
into rectangles of cells fully inside it plus a live part, and one statement answers, after
checking that the generation and the changes are still those probed (else both run again in
one REPEATABLE READ snapshot), so no BEGIN/COMMIT trips in the usual case. Cells are read
from ``map_cells``. The deals with a store in the live part, those changed since the build
(``map_dirty``, filled by migration 0017's triggers; their old representatives taint the
cover) and the volatile ones are placed as the live statement places them: at their
lowest-id store in the view, from ``deals``/``stores``. The unchanged deals that split at or
above the level of the rectangle holding one of their stores are placed the same way from
``map_spread`` alone (read by the cover's spread bands). A deal counted by a cell has all its
stores in that cell, so it is in no other part; every other deal in view is in exactly one
of the two live parts.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.offer_sql import on_offer_text
from geo.cover import CELL_BITS, FINE_BITS, MAX_LEVEL, MIN_LEVEL, Band, Cover, cover
from geo.viewport import FINE_X, FINE_Y, Box, ClusterRow, DealCriteria, area_sql, bind_values

BUILD_LOCK = 0x6D61_706C  # "mapl": one builder at a time across every gateway process
BUILD_TIMEOUT = "300s"
MAX_CHANGES = 2000
"""More changed deals than this since the build: answer live until the next build."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LayerState:
    generation: int
    built_at: datetime
    usable_until: datetime
    changes: int


@dataclass(frozen=True, slots=True)
class BuildReport:
    generation: int
    deals: int
    cells: int
    spread: int
    volatile: int
    consumed: int
    build_ms: int


@asynccontextmanager
async def snapshot(conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """One read-only REPEATABLE READ transaction on an autocommit connection."""
    await conn.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    try:
        yield conn
    except BaseException:
        await conn.execute(text("ROLLBACK"))
        raise
    await conn.execute(text("COMMIT"))


@dataclass(frozen=True, slots=True)
class Probe:
    """What a view needs to know before its cover is cut."""

    state: LayerState
    taints: tuple[tuple[int, int], ...]
    """The layer's representatives of the deals changed since the build."""
    stores: int
    """Stores in the view, counted up to the caller's threshold."""


@lru_cache(maxsize=4)
def _probe_statement(boxes: int) -> TextClause:
    """Stores are counted box by box (one index range each; ``OR`` made it a bitmap of the
    two whole boxes at zoom 3)."""
    stores = " + ".join(
        "(SELECT count(*) FROM (SELECT 1 FROM stores s WHERE s.location::geometry &&"
        f" ST_MakeEnvelope(:w{i}, :s{i}, :e{i}, :n{i}, 4326) LIMIT :cap) c)"
        for i in range(boxes)
    )
    return text(f"""SELECT st.generation, st.built_at, st.usable_until, d.changes, t.fx, t.fy,
  {stores}
FROM map_layer_state st
CROSS JOIN (SELECT count(*) AS changes FROM map_dirty) d
CROSS JOIN LATERAL (
  SELECT array_agg(m.fx) AS fx, array_agg(m.fy) AS fy FROM (
    SELECT DISTINCT fx, fy FROM map_deals WHERE generation = st.generation
      AND d.changes <= {MAX_CHANGES} AND deal_id IN (SELECT deal_id FROM map_dirty)
  ) m
) t""")


async def probe(conn: AsyncConnection, boxes: tuple[Box, ...], stores: int) -> Probe | None:
    """The published generation, its taints and the view's stores (up to ``stores``), in
    one statement; None when no layer is published."""
    values = {**bind_values(boxes, DealCriteria(now=_EPOCH)), "cap": stores}
    row = (await conn.execute(_probe_statement(len(boxes)), values)).first()
    if row is None:
        return None
    state = LayerState(int(row[0]), row[1], row[2], int(row[3]))
    taints = tuple((int(x), int(y)) for x, y in zip(row[4] or (), row[5] or (), strict=True))
    return Probe(state, taints, int(row[6]))


def _split(min_fx: str, max_fx: str, min_fy: str, max_fy: str) -> str:
    """The first level at which the coordinates differ (``FINE_BITS + 1`` when never)."""

    def bits(a: str, b: str) -> str:
        return f"length(ltrim((({a}) # ({b}))::bit({FINE_BITS})::text, '0'))"

    return f"({FINE_BITS + 1} - GREATEST({bits(min_fx, max_fx)}, {bits(min_fy, max_fy)}))"


def _layer_cte() -> str:
    """The rectangles' cells, keyed by their cluster cell. Narrow rectangles are read by
    ``cx`` (migration 0019's index), the others by ``cy`` (the primary key): the read axis'
    range is stated twice, so the planner reckons it the more selective (a thin ring along
    a view's west edge would otherwise read every cell of its level in the view's
    latitudes)."""
    cells = """SELECT c.cx >> (c.level - :lc) AS cell_x, c.cy >> (c.level - :lc) AS cell_y,
         c.count::bigint AS count, c.sum_lng, c.sum_lat, c.min_fx, c.max_fx, c.min_fy, c.max_fy
  FROM rects r JOIN map_cells c ON c.generation = :gen AND c.level = r.level
   AND c.cx BETWEEN r.x0 AND r.x1 AND c.cy BETWEEN r.y0 AND r.y1"""
    return f"""rects AS MATERIALIZED (
  SELECT * FROM unnest(CAST(:r_level AS int[]), CAST(:r_x0 AS bigint[]),
    CAST(:r_x1 AS bigint[]), CAST(:r_y0 AS bigint[]), CAST(:r_y1 AS bigint[]),
    CAST(:r_narrow AS boolean[])) AS r(level, x0, x1, y0, y1, narrow)
),
layer AS (
  {cells}
  WHERE r.narrow AND c.cx BETWEEN r.x0 AND r.x1
  UNION ALL
  {cells}
  WHERE NOT r.narrow AND c.cy BETWEEN r.y0 AND r.y1
)"""


def _in_rect(alias: str) -> str:
    """Whether the fine point ``alias.fx, alias.fy`` lies in a rectangle."""
    shift = f"({FINE_BITS} - r.level)"
    return (
        f"EXISTS (SELECT 1 FROM rects r WHERE ({alias}.fx >> {shift}) BETWEEN r.x0"
        f" AND r.x1 AND ({alias}.fy >> {shift}) BETWEEN r.y0 AND r.y1)"
    )


def _live_cte(boxes: tuple[Box, ...]) -> str:
    """``live_deals``: deals with a store in the live part, changed or volatile;
    ``in_view``: each at its lowest-id store in the view, as the live statement does."""
    area = area_sql(boxes)
    return f"""edge AS (
  SELECT DISTINCT s.id, ST_X(s.location::geometry) AS lng, ST_Y(s.location::geometry) AS lat
  FROM unnest(CAST(:e_w AS float8[]), CAST(:e_s AS float8[]), CAST(:e_e AS float8[]),
    CAST(:e_n AS float8[])) AS e(w, so, ea, n)
  JOIN stores s ON s.location::geometry && ST_MakeEnvelope(e.w, e.so, e.ea, e.n, 4326)
  WHERE {area}
),
edge_fine AS (SELECT id, {FINE_X}::bigint AS fx, {FINE_Y}::bigint AS fy FROM edge),
live_deals AS MATERIALIZED (
  SELECT ds.deal_id FROM edge_fine f JOIN deal_stores ds ON ds.store_id = f.id
  WHERE NOT {_in_rect("f")}
  UNION
  SELECT deal_id FROM map_dirty
  UNION
  SELECT deal_id FROM map_volatile WHERE generation = :gen
),
in_view AS (
  SELECT rep.lng, rep.lat FROM live_deals l
  JOIN deals d ON d.id = l.deal_id AND {on_offer_text("d")}
  CROSS JOIN LATERAL (
    SELECT ST_X(s.location::geometry) AS lng, ST_Y(s.location::geometry) AS lat
    FROM deal_stores ds JOIN stores s ON s.id = ds.store_id
    WHERE ds.deal_id = l.deal_id AND {area} ORDER BY s.id LIMIT 1
  ) rep
),
live_fine AS (SELECT lng, lat, {FINE_X}::bigint AS fx, {FINE_Y}::bigint AS fy FROM in_view)"""


def _bands(name: str) -> str:
    """One list of spread bands, joined to the stores of its split level in it. ``bx`` bands
    are read by ``fx``, ``by`` bands by ``fy`` (migration 0019's indexes): the read axis'
    range is stated twice, so the planner reckons it the more selective and picks the index
    that starts with it."""
    axis = "x" if name == "bx" else "y"
    return f"""SELECT sp.deal_id, sp.store_id, sp.lng, sp.lat, sp.fx, sp.fy
  FROM unnest(CAST(:{name}_split AS int[]), CAST(:{name}_x0 AS bigint[]),
    CAST(:{name}_x1 AS bigint[]), CAST(:{name}_y0 AS bigint[]), CAST(:{name}_y1 AS bigint[]))
    AS b(split, x0, x1, y0, y1)
  JOIN map_spread sp ON sp.generation = :gen AND sp.split = b.split
   AND sp.f{axis} >= b.{axis}0 AND sp.f{axis} < b.{axis}1
  WHERE sp.fx >= b.x0 AND sp.fx < b.x1 AND sp.fy >= b.y0 AND sp.fy < b.y1"""


def _spread_cte() -> str:
    """``spread_view``: the layer's deals with a store in a rectangle at least as fine as
    their split level (not changed, so on offer where they were), each at its lowest-id store
    in the view, from ``map_spread`` alone. Such a deal's stores in the view all lie in
    its spread bands (they share their cell one level above the split; a store in the live
    part makes the deal live), so the lowest of them is its store in the view."""
    return f"""spread_rows AS (
  {_bands("bx")}
  UNION ALL
  {_bands("by")}
),
spread_view AS (
  SELECT DISTINCT ON (r.deal_id) r.lng, r.lat, r.fx, r.fy FROM spread_rows r
  WHERE NOT EXISTS (SELECT 1 FROM live_deals l WHERE l.deal_id = r.deal_id)
  ORDER BY r.deal_id, r.store_id
)"""


@lru_cache(maxsize=4)
def _clusters_statement(boxes: int) -> TextClause:
    """The clusters, and ``fresh``: whether the generation and the changes are still those
    the cover was cut for (within a generation changes are only added, so their count
    tells). ``set_config`` is parallel unsafe, so the statement is planned without parallel
    workers: starting them took longer than the whole statement (the setting itself lasts
    until the end of the statement's transaction only)."""
    view = (Box(0, 0, 0, 0),) * boxes  # the text depends on the number of boxes only
    split = _split("min(min_fx)", "max(max_fx)", "min(min_fy)", "max(max_fy)")
    one = "SELECT fx >> :shift, fy >> :shift, 1::bigint, lng, lat, fx, fx, fy, fy FROM {source}"
    return text(f"""WITH {_layer_cte()},
{_live_cte(view)},
{_spread_cte()},
members (cell_x, cell_y, count, sum_lng, sum_lat, min_fx, max_fx, min_fy, max_fy) AS (
  {one.format(source="live_fine")}
  UNION ALL {one.format(source="spread_view")}
  UNION ALL SELECT * FROM layer
),
fresh AS (
  SELECT coalesce((SELECT generation FROM map_layer_state) = :gen
    AND (SELECT count(*) FROM map_dirty) = :changes, false) AS ok,
    set_config('max_parallel_workers_per_gather', '0', true) AS serial
)
SELECT f.ok, c.* FROM fresh f LEFT JOIN (
  SELECT cell_x, cell_y, sum(count) AS count, sum(sum_lng) / sum(count) AS lng,
         sum(sum_lat) / sum(count) AS lat,
         LEAST({split} - {CELL_BITS}, :max_expansion) AS expansion_zoom
  FROM members GROUP BY cell_x, cell_y
) c ON f.ok ORDER BY c.cell_y, c.cell_x""")


def _array(values: Iterable[int | float | bool]) -> str:
    """An array parameter as PostgreSQL's text form, cast in the statement: one parameter
    type whatever the values (psycopg types a list by its values and its emptiness, and
    prepares each typing apart, so a text saw several slow first plans per connection)."""
    return (
        "{"
        + ",".join(("t" if v else "f") if isinstance(v, bool) else repr(v) for v in values)
        + "}"
    )


def _band_binds(name: str, bands: list[Band]) -> dict[str, str]:
    """A list of bands, read by ``fx`` (narrow ones) or ``fy`` (wide ones)."""
    return {
        f"{name}_split": _array(b.split for b in bands),
        f"{name}_x0": _array(b.x0 for b in bands),
        f"{name}_x1": _array(b.x1 for b in bands),
        f"{name}_y0": _array(b.y0 for b in bands),
        f"{name}_y1": _array(b.y1 for b in bands),
    }


def _cover_binds(chosen: Cover) -> dict[str, str]:
    rects, envelopes = chosen.rects, chosen.envelopes
    return {
        "r_level": _array(r.level for r in rects),
        "r_x0": _array(r.x0 for r in rects),
        "r_x1": _array(r.x1 for r in rects),
        "r_y0": _array(r.y0 for r in rects),
        "r_y1": _array(r.y1 for r in rects),
        "r_narrow": _array(r.x1 - r.x0 < r.y1 - r.y0 for r in rects),
        "e_w": _array(float(e.west) for e in envelopes),
        "e_s": _array(float(e.south) for e in envelopes),
        "e_e": _array(float(e.east) for e in envelopes),
        "e_n": _array(float(e.north) for e in envelopes),
        **_band_binds("bx", [b for b in chosen.spread if b.x1 - b.x0 <= b.y1 - b.y0]),
        **_band_binds("by", [b for b in chosen.spread if b.x1 - b.x0 > b.y1 - b.y0]),
    }


def usable(state: LayerState | None, now: datetime) -> bool:
    """A layer answers for ``now`` inside its horizon and while changes stay few."""
    return (
        state is not None
        and state.built_at <= now < state.usable_until
        and state.changes <= MAX_CHANGES
    )


async def layer_clusters(
    conn: AsyncConnection,
    boxes: tuple[Box, ...],
    zoom: int,
    now: datetime,
    max_expansion: int,
    min_stores: int = 0,
) -> list[ClusterRow] | None:
    """The view's clusters from the layer; None when no usable layer is published or the
    view holds fewer than ``min_stores`` stores. Two statements on the autocommit
    connection (the probe, then the clusters); when the layer changed in between (a build,
    or changes recorded), both again in one snapshot."""
    found = await probe(conn, boxes, min_stores)
    if found is None or not _answers(found, now, min_stores):
        return None
    clusters = await clusters_for(conn, found, boxes, zoom, now, max_expansion)
    if clusters is not None:
        return clusters
    async with snapshot(conn):
        found = await probe(conn, boxes, min_stores)
        if found is None or not _answers(found, now, min_stores):
            return None
        return await clusters_for(conn, found, boxes, zoom, now, max_expansion)


def _answers(found: Probe, now: datetime, min_stores: int) -> bool:
    return usable(found.state, now) and found.stores >= min_stores


async def clusters_for(
    conn: AsyncConnection,
    found: Probe,
    boxes: tuple[Box, ...],
    zoom: int,
    now: datetime,
    max_expansion: int,
) -> list[ClusterRow] | None:
    """The view's clusters from the layer as ``found``; None when the layer is no longer as
    found (its cover would be wrong)."""
    level = zoom + CELL_BITS
    corners = tuple((b.west, b.south, b.east, b.north) for b in boxes)
    chosen = cover(corners, level, found.taints)
    values = {
        **bind_values(boxes, DealCriteria(now=now)),
        **_cover_binds(chosen),
        "gen": found.state.generation,
        "changes": found.state.changes,
        "lc": level,
        "shift": FINE_BITS - level,
        "max_expansion": max_expansion,
    }
    result = await conn.execute(_clusters_statement(len(boxes)), values)
    rows = result.all()
    if not rows or not rows[0][0]:
        return None
    return [
        ClusterRow(int(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5]), int(r[6]))
        for r in rows
        if r[1] is not None
    ]


# --- building a generation ------------------------------------------------------------

_PAIRS = f"""CREATE TEMP TABLE map_build_pairs ON COMMIT DROP AS
SELECT deal_id, store_id, lng, lat, {FINE_X}::bigint AS fx, {FINE_Y}::bigint AS fy FROM (
  SELECT ds.deal_id, s.id AS store_id,
         ST_X(s.location::geometry) AS lng, ST_Y(s.location::geometry) AS lat
  FROM deals d JOIN deal_stores ds ON ds.deal_id = d.id JOIN stores s ON s.id = ds.store_id
  WHERE {on_offer_text("d")} AND d.valid_until > :until
) t"""

_REPS = f"""CREATE TEMP TABLE map_build_reps ON COMMIT DROP AS
SELECT r.deal_id, r.lng, r.lat, r.fx, r.fy, g.split FROM (
  SELECT DISTINCT ON (deal_id) deal_id, lng, lat, fx, fy FROM map_build_pairs
  ORDER BY deal_id, store_id
) r JOIN (
  SELECT deal_id, {_split("min(fx)", "max(fx)", "min(fy)", "max(fy)")} AS split
  FROM map_build_pairs GROUP BY deal_id
) g USING (deal_id)"""

_FINEST_CELLS = f"""INSERT INTO map_cells
SELECT :gen, :level, fy >> ({FINE_BITS} - :level), fx >> ({FINE_BITS} - :level), count(*),
       sum(lng), sum(lat), min(fx), max(fx), min(fy), max(fy)
FROM map_build_reps WHERE split > :level GROUP BY 3, 4"""

_COARSER_CELLS = f"""INSERT INTO map_cells
SELECT :gen, :level, cy, cx, sum(count), sum(sum_lng), sum(sum_lat),
       min(min_fx), max(max_fx), min(min_fy), max(max_fy)
FROM (
  SELECT cy >> 1 AS cy, cx >> 1 AS cx, count, sum_lng, sum_lat, min_fx, max_fx, min_fy, max_fy
  FROM map_cells WHERE generation = :gen AND level = :level + 1
  UNION ALL
  SELECT fy >> ({FINE_BITS} - :level), fx >> ({FINE_BITS} - :level), 1, lng, lat, fx, fx, fy, fy
  FROM map_build_reps WHERE split = :level + 1
) t GROUP BY cy, cx"""

_NEXT_GENERATION = """SELECT GREATEST(
  COALESCE((SELECT max(generation) FROM map_cells), 0),
  COALESCE((SELECT generation FROM map_layer_state), 0)) + 1"""

_PUBLISH = """INSERT INTO map_layer_state (id, generation, built_at, usable_until, build_ms)
VALUES (1, :gen, :now, :until, :build_ms)
ON CONFLICT (id) DO UPDATE SET generation = EXCLUDED.generation, built_at = EXCLUDED.built_at,
  usable_until = EXCLUDED.usable_until, build_ms = EXCLUDED.build_ms"""


async def _run(conn: AsyncConnection, sql: str, values: dict[str, Any]) -> int:
    return int((await conn.execute(text(sql), values)).rowcount)


async def try_lock(conn: AsyncConnection) -> bool:
    """The builders' advisory lock for this transaction, without waiting."""
    statement = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool((await conn.execute(statement, {"key": BUILD_LOCK})).scalar_one())


async def build_age(conn: AsyncConnection) -> timedelta | None:
    """How long ago the published generation was built (None: there is none)."""
    statement = text("SELECT now() - built_at FROM map_layer_state")
    value = (await conn.execute(statement)).scalar_one_or_none()
    return value if isinstance(value, timedelta) else None


async def build(conn: AsyncConnection, horizon: timedelta) -> BuildReport:
    """Build and publish a generation in the caller's transaction (which holds the lock).

    The changes are consumed before the deals are read, so a change is either visible to
    the build or still listed afterwards (answered live once more: never lost)."""
    started = time.perf_counter()
    await conn.execute(text(f"SET LOCAL statement_timeout = '{BUILD_TIMEOUT}'"))
    now = (await conn.execute(text("SELECT now()"))).scalar_one()
    gen = int((await conn.execute(text(_NEXT_GENERATION))).scalar_one())
    values: dict[str, Any] = {"gen": gen, "now": now, "until": now + horizon}
    consumed = await _run(
        conn, "CREATE TEMP TABLE map_build_consumed ON COMMIT DROP AS SELECT id FROM map_dirty", {}
    )
    await _run(conn, _PAIRS, values)
    deals = await _run(conn, _REPS, {})
    await conn.execute(text("ANALYZE map_build_reps"))
    await _run(
        conn, "INSERT INTO map_deals SELECT :gen, deal_id, fx, fy FROM map_build_reps", values
    )
    spread = await _run(
        conn,
        "INSERT INTO map_spread SELECT :gen, p.deal_id, p.store_id, r.split, p.fx, p.fy,"
        " p.lng, p.lat"
        " FROM map_build_pairs p JOIN map_build_reps r USING (deal_id) WHERE r.split <= :level",
        {**values, "level": MAX_LEVEL},
    )
    volatile = await _run(
        conn,
        "INSERT INTO map_volatile SELECT :gen, id FROM deals"
        " WHERE (valid_from > :now AND valid_from <= :until)"
        " OR (valid_until > :now AND valid_until <= :until)",
        values,
    )
    cells = await _run(conn, _FINEST_CELLS, {**values, "level": MAX_LEVEL})
    for level in range(MAX_LEVEL - 1, MIN_LEVEL - 1, -1):
        cells += await _run(conn, _COARSER_CELLS, {**values, "level": level})
    await _run(conn, "DELETE FROM map_dirty WHERE id IN (SELECT id FROM map_build_consumed)", {})
    build_ms = round((time.perf_counter() - started) * 1000)
    await _run(conn, _PUBLISH, {**values, "build_ms": build_ms})
    return BuildReport(gen, deals, cells, spread, volatile, consumed, build_ms)


_LAYER_TABLES = ("map_cells", "map_deals", "map_spread", "map_volatile")


async def drop_before(conn: AsyncConnection, generation: int) -> None:
    """Delete the rows of generations older than ``generation`` (after it is published), then
    analyse the tables: readers' plans are made for the new generation's rows, not for the
    statistics of some earlier state (autovacuum may not have analysed them in between)."""
    for table in _LAYER_TABLES:
        await conn.execute(
            text(f"DELETE FROM {table} WHERE generation < :gen"), {"gen": generation}
        )
    await conn.execute(text(f"ANALYZE {', '.join(_LAYER_TABLES)}"))
