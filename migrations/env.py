"""Alembic environment: runs migrations on the configured PostgreSQL with GeoAlchemy2 helpers."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from db.database import sqlalchemy_url
from db.tables import metadata

config = context.config


def run_migrations_online() -> None:
    url = sqlalchemy_url(config.get_main_option("database_url") or "")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `o2o migrate`")
run_migrations_online()
