"""Search outbox for stock: record a deal when it sells out or comes back, not on every sale.

Search documents carry ``in_stock`` (search mapping version 2), so a deal must be
republished when ``remaining_quantity`` crosses zero. Watching the column itself would write
an outbox row with every booking; this trigger fires only when "sold out" (a limited stock
at zero; NULL is not limited) flips, through the ``search_outbox_record`` function of
migration 0002. After upgrading, run ``o2o reindex`` once to index the new field.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sold_out(row: str) -> str:
    return f"({row}.remaining_quantity IS NOT NULL AND {row}.remaining_quantity <= 0)"


def upgrade() -> None:
    op.execute(
        "CREATE TRIGGER deals_search_outbox_stock"
        " AFTER UPDATE OF remaining_quantity ON deals FOR EACH ROW"
        f" WHEN ({_sold_out('OLD')} <> {_sold_out('NEW')})"
        " EXECUTE FUNCTION search_outbox_record('deal', 'id')"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS deals_search_outbox_stock ON deals")
