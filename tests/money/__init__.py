"""The money path: the ledger, expiry refunds and the states after refunds."""
