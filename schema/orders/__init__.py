"""GraphQL of orders: booking, payment, vouchers, redemption and cancellation."""
