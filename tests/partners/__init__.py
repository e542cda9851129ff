"""Partner keys, budgets and query cost over HTTP."""
