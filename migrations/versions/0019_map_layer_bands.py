"""Map layer: ``map_spread`` read by spread bands (geo.cover.spread_bands), ``map_cells`` by
narrow rectangles too.

A view reads the stores of the layer's spread deals split level by split level, in thin
bands along the edges of its fitting cells: narrow bands by ``fx``, wide ones by ``fy``, the
other coordinate checked in the index. The two indexes replace the ones the earlier reading
used (by split and ``fx`` alone, by ``fx``, by deal). The cover now refines a view's edges
down to the finest level: its rings are thin rectangles, and the narrow ones (along the west
and east edges) are read by ``cx`` (the primary key starts with ``cy``).

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW = {
    "ix_map_spread_generation_split_fx_fy": ["generation", "split", "fx", "fy"],
    "ix_map_spread_generation_split_fy_fx": ["generation", "split", "fy", "fx"],
}
_OLD = {
    "ix_map_spread_generation_split_fx": ["generation", "split", "fx"],
    "ix_map_spread_generation_fx": ["generation", "fx"],
    "ix_map_spread_generation_deal_id": ["generation", "deal_id"],
}


_CELLS = "ix_map_cells_generation_level_cx_cy"


def upgrade() -> None:
    op.create_index(_CELLS, "map_cells", ["generation", "level", "cx", "cy"])
    for name, columns in _NEW.items():
        op.create_index(name, "map_spread", columns)
    for name in _OLD:
        op.drop_index(name, table_name="map_spread")


def downgrade() -> None:
    for name, columns in _OLD.items():
        op.create_index(name, "map_spread", columns)
    for name in _NEW:
        op.drop_index(name, table_name="map_spread")
    op.drop_index(_CELLS, table_name="map_cells")
