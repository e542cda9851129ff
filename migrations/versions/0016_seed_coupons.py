"""Demo coupons: ``coupons.external_key`` (nullable, unique), so the seed upserts its
published demo coupons idempotently like its deals (seed/load.py). Coupons made through
``createCoupon`` have none.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("coupons", sa.Column("external_key", sa.String(length=80), nullable=True))
    op.create_unique_constraint(op.f("uq_coupons_external_key"), "coupons", ["external_key"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_coupons_external_key"), "coupons", type_="unique")
    op.drop_column("coupons", "external_key")
