"""Payments: the provider interface, the sandbox provider and the pay/refund/webhook flows."""
