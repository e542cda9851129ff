"""Everything that speaks to Elasticsearch: client factory (with the optional plain-JSON
transport), index mappings and analyzers, query builders, versioned bulk writes and the
alias swap. PostgreSQL stays the source of truth; of our packages, this one imports only
``domain``."""
