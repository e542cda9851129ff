"""Partner API keys and their budgets: key format, hashing, fixed windows, admission rules.

A key reads ``o2o_pk_<prefix>_<secret>``: the prefix (12 hex characters) finds the row, the
SHA-256 of the whole key proves it. Keys are 256-bit random secrets, so a fast hash is
enough (nothing to brute-force); only the hash is stored, the key is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass

from commerce.errors import UserInputError

KEY_PREFIX = "o2o_pk_"
LOOKUP_LENGTH = 12
MAX_NAME_LENGTH = 100
MAX_RATE_PER_MINUTE = 1_000_000
MAX_COST_PER_MINUTE = 100_000_000
_KEY_PATTERN = re.compile(r"^o2o_pk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly minted key: ``secret`` is shown once, ``digest`` is what gets stored."""

    lookup: str
    secret: str
    digest: bytes


@dataclass(frozen=True, slots=True)
class PartnerKey:
    """A stored, unrevoked key as the gateway sees it (never the secret)."""

    id: int
    name: str
    rate_per_minute: int
    cost_per_minute: int


@dataclass(frozen=True, slots=True)
class KeyLimits:
    name: str
    rate_per_minute: int
    cost_per_minute: int


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def mint_key() -> NewKey:
    lookup = secrets.token_hex(LOOKUP_LENGTH // 2)
    secret = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    return NewKey(lookup=lookup, secret=secret, digest=key_digest(secret))


def lookup_of(key: str) -> str | None:
    """The lookup prefix of a well-formed key, ``None`` for anything else."""
    match = _KEY_PATTERN.match(key)
    return match.group(1) if match else None


def digest_matches(key: str, stored: bytes) -> bool:
    return hmac.compare_digest(key_digest(key), stored)


def validate_limits(name: str, rate_per_minute: int, cost_per_minute: int) -> KeyLimits:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise UserInputError("name", f"the name must have 1 to {MAX_NAME_LENGTH} characters")
    if not 1 <= rate_per_minute <= MAX_RATE_PER_MINUTE:
        raise UserInputError("rate", f"the rate must be 1 to {MAX_RATE_PER_MINUTE} per minute")
    if not 1 <= cost_per_minute <= MAX_COST_PER_MINUTE:
        raise UserInputError("cost", f"the cost must be 1 to {MAX_COST_PER_MINUTE} per minute")
    return KeyLimits(name=name, rate_per_minute=rate_per_minute, cost_per_minute=cost_per_minute)


@dataclass(frozen=True, slots=True)
class Window:
    """One fixed counting window: its number (part of the counter's name) and how many
    seconds remain until it ends (``Retry-After``, at least 1)."""

    number: int
    retry_after: int


def window_at(now_s: float, length_s: int) -> Window:
    number = math.floor(now_s / length_s)
    remaining = (number + 1) * length_s - now_s
    return Window(number=number, retry_after=max(1, math.ceil(remaining)))


@dataclass(frozen=True, slots=True)
class Verdict:
    """``retry_after`` is ``None`` when admitted, else seconds until the budget refills.

    ``limit``, ``remaining`` and ``reset_after`` describe the budget that was counted (for the
    IETF ``RateLimit-*`` fields); they are ``None`` when nothing was counted.
    """

    retry_after: int | None = None
    degraded: bool = False  # the counter store was unreachable: admitted without counting
    limit: int | None = None
    remaining: int | None = None
    reset_after: int | None = None
    budget: str = "requests"  # which budget this verdict counted: "requests" or "cost"

    @property
    def admitted(self) -> bool:
        return self.retry_after is None
