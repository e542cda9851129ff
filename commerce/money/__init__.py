"""Money rules: the double-entry ledger's postings (``ledger.py``)."""
