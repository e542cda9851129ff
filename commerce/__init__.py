"""Business rules with no GraphQL and no HTTP: discovery rules, opening hours, cursors."""
