"""Merchant staff: an append-only audit of staff writes, store versions, special hours and
the merchant's owner.

- ``staff_audit``: who (subject, role), when, what (action, entity, id), before and after.
  Rows are never changed; deleting needs the transaction-local opt-in of migration 0003's
  ``o2o_append_only()`` (``SET LOCAL o2o.purge = 'on'``), and TRUNCATE is refused.
- ``stores.version``: optimistic concurrency for ``updateStore``.
- ``store_special_hours``: "closed" or OSM hours on one date (holidays).
- ``merchants.owner_subject``: the token subject of the merchant's owner, when known.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_TRUNCATE_FUNCTION = """
CREATE FUNCTION o2o_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$
"""


def upgrade() -> None:
    op.add_column("merchants", sa.Column("owner_subject", sa.String(length=120), nullable=True))
    op.add_column("stores", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_check_constraint(op.f("ck_stores_version_positive"), "stores", "version >= 1")
    op.create_table(
        "store_special_hours",
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "length(hours) BETWEEN 1 AND 500", name=op.f("ck_store_special_hours_hours_length")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_special_hours_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "date", name=op.f("pk_store_special_hours")),
    )
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint(
            "role IN ('owner', 'manager', 'cashier', 'admin')", name=op.f("ck_staff_audit_role")
        ),
        sa.CheckConstraint(
            "before IS NOT NULL OR after IS NOT NULL", name=op.f("ck_staff_audit_some_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit")),
    )
    op.create_index(
        "ix_staff_audit_merchant_id_at", "staff_audit", ["merchant_id", "at"], unique=False
    )
    op.create_index(
        "ix_staff_audit_entity_entity_id", "staff_audit", ["entity", "entity_id"], unique=False
    )
    op.execute(
        "CREATE TRIGGER staff_audit_append_only BEFORE UPDATE OR DELETE ON staff_audit"
        " FOR EACH ROW EXECUTE FUNCTION o2o_append_only()"
    )
    op.execute(NO_TRUNCATE_FUNCTION)
    op.execute(
        "CREATE TRIGGER staff_audit_no_truncate BEFORE TRUNCATE ON staff_audit"
        " FOR EACH STATEMENT EXECUTE FUNCTION o2o_no_truncate()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER staff_audit_no_truncate ON staff_audit")
    op.execute("DROP FUNCTION o2o_no_truncate()")
    op.execute("DROP TRIGGER staff_audit_append_only ON staff_audit")
    op.drop_index("ix_staff_audit_entity_entity_id", table_name="staff_audit")
    op.drop_index("ix_staff_audit_merchant_id_at", table_name="staff_audit")
    op.drop_table("staff_audit")
    op.drop_table("store_special_hours")
    op.drop_constraint(op.f("ck_stores_version_positive"), "stores", type_="check")
    op.drop_column("stores", "version")
    op.drop_column("merchants", "owner_subject")
