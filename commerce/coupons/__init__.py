"""Coupon campaigns: terms and discount arithmetic, the lifecycle, claims into wallets,
redemption on a bill at a store, and nearby discovery of published coupons."""
