"""Bearer tokens: verify a JWT (HS256 with JWT_SECRET, or RS256 from a JWKS URL) into a
:class:`~commerce.identity.principal.Principal`, and mint local tokens for ``o2o token``.

A missing token is anonymous (discovery is public); a malformed, forged or expired one is
remembered as the reason, and whatever needs a signed-in caller answers UNAUTHENTICATED.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import jwt

from commerce.identity.principal import DEFAULT_STAFF_ROLE, ROLES, STAFF_ROLES, Principal
from gateway.settings import Settings

MAX_TOKEN_LENGTH = 8192
MAX_SUBJECT_LENGTH = 120


# Seconds a token stays accepted past its ``exp`` (clock skew between issuer and gateway).
LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class AuthResult:
    principal: Principal | None = None
    error: str | None = None
    expires_at: float | None = None  # the token's ``exp`` (Unix seconds), when signed in


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret.get_secret_value()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._jwks = (
            jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=300, timeout=5)
            if settings.jwt_jwks_url
            else None
        )

    async def authenticate(self, authorization: str | None) -> AuthResult:
        if not authorization:
            return AuthResult()
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
            return AuthResult(error="the Authorization header must be: Bearer <token>")
        try:
            claims = await self._decode(token)
        except jwt.ExpiredSignatureError:
            return AuthResult(error="the token has expired")
        except jwt.PyJWTError:
            return AuthResult(error="the token is not valid")
        try:
            return AuthResult(
                principal=principal_from_claims(claims), expires_at=float(claims["exp"])
            )
        except ValueError as error:
            return AuthResult(error=f"the token's claims are not valid: {error}")

    async def _decode(self, token: str) -> dict[str, Any]:
        algorithm = jwt.get_unverified_header(token).get("alg")
        key: Any
        if algorithm == "HS256":
            key = self._secret
        elif algorithm == "RS256" and self._jwks is not None:
            # PyJWKClient fetches (and caches) the key set with blocking urllib: use a thread.
            key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
        else:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not accepted")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=self._audience,
            issuer=self._issuer,
            options={"require": ["sub", "exp"], "verify_aud": self._audience is not None},
            leeway=LEEWAY_SECONDS,
        )
        return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 1 <= len(subject) <= MAX_SUBJECT_LENGTH:
        raise ValueError("sub must be a string of 1 to 120 characters")
    raw_roles = claims.get("roles", ["customer"])
    roles = [raw_roles] if isinstance(raw_roles, str) else raw_roles
    if not isinstance(roles, list) or not roles or not set(roles) <= set(ROLES):
        raise ValueError(f"roles must be a list of {', '.join(ROLES)}")
    merchant_id = _merchant_id(claims.get("merchant_id"))
    if "merchant" in roles and merchant_id is None:
        raise ValueError("merchant staff need a merchant_id")
    staff_role, store_id = _staff_claims(claims, is_staff="merchant" in roles)
    name = claims.get("name")
    return Principal(
        subject=subject,
        roles=frozenset(roles),
        merchant_id=merchant_id,
        name=name if isinstance(name, str) else None,
        staff_role=staff_role,
        store_id=store_id,
    )


def _staff_claims(claims: dict[str, Any], is_staff: bool) -> tuple[str, int | None]:
    """``staff_role`` (owner, manager or cashier; none means cashier) and, for a cashier,
    ``store``: the one store they work at."""
    raw_role = claims.get("staff_role")
    raw_store = claims.get("store")
    if not is_staff:
        if raw_role is not None or raw_store is not None:
            raise ValueError("staff_role and store are only for merchant staff")
        return DEFAULT_STAFF_ROLE, None
    if raw_role is None:
        role = DEFAULT_STAFF_ROLE
    elif isinstance(raw_role, str) and raw_role.lower() in STAFF_ROLES:
        role = raw_role.lower()
    else:
        raise ValueError(f"staff_role must be one of {', '.join(STAFF_ROLES)}")
    store_id = _number(raw_store, "store", "a store's number")
    if store_id is not None and role != "cashier":
        raise ValueError("only a cashier's token names a store")
    return role, store_id


def _merchant_id(value: object) -> int | None:
    return _number(value, "merchant_id", "a merchant's number")


def _number(value: object, claim: str, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    raise ValueError(f"{claim} must be {what}")


def mint_token(
    secret: str,
    subject: str,
    roles: list[str],
    merchant_id: int | None = None,
    ttl_seconds: int = 3600,
    name: str | None = None,
    *,
    staff_role: str | None = None,
    store_id: int | None = None,
) -> str:
    """An HS256 token for local use; checked by the same rules as incoming tokens."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "roles": roles, "iat": now, "exp": now + ttl_seconds}
    if merchant_id is not None:
        claims["merchant_id"] = merchant_id
    if name:
        claims["name"] = name
    if staff_role is not None:
        claims["staff_role"] = staff_role
    if store_id is not None:
        claims["store"] = store_id
    principal_from_claims(claims)
    return jwt.encode(claims, secret, algorithm="HS256")
