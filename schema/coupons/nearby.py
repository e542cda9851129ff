"""``nearbyCoupons``: decode arguments, call the core, map the page (as ``nearbyDeals``)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.coupons.nearby import NearbyCouponsRequest, cursor_of, find_nearby_coupons
from commerce.insights.attribution import Channel
from schema.coupons.types import Coupon
from schema.discovery.inputs import GeoPointInput
from schema.discovery.nearby import wants_field
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
    attribution: str | None = strawberry.field(
        default=None,
        description="A short signed token of this result (coupon, channel, partner key,"
        " time): pass it to claimCoupon as attribution so the claim and its redemptions count"
        " for this channel. Valid for 7 days; null when the funnel is off.",
    )


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
    ids = [hit.coupon.id for hit in page.hits]
    funnel = info.context.funnel
    tokens: list[str | None] = [None] * len(ids)
    if funnel is not None and ids and wants_field(info, "edges", "attribution"):
        tokens = funnel.coupon_tokens(ids, Channel.NEARBY, info.context.partner_key_id)
    edges = [
        NearbyCouponEdge(
            cursor=cursor_of(hit),
            distance_meters=round(hit.distance_m, 2),
            store=Store.from_row(hit.store),
            node=Coupon.from_row(hit.coupon),
            attribution=token,
        )
        for hit, token in zip(page.hits, tokens, strict=True)
    ]
    return NearbyCouponConnection(
        edges=edges, page_info=page_info([e.cursor for e in edges], page.has_next)
    )
