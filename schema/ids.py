"""Opaque Relay global IDs: base64 of ``Type:number`` (``Type:slug`` for categories); malformed
IDs and types missing from the node registry (:mod:`schema.nodes`) are rejected."""

from __future__ import annotations

import base64
import binascii

from commerce.errors import NotFoundError, UserInputError

MAX_ID_LENGTH = 128


def to_global_id(type_name: str, ident: int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{ident}".encode()).decode().rstrip("=")


def parse_global_id(global_id: str, argument: str = "id") -> tuple[str, str]:
    """``(type name, raw id)``; raises ``BAD_USER_INPUT`` when it is not one of our IDs."""
    malformed = UserInputError(argument, f"{argument} is not a valid ID")
    if not global_id or len(global_id) > MAX_ID_LENGTH:
        raise malformed
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise malformed from error
    type_name, _, raw = decoded.partition(":")
    if not is_node_type(type_name) or not raw:
        raise malformed
    return type_name, raw


def is_node_type(type_name: str) -> bool:
    # imported here: the registry imports the types, and they import this module
    from schema.nodes import NODES

    return type_name in NODES


def parse_int_id(global_id: str, expected: str, argument: str = "id") -> int:
    """The numeric id of a ``expected`` node; another type's ID is ``NOT_FOUND``."""
    type_name, raw = parse_global_id(global_id, argument)
    if type_name != expected:
        raise NotFoundError(f"no {expected} with this ID (it is a {type_name} ID)")
    return numeric_id(raw, argument)


def numeric_id(raw: str, argument: str = "id") -> int:
    """The number inside a global ID's raw part; ``BAD_USER_INPUT`` when it is not one."""
    if not raw.isdigit() or len(raw) > 18:
        raise UserInputError(argument, f"{argument} is not a valid ID")
    return int(raw)
