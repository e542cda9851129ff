"""HTTP edge of o2o-gateway: Starlette app, settings, middleware, playground and the CLI."""
