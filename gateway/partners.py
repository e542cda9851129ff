"""Who is calling and may they: ``X-API-Key`` partners, anonymous clients, their budgets.

HTTP only translates here: the key rules live in :mod:`commerce.partners.api_keys` and
:mod:`commerce.partners.keys`, the counters in :mod:`gateway.limits`. Answers are GraphQL-shaped
JSON on every path: an unknown or revoked key is ``401 UNAUTHENTICATED``, a used-up budget
``429 RATE_LIMITED`` with ``Retry-After``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from sqlalchemy.exc import DBAPIError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from commerce.partners.api_keys import PartnerKey, Verdict
from commerce.partners.keys import KeyCache, find_partner
from db.database import Database
from gateway.limits import Limiter
from gateway.metrics import count_rejection
from gateway.middleware import RATE_LIMIT_STATE
from gateway.record import ANONYMOUS, PARTNER, SIGNED_IN

API_KEY_HEADER = "x-api-key"
MAX_KEY_LENGTH = 200

log = logging.getLogger("o2o.partners")


@dataclass(frozen=True, slots=True)
class Caller:
    """A partner key, else a signed-in subject, else an anonymous client address."""

    partner: PartnerKey | None
    client: str
    subject: str | None = None

    @property
    def kind(self) -> str:
        """``partner``, ``signed_in`` or ``anonymous`` (logs and metrics)."""
        if self.partner is not None:
            return PARTNER
        return ANONYMOUS if self.subject is None else SIGNED_IN

    def request_budget(self, anonymous_rate: int, signed_in_rate: int) -> tuple[str, int] | None:
        """The budget this caller's requests count against: (name, limit), None for no limit."""
        if self.partner is not None:
            return f"key:{self.partner.id}:requests", self.partner.rate_per_minute
        if self.subject is not None and signed_in_rate > 0:
            return f"sub:{self.subject}:requests", signed_in_rate
        if self.subject is None and self.client and anonymous_rate > 0:
            return f"ip:{self.client}:requests", anonymous_rate
        return None


class RefusedError(Exception):
    """The request ends here with ``response`` (401, 429 or 503)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def graphql_error(
    status: int, message: str, code: str, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    body = {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": code, **extra}}],
        "extensions": {"cost": 0},
    }
    return JSONResponse(body, status_code=status, headers=headers)


def rate_limited(retry_after: int, what: str, budget: str = "requests") -> JSONResponse:
    """429 naming the budget that ran out (``requests`` or ``cost``) and when it refills."""
    return graphql_error(
        429,
        f"{what} is used up; it resets in {retry_after} s.",
        "RATE_LIMITED",
        headers={"Retry-After": str(retry_after)},
        budget=budget,
        retryAfter=retry_after,
    )


class PartnerGate:
    def __init__(
        self,
        database: Database,
        limiter: Limiter,
        anonymous_rate: int,
        signed_in_rate: int = 0,
        keys: KeyCache | None = None,
    ) -> None:
        self.database = database
        self.limiter = limiter
        self.anonymous_rate = anonymous_rate
        self.signed_in_rate = signed_in_rate
        self.keys = keys  # found keys, forgotten when the listener hears they changed

    async def identify(self, connection: HTTPConnection, subject: str | None = None) -> Caller:
        """The caller behind the request; :class:`RefusedError` for a bad key or a down database.

        ``subject`` is the verified token subject, if any: signed-in callers without a key are
        counted per subject, so people behind one NAT do not share one budget.
        """
        client = connection.client.host if connection.client else "unknown"
        key = connection.headers.get(API_KEY_HEADER)
        if key is None:
            return Caller(partner=None, client=client, subject=subject)
        partner = None
        if len(key) <= MAX_KEY_LENGTH:
            try:
                partner = await find_partner(self.database, key.strip(), self.keys)
            except DBAPIError as error:
                log.warning("cannot check an API key, PostgreSQL failed: %s", error.orig)
                raise RefusedError(
                    graphql_error(
                        503,
                        "The gateway cannot check API keys right now; try again.",
                        "SERVICE_UNAVAILABLE",
                        headers={"Retry-After": "5"},
                    )
                ) from error
        if partner is None:
            raise RefusedError(
                graphql_error(401, "The API key is unknown or revoked.", "UNAUTHENTICATED")
            )
        return Caller(partner=partner, client=client)

    async def count_request(
        self, caller: Caller, connection: HTTPConnection, what: str = "request"
    ) -> None:
        """Charge one request to the caller's rate; :class:`RefusedError` (429) when over it.

        The verdict is left in the connection's state for the ``RateLimit-*`` response fields.
        """
        verdict = await self.request_verdict(caller)
        connection.scope.setdefault("state", {})[RATE_LIMIT_STATE] = verdict
        if verdict.retry_after is not None:
            count_rejection("requests", caller.kind)
            raise RefusedError(rate_limited(verdict.retry_after, f"The {what} rate of this caller"))

    async def request_verdict(self, caller: Caller) -> Verdict:
        budget = caller.request_budget(self.anonymous_rate, self.signed_in_rate)
        if budget is None:
            return Verdict()
        return await self.limiter.take(budget[0], 1, budget[1])

    async def admit_tile(self, connection: HTTPConnection) -> Caller:
        """A tile is one request and costs 1 of a partner key's query-cost budget."""
        caller = await self.identify(connection)
        await self.count_request(caller, connection, "tile request")
        if caller.partner is not None:
            budget = f"key:{caller.partner.id}:cost"
            verdict = await self.limiter.take(budget, 1, caller.partner.cost_per_minute)
            if verdict.retry_after is not None:
                count_rejection("cost", caller.kind)
                raise RefusedError(
                    rate_limited(verdict.retry_after, "The query-cost budget of this key", "cost")
                )
        return caller


class KeyMeter:
    """Charges query cost to a partner key's budget (schema's ``CostMeter``); refusals turn
    the HTTP answer into 429 with ``Retry-After`` through Strawberry's sub-response."""

    def __init__(
        self,
        gate: PartnerGate,
        caller: Caller,
        response: Response | None,
        *,
        count_requests: bool = False,
    ) -> None:
        self.gate = gate
        self.caller = caller
        self.response = response
        self.count_requests = count_requests  # WebSocket operations count as requests here

    @property
    def cost_budget(self) -> int | None:
        return self.caller.partner.cost_per_minute if self.caller.partner else None

    async def charge(self, cost: int) -> Verdict:
        if self.count_requests:
            verdict = await self.gate.request_verdict(self.caller)
            if verdict.retry_after is not None:
                count_rejection("requests", self.caller.kind)
                return verdict
        partner = self.caller.partner
        if partner is None or cost == 0:
            return Verdict()
        budget = f"key:{partner.id}:cost"
        verdict = replace(
            await self.gate.limiter.take(budget, cost, partner.cost_per_minute), budget="cost"
        )
        if verdict.retry_after is not None:
            count_rejection("cost", self.caller.kind)
        if verdict.retry_after is not None and self.response is not None:
            self.response.status_code = 429
            self.response.headers["Retry-After"] = str(verdict.retry_after)
        return verdict
