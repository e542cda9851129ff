"""Deterministic demo data: real OSM POIs of central Helsinki plus a synthetic Chinese layer."""
