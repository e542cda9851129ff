"""Who is calling: the verified claims of a bearer token, and the permission rules on them."""

from __future__ import annotations

from dataclasses import dataclass

from commerce.errors import ForbiddenError

ROLES = ("customer", "merchant", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    roles: frozenset[str]
    merchant_id: int | None = None
    name: str | None = None

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
