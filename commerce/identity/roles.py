"""Staff roles: which merchant operation each role may do, in one table.

Actions (the ``action`` argument of :func:`can`):

- ``manage_stores``: create and update stores, set special hours (OWNER, MANAGER)
- ``manage_deals``: create, update, publish, pause and end deals (OWNER, MANAGER)
- ``manage_coupons``: create, update, publish, pause and end coupon campaigns (OWNER,
  MANAGER)
- ``manage_stock``: adjust a deal's stock (OWNER, MANAGER)
- ``manage_slots``: set a deal's time slots (OWNER, MANAGER)
- ``view_orders``: list the merchant's orders (OWNER, MANAGER; a CASHIER only its store's)
- ``redeem``: redeem and reverse vouchers and coupons (every role; a CASHIER at its store)
- ``view_insights``: the live funnel, ``Merchant.insights`` (every role; a CASHIER at its
  store)
- ``view_statement``: the money statement, ``Merchant.statement`` and its CSV (OWNER,
  MANAGER)
- ``manage_members``: the member list, segments, retention and the membership program
  (OWNER, MANAGER)
- ``manage_staff``: staff and the merchant itself (OWNER)

Platform admins may do everything for every merchant. A CASHIER whose token names a store
(the ``store`` claim) is held to that store: its store-bound actions need ``store_id`` to be
that store; a cashier without one may act at every store of its merchant (the behaviour
before roles existed). Which day's orders a cashier sees is the orders operation's rule.
Replying to a review stays open to every staff role (``Principal.require_staff_of``).
"""

from __future__ import annotations

from typing import Final, Literal

from commerce.errors import ForbiddenError
from commerce.identity.principal import Principal

Action = Literal[
    "manage_stores",
    "manage_deals",
    "manage_coupons",
    "manage_stock",
    "manage_slots",
    "view_orders",
    "redeem",
    "view_insights",
    "view_statement",
    "manage_members",
    "manage_staff",
]

ACTIONS: Final[tuple[Action, ...]] = (
    "manage_stores",
    "manage_deals",
    "manage_coupons",
    "manage_stock",
    "manage_slots",
    "view_orders",
    "redeem",
    "view_insights",
    "view_statement",
    "manage_members",
    "manage_staff",
)

_MANAGER: Final = frozenset(ACTIONS) - {"manage_staff"}
ALLOWED: Final[dict[str, frozenset[str]]] = {
    "owner": frozenset(ACTIONS),
    "manager": _MANAGER,
    "cashier": frozenset({"redeem", "view_orders", "view_insights"}),
}
# actions a store-bound cashier may only do at its own store
_STORE_BOUND: Final = frozenset({"redeem", "view_orders", "view_insights"})

_DESCRIPTIONS: Final[dict[str, str]] = {
    "manage_stores": "manage stores",
    "manage_deals": "manage deals",
    "manage_coupons": "manage coupons",
    "manage_stock": "change stock",
    "manage_slots": "manage time slots",
    "view_orders": "see orders",
    "redeem": "redeem vouchers",
    "view_insights": "see insights",
    "view_statement": "see statements",
    "manage_members": "see and manage members",
    "manage_staff": "manage staff",
}


def can(
    principal: Principal | None,
    action: Action,
    merchant_id: int,
    store_id: int | None = None,
) -> bool:
    """May ``principal`` do ``action`` for ``merchant_id`` (at ``store_id``, when the action
    concerns one store; the caller must have checked that the store is the merchant's)?"""
    if principal is None:
        return False
    if principal.is_admin:
        return True
    if "merchant" not in principal.roles or principal.merchant_id != merchant_id:
        return False
    if action not in ALLOWED.get(principal.staff_role, frozenset()):
        return False
    if principal.staff_role == "cashier" and action in _STORE_BOUND:
        return principal.store_id is None or principal.store_id == store_id
    return True


def require(
    principal: Principal | None,
    action: Action,
    merchant_id: int,
    store_id: int | None = None,
) -> None:
    """:func:`can`, raising ``FORBIDDEN`` with a message that names the missing right."""
    if can(principal, action, merchant_id, store_id):
        return
    what = _DESCRIPTIONS[action]
    if principal is None or not principal.is_staff_of(merchant_id):
        raise ForbiddenError(f"only staff of this merchant may {what}")
    if principal.staff_role == "cashier" and action in _STORE_BOUND:
        raise ForbiddenError(f"a cashier may {what} only at their own store")
    raise ForbiddenError(f"a {principal.staff_role} may not {what}")
