"""Memberships, the merchant's CRM, segments and retention against the real stack."""
