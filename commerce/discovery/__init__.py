"""Discovery rules: nearby, text search, maps (viewport and tiles), the deal filter, indexing."""
