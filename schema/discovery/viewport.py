"""``dealsInView``: decode the box and filter, call the viewport rules, map clusters, deals and
the same result as a GeoJSON FeatureCollection (RFC 7946: ``[lng, lat]``)."""

from __future__ import annotations

from typing import Annotated, Any, NewType

import strawberry

from commerce.discovery.viewport import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ClusterRow,
    ViewDeal,
    ViewRequest,
    ViewResult,
    deals_in_view,
    validate_view,
)
from commerce.insights.attribution import Channel
from schema.discovery.funnel import shown
from schema.discovery.inputs import DealFilter, deal_filter_values
from schema.discovery.nearby import wants_field
from schema.ids import to_global_id
from schema.scalars import GEOJSON_SPEC
from schema.types import ContextInfo, Deal, GeoPoint

GeoJSON = NewType("GeoJSON", object)
GEOJSON_SCALAR = strawberry.scalar(
    name="GeoJSON",
    description="A GeoJSON object (RFC 7946): coordinates are [longitude, latitude] in WGS-84.",
    specified_by_url=GEOJSON_SPEC,
    serialize=lambda value: value,
    parse_value=lambda value: value,
)
"""Registered for ``GeoJSON`` in the schema's ``scalar_map`` (schema/build.py)."""


@strawberry.input(description="A lat/lng box; west > east means it crosses the antimeridian.")
class BoundingBoxInput:
    west: float = strawberry.field(description="Western edge: longitude, -180 to 180.")
    south: float = strawberry.field(description="Southern edge: latitude, -90 to 90.")
    east: float = strawberry.field(description="Eastern edge: longitude, -180 to 180.")
    north: float = strawberry.field(description="Northern edge: latitude, at least south.")


@strawberry.type(description="Deals close together at this zoom, shown as one point.")
class MapCluster:
    id: strawberry.ID = strawberry.field(
        description="Stable while panning: the grid cell (zoom/x/y) of the cluster."
    )
    count: int = strawberry.field(description="Deals in the cluster.")
    center: GeoPoint = strawberry.field(description="Mean position of its deals.")
    expansion_zoom: int = strawberry.field(
        description="The zoom at which the cluster splits (or its deals are shown one by one)."
    )


@strawberry.type(description="What a map shows in a box at a zoom.")
class DealMap:
    total_count: int = strawberry.field(
        description="Deals in the box passing the filter; a deal with several stores in the box"
        " counts once, at its lowest-id matching store there."
    )
    clustered: bool = strawberry.field(
        description="True below zoom 14: clusters (their counts add up to totalCount), no deals."
    )
    clusters: list[MapCluster] = strawberry.field(
        description="Below zoom 14: the clusters in the box; empty from zoom 14 on."
    )
    deals: list[Deal] = strawberry.field(
        description="From zoom 14 on: the deals in the box by id, at most `limit`."
    )
    truncated: bool = strawberry.field(description="More deals than `limit` are in the box.")
    geojson: GeoJSON = strawberry.field(
        description="The clusters or deals as a FeatureCollection of points."
    )


def _cluster_id(zoom: int, row: ClusterRow) -> str:
    return f"{zoom}/{row.cell_x}/{row.cell_y}"


def _point(lng: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lng, lat]}


def cluster_feature(zoom: int, row: ClusterRow) -> dict[str, Any]:
    cluster_id = _cluster_id(zoom, row)
    return {
        "type": "Feature",
        "id": cluster_id,
        "geometry": _point(row.lng, row.lat),
        "properties": {
            "cluster": True,
            "cluster_id": cluster_id,
            "point_count": row.count,
            "expansion_zoom": row.expansion_zoom,
        },
    }


def deal_feature(item: ViewDeal) -> dict[str, Any]:
    deal = item.deal
    deal_id = to_global_id("Deal", deal.id)
    return {
        "type": "Feature",
        "id": deal_id,
        "geometry": _point(item.lng, item.lat),
        "properties": {
            "id": deal_id,
            "title": deal.title,
            "price": f"{deal.price:.2f}",
            "currency": deal.currency,
            "discount": deal.discount_percent,
            "category": item.category,
            "storeId": to_global_id("Store", item.store_id),
        },
    }


def feature_collection(zoom: int, result: ViewResult) -> dict[str, Any]:
    features = [cluster_feature(zoom, row) for row in result.clusters]
    features += [deal_feature(item) for item in result.deals]
    return {"type": "FeatureCollection", "features": features}


async def resolve_deals_in_view(
    info: ContextInfo,
    bbox: Annotated[
        BoundingBoxInput,
        strawberry.argument(
            description="The visible box; at most 16 tiles of the zoom wide and high."
        ),
    ],
    zoom: Annotated[
        int, strawberry.argument(description="The map's Web Mercator zoom level, 0 to 22.")
    ],
    filter: Annotated[
        DealFilter | None, strawberry.argument(description="Only deals matching all of these.")
    ] = None,
    limit: Annotated[
        int | None,
        strawberry.argument(description=f"Most deals returned from zoom 14 on (1..{MAX_LIMIT})."),
    ] = DEFAULT_LIMIT,
) -> DealMap | None:
    request = ViewRequest(
        west=bbox.west,
        south=bbox.south,
        east=bbox.east,
        north=bbox.north,
        zoom=zoom,
        now=info.context.now(),
        filter=deal_filter_values(filter),
        limit=DEFAULT_LIMIT if limit is None else limit,
    )
    view = validate_view(request)
    async with info.context.database.read() as conn:
        result = await deals_in_view(conn, view)
    info.context.loaders.prime_deals([item.deal for item in result.deals])
    with_tokens = wants_field(info, "deals", "attribution")
    tokens = shown(info, [item.deal.id for item in result.deals], Channel.MAP, with_tokens)
    return DealMap(
        total_count=result.total,
        clustered=result.clustered,
        clusters=[
            MapCluster(
                id=strawberry.ID(_cluster_id(zoom, row)),
                count=row.count,
                center=GeoPoint(lat=row.lat, lng=row.lng),
                expansion_zoom=row.expansion_zoom,
            )
            for row in result.clusters
        ],
        deals=[
            Deal.from_row(item.deal, attribution=token)
            for item, token in zip(result.deals, tokens, strict=True)
        ],
        truncated=result.truncated,
        geojson=GeoJSON(feature_collection(zoom, result)),
    )
