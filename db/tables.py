"""SQLAlchemy Core tables; the Alembic migrations create exactly these (a test compares)."""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
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
    # the token subject of the merchant's owner, when known (migration 0007)
    Column("owner_subject", String(120), nullable=True),
    # the platform's share of a redeemed voucher; NULL: the platform default (migration 0010)
    Column("commission_rate", Numeric(5, 4), nullable=True),
    CheckConstraint("price_level BETWEEN 1 AND 4", name="price_level_range"),
    CheckConstraint("review_count >= 0", name="review_count_nonneg"),
    CheckConstraint(
        "rating_total BETWEEN review_count AND 5 * review_count", name="rating_total_range"
    ),
    CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
    CheckConstraint("commission_rate BETWEEN 0 AND 1", name="commission_rate_range"),
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
    # optimistic concurrency for updateStore (migration 0007)
    Column("version", Integer, nullable=False, server_default="1"),
    CheckConstraint("version >= 1", name="version_positive"),
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

# "closed" or OSM hours on one date, in the store's zone (migration 0007)
store_special_hours = Table(
    "store_special_hours",
    metadata,
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("hours", Text, nullable=False),
    CheckConstraint("length(hours) BETWEEN 1 AND 500", name="hours_length"),
)

DEAL_STATUSES = "'DRAFT', 'PUBLISHED', 'PAUSED', 'ENDED'"

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
    # the lifecycle (migration 0008): rows written without a status are PUBLISHED
    Column("status", String(10), nullable=False, server_default="PUBLISHED"),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("category_slug", ForeignKey("categories.slug"), nullable=True),  # NULL: merchant's
    Column("usage_rules", Text, nullable=True),
    Column("voucher_valid_days", SmallInteger, nullable=True),  # NULL: until valid_until
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
    CheckConstraint(f"status IN ({DEAL_STATUSES})", name="status_known"),
    CheckConstraint("version >= 1", name="version_positive"),
    CheckConstraint("length(usage_rules) <= 2000", name="usage_rules_length"),
    CheckConstraint("voucher_valid_days BETWEEN 1 AND 3650", name="voucher_valid_days_range"),
    Index("ix_deals_merchant_id", "merchant_id"),
)

deal_stores = Table(
    "deal_stores",
    metadata,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_deal_stores_store_id_deal_id", "store_id", "deal_id"),
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
    Column("visited_at", DateTime(timezone=True), nullable=True),
    Column("replied_by", String(120), nullable=True),
    CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    CheckConstraint("NOT verified OR visited_at IS NOT NULL OR is_demo", name="verified_visit"),
    CheckConstraint("(merchant_reply IS NULL) = (replied_at IS NULL)", name="reply_time"),
    Index("ix_reviews_merchant_created", "merchant_id", "created_at", "id"),
    Index(
        "uq_reviews_one_per_author",
        "merchant_id",
        "author_id",
        unique=True,
        postgresql_where=text("author_id IS NOT NULL"),
    ),
)


# --- Orders: bookings, payments, vouchers, redemptions (migration 0003) -------------------
# Every money and stock invariant is a CHECK or a unique index, so a bug in code cannot
# oversell, over-refund or redeem twice: the database refuses the write.

BOOKING_STATUSES = "'HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED', 'COMPLETED'"
PAYMENT_STATUSES = "'PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED', 'PARTIALLY_REFUNDED'"
VOUCHER_STATUSES = "'ISSUED', 'REDEEMED', 'REFUNDED'"
FUNNEL_CHANNELS = "'NEARBY', 'SEARCH', 'MAP', 'DIRECT'"

