"""The node registry: every type ``node(id)`` can return, by type name, with its resolver.

A global ID of a type not listed here is not one of ours (``BAD_USER_INPUT``, see
:func:`schema.ids.parse_global_id`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from commerce.coupons.campaigns import visible as coupon_visible
from commerce.coupons.claims import claimed_coupon
from commerce.errors import NotFoundError
from commerce.members.crm import segment
from commerce.merchants.deals import sees_unpublished
from domain.offer import DealStatus
from schema.coupons.types import ClaimedCoupon, Coupon
from schema.ids import numeric_id, parse_global_id
from schema.members.types import Segment
from schema.orders.nodes import (
    resolve_booking,
    resolve_payment,
    resolve_redemption,
    resolve_refund,
    resolve_voucher,
)
from schema.types import Category, ContextInfo, Deal, Merchant, Node, Review, Store

T = TypeVar("T")
N = TypeVar("N", bound=Node)
NodeResolver = Callable[[ContextInfo, str], Awaitable[Node]]
"""Resolves the raw part of a global ID (after ``Type:``) to its object."""


def _found(row: T | None, type_name: str) -> T:
    if row is None:
        raise NotFoundError(f"no {type_name} with this ID")
    return row


async def resolve_merchant(info: ContextInfo, ident: int) -> Merchant:
    return Merchant.from_row(_found(await info.context.loaders.merchant.load(ident), "Merchant"))


async def resolve_deal(info: ContextInfo, ident: int) -> Deal:
    """A deal by id (a detail view in the funnel); a draft only for those who manage the
    merchant's deals."""
    row = _found(await info.context.loaders.deal.load(ident), "Deal")
    if row.status == DealStatus.DRAFT.value and not sees_unpublished(
        info.context.viewer, row.merchant_id
    ):
        raise NotFoundError("no Deal with this ID")
    if info.context.funnel is not None:  # a detail view of the live funnel (in memory)
        info.context.funnel.detail_view(row.id, info.context.partner_key_id)
    return Deal.from_row(row)


async def resolve_store(info: ContextInfo, ident: int) -> Store:
    return Store.from_row(_found(await info.context.loaders.store.load(ident), "Store"))


async def resolve_review(info: ContextInfo, ident: int) -> Review:
    return Review.from_row(_found(await info.context.loaders.review.load(ident), "Review"))


async def resolve_segment(info: ContextInfo, ident: int) -> Segment:
    """A saved member segment, for the merchant's owner and managers only."""
    principal = info.context.require_viewer()
    return Segment.from_row(await segment(info.context.database, principal, ident))


async def resolve_coupon(info: ContextInfo, ident: int) -> Coupon:
    """A coupon by id; a draft only for those who manage the merchant's coupons."""
    row = _found(await info.context.loaders.coupon.load(ident), "Coupon")
    if not coupon_visible(row, info.context.viewer):
        raise NotFoundError("no Coupon with this ID")
    return Coupon.from_row(row)


async def resolve_claimed_coupon(info: ContextInfo, ident: int) -> ClaimedCoupon:
    """A claimed coupon, for its owner and the merchant's staff only."""
    principal, services = info.context.require_viewer(), info.context.require_services()
    return ClaimedCoupon.from_view(
        await claimed_coupon(info.context.database, services, principal, ident)
    )


async def resolve_category(info: ContextInfo, slug: str) -> Category:
    return Category.from_row(_found(await info.context.loaders.category.load(slug), "Category"))


def _numbered(resolve: Callable[[ContextInfo, int], Awaitable[N]]) -> NodeResolver:
    """A resolver of numeric ids as one of raw ids."""

    async def by_raw_id(info: ContextInfo, raw: str) -> Node:
        return await resolve(info, numeric_id(raw))

    return by_raw_id


NODES: dict[str, NodeResolver] = {
    "Merchant": _numbered(resolve_merchant),
    "Store": _numbered(resolve_store),
    "Deal": _numbered(resolve_deal),
    "Review": _numbered(resolve_review),
    "Category": resolve_category,
    "Booking": _numbered(resolve_booking),
    "Payment": _numbered(resolve_payment),
    "Voucher": _numbered(resolve_voucher),
    "Refund": _numbered(resolve_refund),
    "Redemption": _numbered(resolve_redemption),
    "Segment": _numbered(resolve_segment),
    "Coupon": _numbered(resolve_coupon),
    "ClaimedCoupon": _numbered(resolve_claimed_coupon),
}


async def resolve_node(info: ContextInfo, global_id: str) -> Node:
    type_name, raw = parse_global_id(global_id)
    return await NODES[type_name](info, raw)
