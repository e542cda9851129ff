"""Memberships and the merchant's CRM on the graph: ``Membership``, ``me.memberships``,
``Merchant.members``, segments, ``Merchant.retention`` and their mutations."""
