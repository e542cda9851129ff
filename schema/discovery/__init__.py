"""GraphQL of discovery: nearby, text search and maps."""
