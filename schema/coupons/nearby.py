"""``nearbyCoupons``: decode arguments, call the core, map the page (as ``nearbyDeals``)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.coupons.nearby import NearbyCouponsRequest, cursor_of, find_nearby_coupons
from schema.coupons.types import Coupon
from schema.discovery.inputs import GeoPointInput
from schema.paging import CURSOR_DOC, PAGE_INFO_DOC, After, First, PageInfo, page_info
from schema.types import ContextInfo, Store

DEFAULT_RADIUS_M = 2000.0
DEFAULT_FIRST = 20


@strawberry.type(description="A claimable coupon near the point, with its nearest valid store.")
class NearbyCouponEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    distance_meters: float = strawberry.field(
        description="Geodesic metres (on the WGS-84 spheroid) from near to store, 2 decimals."
    )
    store: Store = strawberry.field(description="Nearest store where the coupon can be used.")
    node: Coupon = strawberry.field(description="The coupon, claimable now.")


@strawberry.type(description="A page of claimable coupons near a point, nearest first.")
class NearbyCouponConnection:
    edges: list[NearbyCouponEdge] = strawberry.field(description="This page, nearest first.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)


async def resolve_nearby_coupons(
    info: ContextInfo,
    near: Annotated[
        GeoPointInput, strawberry.argument(description="The point to search around (WGS-84).")
    ],
    radius_meters: Annotated[
        float | None,
        strawberry.argument(
            description="Search radius in geodesic metres, above 0, at most 50000."
        ),
    ] = DEFAULT_RADIUS_M,
    first: First = DEFAULT_FIRST,
    after: After = None,
) -> NearbyCouponConnection | None:
    request = NearbyCouponsRequest(
        lat=near.lat,
        lng=near.lng,
        radius_m=DEFAULT_RADIUS_M if radius_meters is None else radius_meters,
        first=DEFAULT_FIRST if first is None else first,
        now=info.context.now(),
        after=after,
    )
    page = await find_nearby_coupons(info.context.database, request)
    info.context.loaders.prime_stores([hit.store for hit in page.hits])
    for hit in page.hits:
        info.context.loaders.coupon.prime(hit.coupon.id, hit.coupon)
    edges = [
        NearbyCouponEdge(
            cursor=cursor_of(hit),
            distance_meters=round(hit.distance_m, 2),
            store=Store.from_row(hit.store),
            node=Coupon.from_row(hit.coupon),
        )
        for hit in page.hits
    ]
    return NearbyCouponConnection(
        edges=edges, page_info=page_info([e.cursor for e in edges], page.has_next)
    )
