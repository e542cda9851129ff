"""Live events: the LISTEN loop, the in-process fan-out to subscriptions, and their limits."""
