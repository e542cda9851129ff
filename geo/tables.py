"""SQLAlchemy Core tables; the Alembic migrations create exactly these (a test compares)."""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

MONEY = Numeric(12, 2)

categories = Table(
    "categories",
    metadata,
    Column("slug", String(40), primary_key=True),
    Column("names", JSONB, nullable=False),
    Column("terms", JSONB, nullable=False, server_default="{}"),
    Column("position", SmallInteger, nullable=False, server_default="0"),
)

merchants = Table(
    "merchants",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("external_key", String(80), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("names", JSONB, nullable=False, server_default="{}"),
    Column("category_slug", ForeignKey("categories.slug"), nullable=False, index=True),
    Column("price_level", SmallInteger, nullable=True),
    Column("review_count", Integer, nullable=False, server_default="0"),
    Column("rating_total", Integer, nullable=False, server_default="0"),
    Column(
        "rating",
        Numeric(3, 2),
        Computed(
            "CASE WHEN review_count > 0 THEN round(rating_total::numeric / review_count, 2) END",
            persisted=True,
        ),
    ),
    Column("is_demo", Boolean, nullable=False, server_default="false"),
    Column("source", String(40), nullable=False),
    CheckConstraint("price_level BETWEEN 1 AND 4", name="price_level_range"),
    CheckConstraint("review_count >= 0", name="review_count_nonneg"),
    CheckConstraint(
        "rating_total BETWEEN review_count AND 5 * review_count", name="rating_total_range"
    ),
    CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
)

stores = Table(
    "stores",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
    Column("external_key", String(80), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=True),
    Column(
        "location",
        Geography(geometry_type="POINT", srid=4326, spatial_index=False),
        nullable=False,
    ),
    Column("timezone", String(64), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("opening_hours", Text, nullable=True),
    Index("ix_stores_location", "location", postgresql_using="gist"),
    Index("ix_stores_merchant_id", "merchant_id"),
)
# Viewports and tiles match lat/lng rectangles on the planar geometry (migration 0004).
Index(
    "ix_stores_location_geometry",
    text("(location::geometry)"),
    _table=stores,
    postgresql_using="gist",
)

deals = Table(
    "deals",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
    Column("external_key", String(80), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("price", MONEY, nullable=False),
    Column("original_price", MONEY, nullable=True),
    Column("currency", String(3), nullable=False),
    Column(
        "discount_percent",
        SmallInteger,
        Computed(
            "CASE WHEN original_price > 0 AND original_price > price "
            "THEN floor((1 - price / original_price) * 100)::smallint ELSE 0 END",
            persisted=True,
        ),
    ),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("total_quantity", Integer, nullable=True),
    Column("remaining_quantity", Integer, nullable=True),
    Column("per_user_limit", SmallInteger, nullable=False, server_default="1"),
    Column("requires_booking", Boolean, nullable=False, server_default="false"),
    Column("is_demo", Boolean, nullable=False, server_default="false"),
    CheckConstraint("price >= 0", name="price_nonneg"),
    CheckConstraint("original_price IS NULL OR original_price >= 0", name="original_nonneg"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    CheckConstraint("valid_from < valid_until", name="validity_window"),
    CheckConstraint("total_quantity IS NULL OR total_quantity >= 0", name="total_nonneg"),
    CheckConstraint(
        "remaining_quantity IS NULL OR (remaining_quantity >= 0 "
        "AND (total_quantity IS NULL OR remaining_quantity <= total_quantity))",
        name="remaining_range",
    ),
    CheckConstraint("per_user_limit >= 1", name="per_user_limit_pos"),
    Index("ix_deals_merchant_id", "merchant_id"),
)

deal_stores = Table(
    "deal_stores",
    metadata,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_deal_stores_store_id", "store_id"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
    Column("external_key", String(80), nullable=True, unique=True),
    Column("author_id", String(120), nullable=True),
    Column("author_name", Text, nullable=False),
    Column("rating", SmallInteger, nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("verified", Boolean, nullable=False, server_default="false"),
    Column("merchant_reply", Text, nullable=True),
    Column("replied_at", DateTime(timezone=True), nullable=True),
    Column("is_demo", Boolean, nullable=False, server_default="false"),
    CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    Index("ix_reviews_merchant_created", "merchant_id", "created_at", "id"),
)

search_outbox = Table(
    "search_outbox",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("entity", Text, nullable=False),
    Column("entity_key", Text, nullable=False),
    Column(
        "created_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("clock_timestamp()"),
    ),
    Column("published_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("entity IN ('merchant', 'store', 'deal', 'category')", name="entity_kind"),
    Index("ix_search_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
)
