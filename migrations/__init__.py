"""Alembic migrations of the PostGIS schema (run with ``o2o migrate``)."""
