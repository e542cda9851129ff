"""``commerce.identity.roles``: the whole role matrix, store-bound cashiers, admins, other
merchants, and the staff claims of a token (``staff_role``, ``store``)."""

from __future__ import annotations

from typing import Any

import pytest

from commerce.errors import ForbiddenError
from commerce.identity.principal import Principal
from commerce.identity.roles import ACTIONS, Action, can, require
from gateway.auth import principal_from_claims

MERCHANT, OTHER, STORE, OTHER_STORE = 7, 8, 70, 71

MATRIX: dict[str, frozenset[str]] = {
    "owner": frozenset(ACTIONS),
    "manager": frozenset(ACTIONS) - {"manage_staff"},
    "cashier": frozenset({"redeem", "view_orders", "view_insights"}),
}


def staff(role: str, store: int | None = None, merchant: int = MERCHANT) -> Principal:
    return Principal("s", frozenset({"merchant"}), merchant, staff_role=role, store_id=store)


@pytest.mark.parametrize("role", list(MATRIX))
@pytest.mark.parametrize("action", ACTIONS)
def test_the_role_matrix(role: str, action: Action) -> None:
    assert can(staff(role), action, MERCHANT, STORE) is (action in MATRIX[role])
    assert can(staff(role), action, MERCHANT) is (action in MATRIX[role])


@pytest.mark.parametrize("action", ACTIONS)
def test_nobody_acts_for_another_merchant_but_admins(action: Action) -> None:
    for role in MATRIX:
        assert can(staff(role, merchant=OTHER), action, MERCHANT, STORE) is False
    customer = Principal("c", frozenset({"customer"}))
    assert can(customer, action, MERCHANT, STORE) is False
    assert can(None, action, MERCHANT, STORE) is False
    admin = Principal("a", frozenset({"admin"}))
    assert can(admin, action, MERCHANT, STORE) is True


def test_a_cashier_bound_to_a_store_acts_only_there() -> None:
    bound = staff("cashier", store=STORE)
    assert can(bound, "redeem", MERCHANT, STORE) is True
    assert can(bound, "redeem", MERCHANT, OTHER_STORE) is False
    assert can(bound, "view_orders", MERCHANT, STORE) is True
    assert can(bound, "view_orders", MERCHANT, None) is False  # not the whole merchant
    assert can(staff("cashier"), "redeem", MERCHANT, OTHER_STORE) is True  # not bound


def test_require_says_what_is_missing() -> None:
    with pytest.raises(ForbiddenError, match="a cashier may not manage stores"):
        require(staff("cashier"), "manage_stores", MERCHANT)
    with pytest.raises(ForbiddenError, match="a manager may not manage staff"):
        require(staff("manager"), "manage_staff", MERCHANT)
    with pytest.raises(ForbiddenError, match="only at their own store"):
        require(staff("cashier", store=STORE), "redeem", MERCHANT, OTHER_STORE)
    with pytest.raises(ForbiddenError, match="only staff of this merchant"):
        require(staff("owner", merchant=OTHER), "manage_deals", MERCHANT)
    require(staff("owner"), "manage_staff", MERCHANT)  # no error


@pytest.mark.parametrize(
    ("claims", "role", "store", "audit_role"),
    [
        ({}, "cashier", None, "cashier"),
        ({"staff_role": "owner"}, "owner", None, "owner"),
        ({"staff_role": "MANAGER"}, "manager", None, "manager"),
        ({"staff_role": "cashier", "store": "12"}, "cashier", 12, "cashier"),
        ({"store": 12}, "cashier", 12, "cashier"),
    ],
)
def test_staff_claims(
    claims: dict[str, Any], role: str, store: int | None, audit_role: str
) -> None:
    principal = principal_from_claims(
        {"sub": "s", "roles": ["merchant"], "merchant_id": 1, **claims}
    )
    assert (principal.staff_role, principal.store_id, principal.audit_role) == (
        role,
        store,
        audit_role,
    )


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"roles": ["merchant"], "merchant_id": 1, "staff_role": "boss"}, "staff_role must be"),
        ({"roles": ["merchant"], "merchant_id": 1, "staff_role": 3}, "staff_role must be"),
        ({"roles": ["merchant"], "merchant_id": 1, "staff_role": "owner", "store": 2}, "cashier"),
        ({"roles": ["merchant"], "merchant_id": 1, "store": -2}, "store must be"),
        ({"roles": ["customer"], "staff_role": "owner"}, "only for merchant staff"),
        ({"roles": ["admin"], "store": 3}, "only for merchant staff"),
    ],
)
def test_bad_staff_claims(claims: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        principal_from_claims({"sub": "s", **claims})


def test_admins_are_audited_as_admins() -> None:
    assert Principal("a", frozenset({"admin", "merchant"}), 1).audit_role == "admin"
