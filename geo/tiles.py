"""Mapbox Vector Tiles of deals (``ST_AsMVT``), from the same viewport rules as ``dealsInView``.

A tile is the view of its own lat/lng box at its zoom: the same representative store per
deal, the same filters and, below the clustering zoom, the same Web Mercator grid cells
(cells nest inside tiles), so a tile's cluster counts add up to ``dealsInView``'s total for
that box. Features go into one layer, ``deals``, in tile coordinates (extent 4096).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import deal_category_text
from geo.viewport import (
    Box,
    ClusterRow,
    DealCriteria,
    bind_values,
    cluster_binds,
    clusters_cte,
    in_view_cte,
)

LAYER = "deals"
EXTENT = 4096
BUFFER = 64

_GEOM = (
    "ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint({lng}, {lat}), 4326), 3857),"
    f" ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true)"
)
# A tile of the ``clusters`` CTE (cell_x, cell_y, count, lng, lat, expansion_zoom).
_CLUSTER_FEATURES = (
    f"features AS (SELECT {_GEOM.format(lng='lng', lat='lat')} AS geom, true AS cluster,\n"
    "  (:z)::text || '/' || cell_x::text || '/' || cell_y::text AS cluster_id,\n"
    "  count AS point_count, expansion_zoom FROM clusters)\n"
    f"SELECT ST_AsMVT(features, '{LAYER}', {EXTENT}, 'geom') FROM features"
)
# The Relay global ID of schema/ids.py (urlsafe base64 of "Deal:<id>", unpadded); a test
# checks that it equals the ID GraphQL returns.
_GLOBAL_ID = (
    "rtrim(translate(encode(convert_to('Deal:' || d.id, 'UTF8'), 'base64'), '+/', '-_'), '=')"
)


async def deal_tile(
    conn: AsyncConnection, tile: tuple[int, int, int], box: Box, criteria: DealCriteria, limit: int
) -> bytes:
    """Deals of the tile (the first ``limit`` by id), one point feature each."""
    statement = text(
        f"WITH {in_view_cte((box,), criteria)},\n"
        "page AS (SELECT * FROM in_view ORDER BY deal_id LIMIT :limit),\n"
        f"features AS (SELECT {_GEOM.format(lng='page.lng', lat='page.lat')} AS geom,\n"
        f"  page.deal_id AS fid, {_GLOBAL_ID} AS id, d.title, d.price::text AS price,\n"
        "  d.currency, d.discount_percent AS discount,"
        f" {deal_category_text('d', 'm')} AS category\n"
        "  FROM page JOIN deals d ON d.id = page.deal_id\n"
        "  JOIN merchants m ON m.id = d.merchant_id)\n"
        f"SELECT ST_AsMVT(features, '{LAYER}', {EXTENT}, 'geom', 'fid') FROM features"
    )
    z, x, y = tile
    values = {**bind_values((box,), criteria), "z": z, "x": x, "y": y, "limit": limit}
    return bytes((await conn.execute(statement, values)).scalar_one() or b"")


async def cluster_tile(
    conn: AsyncConnection,
    tile: tuple[int, int, int],
    box: Box,
    criteria: DealCriteria,
    max_expansion: int,
) -> bytes:
    """Clusters of the tile as points with ``cluster``, ``cluster_id``, ``point_count`` and
    ``expansion_zoom`` (MapLibre's property names)."""
    statement = text(
        f"WITH {in_view_cte((box,), criteria)},\n{clusters_cte()},\n" + _CLUSTER_FEATURES
    )
    z, x, y = tile
    values = {
        **bind_values((box,), criteria),
        **cluster_binds(z, max_expansion),
        "z": z,
        "x": x,
        "y": y,
    }
    return bytes((await conn.execute(statement, values)).scalar_one() or b"")


async def clusters_tile(
    conn: AsyncConnection, tile: tuple[int, int, int], clusters: list[ClusterRow]
) -> bytes:
    """:func:`cluster_tile`'s features for clusters already computed (by the map layer)."""
    statement = text(
        "WITH clusters AS (SELECT * FROM unnest(CAST(:xs AS bigint[]), CAST(:ys AS bigint[]),"
        " CAST(:counts AS bigint[]), CAST(:lngs AS float8[]), CAST(:lats AS float8[]),"
        " CAST(:expansions AS int[])) AS c(cell_x, cell_y, count, lng, lat, expansion_zoom)),\n"
        + _CLUSTER_FEATURES
    )
    z, x, y = tile
    values = {
        "xs": [c.cell_x for c in clusters],
        "ys": [c.cell_y for c in clusters],
        "counts": [c.count for c in clusters],
        "lngs": [c.lng for c in clusters],
        "lats": [c.lat for c in clusters],
        "expansions": [c.expansion_zoom for c in clusters],
        "z": z,
        "x": x,
        "y": y,
    }
    return bytes((await conn.execute(statement, values)).scalar_one() or b"")
