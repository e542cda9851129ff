"""The per-request context handed to resolvers: database, loaders, clock, language, viewer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from commerce.discovery.search import SearchIndex
from commerce.errors import UnauthenticatedError
from commerce.identity.principal import Principal
from commerce.insights.funnel import Funnel
from commerce.live.hub import EventHub
from commerce.orders.services import OrderServices
from db.database import Database
from schema.loaders import Loaders
from schema.partners.cost import CostMeter

SUPPORTED_LANGUAGES = ("en", "zh", "fi", "sv")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    database: Database
    search: SearchIndex
    request_id: str
    language: str = "en"
    clock: Callable[[], datetime] = utc_now
    viewer: Principal | None = None
    auth_error: str | None = None
    viewer_expires_at: float | None = None  # the token's ``exp`` (Unix seconds)
    services: OrderServices | None = None  # payment providers and the order rules
    meter: CostMeter | None = None  # charges query cost to the caller's budget
    introspection: bool = True
    live: EventHub | None = None  # this process's live events (subscriptions)
    client: str = "-"  # the client's address (limits per caller without a token)
    partner_key_id: int | None = None  # the X-API-Key of the request, when a partner calls
    funnel: Funnel | None = None  # this process's impression counters and attribution signer
    base_url: str = ""  # the gateway's public base URL (absolute links such as nextActionUrl)
    # the connection_init payload of a WebSocket (graphql-transport-ws); set by Strawberry
    connection_params: dict[str, object] | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.database)

    def require_viewer(self) -> Principal:
        """The signed-in caller; ``UNAUTHENTICATED`` without a valid token."""
        if self.auth_error is not None:
            raise UnauthenticatedError(self.auth_error)
        if self.viewer is None:
            raise UnauthenticatedError()
        return self.viewer

    def refresh_loaders(self) -> None:
        """A fresh loader registry: a WebSocket's context lives as long as the connection,
        and each live event must read the rows as they are now, not as first cached."""
        self.loaders = Loaders(self.database)

    def require_live(self) -> EventHub:
        """This process's live events; subscriptions need them."""
        if self.live is None:
            raise RuntimeError("this gateway was built without live events")
        return self.live

    def require_services(self) -> OrderServices:
        """What the order operations need besides the database (providers, settings)."""
        if self.services is None:
            raise RuntimeError("this gateway was built without the booking/payment services")
        return self.services

    def now(self) -> datetime:
        return self.clock()


def pick_language(accept_language: str | None) -> str:
    """The best supported language of an ``Accept-Language`` header (``en`` by default)."""
    if not accept_language:
        return "en"
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in SUPPORTED_LANGUAGES and quality > 0:
            weighted.append((-quality, index, primary))
    return min(weighted)[2] if weighted else "en"
