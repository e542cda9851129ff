"""Deal lifecycle: status and version on deals, their own category, usage rules, voucher
validity, and what merchants' order lists need.

- ``deals.status``: DRAFT, PUBLISHED, PAUSED or ENDED. Rows written before (the seed, the
  test and bench factories) are PUBLISHED, so the column defaults to that; ``createDeal``
  writes DRAFT explicitly. Only a PUBLISHED deal is on offer (``domain/offer.py``).
- ``deals.version``: optimistic concurrency for every merchant write of a deal.
- ``deals.category_slug``: the deal's own category; NULL means the merchant's.
- ``deals.usage_rules``: how the voucher may be used, in words.
- ``deals.voucher_valid_days``: vouchers expire that many days after payment; NULL: at the
  end of the sale window (the rule before this migration).
- A trigger records a deal in the search outbox when its status or category changes (the
  trigger of migration 0002 watches only the columns it knew).
- ``ix_bookings_deal_id_id``: a merchant's orders, newest first, per deal.
- ``deal_slot_plans``: a deal's weekly slot schedule (rules in the store's zone, how many
  days ahead), from which ``deal_slots`` rows are generated and kept rolling; how far they
  have been generated (``generated_through``, a local date).

After upgrading, run ``o2o reindex`` once: search documents carry ``status`` (mapping 3).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEAL_STATUSES = "'DRAFT', 'PUBLISHED', 'PAUSED', 'ENDED'"


def upgrade() -> None:
    op.add_column(
        "deals",
        sa.Column("status", sa.String(length=10), server_default="PUBLISHED", nullable=False),
    )
    op.add_column("deals", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("deals", sa.Column("category_slug", sa.String(length=40), nullable=True))
    op.add_column("deals", sa.Column("usage_rules", sa.Text(), nullable=True))
    op.add_column("deals", sa.Column("voucher_valid_days", sa.SmallInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_deals_category_slug_categories"),
        "deals",
        "categories",
        ["category_slug"],
        ["slug"],
    )
    op.create_check_constraint(
        op.f("ck_deals_status_known"), "deals", f"status IN ({DEAL_STATUSES})"
    )
    op.create_check_constraint(op.f("ck_deals_version_positive"), "deals", "version >= 1")
    op.create_check_constraint(
        op.f("ck_deals_usage_rules_length"), "deals", "length(usage_rules) <= 2000"
    )
    op.create_check_constraint(
        op.f("ck_deals_voucher_valid_days_range"), "deals", "voucher_valid_days BETWEEN 1 AND 3650"
    )
    op.create_index("ix_bookings_deal_id_id", "bookings", ["deal_id", "id"], unique=False)
    op.create_table(
        "deal_slot_plans",
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("days_ahead", sa.SmallInteger(), nullable=False),
        sa.Column("generated_through", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "days_ahead BETWEEN 1 AND 90", name=op.f("ck_deal_slot_plans_days_ahead_range")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(rules) = 'array'", name=op.f("ck_deal_slot_plans_rules_array")
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_deal_slot_plans_deal_id_deals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deal_id", name=op.f("pk_deal_slot_plans")),
    )
    op.execute(
        "CREATE TRIGGER deals_search_outbox_status"
        " AFTER UPDATE OF status, category_slug ON deals FOR EACH ROW"
        " WHEN (OLD.status IS DISTINCT FROM NEW.status"
        " OR OLD.category_slug IS DISTINCT FROM NEW.category_slug)"
        " EXECUTE FUNCTION search_outbox_record('deal', 'id')"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS deals_search_outbox_status ON deals")
    op.drop_table("deal_slot_plans")
    op.drop_index("ix_bookings_deal_id_id", table_name="bookings")
    for name in ("voucher_valid_days_range", "usage_rules_length", "version_positive"):
        op.drop_constraint(op.f(f"ck_deals_{name}"), "deals", type_="check")
    op.drop_constraint(op.f("ck_deals_status_known"), "deals", type_="check")
    op.drop_constraint(op.f("fk_deals_category_slug_categories"), "deals", type_="foreignkey")
    for column in ("voucher_valid_days", "usage_rules", "category_slug", "version", "status"):
        op.drop_column("deals", column)
