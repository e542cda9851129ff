"""GraphQL subscriptions over graphql-transport-ws: redemptions, merchantActivity,
bookingStatus and dealStock."""
