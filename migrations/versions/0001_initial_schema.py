"""Initial schema: categories, merchants, stores (PostGIS geography), deals, reviews.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 15:24:03.506098
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "categories",
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "terms", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("position", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_categories")),
    )
    op.create_table(
        "merchants",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("external_key", sa.String(length=80), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "names", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("category_slug", sa.String(length=40), nullable=False),
        sa.Column("price_level", sa.SmallInteger(), nullable=True),
        sa.Column("review_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rating_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "rating",
            sa.Numeric(precision=3, scale=2),
            sa.Computed(
                "CASE WHEN review_count > 0 THEN round(rating_total::numeric / review_count, 2) END",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name=op.f("ck_merchants_name_length")),
        sa.CheckConstraint(
            "price_level BETWEEN 1 AND 4", name=op.f("ck_merchants_price_level_range")
        ),
        sa.CheckConstraint(
            "rating_total BETWEEN review_count AND 5 * review_count",
            name=op.f("ck_merchants_rating_total_range"),
        ),
        sa.CheckConstraint("review_count >= 0", name=op.f("ck_merchants_review_count_nonneg")),
        sa.ForeignKeyConstraint(
            ["category_slug"],
            ["categories.slug"],
            name=op.f("fk_merchants_category_slug_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("external_key", name=op.f("uq_merchants_external_key")),
    )
    op.create_index(
        op.f("ix_merchants_category_slug"), "merchants", ["category_slug"], unique=False
    )
    op.create_table(
        "deals",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("external_key", sa.String(length=80), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("original_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "discount_percent",
            sa.SmallInteger(),
            sa.Computed(
                "CASE WHEN original_price > 0 AND original_price > price THEN floor((1 - price / original_price) * 100)::smallint ELSE 0 END",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_quantity", sa.Integer(), nullable=True),
        sa.Column("remaining_quantity", sa.Integer(), nullable=True),
        sa.Column("per_user_limit", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("requires_booking", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_deals_currency_iso")),
        sa.CheckConstraint(
            "original_price IS NULL OR original_price >= 0", name=op.f("ck_deals_original_nonneg")
        ),
        sa.CheckConstraint("per_user_limit >= 1", name=op.f("ck_deals_per_user_limit_pos")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_deals_price_nonneg")),
        sa.CheckConstraint(
            "remaining_quantity IS NULL OR (remaining_quantity >= 0 AND (total_quantity IS NULL OR remaining_quantity <= total_quantity))",
            name=op.f("ck_deals_remaining_range"),
        ),
        sa.CheckConstraint(
            "total_quantity IS NULL OR total_quantity >= 0", name=op.f("ck_deals_total_nonneg")
        ),
        sa.CheckConstraint("valid_from < valid_until", name=op.f("ck_deals_validity_window")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_deals_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("external_key", name=op.f("uq_deals_external_key")),
    )
    op.create_index("ix_deals_merchant_id", "deals", ["merchant_id"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("external_key", sa.String(length=80), nullable=True),
        sa.Column("author_id", sa.String(length=120), nullable=True),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("merchant_reply", sa.Text(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating_range")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_reviews_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("external_key", name=op.f("uq_reviews_external_key")),
    )
    op.create_index(
        "ix_reviews_merchant_created", "reviews", ["merchant_id", "created_at", "id"], unique=False
    )
    op.create_geospatial_table(
        "stores",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("external_key", sa.String(length=80), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("opening_hours", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_stores_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("external_key", name=op.f("uq_stores_external_key")),
    )
    op.create_geospatial_index(
        "ix_stores_location",
        "stores",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_stores_merchant_id", "stores", ["merchant_id"], unique=False)
    op.create_table(
        "deal_stores",
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_stores_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_deal_stores_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deal_id", "store_id", name=op.f("pk_deal_stores")),
    )
    op.create_index("ix_deal_stores_store_id", "deal_stores", ["store_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deal_stores_store_id", table_name="deal_stores")
    op.drop_table("deal_stores")
    op.drop_index("ix_stores_merchant_id", table_name="stores")
    op.drop_geospatial_index(
        "ix_stores_location", table_name="stores", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("stores")
    op.drop_index("ix_reviews_merchant_created", table_name="reviews")
    op.drop_table("reviews")
    op.drop_index("ix_deals_merchant_id", table_name="deals")
    op.drop_table("deals")
    op.drop_index(op.f("ix_merchants_category_slug"), table_name="merchants")
    op.drop_table("merchants")
    op.drop_table("categories")
