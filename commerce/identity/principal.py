"""Who is calling: the verified claims of a bearer token, and the permission rules on them."""

from __future__ import annotations

from dataclasses import dataclass

from commerce.errors import ForbiddenError

ROLES = ("customer", "merchant", "admin")
STAFF_ROLES = ("owner", "manager", "cashier")
DEFAULT_STAFF_ROLE = "cashier"


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller. ``staff_role`` (owner, manager or cashier) matters only to merchant
    staff; ``store_id`` pins a cashier to one store of the merchant (None: any of its stores)."""

    subject: str
    roles: frozenset[str]
    merchant_id: int | None = None
    name: str | None = None
    staff_role: str = DEFAULT_STAFF_ROLE
    store_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def is_staff_of(self, merchant_id: int) -> bool:
        if self.is_admin:
            return True
        return "merchant" in self.roles and self.merchant_id == merchant_id

    def require_staff_of(self, merchant_id: int) -> None:
        if not self.is_staff_of(merchant_id):
            raise ForbiddenError("only staff of this merchant may do this")

    def require_staff(self) -> None:
        if not (self.is_admin or ("merchant" in self.roles and self.merchant_id is not None)):
            raise ForbiddenError("only merchant staff may do this")

    def require_owner(self, user_id: str, what: str) -> None:
        if user_id != self.subject and not self.is_admin:
            raise ForbiddenError(f"this {what} belongs to another user")

    @property
    def audit_role(self) -> str:
        """The role written into audit rows: ``admin`` for platform admins, else the staff role."""
        if self.is_admin:
            return "admin"
        if "merchant" in self.roles:
            return self.staff_role
        return "customer"
