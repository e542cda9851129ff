"""Coupons: campaigns, claims, redemptions, wallets and their figures."""
