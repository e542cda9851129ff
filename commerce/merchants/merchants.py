"""Onboarding a merchant (``createMerchant``, ``o2o merchant create``): platform admins only.

Malformed values (an empty name, an overlong subject) are ``BAD_USER_INPUT``; well-formed
ones that do not fit (a category that does not exist) are the union member ``InvalidInput``;
a caller who is not an admin gets ``NotAllowed``. The new merchant is kept in the staff audit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from commerce.errors import UserInputError
from commerce.identity.principal import Principal
from commerce.merchants import audit
from commerce.outcomes import InvalidInput, MerchantOutcome, MerchantSaved, NotAllowed
from db import merchants_sql
from db.database import Database
from db.merchants_sql import NewMerchant

MAX_NAME = 200
MAX_SUBJECT = 120
MAX_SLUG = 40


@dataclass(frozen=True, slots=True)
class MerchantRequest:
    name: str
    category_slug: str
    owner_subject: str | None = None


def _checked(request: MerchantRequest) -> MerchantRequest:
    name = request.name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise UserInputError("input.name", f"name must be 1 to {MAX_NAME} characters")
    slug = request.category_slug.strip()
    if not 1 <= len(slug) <= MAX_SLUG:
        raise UserInputError(
            "input.categorySlug", f"categorySlug must be 1 to {MAX_SLUG} characters"
        )
    owner = None if request.owner_subject is None else request.owner_subject.strip()
    if owner is not None and not 1 <= len(owner) <= MAX_SUBJECT:
        raise UserInputError(
            "input.ownerSubject", f"ownerSubject must be 1 to {MAX_SUBJECT} characters"
        )
    return MerchantRequest(name, slug, owner)


async def create_merchant(
    database: Database, principal: Principal, request: MerchantRequest
) -> MerchantOutcome:
    """A new merchant with no stores and no deals; its owner signs in with a token whose
    subject is ``owner_subject`` and whose ``staff_role`` is ``owner``."""
    checked = _checked(request)
    if not principal.is_admin:
        return NotAllowed("only platform admins may create merchants")
    async with database.write() as conn:
        if not await merchants_sql.category_exists(conn, checked.category_slug):
            return InvalidInput(
                f"no category {checked.category_slug!r}; see the categories query",
                "input.categorySlug",
            )
        row = await merchants_sql.insert_merchant(
            conn,
            NewMerchant(
                external_key=f"api:{uuid.uuid4().hex}",
                name=checked.name,
                category_slug=checked.category_slug,
                owner_subject=checked.owner_subject,
                source="api",
            ),
        )
        await audit.record(
            conn,
            principal,
            action="create_merchant",
            entity="merchant",
            entity_id=row.id,
            merchant_id=row.id,
            after={**(audit.snapshot(row) or {}), "owner_subject": checked.owner_subject},
        )
    return MerchantSaved(row)
