"""Live subscriptions on the real stack: two gateway processes, the npm graphql-ws client."""
