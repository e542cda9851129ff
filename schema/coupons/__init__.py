"""The coupon surface: campaigns (create, update, publish, pause, end), claims, redemption
and its reversal, ``nearbyCoupons``, ``Merchant.coupons`` and ``me.coupons``."""
