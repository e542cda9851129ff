"""Memberships, visits, auto-join consents, anonymous aggregates and saved segments.

- ``membership_programs``: per merchant, ``auto_join``, ``points_per_unit`` (points per
  currency unit of spend, rounded down per visit) and ``tiers`` (``[{"name", "minPoints"}]``).
- ``memberships``: one row per current member (merchant, token subject); its figures are
  recomputed from ``membership_visits`` on every change.
- ``membership_visits``: a member's visits, one per redemption source (``VOUCHER``,
  ``COUPON``) and id; what retention is computed from.
- ``membership_consents``: a customer's acceptance to be enrolled automatically.
- ``membership_aggregates``: what members who left leave behind, without any subject.
- ``member_segments``: saved member filters.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(12, 2)


def _merchant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["merchant_id"],
        ["merchants.id"],
        name=op.f(f"fk_{table}_merchant_id_merchants"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "membership_programs",
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("auto_join", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("points_per_unit", sa.Numeric(10, 4), server_default="1", nullable=False),
        sa.Column("tiers", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "points_per_unit >= 0 AND points_per_unit <= 1000",
            name=op.f("ck_membership_programs_rate_range"),
        ),
        sa.CheckConstraint(
            "jsonb_typeof(tiers) = 'array'", name=op.f("ck_membership_programs_tiers_array")
        ),
        _merchant_fk("membership_programs"),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_membership_programs")),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("joined_how", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("visits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_spend", MONEY, server_default="0", nullable=False),
        sa.Column("points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tier", sa.String(40), nullable=True),
        sa.Column("first_visit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "joined_how IN ('EXPLICIT', 'AUTO')", name=op.f("ck_memberships_joined_how_known")
        ),
        sa.CheckConstraint(
            "visits >= 0 AND total_spend >= 0 AND points >= 0",
            name=op.f("ck_memberships_figures_nonneg"),
        ),
        sa.CheckConstraint(
            "(visits = 0) = (first_visit_at IS NULL)",
            name=op.f("ck_memberships_first_visit_fields"),
        ),
        _merchant_fk("memberships"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint(
            "merchant_id", "subject", name=op.f("uq_memberships_merchant_id_subject")
        ),
    )
    op.create_index("ix_memberships_subject", "memberships", ["subject"])
    op.create_table(
        "membership_visits",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("membership_id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spend", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "spend >= 0 AND points >= 0", name=op.f("ck_membership_visits_figures_nonneg")
        ),
        sa.CheckConstraint(
            "source IN ('VOUCHER', 'COUPON', 'OTHER')",
            name=op.f("ck_membership_visits_source_known"),
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_membership_visits_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        _merchant_fk("membership_visits"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_visits")),
        sa.UniqueConstraint(
            "source", "source_id", name=op.f("uq_membership_visits_source_source_id")
        ),
    )
    op.create_index(
        "ix_membership_visits_membership_id", "membership_visits", ["membership_id", "at"]
    )
    op.create_index("ix_membership_visits_merchant_id", "membership_visits", ["merchant_id", "at"])
    op.create_table(
        "membership_consents",
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "accepted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _merchant_fk("membership_consents"),
        sa.PrimaryKeyConstraint("subject", "merchant_id", name=op.f("pk_membership_consents")),
    )
    op.create_table(
        "membership_aggregates",
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("members_left", sa.Integer(), server_default="0", nullable=False),
        sa.Column("visits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total_spend", sa.Numeric(14, 2), server_default="0", nullable=False),
        sa.Column("points", sa.BigInteger(), server_default="0", nullable=False),
        _merchant_fk("membership_aggregates"),
        sa.PrimaryKeyConstraint("merchant_id", "currency", name=op.f("pk_membership_aggregates")),
    )
    op.create_table(
        "member_segments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("filter", postgresql.JSONB(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 80", name=op.f("ck_member_segments_name_length")
        ),
        _merchant_fk("member_segments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_segments")),
        sa.UniqueConstraint(
            "merchant_id", "name", name=op.f("uq_member_segments_merchant_id_name")
        ),
    )


def downgrade() -> None:
    op.drop_table("member_segments")
    op.drop_table("membership_aggregates")
    op.drop_table("membership_consents")
    op.drop_index("ix_membership_visits_merchant_id", table_name="membership_visits")
    op.drop_index("ix_membership_visits_membership_id", table_name="membership_visits")
    op.drop_table("membership_visits")
    op.drop_index("ix_memberships_subject", table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("membership_programs")
