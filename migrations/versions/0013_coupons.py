"""Coupon campaigns: coupons, the stores where they are valid, claimed coupons and their
redemptions on a bill.

- ``coupons``: a merchant's campaign with the deal lifecycle (``status`` DRAFT, PUBLISHED,
  PAUSED, ENDED; ``version`` for ``expectedVersion``). The kind's value sits in its own typed
  column (``percent_off``, ``amount_off`` in ``currency``, ``free_item``), a CHECK ties kind
  and value. ``min_bill``, the validity window, ``total_quantity``/``remaining_quantity``
  (NULL: unlimited; claims decrement ``remaining_quantity`` under the coupon's row lock),
  ``per_user_limit``, the ``audience`` (EVERYONE, MEMBERS, SEGMENT + ``segment_id``, whose
  table comes with memberships in 0014) and ``platform_funded`` (who pays the discount).
- ``coupon_stores``: the merchant's own stores where a coupon is valid.
- ``claimed_coupons``: one coupon in a customer's wallet (``user_id`` = token subject), with
  its own code (nonce and hash, as vouchers), ISSUED, REDEEMED or EXPIRED, ``valid_until``;
  ``source`` CLAIM (``claimCoupon``, keyed by the customer's ``idempotency_key``) or ISSUE
  (``issueCoupon``), and the attribution channel as for bookings.
- ``coupon_redemptions``: a use at a store by staff, with the bill, the discount and what
  was payable (CHECK: payable = bill - discount, 0 <= discount <= bill); at most one
  unreversed redemption per claimed coupon.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("percent_off", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("amount_off", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("free_item", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("min_bill", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_quantity", sa.Integer(), nullable=True),
        sa.Column("remaining_quantity", sa.Integer(), nullable=True),
        sa.Column("per_user_limit", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("audience", sa.String(length=8), server_default="EVERYONE", nullable=False),
        sa.Column("segment_id", sa.BigInteger(), nullable=True),
        sa.Column("platform_funded", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("status", sa.String(length=10), server_default="DRAFT", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(audience = 'SEGMENT') = (segment_id IS NOT NULL)",
            name=op.f("ck_coupons_segment_needed"),
        ),
        sa.CheckConstraint(
            "(kind = 'PERCENT_OFF') = (percent_off IS NOT NULL) AND (kind = 'AMOUNT_OFF') = (amount_off IS NOT NULL) AND (kind = 'FREE_ITEM') = (free_item IS NOT NULL)",
            name=op.f("ck_coupons_kind_value"),
        ),
        sa.CheckConstraint(
            "audience IN ('EVERYONE', 'MEMBERS', 'SEGMENT')", name=op.f("ck_coupons_audience_known")
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_coupons_currency_iso")),
        sa.CheckConstraint(
            "kind IN ('PERCENT_OFF', 'AMOUNT_OFF', 'FREE_ITEM')", name=op.f("ck_coupons_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('DRAFT', 'PUBLISHED', 'PAUSED', 'ENDED')",
            name=op.f("ck_coupons_status_known"),
        ),
        sa.CheckConstraint(
            "(amount_off IS NULL AND min_bill IS NULL) OR currency IS NOT NULL",
            name=op.f("ck_coupons_currency_needed"),
        ),
        sa.CheckConstraint(
            "(total_quantity IS NULL) = (remaining_quantity IS NULL) AND (remaining_quantity IS NULL OR (remaining_quantity >= 0 AND remaining_quantity <= total_quantity))",
            name=op.f("ck_coupons_remaining_range"),
        ),
        sa.CheckConstraint("amount_off > 0", name=op.f("ck_coupons_amount_pos")),
        sa.CheckConstraint(
            "length(free_item) BETWEEN 1 AND 200", name=op.f("ck_coupons_free_item_length")
        ),
        sa.CheckConstraint("length(title) BETWEEN 1 AND 200", name=op.f("ck_coupons_title_length")),
        sa.CheckConstraint("min_bill >= 0", name=op.f("ck_coupons_min_bill_nonneg")),
        sa.CheckConstraint(
            "per_user_limit BETWEEN 1 AND 100", name=op.f("ck_coupons_per_user_limit_range")
        ),
        sa.CheckConstraint(
            "percent_off > 0 AND percent_off <= 100", name=op.f("ck_coupons_percent_range")
        ),
        sa.CheckConstraint(
            "total_quantity IS NULL OR total_quantity >= 0", name=op.f("ck_coupons_total_nonneg")
        ),
        sa.CheckConstraint("valid_from < valid_until", name=op.f("ck_coupons_validity_window")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_coupons_version_positive")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_coupons_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
    )
    op.create_index("ix_coupons_merchant_id", "coupons", ["merchant_id", "id"], unique=False)
    op.create_table(
        "claimed_coupons",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("coupon_id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=120), nullable=False),
        sa.Column("code_nonce", sa.LargeBinary(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="ISSUED", nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "claimed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=6), server_default="CLAIM", nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("partner_key_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('NEARBY', 'SEARCH', 'MAP', 'DIRECT')",
            name=op.f("ck_claimed_coupons_channel_known"),
        ),
        sa.CheckConstraint(
            "source IN ('CLAIM', 'ISSUE')", name=op.f("ck_claimed_coupons_source_known")
        ),
        sa.CheckConstraint(
            "status IN ('ISSUED', 'REDEEMED', 'EXPIRED')",
            name=op.f("ck_claimed_coupons_status_known"),
        ),
        sa.CheckConstraint(
            "octet_length(code_nonce) = 16", name=op.f("ck_claimed_coupons_nonce_length")
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_claimed_coupons_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_claimed_coupons_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["partner_key_id"],
            ["api_keys.id"],
            name=op.f("fk_claimed_coupons_partner_key_id_api_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claimed_coupons")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_claimed_coupons_code_hash")),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_claimed_coupons_user_key"),
    )
    op.create_index(
        "ix_claimed_coupons_coupon_user", "claimed_coupons", ["coupon_id", "user_id"], unique=False
    )
    op.create_index(
        "ix_claimed_coupons_user_id", "claimed_coupons", ["user_id", "id"], unique=False
    )
    op.create_table(
        "coupon_stores",
        sa.Column("coupon_id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_stores_coupon_id_coupons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_coupon_stores_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("coupon_id", "store_id", name=op.f("pk_coupon_stores")),
    )
    op.create_index("ix_coupon_stores_store_id", "coupon_stores", ["store_id"], unique=False)
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("claimed_coupon_id", sa.BigInteger(), nullable=False),
        sa.Column("coupon_id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.String(length=120), nullable=False),
        sa.Column("bill_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("discount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("payable", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "redeemed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_by", sa.String(length=120), nullable=True),
        sa.Column("reversal_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_coupon_redemptions_currency_iso")
        ),
        sa.CheckConstraint(
            "(reversed_at IS NULL) = (reversed_by IS NULL) AND (reversed_at IS NULL) = (reversal_reason IS NULL)",
            name=op.f("ck_coupon_redemptions_reversal_fields"),
        ),
        sa.CheckConstraint(
            "bill_amount >= 0 AND discount >= 0 AND discount <= bill_amount AND payable = bill_amount - discount",
            name=op.f("ck_coupon_redemptions_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["claimed_coupon_id"],
            ["claimed_coupons.id"],
            name=op.f("fk_coupon_redemptions_claimed_coupon_id_claimed_coupons"),
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_coupon_redemptions_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_coupon_redemptions_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_coupon_redemptions_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
    )
    op.create_index(
        "ix_coupon_redemptions_claimed_coupon_id",
        "coupon_redemptions",
        ["claimed_coupon_id"],
        unique=False,
    )
    op.create_index(
        "ix_coupon_redemptions_coupon_id",
        "coupon_redemptions",
        ["coupon_id", "redeemed_at"],
        unique=False,
    )
    op.create_index(
        "ix_coupon_redemptions_merchant_id",
        "coupon_redemptions",
        ["merchant_id", "redeemed_at"],
        unique=False,
    )
    op.create_index(
        "uq_coupon_redemptions_one_active",
        "coupon_redemptions",
        ["claimed_coupon_id"],
        unique=True,
        postgresql_where=sa.text("reversed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_coupon_redemptions_one_active",
        table_name="coupon_redemptions",
        postgresql_where=sa.text("reversed_at IS NULL"),
    )
    op.drop_index("ix_coupon_redemptions_merchant_id", table_name="coupon_redemptions")
    op.drop_index("ix_coupon_redemptions_coupon_id", table_name="coupon_redemptions")
    op.drop_index("ix_coupon_redemptions_claimed_coupon_id", table_name="coupon_redemptions")
    op.drop_table("coupon_redemptions")
    op.drop_index("ix_coupon_stores_store_id", table_name="coupon_stores")
    op.drop_table("coupon_stores")
    op.drop_index("ix_claimed_coupons_user_id", table_name="claimed_coupons")
    op.drop_index("ix_claimed_coupons_coupon_user", table_name="claimed_coupons")
    op.drop_table("claimed_coupons")
    op.drop_index("ix_coupons_merchant_id", table_name="coupons")
    op.drop_table("coupons")
