"""Orders over HTTP: booking, payment, vouchers, redemption, cancellation."""
