"""Stores by their merchant's staff (MANAGER and up): ``createStore``, ``updateStore`` with
``expectedVersion``, ``setSpecialHours``.

- Malformed values are ``BAD_USER_INPUT`` naming the argument: a name or address out of
  bounds, a location off the globe, a zone ``zoneinfo`` does not know, opening hours the
  parser of :mod:`commerce.hours` cannot read.
- Well-formed values that do not fit are the union member ``InvalidInput``: nothing to
  change, a special date in the past or too far ahead, too many special days.
- A store of another merchant, or a role below MANAGER, is ``FORBIDDEN`` (``StoreResult``
  has no ``NotAllowed``); a stale ``expectedVersion`` is ``VersionConflict`` and nothing
  changes.
- Without a zone, the zone is derived from the location (:mod:`commerce.merchants.zones`);
  moving a store without naming a zone derives it again. Every write bumps the store's
  version and is kept in the staff audit, in the same transaction. New stores join the
  search outbox through the triggers on ``stores``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.hours import check_hours, check_special_hours
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.merchants import audit
from commerce.merchants.zones import check_zone, country_of_zone, zone_at
from commerce.outcomes import InvalidInput, StoreOutcome, StoreSaved, VersionConflict
from db import merchants_sql, stores_sql
from db.catalog_sql import SPECIAL_DAYS_AHEAD
from db.database import Database
from db.rows import StoreRow
from db.stores_sql import StoreValues

MAX_NAME = 200
MAX_ADDRESS = 500
MAX_SPECIAL_DAYS = 100  # upcoming special days a store may have


class Unset:
    """A field left out of an update (``None`` is a value: clear it)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


@dataclass(frozen=True, slots=True)
class StoreRequest:
    merchant_id: int
    name: str
    location: tuple[float, float]  # (lat, lng)
    address: str | None = None
    time_zone: str | None = None
    opening_hours: str | None = None


@dataclass(frozen=True, slots=True)
class StoreChanges:
    """What ``updateStore`` changes; UNSET leaves a field as it is."""

    store_id: int
    expected_version: int
    name: str | Unset = UNSET
    address: str | Unset | None = UNSET
    location: tuple[float, float] | Unset = UNSET
    time_zone: str | Unset | None = UNSET  # None: derive from the location
    opening_hours: str | Unset | None = UNSET  # None: no published hours


def _name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise UserInputError("input.name", f"name must be 1 to {MAX_NAME} characters")
    return name


def _address(value: str | None) -> str | None:
    address = None if value is None else value.strip() or None
    if address is not None and len(address) > MAX_ADDRESS:
        raise UserInputError("input.address", f"address must be at most {MAX_ADDRESS} characters")
    return address


def _location(value: tuple[float, float]) -> tuple[float, float]:
    lat, lng = value
    if not -90 <= lat <= 90:
        raise UserInputError("input.location.lat", "latitude must be between -90 and 90")
    if not -180 <= lng <= 180:
        raise UserInputError("input.location.lng", "longitude must be between -180 and 180")
    return lat, lng


def _hours(value: str | None) -> str | None:
    return None if value is None else check_hours(value, "input.openingHours")


def _zone(value: str | None, location: tuple[float, float]) -> str:
    return check_zone(value, "input.timeZone") if value is not None else zone_at(*location)


def _values(
    name: str,
    address: str | None,
    location: tuple[float, float],
    zone: str,
    hours: str | None,
) -> StoreValues:
    return StoreValues(name, address, location[0], location[1], zone, country_of_zone(zone), hours)


async def create_store(
    database: Database, principal: Principal, request: StoreRequest
) -> StoreOutcome:
    location = _location(request.location)
    values = _values(
        _name(request.name),
        _address(request.address),
        location,
        _zone(request.time_zone, location),
        _hours(request.opening_hours),
    )
    async with database.write() as conn:
        if not await merchants_sql.merchant_exists(conn, request.merchant_id):
            raise NotFoundError("no Merchant with this ID")
        roles.require(principal, "manage_stores", request.merchant_id)
        store_id = await stores_sql.insert_store(
            conn, request.merchant_id, f"api:{uuid.uuid4().hex}", values
        )
        row = await stores_sql.read_store(conn, store_id)
        await _audit(conn, principal, "create_store", None, row)
    return StoreSaved(row)


async def update_store(
    database: Database, principal: Principal, changes: StoreChanges
) -> StoreOutcome:
    _check_changes(changes)
    async with database.write() as conn:
        current = await _locked(conn, principal, changes.store_id)
        if current.version != changes.expected_version:
            return _conflict(current)
        values = _changed_values(current, changes)
        if values is None:
            return InvalidInput("nothing to change: give at least one field", "input")
        await stores_sql.update_store(conn, current.id, current.version, values)
        row = await stores_sql.read_store(conn, current.id)
        await _audit(conn, principal, "update_store", current, row)
    return StoreSaved(row)


