"""The O2O loop: bookings, slots, payments (+ append-only events), refunds, vouchers,
redemptions, idempotency records; verified reviews and merchant replies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:29:38.908043
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("caller", sa.String(length=120), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("outcome", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("caller", "operation", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.String(length=120), nullable=False),
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.SmallInteger(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("total_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="HELD", nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("stock_released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED', 'COMPLETED')",
            name=op.f("ck_bookings_status_known"),
        ),
        sa.CheckConstraint(
            "stock_released_at IS NULL OR status IN ('CANCELLED', 'EXPIRED')",
            name=op.f("ck_bookings_released_ended"),
        ),
        sa.CheckConstraint("quantity BETWEEN 1 AND 100", name=op.f("ck_bookings_quantity_range")),
        sa.CheckConstraint(
            "unit_price >= 0 AND total_price = unit_price * quantity",
            name=op.f("ck_bookings_total"),
        ),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_bookings_deal_id_deals")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_bookings_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_bookings_user_key"),
    )
    op.create_index("ix_bookings_deal_user", "bookings", ["deal_id", "user_id"], unique=False)
    op.create_index(
        "ix_bookings_held_expiry",
        "bookings",
        ["hold_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'HELD'"),
    )
    op.create_index("ix_bookings_user_id", "bookings", ["user_id", "id"], unique=False)
    op.create_table(
        "deal_slots",
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_deal_slots_capacity_nonneg")),
        sa.CheckConstraint(
            "remaining BETWEEN 0 AND capacity", name=op.f("ck_deal_slots_remaining_range")
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_slots_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("deal_id", "slot_start", name=op.f("pk_deal_slots")),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=120), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=120), nullable=True),
        sa.Column("provider_idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("payment_method", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="PENDING", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column(
            "amount_authorized",
            sa.Numeric(precision=12, scale=2),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "amount_captured", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "amount_refunded", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("next_action_url", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "CASE status WHEN 'PENDING' THEN amount_captured = 0 WHEN 'FAILED' THEN amount_captured = 0 WHEN 'SUCCEEDED' THEN amount_captured = amount AND amount_refunded = 0 WHEN 'PARTIALLY_REFUNDED' THEN amount_refunded > 0 AND amount_refunded < amount_captured WHEN 'REFUNDED' THEN amount_refunded = amount_captured END",
            name=op.f("ck_payments_status_amounts"),
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED', 'PARTIALLY_REFUNDED')",
            name=op.f("ck_payments_status_known"),
        ),
        sa.CheckConstraint(
            "amount >= 0 AND 0 <= amount_refunded AND amount_refunded <= amount_captured AND amount_captured <= amount_authorized AND amount_authorized <= amount",
            name=op.f("ck_payments_amounts_bounded"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_payments_booking_id_bookings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_payments_booking_id")),
        sa.UniqueConstraint("provider", "provider_payment_id", name="uq_payments_provider_ref"),
        sa.UniqueConstraint(
            "provider_idempotency_key", name=op.f("uq_payments_provider_idempotency_key")
        ),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_payments_user_key"),
    )
    op.create_table(
        "payment_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=160), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column(
            "payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_events_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("provider", "event_id", name="uq_payment_events_provider_event"),
    )
    op.create_index("ix_payment_events_payment_id", "payment_events", ["payment_id"], unique=False)
    op.create_table(
        "refunds",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="PENDING", nullable=False),
        sa.Column("provider_refund_id", sa.String(length=120), nullable=True),
        sa.Column("provider_idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name=op.f("ck_refunds_status_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_pos")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_refunds_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint(
            "provider_idempotency_key", name=op.f("uq_refunds_provider_idempotency_key")
        ),
    )
    op.create_index("ix_refunds_payment_id", "refunds", ["payment_id"], unique=False)
    op.create_table(
        "vouchers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_index", sa.SmallInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=120), nullable=False),
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("code_nonce", sa.LargeBinary(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="ISSUED", nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_store_id", sa.BigInteger(), nullable=True),
        sa.Column("refund_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "(status = 'REDEEMED') = (redeemed_at IS NOT NULL AND redeemed_store_id IS NOT NULL)",
            name=op.f("ck_vouchers_redeemed_fields"),
        ),
        sa.CheckConstraint(
            "(status = 'REFUNDED') = (refund_id IS NOT NULL)",
            name=op.f("ck_vouchers_refunded_fields"),
        ),
        sa.CheckConstraint(
            "status IN ('ISSUED', 'REDEEMED', 'REFUNDED')", name=op.f("ck_vouchers_status_known")
        ),
        sa.CheckConstraint("octet_length(code_nonce) = 16", name=op.f("ck_vouchers_nonce_length")),
        sa.CheckConstraint("unit_index >= 1", name=op.f("ck_vouchers_unit_index_pos")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_vouchers_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name=op.f("fk_vouchers_deal_id_deals")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_vouchers_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_store_id"], ["stores.id"], name=op.f("fk_vouchers_redeemed_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_vouchers_refund_id_refunds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("booking_id", "unit_index", name="uq_vouchers_booking_unit"),
        sa.UniqueConstraint("code_hash", name=op.f("uq_vouchers_code_hash")),
    )
    op.create_index("ix_vouchers_user_id", "vouchers", ["user_id", "id"], unique=False)
    op.create_table(
        "redemptions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("voucher_id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.String(length=120), nullable=False),
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
            "(reversed_at IS NULL) = (reversed_by IS NULL) AND (reversed_at IS NULL) = (reversal_reason IS NULL)",
            name=op.f("ck_redemptions_reversal_fields"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_redemptions_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_redemptions_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_redemptions_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
    )
    op.create_index("ix_redemptions_voucher_id", "redemptions", ["voucher_id"], unique=False)
    op.create_index(
        "uq_redemptions_one_active",
        "redemptions",
        ["voucher_id"],
        unique=True,
        postgresql_where=sa.text("reversed_at IS NULL"),
    )
    op.add_column("reviews", sa.Column("visited_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reviews", sa.Column("replied_by", sa.String(length=120), nullable=True))
    op.create_index(
        "uq_reviews_one_per_author",
        "reviews",
        ["merchant_id", "author_id"],
        unique=True,
        postgresql_where=sa.text("author_id IS NOT NULL"),
    )

    op.create_check_constraint(
        "verified_visit", "reviews", "NOT verified OR visited_at IS NOT NULL OR is_demo"
    )
    op.create_check_constraint(
        "reply_time", "reviews", "(merchant_reply IS NULL) = (replied_at IS NULL)"
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER payment_events_append_only BEFORE UPDATE OR DELETE ON payment_events"
        " FOR EACH ROW EXECUTE FUNCTION o2o_append_only()"
    )


# The payment log is evidence: rows are never changed; deleting needs an explicit,
# transaction-local opt-in (SET LOCAL o2o.purge = 'on'), e.g. for test clean-up or erasure.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION o2o_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('o2o.purge', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$
"""


