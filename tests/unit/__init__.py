"""Business rules without services: fast, no database, no search server."""
