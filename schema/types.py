"""GraphQL object types: thin wrappers over the typed rows of ``db``; loaders fetch relations."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, TypeAlias, TypeVar

import strawberry
from strawberry.types import Info

from commerce.errors import UserInputError
from commerce.hours import is_open, next_open, parse_special
from commerce.merchants.deals import sees_unpublished
from commerce.merchants.slots import listing_window
from commerce.paging import (
    decode_id_cursor,
    decode_offset,
    encode_id_cursor,
    encode_offset,
    page_size,
)
from db.rows import CategoryRow, DealRow, MerchantRow, ReviewRow, StoreRow
from schema.discovery.inputs import ReviewSort
from schema.ids import parse_int_id, to_global_id
from schema.paging import CURSOR_DOC, PAGE_INFO_DOC, After, First, PageInfo, page_info

T = TypeVar("T")
MaybeAwaitable: TypeAlias = T | Awaitable[T]

if TYPE_CHECKING:
    from schema.context import Context
    from schema.coupons.types import CouponConnection
    from schema.members.types import (
        MemberConnection,
        MemberFilter,
        MembershipProgram,
        Retention,
        Segment,
    )
    from schema.merchants.insights import InsightsGranularity, MerchantInsights
    from schema.merchants.orders import MerchantOrderConnection, MerchantOrderFilter
    from schema.merchants.statement import MerchantStatement

    ContextInfo = Info[Context, None]
else:
    ContextInfo = Info


@strawberry.interface(description="An object with an opaque global ID (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global ID: pass it to node(id:) or to arguments taking this type's "
        "ID; never parse it."
    )


@strawberry.type(description="A WGS-84 point.")
class GeoPoint:
    lat: float = strawberry.field(description="Latitude in degrees, -90 to 90.")
    lng: float = strawberry.field(description="Longitude in degrees, -180 to 180.")


@strawberry.type(description="An exact amount of money in an ISO 4217 currency.")
class Money:
    amount: str = strawberry.field(
        description='Decimal string with two decimals, e.g. "59.00" (never a float).'
    )
    currency: str = strawberry.field(description='ISO 4217 code, e.g. "EUR".')

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(amount=f"{amount:.2f}", currency=currency)


@strawberry.input(description="An exact amount of money in an ISO 4217 currency.")
class MoneyInput:
    amount: str = strawberry.field(description='Decimal string, at most two places: "59.00".')
    currency: str = strawberry.field(description="ISO 4217 code in capitals, e.g. EUR.")


def localized(names: dict[str, str], language: str, fallback: str) -> str:
    return names.get(language) or fallback


@strawberry.type(description="A kind of merchant, e.g. restaurant; names follow Accept-Language.")
class Category(Node):
    slug: str = strawberry.field(
        description='Stable identifier, e.g. "restaurant": use it in filter.categories.'
    )
    row: strawberry.Private[CategoryRow]

    @classmethod
    def from_row(cls, row: CategoryRow) -> Category:
        return cls(id=strawberry.ID(to_global_id("Category", row.slug)), slug=row.slug, row=row)

    @strawberry.field(description="Name in the request's language (Accept-Language).")
    def name(self, info: ContextInfo) -> str:
        return localized(self.row.names, info.context.language, self.row.names.get("en", self.slug))


@strawberry.type(description="Distribution of a merchant's review ratings.")
class RatingSummary:
    average: float | None = strawberry.field(
        description="Mean rating 1-5 of all reviews (two decimals); null without reviews."
    )
    count: int = strawberry.field(description="Number of reviews.")
    histogram: list[int] = strawberry.field(
        description="Number of reviews with 1, 2, 3, 4 and 5 stars, in that order."
    )


@strawberry.type(description="A customer's rating of a merchant, maybe with the merchant's reply.")
class Review(Node):
    row: strawberry.Private[ReviewRow]
    rating: int = strawberry.field(description="Stars, 1 to 5.")
    text: str = strawberry.field(description="The review's text; empty string when none.")
    created_at: datetime = strawberry.field(description="When it was posted.")
    author_name: str = strawberry.field(
        description='Display name of the author (the token\'s name, else "Verified customer").'
    )
    verified: bool = strawberry.field(description="The author redeemed a voucher here.")
    merchant_reply: str | None = strawberry.field(
        description="The merchant's one public reply; null until replyToReview."
    )
    visited_at: datetime | None = strawberry.field(
        description="When the author redeemed a voucher here (verified reviews)."
    )

    @classmethod
    def from_row(cls, row: ReviewRow) -> Review:
        return cls(
            id=strawberry.ID(to_global_id("Review", row.id)),
            row=row,
            rating=row.rating,
            text=row.text,
            created_at=row.created_at,
            author_name=row.author_name,
            verified=row.verified,
            merchant_reply=row.merchant_reply,
            visited_at=row.visited_at,
        )


@strawberry.type(description="One review in a page of a merchant's reviews.")
class ReviewEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: Review = strawberry.field(description="The review.")


@strawberry.type(description="A page of a merchant's reviews.")
class ReviewConnection:
    edges: list[ReviewEdge] = strawberry.field(description="This page, in the sort order.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description="How many reviews the merchant has.")


@strawberry.type(description="A business (a chain has several stores).")
class Merchant(Node):
    row: strawberry.Private[MerchantRow]
    name: str = strawberry.field(description="The name the merchant registered.")
    price_level: int | None = strawberry.field(description="1 (cheap) to 4 (expensive).")
    review_count: int = strawberry.field(description="Number of reviews of the merchant.")
    rating: float | None = strawberry.field(
        description="Average rating 1-5 (two decimals); null without reviews."
    )

    @classmethod
    async def resolve_reference(cls, info: ContextInfo, id: strawberry.ID) -> Merchant | None:
        """Federation ``_entities``: the merchant of ``{__typename: "Merchant", id}``, null
        when there is none."""
        row = await info.context.loaders.merchant.load(parse_int_id(id, "Merchant"))
        return None if row is None else cls.from_row(row)

    @classmethod
    def from_row(cls, row: MerchantRow) -> Merchant:
        return cls(
            id=strawberry.ID(to_global_id("Merchant", row.id)),
            row=row,
            name=row.name,
            price_level=row.price_level,
            review_count=row.review_count,
            rating=None if row.rating is None else float(row.rating),
        )

    @strawberry.field(description="The name in the request's language when known, else name.")
    def localized_name(self, info: ContextInfo) -> str:
        return localized(self.row.names, info.context.language, self.row.name)

    @strawberry.field(description="The merchant's category.")
    async def category(self, info: ContextInfo) -> Category:
        row = await info.context.loaders.category.load(self.row.category_slug)
        return Category.from_row(row or CategoryRow(self.row.category_slug, {}))

    @strawberry.field(description="All of the merchant's stores.")
    async def stores(self, info: ContextInfo) -> list[Store]:
        rows = await info.context.loaders.stores_of_merchant.load(self.row.id)
        return [Store.from_row(row) for row in rows or []]

    @strawberry.field(
        description="Published deals not expired yet (upcoming ones included), by id; the"
        " merchant's managers and owners also see its drafts, paused and ended deals."
    )
    async def deals(
        self, info: ContextInfo, first: First = 20, after: After = None
    ) -> DealConnection:
        limit = page_size(20 if first is None else first)
        after_id = decode_id_cursor(after) if after else 0
        every = sees_unpublished(info.context.viewer, self.row.id)
        key = (self.row.id, after_id, limit + 1, every)
        rows = await info.context.loaders.deals_page.load(key)
        edges = [
            DealEdge(cursor=encode_id_cursor(r.id), node=Deal.from_row(r)) for r in rows[:limit]
        ]
        return DealConnection(
            edges=edges,
            page_info=page_info([e.cursor for e in edges], len(rows) > limit),
            merchant_id=self.row.id,
            every_status=every,
        )

    @strawberry.field(
        description="Published coupons not over yet (upcoming ones included), by id; the"
        " merchant's managers and owners also see its drafts, paused, ended and past ones."
    )
    async def coupons(
        self, info: ContextInfo, first: First = 20, after: After = None
    ) -> Annotated[CouponConnection, strawberry.lazy("schema.coupons.types")]:
        from schema.coupons.lists import merchant_coupons  # imports this module

        return await merchant_coupons(info, self.row.id, first, after)

    @strawberry.field(description="The merchant's reviews, verified and imported alike.")
    async def reviews(
        self,
        info: ContextInfo,
        first: First = 10,
        after: After = None,
        sort: Annotated[
            ReviewSort | None, strawberry.argument(description="Order of the reviews.")
        ] = ReviewSort.NEWEST,
    ) -> ReviewConnection:
        limit = page_size(10 if first is None else first)
        sort = sort or ReviewSort.NEWEST
        offset = decode_offset(after) if after else 0
        key = (self.row.id, sort.value, offset, limit + 1)
        rows = await info.context.loaders.reviews_page.load(key)
        edges = [
            ReviewEdge(cursor=encode_offset(offset + i + 1), node=Review.from_row(row))
            for i, row in enumerate(rows[:limit])
        ]
        return ReviewConnection(
            edges=edges,
            page_info=page_info([e.cursor for e in edges], len(rows) > limit),
            total_count=self.row.review_count,
        )

    @strawberry.field(
        description="Bookings of this merchant's deals, newest first, for its staff (FORBIDDEN"
        " for anyone else): owners and managers see all, a cashier today's at its store."
        " Customers appear as a pseudonymous customerRef."
    )
    async def orders(
        self,
        info: ContextInfo,
        filter: Annotated[
            Annotated[MerchantOrderFilter, strawberry.lazy("schema.merchants.orders")] | None,
            strawberry.argument(description="Narrow by status, deal, store and time."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of the previous page.")
        ] = None,
    ) -> Annotated[MerchantOrderConnection, strawberry.lazy("schema.merchants.orders")] | None:
        from schema.merchants.orders import resolve_orders  # imports this module

        return await resolve_orders(info, self.row.id, filter, first, after)

    @strawberry.field(
        description="The live funnel in time buckets of the merchant's zone, by channel and"
        " partner key, for its staff (FORBIDDEN for anyone else; a store-bound cashier only"
        " with its storeId). New activity shows within seconds."
    )
    async def insights(
        self,
        info: ContextInfo,
        start: Annotated[
            datetime, strawberry.argument(name="from", description="The period's start.")
        ],
        end: Annotated[
            datetime, strawberry.argument(name="to", description="The period's end (excluded).")
        ],
        granularity: Annotated[
            Annotated[InsightsGranularity, strawberry.lazy("schema.merchants.insights")] | None,
            strawberry.argument(description="Bucket length; at most 400 buckets."),
        ] = None,
        store_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this store.")
        ] = None,
        deal_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this deal.")
        ] = None,
    ) -> Annotated[MerchantInsights, strawberry.lazy("schema.merchants.insights")] | None:
        from schema.merchants.insights import resolve_insights  # imports this module

        return await resolve_insights(info, self.row.id, start, end, granularity, store_id, deal_id)

    @strawberry.field(
        description="Every movement of the merchant's money over whole days of its zone, with"
        " opening and closing balance (what the platform owes it: the payout due) and totals,"
        " for its owner and managers (FORBIDDEN for anyone else). At most 366 days. The same"
        " as CSV: GET /merchants/{id}/statement.csv?from=YYYY-MM-DD&to=YYYY-MM-DD."
    )
    async def statement(
        self,
        info: ContextInfo,
        first_day: Annotated[
            date, strawberry.argument(name="from", description="The first day (included).")
        ],
        last_day: Annotated[
            date, strawberry.argument(name="to", description="The last day (included).")
        ],
        currency: Annotated[
            str | None,
            strawberry.argument(
                description="ISO 4217 code; default: the currency the merchant's ledger uses"
                " most, else its deals'."
            ),
        ] = None,
    ) -> Annotated[MerchantStatement, strawberry.lazy("schema.merchants.statement")] | None:
        from schema.merchants.statement import resolve_statement  # imports this module

        return await resolve_statement(info, self.row.id, first_day, last_day, currency)

    @strawberry.field(
        description="The merchant's current members, newest membership first, for its owner"
        " and managers (FORBIDDEN for anyone else); customers appear as a pseudonymous"
        " customerRef."
    )
    async def members(
        self,
        info: ContextInfo,
        filter: Annotated[
            Annotated[MemberFilter, strawberry.lazy("schema.members.types")] | None,
            strawberry.argument(description="Narrow by visits, spend, last visit and tier."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of the previous page.")
        ] = None,
    ) -> Annotated[MemberConnection, strawberry.lazy("schema.members.types")] | None:
        from schema.members.merchant import resolve_members  # imports this module

        return await resolve_members(info, self.row.id, filter, first, after)

    @strawberry.field(
        description="The merchant's saved member segments by name, for its owner and managers."
    )
    async def segments(
        self, info: ContextInfo
    ) -> list[Annotated[Segment, strawberry.lazy("schema.members.types")]] | None:
        from schema.members.merchant import resolve_segments  # imports this module

        return await resolve_segments(info, self.row.id)

    @strawberry.field(
        description="Monthly cohorts of current members by first visit (months of the"
        " merchant's zone, at most 36), the share who came back in each later month, and the"
        " repeat-visit rate; for its owner and managers."
    )
    async def retention(
        self,
        info: ContextInfo,
        first_day: Annotated[
            date, strawberry.argument(name="from", description="A day of the first month.")
        ],
        last_day: Annotated[
            date, strawberry.argument(name="to", description="A day of the last month.")
        ],
    ) -> Annotated[Retention, strawberry.lazy("schema.members.types")] | None:
        from schema.members.merchant import resolve_retention  # imports this module

        return await resolve_retention(info, self.row.id, first_day, last_day)

    @strawberry.field(description="The merchant's membership program; null: it runs none.")
    async def membership_program(
        self, info: ContextInfo
    ) -> Annotated[MembershipProgram, strawberry.lazy("schema.members.types")] | None:
        from schema.members.merchant import resolve_program  # imports this module

        return await resolve_program(info, self.row.id)

    @strawberry.field(description="Average, count and 1-5 star histogram of the reviews.")
    async def rating_summary(self, info: ContextInfo) -> RatingSummary:
        row = await info.context.loaders.rating_summary.load(self.row.id)
        if row is None:
            return RatingSummary(average=None, count=0, histogram=[0, 0, 0, 0, 0])
        average = None if row.average is None else float(row.average)
        return RatingSummary(average=average, count=row.count, histogram=list(row.histogram))


@strawberry.type(description="Hours of a store on one date, instead of its regular hours.")
class SpecialHours:
    date: date = strawberry.field(description="The day, in the store's time zone.")
    hours: str = strawberry.field(
        description="'closed', or the OSM hours of that day (e.g. 10:00-14:00)."
    )


@strawberry.type(description="A physical location of a merchant, where deals are redeemed.")
class Store(Node):
    row: strawberry.Private[StoreRow]
    name: str = strawberry.field(description="The store's name (often the merchant's).")
    address: str | None = strawberry.field(description="Street address; null when unknown.")
    timezone: str = strawberry.field(description="IANA time zone of the store.")
    opening_hours: str | None = strawberry.field(
        description="OSM opening_hours expression as published by the store."
    )
    location: GeoPoint = strawberry.field(description="Where the store is (WGS-84).")

    @classmethod
    async def resolve_reference(cls, info: ContextInfo, id: strawberry.ID) -> Store | None:
        """Federation ``_entities``: the store of ``{__typename: "Store", id}``, null
        when there is none."""
        row = await info.context.loaders.store.load(parse_int_id(id, "Store"))
        return None if row is None else cls.from_row(row)

    @classmethod
    def from_row(cls, row: StoreRow) -> Store:
        return cls(
            id=strawberry.ID(to_global_id("Store", row.id)),
            row=row,
            name=row.name,
            address=row.address,
            timezone=row.timezone,
            opening_hours=row.opening_hours,
            location=GeoPoint(lat=row.lat, lng=row.lng),
        )

    @strawberry.field(description="Open right now in the store's time zone; null: hours unknown.")
    def is_open_now(self, info: ContextInfo) -> bool | None:
        return self._open_at(info.context.now())

    @strawberry.field(description="Open at that instant (store's time zone); null: unknown.")
    def open_at(
        self,
        at: Annotated[datetime, strawberry.argument(description="The instant, with a UTC offset.")],
    ) -> bool | None:
        if at.tzinfo is None:
            raise UserInputError("at", "at needs a UTC offset, e.g. 2026-06-01T12:00:00+03:00")
        return self._open_at(at)

    def _open_at(self, at: datetime) -> bool | None:
        row = self.row
        return is_open(row.opening_hours, row.timezone, row.country_code, at, row.special_hours)

    @strawberry.field(
        description="When the store next opens, special hours included, with the offset of"
        " the store's zone: the instant given (default now) when it is open then; null when"
        " the hours are unknown or it does not open within a year."
    )
    def next_open_at(
        self,
        info: ContextInfo,
        after: Annotated[
            datetime | None,
            strawberry.argument(description="Look from this instant instead of now (with offset)."),
        ] = None,
    ) -> datetime | None:
        if after is not None and after.tzinfo is None:
            raise UserInputError("after", "after needs a UTC offset, e.g. 2026-06-01T12:00:00Z")
        row = self.row
        at = info.context.now() if after is None else after
        return next_open(row.opening_hours, row.timezone, row.country_code, at, row.special_hours)

    @strawberry.field(
        description="Version of the store's details; updateStore takes it as expectedVersion."
    )
    def version(self) -> int:
        return self.row.version

    @strawberry.field(
        description="Special days from yesterday on (holidays): closed, or other hours that day,"
        " in the store's time zone; set with setSpecialHours."
    )
    def special_hours(self) -> list[SpecialHours]:
        return [
            SpecialHours(date=day, hours=hours)
            for day, hours in parse_special(self.row.special_hours)
        ]

    @strawberry.field(graphql_type=Merchant, description="The merchant this store belongs to.")
    def merchant(self, info: ContextInfo) -> MaybeAwaitable[Merchant]:
        return merchant_of(info, self.row.merchant_id)


@strawberry.enum(description="Where a deal is in its lifecycle; only PUBLISHED deals sell.")
class DealStatus(enum.Enum):
    DRAFT = strawberry.enum_value("DRAFT", description="Being prepared; customers cannot see it.")
    PUBLISHED = strawberry.enum_value(
        "PUBLISHED", description="On sale within its sale window (validFrom to validUntil)."
    )
    PAUSED = strawberry.enum_value("PAUSED", description="Taken off sale for now; can return.")
    ENDED = strawberry.enum_value("ENDED", description="Off sale for good.")


@strawberry.type(description="A start time of a deal booked by time, and its room.")
class DealSlot:
    starts_at: datetime = strawberry.field(
        description="When the slot starts (bookDeal's slotStart)."
    )
    capacity: int = strawberry.field(description="Units the slot takes in all.")
    remaining: int = strawberry.field(description="Units still free (held and sold ones taken).")


@strawberry.type(description="An offer of a merchant, valid at some of its stores.")
class Deal(Node):
    row: strawberry.Private[DealRow]
    title: str = strawberry.field(description="Short title, in the merchant's language.")
    description: str = strawberry.field(description="Longer text; empty string when none.")
    discount_percent: int = strawberry.field(
        description="Whole percent off originalPrice, rounded down; 0 without originalPrice."
    )
    valid_from: datetime = strawberry.field(description="On sale from this instant.")
    valid_until: datetime = strawberry.field(
        description="On sale until this instant (exclusive); vouchers bought are valid until "
        "then too."
    )
    remaining_quantity: int | None = strawberry.field(
        description="Units left to book (HELD units are taken); null: not limited."
    )
    total_quantity: int | None = strawberry.field(
        description="Units offered in all; null: not limited."
    )
    per_user_limit: int = strawberry.field(
        description="Most units one customer may hold or buy in all (1 or more)."
    )
    requires_booking: bool = strawberry.field(
        description="The merchant asks customers to make a reservation or appointment with "
        "the store before using the voucher. Information only: bookDeal and redeemVoucher do "
        "not check it (deals sold by time slot take slotStart in bookDeal instead)."
    )
    price: Money = strawberry.field(description="What one unit costs.")
    original_price: Money | None = strawberry.field(
        description="The usual price, for comparison; null when there is none."
    )

    attribution: str | None = strawberry.field(
        default=None,
        description="In dealsInView only: a short signed token of this result (deal, channel,"
        " partner key, time) to pass to bookDeal as attribution; null elsewhere.",
    )

    @classmethod
    async def resolve_reference(cls, info: ContextInfo, id: strawberry.ID) -> Deal | None:
        """Federation ``_entities``: the deal of ``{__typename: "Deal", id}``, null
        when there is none."""
        row = await info.context.loaders.deal.load(parse_int_id(id, "Deal"))
        return None if row is None else cls.from_row(row)

    @classmethod
    def from_row(cls, row: DealRow, attribution: str | None = None) -> Deal:
        original = row.original_price
        return cls(
            id=strawberry.ID(to_global_id("Deal", row.id)),
            row=row,
            title=row.title,
            description=row.description,
            discount_percent=row.discount_percent,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            remaining_quantity=row.remaining_quantity,
            total_quantity=row.total_quantity,
            per_user_limit=row.per_user_limit,
            requires_booking=row.requires_booking,
            price=Money.of(row.price, row.currency),
            original_price=None if original is None else Money.of(original, row.currency),
            attribution=attribution,
        )

    @strawberry.field(graphql_type=Merchant, description="The merchant offering the deal.")
    def merchant(self, info: ContextInfo) -> MaybeAwaitable[Merchant]:
        return merchant_of(info, self.row.merchant_id)

    @strawberry.field(description="The stores where this deal can be redeemed.")
    async def stores(self, info: ContextInfo) -> list[Store]:
        rows = await info.context.loaders.stores_of_deal.load(self.row.id)
        return [Store.from_row(row) for row in rows or []]

    @strawberry.field(description="DRAFT, PUBLISHED, PAUSED or ENDED; only PUBLISHED sells.")
    def status(self) -> DealStatus:
        return DealStatus(self.row.status)

    @strawberry.field(
        description="Version of the deal; every merchant write takes it as expectedVersion."
    )
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description="How the voucher may be used, in the merchant's words.")
    def usage_rules(self) -> str | None:
        return self.row.usage_rules

    @strawberry.field(
        description="Days a voucher stays valid after payment; null: until validUntil."
    )
    def voucher_valid_days(self) -> int | None:
        return self.row.voucher_valid_days

    @strawberry.field(description="The deal's category: its own, else its merchant's.")
    async def category(self, info: ContextInfo) -> Category:
        slug = self.row.category_slug
        if slug is None:
            merchant = await load_merchant(info, self.row.merchant_id)
            slug = merchant.row.category_slug
        row = await info.context.loaders.category.load(slug)
        return Category.from_row(row or CategoryRow(slug, {}))

    @strawberry.field(
        description="Time slots starting in [from, to) (default: the next 14 days; at most 92"
        " days and 500 slots), each with the room it has left. Empty for deals not booked by"
        " time."
    )
    async def slots(
        self,
        info: ContextInfo,
        start: Annotated[
            datetime | None,
            strawberry.argument(name="from", description="First start time (default now)."),
        ] = None,
        end: Annotated[
            datetime | None,
            strawberry.argument(name="to", description="Slots start before this instant."),
        ] = None,
    ) -> list[DealSlot]:
        begin, finish = listing_window(start, end, info.context.now())
        rows = await info.context.loaders.slots_between.load((self.row.id, begin, finish))
        return [
            DealSlot(starts_at=r.slot_start, capacity=r.capacity, remaining=r.remaining)
            for r in rows
        ]


@strawberry.type(description="One deal in a page of a merchant's deals.")
class DealEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: Deal = strawberry.field(description="The deal.")


@strawberry.type(description="A page of a merchant's deals, by id.")
class DealConnection:
    edges: list[DealEdge] = strawberry.field(description="This page, by id.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    merchant_id: strawberry.Private[int]
    every_status: strawberry.Private[bool] = False

    @strawberry.field(description="How many deals the list has, whatever the page.")
    async def total_count(self, info: ContextInfo) -> int:
        loaders = info.context.loaders
        counts = loaders.deal_count_every_status if self.every_status else loaders.deal_count
        return await counts.load(self.merchant_id) or 0


def merchant_of(info: ContextInfo, merchant_id: int) -> MaybeAwaitable[Merchant]:
    """The merchant, synchronously when this request already loaded it (no await per row)."""
    cached = info.context.loaders.merchant.cache_map.get(merchant_id)
    if cached is not None and cached.done() and cached.exception() is None:
        row = cached.result()
        if row is not None:
            return Merchant.from_row(row)
    return load_merchant(info, merchant_id)


async def load_merchant(info: ContextInfo, merchant_id: int) -> Merchant:
    row = await info.context.loaders.merchant.load(merchant_id)
    if row is None:  # foreign keys make this impossible unless deleted mid-request
        raise LookupError(f"merchant {merchant_id} vanished")
    return Merchant.from_row(row)
