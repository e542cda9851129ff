"""The live funnel: impression and detail-view counters, and a booking's attribution.

``funnel_counts`` holds additive counters per (deal, UTC hour, channel, partner key): each
gateway process counts in memory and flushes ``INSERT ... ON CONFLICT DO UPDATE SET n = n +
EXCLUDED.n`` every few seconds (commerce/insights/funnel.py). ``partner_key_id`` 0 means no
partner key (a primary key cannot hold NULL). A booking made from a signed ``attribution``
token keeps the token's channel and partner key (``bookings.channel``,
``bookings.partner_key_id``); redemptions reach them through their voucher's booking.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = "'NEARBY', 'SEARCH', 'MAP', 'DIRECT'"


def upgrade() -> None:
    op.create_table(
        "funnel_counts",
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("partner_key_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("impressions", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("detail_views", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint(f"channel IN ({CHANNELS})", name=op.f("ck_funnel_counts_channel_known")),
        sa.CheckConstraint("partner_key_id >= 0", name=op.f("ck_funnel_counts_partner_nonneg")),
        sa.CheckConstraint(
            "impressions >= 0 AND detail_views >= 0", name=op.f("ck_funnel_counts_counts_nonneg")
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_funnel_counts_deal_id_deals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "deal_id", "hour", "channel", "partner_key_id", name=op.f("pk_funnel_counts")
        ),
    )
    op.add_column("bookings", sa.Column("channel", sa.String(8), nullable=True))
    op.add_column("bookings", sa.Column("partner_key_id", sa.BigInteger(), nullable=True))
    op.create_check_constraint(
        op.f("ck_bookings_channel_known"), "bookings", f"channel IN ({CHANNELS})"
    )
    op.create_foreign_key(
        op.f("fk_bookings_partner_key_id_api_keys"),
        "bookings",
        "api_keys",
        ["partner_key_id"],
        ["id"],
    )
    # insights count a merchant's bookings by creation time, deal by deal
    op.create_index("ix_bookings_deal_created", "bookings", ["deal_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_bookings_deal_created", table_name="bookings")
    op.drop_constraint(op.f("fk_bookings_partner_key_id_api_keys"), "bookings", type_="foreignkey")
    op.drop_constraint(op.f("ck_bookings_channel_known"), "bookings", type_="check")
    op.drop_column("bookings", "partner_key_id")
    op.drop_column("bookings", "channel")
    op.drop_table("funnel_counts")
