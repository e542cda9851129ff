"""``StaffRole``: what a merchant's staff member may do (``commerce.identity.roles``)."""

from __future__ import annotations

import enum

import strawberry


@strawberry.enum(description="The role of a merchant's staff member (token claim staff_role).")
class StaffRole(enum.Enum):
    OWNER = strawberry.enum_value("owner", description="Everything, including staff.")
    MANAGER = strawberry.enum_value(
        "manager", description="Stores, deals, slots, stock and orders."
    )
    CASHIER = strawberry.enum_value(
        "cashier", description="Redeem and reverse; today's orders of its own store."
    )