def _check_changes(changes: StoreChanges) -> None:
    """Malformed values fail before anything is read (BAD_USER_INPUT)."""
    if changes.expected_version < 1:
        raise UserInputError("input.expectedVersion", "expectedVersion starts at 1")
    if isinstance(changes.name, str):
        _name(changes.name)
    if not isinstance(changes.address, Unset):
        _address(changes.address)
    if not isinstance(changes.location, Unset):
        _location(changes.location)
    if isinstance(changes.time_zone, str):
        check_zone(changes.time_zone, "input.timeZone")
    if isinstance(changes.opening_hours, str):
        _hours(changes.opening_hours)


def _changed_values(current: StoreRow, changes: StoreChanges) -> StoreValues | None:
    """The store's values after the changes, None when nothing is given."""
    given = [
        changes.name,
        changes.address,
        changes.location,
        changes.time_zone,
        changes.opening_hours,
    ]
    if all(isinstance(value, Unset) for value in given):
        return None
    location = (current.lat, current.lng)
    if not isinstance(changes.location, Unset):
        location = _location(changes.location)
    if isinstance(changes.time_zone, Unset):
        # a store that moves takes the zone of its new place
        zone = current.timezone if isinstance(changes.location, Unset) else zone_at(*location)
    else:
        zone = _zone(changes.time_zone, location)
    return _values(
        current.name if isinstance(changes.name, Unset) else _name(changes.name),
        current.address if isinstance(changes.address, Unset) else _address(changes.address),
        location,
        zone,
        current.opening_hours
        if isinstance(changes.opening_hours, Unset)
        else _hours(changes.opening_hours),
    )


async def set_special_hours(
    database: Database,
    principal: Principal,
    store_id: int,
    day: date,
    hours: str,
    now: datetime,
) -> StoreOutcome:
    """``closed`` or other hours on one date of the store's calendar (from its today on)."""
    value = check_special_hours(day, hours, "input.hours")
    async with database.write() as conn:
        current = await _locked(conn, principal, store_id)
        today = now.astimezone(ZoneInfo(current.timezone)).date()
        refusal = await _special_refusal(conn, current, day, today)
        if refusal is not None:
            return refusal
        before = await stores_sql.special_hours_on(conn, store_id, day)
        await stores_sql.set_special_hours(conn, store_id, day, value)
        await stores_sql.bump_version(conn, store_id)
        row = await stores_sql.read_store(conn, store_id)
        await audit.record(
            conn,
            principal,
            action="set_special_hours",
            entity="store",
            entity_id=store_id,
            merchant_id=current.merchant_id,
            before={"date": day, "hours": before, "version": current.version},
            after={"date": day, "hours": value, "version": row.version},
        )
    return StoreSaved(row)


async def _special_refusal(
    conn: AsyncConnection, store: StoreRow, day: date, today: date
) -> InvalidInput | None:
    if day < today:
        return InvalidInput(f"{day} is in the past of the store (today is {today})", "input.date")
    if day > today + timedelta(days=SPECIAL_DAYS_AHEAD - 1):
        return InvalidInput(
            f"special hours can be set up to {SPECIAL_DAYS_AHEAD - 1} days ahead", "input.date"
        )
    already = await stores_sql.special_hours_on(conn, store.id, day)
    upcoming = await stores_sql.count_special_days_from(conn, store.id, today)
    if already is None and upcoming >= MAX_SPECIAL_DAYS:
        return InvalidInput(
            f"a store may have at most {MAX_SPECIAL_DAYS} upcoming special days", "input.date"
        )
    return None


async def _locked(conn: AsyncConnection, principal: Principal, store_id: int) -> StoreRow:
    """The store under its row lock, once the caller may manage it."""
    current = await stores_sql.lock_store(conn, store_id)
    if current is None:
        raise NotFoundError("no Store with this ID")
    roles.require(principal, "manage_stores", current.merchant_id, store_id)
    return current


def _conflict(current: StoreRow) -> VersionConflict:
    return VersionConflict(
        f"the store is at version {current.version}: read it again and retry",
        current.version,
    )


async def _audit(
    conn: AsyncConnection,
    principal: Principal,
    action: str,
    before: StoreRow | None,
    after: StoreRow,
) -> None:
    await audit.record(
        conn,
        principal,
        action=action,
        entity="store",
        entity_id=after.id,
        merchant_id=after.merchant_id,
        before=_audited(before),
        after=_audited(after),
    )


def _audited(row: StoreRow | None) -> StoreRow | None:
    """The store without its special days (they have audit rows of their own)."""
    return None if row is None else replace(row, special_hours=None)
