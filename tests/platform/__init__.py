"""The platform: HTTP edge, errors, schema, migrations, seed, playground, statement counts."""
