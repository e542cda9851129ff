"""Partner API keys: a lookup prefix and the SHA-256 of the key (never the key), budgets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("lookup", sa.String(12), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("cost_per_minute", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 100", name=op.f("ck_api_keys_name_length")),
        sa.CheckConstraint("lookup ~ '^[0-9a-f]{12}$'", name=op.f("ck_api_keys_lookup_format")),
        sa.CheckConstraint("octet_length(key_hash) = 32", name=op.f("ck_api_keys_key_hash_sha256")),
        sa.CheckConstraint(
            "rate_per_minute BETWEEN 1 AND 1000000", name=op.f("ck_api_keys_rate_range")
        ),
        sa.CheckConstraint(
            "cost_per_minute BETWEEN 1 AND 100000000", name=op.f("ck_api_keys_cost_range")
        ),
        sa.CheckConstraint(
            "revoked_at IS NULL OR revoked_at >= created_at",
            name=op.f("ck_api_keys_revoked_after_created"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("lookup", name=op.f("uq_api_keys_lookup")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
