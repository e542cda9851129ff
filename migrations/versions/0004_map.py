"""Map viewports and tiles: a GiST index on stores' locations as planar lat/lng geometry.

Viewport boxes and tiles are lat/lng rectangles; ``location::geometry && envelope`` matches
them exactly (a geography box would follow great circles), and this index serves it.
``IF NOT EXISTS`` lets an existing database that already got the index by hand (the
benchmark database) migrate cleanly.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_stores_location_geometry"
        " ON stores USING gist ((location::geometry))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_stores_location_geometry")
