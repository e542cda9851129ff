"""HTTP edge of o2o-gateway: the Starlette app and its routes (GraphQL, tiles, webhooks, map,
playground, health), authentication, partner keys and limits, settings and the CLI."""
