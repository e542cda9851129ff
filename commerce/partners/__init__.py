"""Partner keys: key format and budgets, and the keys kept in the database."""
