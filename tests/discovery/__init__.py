"""Discovery over HTTP: nearby, search, maps, hours."""
