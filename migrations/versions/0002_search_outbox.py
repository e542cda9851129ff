"""Search outbox: triggers record every change that a search document depends on.

PostgreSQL stays the source of truth. A trigger writes one outbox row per changed merchant,
store, deal, deal/store link or category in the same transaction as the change, so no change
can reach the database without reaching the outbox. Stock columns (``remaining_quantity``)
are deliberately not watched: search never serves stock, it is read fresh from PostgreSQL.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_WATCHED = {
    "merchants": (
        "merchant",
        "id",
        "name, names, category_slug, price_level, review_count, rating_total",
    ),
    "deals": (
        "deal",
        "id",
        "title, description, price, original_price, currency, valid_from, valid_until, merchant_id",
    ),
    "deal_stores": ("deal", "deal_id", "deal_id, store_id"),
    "categories": ("category", "slug", "names, terms, position"),
}


def upgrade() -> None:
    op.create_table(
        "search_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("entity_key", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "entity IN ('merchant', 'store', 'deal', 'category')",
            name=op.f("ck_search_outbox_entity_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_outbox")),
    )
    op.create_index(
        "ix_search_outbox_pending",
        "search_outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.execute("CREATE SEQUENCE search_document_version")
    op.execute(
        """
        CREATE FUNCTION search_outbox_record() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_key text := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) ->> TG_ARGV[1] END;
            new_key text := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) ->> TG_ARGV[1] END;
        BEGIN
            IF new_key IS NOT NULL THEN
                INSERT INTO search_outbox (entity, entity_key) VALUES (TG_ARGV[0], new_key);
            END IF;
            IF old_key IS NOT NULL AND old_key IS DISTINCT FROM new_key THEN
                INSERT INTO search_outbox (entity, entity_key) VALUES (TG_ARGV[0], old_key);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    # A store change touches the deals sold there and its merchant's document; the merchant
    # is recorded directly because a deleted store can no longer lead to it.
    op.execute(
        """
        CREATE FUNCTION search_outbox_store() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                INSERT INTO search_outbox (entity, entity_key)
                VALUES ('store', OLD.id::text), ('merchant', OLD.merchant_id::text);
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO search_outbox (entity, entity_key)
                VALUES ('store', NEW.id::text), ('merchant', NEW.merchant_id::text);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    for table, (entity, key, columns) in _WATCHED.items():
        op.execute(
            f"CREATE TRIGGER {table}_search_outbox"
            f" AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION search_outbox_record('{entity}', '{key}')"
        )
    op.execute(
        "CREATE TRIGGER stores_search_outbox"
        " AFTER INSERT OR DELETE OR UPDATE OF merchant_id, name, address, location ON stores"
        " FOR EACH ROW EXECUTE FUNCTION search_outbox_store()"
    )


def downgrade() -> None:
    for table in (*_WATCHED, "stores"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_search_outbox ON {table}")
    op.execute("DROP FUNCTION IF EXISTS search_outbox_store()")
    op.execute("DROP FUNCTION IF EXISTS search_outbox_record()")
    op.execute("DROP SEQUENCE IF EXISTS search_document_version")
    op.drop_table("search_outbox")
