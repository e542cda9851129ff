"""Tests against a real PostGIS database and the gateway served over HTTP."""
