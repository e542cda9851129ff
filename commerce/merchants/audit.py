"""Keep every staff write in the append-only ``staff_audit`` table.

Operations call :func:`record` inside their own transaction, after the write, with the
entity's state before (None when created) and after (None when deleted); the row commits or
rolls back with the write. :func:`snapshot` turns a row dataclass or mapping into JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.identity.principal import Principal
from db import audit_sql
from db.audit_sql import AuditEntry


def snapshot(state: object) -> dict[str, Any] | None:
    """A JSON-ready copy of a row dataclass or a mapping (dates and times as ISO 8601,
    decimals as strings, tuples as lists); None stays None."""
    if state is None:
        return None
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        items: Mapping[str, Any] = {
            field.name: getattr(state, field.name) for field in dataclasses.fields(state)
        }
    elif isinstance(state, Mapping):
        items = state
    else:
        raise TypeError(f"cannot snapshot a {type(state).__name__}")
    return {str(key): _json_value(value) for key, value in items.items()}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_value(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return snapshot(value)
    return str(value)


class MerchantOwned(Protocol):
    """A row of a merchant's (a deal, a coupon): what its audit entry names."""

    @property
    def id(self) -> int: ...

    @property
    def merchant_id(self) -> int: ...


async def record_change(
    conn: AsyncConnection,
    principal: Principal,
    action: str,
    entity: str,
    change: tuple[MerchantOwned | None, MerchantOwned],
    stores: tuple[tuple[int, ...] | None, tuple[int, ...] | None] = (None, None),
) -> None:
    """Audit a change of a merchant's row, ``change`` = (before, after), with the store ids
    it is valid at before and after when they are given."""
    before, after = change
    await record(
        conn,
        principal,
        action=action,
        entity=entity,
        entity_id=after.id,
        merchant_id=after.merchant_id,
        before=_with_stores(before, stores[0]),
        after=_with_stores(after, stores[1]),
    )


def _with_stores(
    row: MerchantOwned | None, store_ids: tuple[int, ...] | None
) -> dict[str, Any] | None:
    if row is None:
        return None
    state = snapshot(row) or {}
    if store_ids is not None:
        state["store_ids"] = list(store_ids)
    return state


async def record(
    conn: AsyncConnection,
    principal: Principal,
    *,
    action: str,
    entity: str,
    entity_id: int | str,
    merchant_id: int | None,
    before: object = None,
    after: object = None,
) -> int:
    """Append who (subject, role), what (``action`` on ``entity`` ``entity_id``) and the state
    ``before`` and ``after`` (dataclasses or mappings) in ``conn``'s transaction; the row id.
    ``action`` is a verb such as ``create_store``; ``entity`` a noun such as ``store``."""
    return await audit_sql.append(
        conn,
        AuditEntry(
            subject=principal.subject,
            role=principal.audit_role,
            merchant_id=merchant_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=snapshot(before),
            after=snapshot(after),
        ),
    )
