"""The live funnel: attribution tokens, in-memory impression counters and merchant insights."""
