"""Everything that speaks to Elasticsearch (derived text index); see the search issue."""