deal_slots = Table(
    "deal_slots",
    metadata,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("slot_start", DateTime(timezone=True), primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    CheckConstraint("capacity >= 0", name="capacity_nonneg"),
    CheckConstraint("remaining BETWEEN 0 AND capacity", name="remaining_range"),
)

# A deal's weekly slot schedule; deal_slots rows are generated from it (migration 0008).
deal_slot_plans = Table(
    "deal_slot_plans",
    metadata,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("rules", JSONB, nullable=False),  # [{weekday, start, end, everyMinutes, capacity}]
    Column("days_ahead", SmallInteger, nullable=False),
    Column("generated_through", Date, nullable=True),  # the last local date generated
    CheckConstraint("days_ahead BETWEEN 1 AND 90", name="days_ahead_range"),
    CheckConstraint("jsonb_typeof(rules) = 'array'", name="rules_array"),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("user_id", String(120), nullable=False),
    Column("deal_id", ForeignKey("deals.id"), nullable=False),
    Column("store_id", ForeignKey("stores.id"), nullable=True),
    Column("quantity", SmallInteger, nullable=False),
    Column("unit_price", MONEY, nullable=False),
    Column("total_price", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(12), nullable=False, server_default="HELD"),
    Column("slot_start", DateTime(timezone=True), nullable=True),
    Column("hold_expires_at", DateTime(timezone=True), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("stock_released_at", DateTime(timezone=True), nullable=True),
    Column("cancel_reason", Text, nullable=True),
    # where the booking came from: a signed attribution token's channel and partner key
    # (migration 0011); NULL channel is a booking without a valid token (DIRECT)
    Column("channel", String(8), nullable=True),
    Column("partner_key_id", ForeignKey("api_keys.id"), nullable=True),
    CheckConstraint(f"status IN ({BOOKING_STATUSES})", name="status_known"),
    CheckConstraint(f"channel IN ({FUNNEL_CHANNELS})", name="channel_known"),
    CheckConstraint("quantity BETWEEN 1 AND 100", name="quantity_range"),
    CheckConstraint("unit_price >= 0 AND total_price = unit_price * quantity", name="total"),
    CheckConstraint(
        "stock_released_at IS NULL OR status IN ('CANCELLED', 'EXPIRED')", name="released_ended"
    ),
    UniqueConstraint("user_id", "idempotency_key", name="uq_bookings_user_key"),
    Index("ix_bookings_user_id", "user_id", "id"),
    Index("ix_bookings_deal_user", "deal_id", "user_id"),
    Index("ix_bookings_deal_id_id", "deal_id", "id"),  # a merchant's orders (migration 0008)
    Index("ix_bookings_deal_created", "deal_id", "created_at"),  # insights (migration 0011)
    Index(
        "ix_bookings_held_expiry",
        "hold_expires_at",
        postgresql_where=text("status = 'HELD'"),
    ),
)

payments = Table(
    "payments",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("booking_id", ForeignKey("bookings.id"), nullable=False),
    Column("user_id", String(120), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("provider_payment_id", String(120), nullable=True),
    Column("provider_idempotency_key", String(120), nullable=False, unique=True),
    Column("payment_method", String(80), nullable=False),
    Column("status", String(20), nullable=False, server_default="PENDING"),
    Column("currency", String(3), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("amount_authorized", MONEY, nullable=False, server_default="0"),
    Column("amount_captured", MONEY, nullable=False, server_default="0"),
    Column("amount_refunded", MONEY, nullable=False, server_default="0"),
    Column("failure_message", Text, nullable=True),
    Column("next_action_url", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # where the provider sends the customer after authentication (migration 0012)
    Column("return_url", Text, nullable=True),
    # the claim on the attempt's provider call: replays in flight do not call again (0012)
    Column("provider_called_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("char_length(return_url) <= 2000", name="return_url_length"),
    CheckConstraint(f"status IN ({PAYMENT_STATUSES})", name="status_known"),
    CheckConstraint(
        "amount >= 0 AND 0 <= amount_refunded AND amount_refunded <= amount_captured"
        " AND amount_captured <= amount_authorized AND amount_authorized <= amount",
        name="amounts_bounded",
    ),
    CheckConstraint(
        "CASE status"
        " WHEN 'PENDING' THEN amount_captured = 0"
        " WHEN 'FAILED' THEN amount_captured = 0"
        " WHEN 'SUCCEEDED' THEN amount_captured = amount AND amount_refunded = 0"
        " WHEN 'PARTIALLY_REFUNDED' THEN amount_refunded > 0 AND amount_refunded < amount_captured"
        " WHEN 'REFUNDED' THEN amount_refunded = amount_captured END",
        name="status_amounts",
    ),
    UniqueConstraint("user_id", "idempotency_key", name="uq_payments_user_key"),
    UniqueConstraint("provider", "provider_payment_id", name="uq_payments_provider_ref"),
    # Payments are attempts (migration 0012): at most one per booking that is not FAILED.
    Index("ix_payments_booking_id", "booking_id"),
    Index(
        "uq_payments_booking_live",
        "booking_id",
        unique=True,
        postgresql_where=text("status <> 'FAILED'"),
    ),
)

payment_events = Table(
    "payment_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("payment_id", ForeignKey("payments.id"), nullable=True),
    Column("provider", String(40), nullable=False),
    Column("event_id", String(160), nullable=False),
    Column("type", String(60), nullable=False),
    Column("amount", MONEY, nullable=True),
    Column("payload", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("provider", "event_id", name="uq_payment_events_provider_event"),
    Index("ix_payment_events_payment_id", "payment_id"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("payment_id", ForeignKey("payments.id"), nullable=False),
    Column("booking_id", ForeignKey("bookings.id"), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(12), nullable=False, server_default="PENDING"),
    Column("provider_refund_id", String(120), nullable=True),
    Column("provider_idempotency_key", String(120), nullable=False, unique=True),
    Column("reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("amount > 0", name="amount_pos"),
    CheckConstraint("status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name="status_known"),
    Index("ix_refunds_payment_id", "payment_id"),
)

vouchers = Table(
    "vouchers",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("booking_id", ForeignKey("bookings.id"), nullable=False),
    Column("unit_index", SmallInteger, nullable=False),
    Column("user_id", String(120), nullable=False),
    Column("deal_id", ForeignKey("deals.id"), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("code_nonce", LargeBinary, nullable=False),
    Column("code_hash", LargeBinary, nullable=False, unique=True),
    Column("status", String(12), nullable=False, server_default="ISSUED"),
    Column("unit_price", MONEY, nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("redeemed_at", DateTime(timezone=True), nullable=True),
    Column("redeemed_store_id", ForeignKey("stores.id"), nullable=True),
    Column("refund_id", ForeignKey("refunds.id"), nullable=True),
    CheckConstraint(f"status IN ({VOUCHER_STATUSES})", name="status_known"),
    CheckConstraint("unit_index >= 1", name="unit_index_pos"),
    CheckConstraint("octet_length(code_nonce) = 16", name="nonce_length"),
    CheckConstraint(
        "(status = 'REDEEMED') = (redeemed_at IS NOT NULL AND redeemed_store_id IS NOT NULL)",
        name="redeemed_fields",
    ),
    CheckConstraint("(status = 'REFUNDED') = (refund_id IS NOT NULL)", name="refunded_fields"),
    UniqueConstraint("booking_id", "unit_index", name="uq_vouchers_booking_unit"),
    Index("ix_vouchers_user_id", "user_id", "id"),
    # the sweeper's expiry refunds (migration 0010)
    Index(
        "ix_vouchers_issued_valid_until",
        "valid_until",
        postgresql_where=text("status = 'ISSUED'"),
    ),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("voucher_id", ForeignKey("vouchers.id"), nullable=False),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("staff_id", String(120), nullable=False),
    Column("redeemed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reversed_at", DateTime(timezone=True), nullable=True),
    Column("reversed_by", String(120), nullable=True),
    Column("reversal_reason", Text, nullable=True),
    CheckConstraint(
        "(reversed_at IS NULL) = (reversed_by IS NULL)"
        " AND (reversed_at IS NULL) = (reversal_reason IS NULL)",
        name="reversal_fields",
    ),
    Index("ix_redemptions_voucher_id", "voucher_id"),
    Index(
        "uq_redemptions_one_active",
        "voucher_id",
        unique=True,
        postgresql_where=text("reversed_at IS NULL"),
    ),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("caller", String(120), primary_key=True),
    Column("operation", String(40), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("outcome", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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
    # publications the index refused; past the publisher's limit the row is set aside
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    CheckConstraint("entity IN ('merchant', 'store', 'deal', 'category')", name="entity_kind"),
    Index("ix_search_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("lookup", String(12), nullable=False, unique=True),
    Column("key_hash", LargeBinary, nullable=False),
    Column("rate_per_minute", Integer, nullable=False),
    Column("cost_per_minute", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("length(name) BETWEEN 1 AND 100", name="name_length"),
    CheckConstraint("lookup ~ '^[0-9a-f]{12}$'", name="lookup_format"),
    CheckConstraint("octet_length(key_hash) = 32", name="key_hash_sha256"),
    CheckConstraint("rate_per_minute BETWEEN 1 AND 1000000", name="rate_range"),
    CheckConstraint("cost_per_minute BETWEEN 1 AND 100000000", name="cost_range"),
    CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at", name="revoked_after_created"),
)

# Every write by merchant staff (and admins acting for merchants): append-only, enforced by
# triggers (migration 0007); written by commerce/merchants/audit.py inside the write's
# transaction. No foreign key: the audit outlives what it describes.
staff_audit = Table(
    "staff_audit",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
    Column("subject", String(120), nullable=False),
    Column("role", String(12), nullable=False),
    Column("merchant_id", BigInteger, nullable=True),
    Column("action", String(40), nullable=False),
    Column("entity", String(20), nullable=False),
    Column("entity_id", String(80), nullable=False),
    Column("before", JSONB, nullable=True),
    Column("after", JSONB, nullable=True),
    CheckConstraint("role IN ('owner', 'manager', 'cashier', 'admin')", name="role"),
    CheckConstraint("before IS NOT NULL OR after IS NOT NULL", name="some_state"),
    Index("ix_staff_audit_merchant_id_at", "merchant_id", "at"),
    Index("ix_staff_audit_entity_entity_id", "entity", "entity_id"),
)


# --- The money ledger (migration 0010) ------------------------------------------------------
# Double-entry, append-only: each movement of money is one journal whose entries sum to zero
# per currency (a deferred constraint trigger checks at commit). No foreign keys to orders:
# the ledger outlives what it describes. Written by commerce/money/ledger.py, read through
# db/ledger_sql.py.
LEDGER_ACCOUNT_KINDS = (
    "'customer_funds', 'platform_escrow', 'merchant_payable', 'platform_commission',"
    " 'platform_marketing'"  # migration 0015: platform-funded coupon discounts
)
LEDGER_JOURNAL_KINDS = (
    "'PAYMENT', 'REDEMPTION', 'REVERSAL', 'REFUND', 'PAYOUT', 'COUPON', 'COUPON_BACK'"
)

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("owner", String(160), nullable=False),  # platform | merchant:<id> | customer:<sub>
    Column("kind", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("merchant_id", BigInteger, nullable=True),  # set for merchant_payable only
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"kind IN ({LEDGER_ACCOUNT_KINDS})", name="kind"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    CheckConstraint(
        "(kind = 'merchant_payable') = (merchant_id IS NOT NULL)", name="merchant_owner"
    ),
    UniqueConstraint("owner", "kind", "currency"),
    UniqueConstraint("id", "currency"),
)

ledger_journals = Table(
    "ledger_journals",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("kind", String(12), nullable=False),
    Column("event_key", String(120), nullable=False, unique=True),
    Column("merchant_id", BigInteger, nullable=False),
    Column("booking_id", BigInteger, nullable=True),
    Column("voucher_id", BigInteger, nullable=True),
    Column("payment_id", BigInteger, nullable=True),
    Column("refund_id", BigInteger, nullable=True),
    Column("redemption_id", BigInteger, nullable=True),
    Column("reverses_id", ForeignKey("ledger_journals.id"), nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("coupon_redemption_id", BigInteger, nullable=True),  # COUPON, COUPON_BACK (0015)
    CheckConstraint(f"kind IN ({LEDGER_JOURNAL_KINDS})", name="kind"),
    Index("ix_ledger_journals_merchant_at", "merchant_id", "at", "id"),
    Index("ix_ledger_journals_booking_id", "booking_id"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("journal_id", ForeignKey("ledger_journals.id"), nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", MONEY, nullable=False),
    CheckConstraint("amount <> 0", name="amount_nonzero"),
    ForeignKeyConstraint(
        ["account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"]
    ),
    Index("ix_ledger_entries_journal_id", "journal_id"),
    Index("ix_ledger_entries_account_id", "account_id"),
)


# --- The live funnel (migration 0011) -------------------------------------------------------
# Impressions and detail views per deal, UTC hour, channel and partner key (0 = none),
# flushed additively by every gateway process (commerce/insights/funnel.py).
funnel_counts = Table(
    "funnel_counts",
    metadata,
    Column("deal_id", ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("channel", String(8), primary_key=True),
    Column("partner_key_id", BigInteger, primary_key=True, server_default="0"),
    Column("impressions", BigInteger, nullable=False, server_default="0"),
    Column("detail_views", BigInteger, nullable=False, server_default="0"),
    CheckConstraint(f"channel IN ({FUNNEL_CHANNELS})", name="channel_known"),
    CheckConstraint("partner_key_id >= 0", name="partner_nonneg"),
    CheckConstraint("impressions >= 0 AND detail_views >= 0", name="counts_nonneg"),
)


# --- Coupon campaigns (migration 0013) ------------------------------------------------------
# A merchant's coupon: DRAFT -> PUBLISHED -> PAUSED/ENDED like deals, valid at some of its
# stores. Claimed into a customer's wallet (claimed_coupons, own code like vouchers) and
# redeemed once at a store on a bill (coupon_redemptions, the bill and discount recorded).
COUPON_KINDS = "'PERCENT_OFF', 'AMOUNT_OFF', 'FREE_ITEM'"
COUPON_AUDIENCES = "'EVERYONE', 'MEMBERS', 'SEGMENT'"
CLAIMED_COUPON_STATUSES = "'ISSUED', 'REDEEMED', 'EXPIRED'"
CLAIMED_COUPON_SOURCES = "'CLAIM', 'ISSUE'"

coupons = Table(
    "coupons",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("percent_off", Numeric(5, 2), nullable=True),  # PERCENT_OFF: 0 < p <= 100
    Column("amount_off", MONEY, nullable=True),  # AMOUNT_OFF, in currency
    Column("free_item", Text, nullable=True),  # FREE_ITEM: what the customer gets
    Column("currency", String(3), nullable=True),  # of amount_off and min_bill
    Column("min_bill", MONEY, nullable=True),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("total_quantity", Integer, nullable=True),  # NULL: unlimited
    Column("remaining_quantity", Integer, nullable=True),
    Column("per_user_limit", SmallInteger, nullable=False, server_default="1"),
    Column("audience", String(8), nullable=False, server_default="EVERYONE"),
    Column("segment_id", BigInteger, nullable=True),  # SEGMENT: the members' saved segment
    # the platform pays the discount (a statement line; issue 14 point 5)
    Column("platform_funded", Boolean, nullable=False, server_default="false"),
    Column("status", String(10), nullable=False, server_default="DRAFT"),
    # the seed's demo coupons only (0016): their upsert key
    Column("external_key", String(80), nullable=True, unique=True),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("length(title) BETWEEN 1 AND 200", name="title_length"),
    CheckConstraint(f"kind IN ({COUPON_KINDS})", name="kind_known"),
    CheckConstraint(
        "(kind = 'PERCENT_OFF') = (percent_off IS NOT NULL)"
        " AND (kind = 'AMOUNT_OFF') = (amount_off IS NOT NULL)"
        " AND (kind = 'FREE_ITEM') = (free_item IS NOT NULL)",
        name="kind_value",
    ),
    CheckConstraint("percent_off > 0 AND percent_off <= 100", name="percent_range"),
    CheckConstraint("amount_off > 0", name="amount_pos"),
    CheckConstraint("length(free_item) BETWEEN 1 AND 200", name="free_item_length"),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    CheckConstraint(
        "(amount_off IS NULL AND min_bill IS NULL) OR currency IS NOT NULL",
        name="currency_needed",
    ),
    CheckConstraint("min_bill >= 0", name="min_bill_nonneg"),
    CheckConstraint("valid_from < valid_until", name="validity_window"),
    CheckConstraint("total_quantity IS NULL OR total_quantity >= 0", name="total_nonneg"),
    CheckConstraint(
        "(total_quantity IS NULL) = (remaining_quantity IS NULL) AND (remaining_quantity IS NULL"
        " OR (remaining_quantity >= 0 AND remaining_quantity <= total_quantity))",
        name="remaining_range",
    ),
    CheckConstraint("per_user_limit BETWEEN 1 AND 100", name="per_user_limit_range"),
    CheckConstraint(f"audience IN ({COUPON_AUDIENCES})", name="audience_known"),
    CheckConstraint("(audience = 'SEGMENT') = (segment_id IS NOT NULL)", name="segment_needed"),
    CheckConstraint(f"status IN ({DEAL_STATUSES})", name="status_known"),
    CheckConstraint("version >= 1", name="version_positive"),
    Index("ix_coupons_merchant_id", "merchant_id", "id"),
)

coupon_stores = Table(
    "coupon_stores",
    metadata,
    Column("coupon_id", ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_coupon_stores_store_id", "store_id"),
)

claimed_coupons = Table(
    "claimed_coupons",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("coupon_id", ForeignKey("coupons.id"), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("user_id", String(120), nullable=False),  # the customer's token subject
    Column("code_nonce", LargeBinary, nullable=False),
    Column("code_hash", LargeBinary, nullable=False, unique=True),
    Column("status", String(10), nullable=False, server_default="ISSUED"),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # CLAIM: claimCoupon; ISSUE: issueCoupon to a segment (its key says which issue)
    Column("source", String(6), nullable=False, server_default="CLAIM"),
    Column("idempotency_key", String(200), nullable=True),
    Column("channel", String(8), nullable=True),  # attribution as for bookings (0011)
    Column("partner_key_id", ForeignKey("api_keys.id"), nullable=True),
    CheckConstraint(f"status IN ({CLAIMED_COUPON_STATUSES})", name="status_known"),
    CheckConstraint(f"source IN ({CLAIMED_COUPON_SOURCES})", name="source_known"),
    CheckConstraint(f"channel IN ({FUNNEL_CHANNELS})", name="channel_known"),
    CheckConstraint("octet_length(code_nonce) = 16", name="nonce_length"),
    UniqueConstraint("user_id", "idempotency_key", name="uq_claimed_coupons_user_key"),
    Index("ix_claimed_coupons_user_id", "user_id", "id"),
    Index("ix_claimed_coupons_coupon_user", "coupon_id", "user_id"),
)

coupon_redemptions = Table(
    "coupon_redemptions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("claimed_coupon_id", ForeignKey("claimed_coupons.id"), nullable=False),
    Column("coupon_id", ForeignKey("coupons.id"), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("store_id", ForeignKey("stores.id"), nullable=False),
    Column("staff_id", String(120), nullable=False),
    Column("bill_amount", MONEY, nullable=False),
    Column("discount", MONEY, nullable=False),
    Column("payable", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("redeemed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("reversed_at", DateTime(timezone=True), nullable=True),
    Column("reversed_by", String(120), nullable=True),
    Column("reversal_reason", Text, nullable=True),
    CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    CheckConstraint(
        "bill_amount >= 0 AND discount >= 0 AND discount <= bill_amount"
        " AND payable = bill_amount - discount",
        name="amounts",
    ),
    CheckConstraint(
        "(reversed_at IS NULL) = (reversed_by IS NULL)"
        " AND (reversed_at IS NULL) = (reversal_reason IS NULL)",
        name="reversal_fields",
    ),
    Index("ix_coupon_redemptions_claimed_coupon_id", "claimed_coupon_id"),
    Index("ix_coupon_redemptions_coupon_id", "coupon_id", "redeemed_at"),
    Index("ix_coupon_redemptions_merchant_id", "merchant_id", "redeemed_at"),
    Index(
        "uq_coupon_redemptions_one_active",
        "claimed_coupon_id",
        unique=True,
        postgresql_where=text("reversed_at IS NULL"),
    ),
)


# --- Memberships, segments and retention (migration 0014) ------------------------------------
# A merchant's program: auto-join on a consenting customer's first redemption, points per
# currency unit of spend (rounded down per visit), tiers as [{"name", "minPoints"}].
membership_programs = Table(
    "membership_programs",
    metadata,
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True),
    Column("auto_join", Boolean, nullable=False, server_default="false"),
    Column("points_per_unit", Numeric(10, 4), nullable=False, server_default="1"),
    Column("tiers", JSONB, nullable=False, server_default="[]"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("points_per_unit >= 0 AND points_per_unit <= 1000", name="rate_range"),
    CheckConstraint("jsonb_typeof(tiers) = 'array'", name="tiers_array"),
)

# One row per current member; figures are recomputed from membership_visits on every change.
memberships = Table(
    "memberships",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
    Column("subject", String(120), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("joined_how", String(8), nullable=False),
    Column("currency", String(3), nullable=True),
    Column("visits", Integer, nullable=False, server_default="0"),
    Column("total_spend", MONEY, nullable=False, server_default="0"),
    Column("points", BigInteger, nullable=False, server_default="0"),
    Column("tier", String(40), nullable=True),
    Column("first_visit_at", DateTime(timezone=True), nullable=True),
    Column("last_visit_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("joined_how IN ('EXPLICIT', 'AUTO')", name="joined_how_known"),
    CheckConstraint("visits >= 0 AND total_spend >= 0 AND points >= 0", name="figures_nonneg"),
    CheckConstraint("(visits = 0) = (first_visit_at IS NULL)", name="first_visit_fields"),
    UniqueConstraint("merchant_id", "subject"),
    Index("ix_memberships_subject", "subject"),
)

# Each visit of a member: a voucher or coupon redemption (source, source_id), counted once.
membership_visits = Table(
    "membership_visits",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("membership_id", ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("spend", MONEY, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("source", String(8), nullable=False),
    Column("source_id", BigInteger, nullable=True),
    CheckConstraint("spend >= 0 AND points >= 0", name="figures_nonneg"),
    CheckConstraint("source IN ('VOUCHER', 'COUPON', 'OTHER')", name="source_known"),
    UniqueConstraint("source", "source_id"),
    Index("ix_membership_visits_membership_id", "membership_id", "at"),
    Index("ix_membership_visits_merchant_id", "merchant_id", "at"),
)

# A customer's acceptance to be enrolled automatically by a merchant's program.
membership_consents = Table(
    "membership_consents",
    metadata,
    Column("subject", String(120), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True),
    Column("accepted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What members who left leave behind: anonymous sums per merchant and currency ('XXX': none).
membership_aggregates = Table(
    "membership_aggregates",
    metadata,
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("members_left", Integer, nullable=False, server_default="0"),
    Column("visits", BigInteger, nullable=False, server_default="0"),
    Column("total_spend", Numeric(14, 2), nullable=False, server_default="0"),
    Column("points", BigInteger, nullable=False, server_default="0"),
)

# A saved member filter (MemberFilter as JSON); its members are evaluated when asked.
member_segments = Table(
    "member_segments",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(80), nullable=False),
    Column("filter", JSONB, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("char_length(name) BETWEEN 1 AND 80", name="name_length"),
    UniqueConstraint("merchant_id", "name"),
)


# --- Coupon wallets and coupon money (migration 0015) ----------------------------------------
# issueCoupon gives a coupon at most once to a customer (ON CONFLICT DO NOTHING on this
# index); coupon insights count claims by merchant and time. A trigger NOTIFYs every new
# wallet entry (walletUpdates).
Index(
    "uq_claimed_coupons_issued",
    claimed_coupons.c.coupon_id,
    claimed_coupons.c.user_id,
    unique=True,
    postgresql_where=text("source = 'ISSUE'"),
)
Index(
    "ix_claimed_coupons_merchant_claimed",
    claimed_coupons.c.merchant_id,
    claimed_coupons.c.claimed_at,
)

# The pre-aggregated map layer (migration 0017, geo/layer.py). One published generation at a
# time (map_layer_state); rows of older generations are deleted after the next one is
# published. Cells hold the deals that were on offer for the whole horizon, each at its
# lowest-id store, counted at every level where all its stores share one cell.
map_layer_state = Table(
    "map_layer_state",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("generation", BigInteger, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("usable_until", DateTime(timezone=True), nullable=False),
    Column("build_ms", Integer, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

map_cells = Table(
    "map_cells",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("level", SmallInteger, primary_key=True),
    Column("cy", BigInteger, primary_key=True),
    Column("cx", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("sum_lng", Float(precision=53), nullable=False),
    Column("sum_lat", Float(precision=53), nullable=False),
    Column("min_fx", BigInteger, nullable=False),
    Column("max_fx", BigInteger, nullable=False),
    Column("min_fy", BigInteger, nullable=False),
    Column("max_fy", BigInteger, nullable=False),
    # narrow rectangles along a view's west and east edges (the primary key starts with cy)
    Index("ix_map_cells_generation_level_cx_cy", "generation", "level", "cx", "cy"),
)

# each deal of the layer at its representative store (fine Web Mercator coordinates)
map_deals = Table(
    "map_deals",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("deal_id", BigInteger, primary_key=True),
    Column("fx", BigInteger, nullable=False),
    Column("fy", BigInteger, nullable=False),
)

# every store of the layer's deals that split across cells at some layer level, with its
# exact coordinates (so such a deal is placed in a view without reading deals or stores)
map_spread = Table(
    "map_spread",
    metadata,
    Column("generation", BigInteger, nullable=False),
    Column("deal_id", BigInteger, nullable=False),
    Column("store_id", BigInteger, nullable=False),
    Column("split", SmallInteger, nullable=False),
    Column("fx", BigInteger, nullable=False),
    Column("fy", BigInteger, nullable=False),
    Column("lng", Float(precision=53), nullable=False),
    Column("lat", Float(precision=53), nullable=False),
    # read in bands (geo.cover.spread_bands): narrow ones by fx, wide ones by fy
    Index("ix_map_spread_generation_split_fx_fy", "generation", "split", "fx", "fy"),
    Index("ix_map_spread_generation_split_fy_fx", "generation", "split", "fy", "fx"),
)

# deals whose sale window opens or closes within the layer's horizon: always answered live
map_volatile = Table(
    "map_volatile",
    metadata,
    Column("generation", BigInteger, primary_key=True),
    Column("deal_id", BigInteger, primary_key=True),
)

# deals changed since the published generation was built (migration 0017's triggers)
map_dirty = Table(
    "map_dirty",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("deal_id", BigInteger, nullable=False),
)
