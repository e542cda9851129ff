"""The pre-aggregated map layer: cells per level, the layer's deals, their spread stores,
volatile deals, and ``map_dirty`` filled by triggers with every deal whose place on the map
may have changed since the layer was built (see geo/layer.py and ARCHITECTURE.md).

Triggers record a deal when it is inserted or deleted, when its status or sale window
changes, when "sold out" flips, when a store is linked or unlinked, and (for each of its
deals) when a store moves. A TRUNCATE of deals, stores or deal_stores drops the published
layer, so maps answer live until the next build.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG = sa.BigInteger()


def _tables() -> None:
    op.create_table(
        "map_layer_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("generation", _BIG, nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("usable_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("build_ms", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_map_layer_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_layer_state")),
    )
    op.create_table(
        "map_cells",
        sa.Column("generation", _BIG, nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("cy", _BIG, nullable=False),
        sa.Column("cx", _BIG, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sum_lng", sa.Float(precision=53), nullable=False),
        sa.Column("sum_lat", sa.Float(precision=53), nullable=False),
        *(
            sa.Column(name, _BIG, nullable=False)
            for name in ("min_fx", "max_fx", "min_fy", "max_fy")
        ),
        sa.PrimaryKeyConstraint("generation", "level", "cy", "cx", name=op.f("pk_map_cells")),
    )
    op.create_table(
        "map_deals",
        sa.Column("generation", _BIG, nullable=False),
        sa.Column("deal_id", _BIG, nullable=False),
        sa.Column("fx", _BIG, nullable=False),
        sa.Column("fy", _BIG, nullable=False),
        sa.PrimaryKeyConstraint("generation", "deal_id", name=op.f("pk_map_deals")),
    )
    op.create_table(
        "map_spread",
        sa.Column("generation", _BIG, nullable=False),
        sa.Column("deal_id", _BIG, nullable=False),
        sa.Column("store_id", _BIG, nullable=False),
        sa.Column("split", sa.SmallInteger(), nullable=False),
        sa.Column("fx", _BIG, nullable=False),
        sa.Column("fy", _BIG, nullable=False),
        sa.Column("lng", sa.Float(precision=53), nullable=False),
        sa.Column("lat", sa.Float(precision=53), nullable=False),
    )
    op.create_index(op.f("ix_map_spread_generation_fx"), "map_spread", ["generation", "fx"])
    op.create_index(
        op.f("ix_map_spread_generation_deal_id"), "map_spread", ["generation", "deal_id"]
    )
    op.create_index(
        op.f("ix_map_spread_generation_split_fx"), "map_spread", ["generation", "split", "fx"]
    )
    op.create_table(
        "map_volatile",
        sa.Column("generation", _BIG, nullable=False),
        sa.Column("deal_id", _BIG, nullable=False),
        sa.PrimaryKeyConstraint("generation", "deal_id", name=op.f("pk_map_volatile")),
    )
    op.create_table(
        "map_dirty",
        sa.Column("id", _BIG, sa.Identity(always=True), nullable=False),
        sa.Column("deal_id", _BIG, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_dirty")),
    )


_SOLD_OUT = "({row}.remaining_quantity IS NOT NULL AND {row}.remaining_quantity <= 0)"
_DEAL_CHANGED = (
    "OLD.status IS DISTINCT FROM NEW.status OR OLD.valid_from IS DISTINCT FROM NEW.valid_from"
    " OR OLD.valid_until IS DISTINCT FROM NEW.valid_until"
    f" OR {_SOLD_OUT.format(row='OLD')} <> {_SOLD_OUT.format(row='NEW')}"
)


def _functions() -> None:
    op.execute(
        "CREATE FUNCTION map_dirty_deal() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF TG_TABLE_NAME = 'deals' THEN\n"
        "    INSERT INTO map_dirty (deal_id) VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id"
        " ELSE NEW.id END);\n"
        "  ELSE\n"
        "    INSERT INTO map_dirty (deal_id) VALUES (CASE WHEN TG_OP = 'DELETE' THEN"
        " OLD.deal_id ELSE NEW.deal_id END);\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END $$"
    )
    op.execute(
        "CREATE FUNCTION map_dirty_store() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  INSERT INTO map_dirty (deal_id) SELECT deal_id FROM deal_stores WHERE store_id = NEW.id;\n"
        "  RETURN NULL;\n"
        "END $$"
    )
    op.execute(
        "CREATE FUNCTION map_layer_drop() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  DELETE FROM map_layer_state;\n"
        "  RETURN NULL;\n"
        "END $$"
    )


def _triggers() -> None:
    op.execute(
        "CREATE TRIGGER deals_map_dirty AFTER INSERT OR DELETE ON deals"
        " FOR EACH ROW EXECUTE FUNCTION map_dirty_deal()"
    )
    op.execute(
        "CREATE TRIGGER deals_map_dirty_update AFTER UPDATE ON deals FOR EACH ROW"
        f" WHEN ({_DEAL_CHANGED}) EXECUTE FUNCTION map_dirty_deal()"
    )
    op.execute(
        "CREATE TRIGGER deal_stores_map_dirty AFTER INSERT OR DELETE OR UPDATE ON deal_stores"
        " FOR EACH ROW EXECUTE FUNCTION map_dirty_deal()"
    )
    op.execute(
        "CREATE TRIGGER deal_stores_map_dirty_old AFTER UPDATE ON deal_stores"
        " FOR EACH ROW EXECUTE FUNCTION map_dirty_deal_old()"
    )
    op.execute(
        "CREATE TRIGGER stores_map_dirty AFTER UPDATE OF location ON stores FOR EACH ROW"
        " WHEN (ST_AsBinary(OLD.location) IS DISTINCT FROM ST_AsBinary(NEW.location))"
        " EXECUTE FUNCTION map_dirty_store()"
    )
    for table in ("deals", "stores", "deal_stores"):
        op.execute(
            f"CREATE TRIGGER {table}_map_truncate AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION map_layer_drop()"
        )


def upgrade() -> None:
    _tables()
    _functions()
    op.execute(
        "CREATE FUNCTION map_dirty_deal_old() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  INSERT INTO map_dirty (deal_id) VALUES (OLD.deal_id);\n"
        "  RETURN NULL;\n"
        "END $$"
    )
    _triggers()


def downgrade() -> None:
    for table in ("deals", "stores", "deal_stores"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_map_truncate ON {table}")
    op.execute("DROP TRIGGER IF EXISTS stores_map_dirty ON stores")
    op.execute("DROP TRIGGER IF EXISTS deal_stores_map_dirty_old ON deal_stores")
    op.execute("DROP TRIGGER IF EXISTS deal_stores_map_dirty ON deal_stores")
    op.execute("DROP TRIGGER IF EXISTS deals_map_dirty_update ON deals")
    op.execute("DROP TRIGGER IF EXISTS deals_map_dirty ON deals")
    for function in ("map_layer_drop", "map_dirty_store", "map_dirty_deal_old", "map_dirty_deal"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    for table in (
        "map_dirty",
        "map_volatile",
        "map_spread",
        "map_deals",
        "map_cells",
        "map_layer_state",
    ):
        op.drop_table(table)
