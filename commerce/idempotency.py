"""Idempotent mutations: a fingerprint of the input and outcomes stored as JSON for replays."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

from commerce.errors import UserInputError

T = TypeVar("T")
MAX_KEY_LENGTH = 200
# outcomes stored before they took their GraphQL names still replay
RENAMED_KINDS = {
    "InvalidBooking": "InvalidInput",
    "AlreadyRedeemed": "VoucherAlreadyRedeemed",
    "NotValidHere": "VoucherNotValidHere",
}


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise UserInputError(
            "idempotencyKey", f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} printable characters"
        )
    return key


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(orjson.dumps([str(p) for p in parts])).hexdigest()


def reused_key() -> UserInputError:
    return UserInputError(
        "idempotencyKey", "this idempotencyKey was already used with different input"
    )


def encode_outcome(outcome: Any) -> dict[str, Any]:
    fields = {f.name: _encode(getattr(outcome, f.name)) for f in dataclasses.fields(outcome)}
    return {"kind": type(outcome).__name__, "fields": fields}


def decode_outcome(stored: dict[str, Any], kinds: Sequence[type[Any]]) -> Any:
    by_name = {kind.__name__: kind for kind in kinds}
    kind = by_name[RENAMED_KINDS.get(stored["kind"], stored["kind"])]
    return kind(**{name: _decode(value) for name, value in stored["fields"].items()})


def _encode(value: object) -> object:
    return {"$dt": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value: object) -> object:
    if isinstance(value, dict) and "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    return value
