"""What one HTTP request (or WebSocket connection) did, filled in as it goes and read once at
its end by the access log and the metrics. The current one is in a context variable, so the
schema extension, log processors and span processors reach it without being handed it."""

from __future__ import annotations

from contextvars import ContextVar
from time import perf_counter

ANONYMOUS = "anonymous"
SIGNED_IN = "signed_in"
PARTNER = "partner"
REQUEST_ID_ATTRIBUTE = "o2o.request_id"  # on every span started while serving a request


class RequestRecord:
    """One per request: a single small object, no dict per field."""

    __slots__ = (
        "caller",
        "codes",
        "cost",
        "method",
        "operation",
        "operation_type",
        "path",
        "request_id",
        "started",
        "websocket",
    )

    def __init__(self, request_id: str, method: str, path: str, websocket: bool = False) -> None:
        self.request_id = request_id
        self.method = method
        self.path = path
        self.websocket = websocket
        self.started = perf_counter()
        self.operation: str | None = None
        self.operation_type: str | None = None
        self.caller: str | None = None
        self.cost: int | None = None
        self.codes: tuple[str, ...] = ()


CURRENT: ContextVar[RequestRecord | None] = ContextVar("o2o_request", default=None)


def current_request_id() -> str | None:
    record = CURRENT.get()
    return None if record is None else record.request_id
