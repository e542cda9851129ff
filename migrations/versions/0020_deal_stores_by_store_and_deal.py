"""``deal_stores`` by store, then deal: the KNN page's look-up of a store's deals reads the
index alone (an index-only scan) instead of one heap page per store.

The index replaces the one by ``store_id`` alone, which it serves as well.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = "ix_deal_stores_store_id_deal_id"
_OLD = "ix_deal_stores_store_id"


def upgrade() -> None:
    op.create_index(_NEW, "deal_stores", ["store_id", "deal_id"])
    op.drop_index(_OLD, table_name="deal_stores")


def downgrade() -> None:
    op.create_index(_OLD, "deal_stores", ["store_id"])
    op.drop_index(_NEW, table_name="deal_stores")
