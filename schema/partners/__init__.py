"""GraphQL of partners: the static query cost charged to budgets."""
