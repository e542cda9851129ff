"""GraphQL of reviews: posting verified reviews and merchant replies."""
