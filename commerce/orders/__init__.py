"""Orders: booking, payment, vouchers, redemption, cancellation and the sweeper."""
