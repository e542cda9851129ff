"""The merchant side: merchants, stores, special hours, staff audit (and deals, stock, slots
and orders, written by the operations of this package)."""