def downgrade() -> None:
    op.execute("DROP TRIGGER payment_events_append_only ON payment_events")
    op.execute("DROP FUNCTION o2o_append_only()")
    op.drop_constraint(op.f("ck_reviews_reply_time"), "reviews", type_="check")
    op.drop_constraint(op.f("ck_reviews_verified_visit"), "reviews", type_="check")
    op.drop_index(
        "uq_reviews_one_per_author",
        table_name="reviews",
        postgresql_where=sa.text("author_id IS NOT NULL"),
    )
    op.drop_column("reviews", "replied_by")
    op.drop_column("reviews", "visited_at")
    op.drop_index(
        "uq_redemptions_one_active",
        table_name="redemptions",
        postgresql_where=sa.text("reversed_at IS NULL"),
    )
    op.drop_index("ix_redemptions_voucher_id", table_name="redemptions")
    op.drop_table("redemptions")
    op.drop_index("ix_vouchers_user_id", table_name="vouchers")
    op.drop_table("vouchers")
    op.drop_index("ix_refunds_payment_id", table_name="refunds")
    op.drop_table("refunds")
    op.drop_index("ix_payment_events_payment_id", table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_table("payments")
    op.drop_table("deal_slots")
    op.drop_index("ix_bookings_user_id", table_name="bookings")
    op.drop_index(
        "ix_bookings_held_expiry",
        table_name="bookings",
        postgresql_where=sa.text("status = 'HELD'"),
    )
    op.drop_index("ix_bookings_deal_user", table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("idempotency_records")
