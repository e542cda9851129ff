"""The service as a whole: HTTP edge, errors, schema, migrations, seed, standard clients,
fuzzing, federation, observability, statement counts."""
