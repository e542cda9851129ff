"""Everything that speaks SQL to PostGIS: the connection owner, tables and queries."""
