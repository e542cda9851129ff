"""Memberships: visits, joining and leaving, the merchant's CRM (members, segments,
retention), and the audience rule coupons use."""
