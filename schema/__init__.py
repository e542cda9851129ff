"""The GraphQL surface: types, inputs, queries, loaders and extensions (Strawberry)."""
