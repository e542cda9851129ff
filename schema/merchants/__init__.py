"""The merchant side of the graph: one module per mutation with its result union; the
refusals several of them share are in :mod:`schema.merchants.results`."""
