"""The shared vocabulary of every layer: sort keys, filter values and the offer rule.

Plain typed values and pure functions, no I/O. Every package may import it; it imports none
of ours, so geo, search and commerce speak the same words without importing each other.
"""
