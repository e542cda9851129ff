"""Persistence: the connection owner, tables, typed rows, migrations, one SQL module per domain."""
