"""Authentication and permissions over HTTP and WebSocket."""
