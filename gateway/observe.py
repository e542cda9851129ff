"""Each request seen once at its end: one access-log line and its metrics.

The middleware opens a :class:`~gateway.record.RequestRecord`; the GraphQL view and the
:class:`OperationObserver` schema extension fill in the operation, caller kind, cost and error
codes; :func:`finish_request` writes the line and the metrics. WebSocket operations get a
line of their own when they end. Client errors (bad input, validation, 4xx) are only codes on
the access line; unexpected errors are logged with their traceback by the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from time import perf_counter
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, get_operation_ast
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Tracer
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from gateway.logs import access_log
from gateway.metrics import OK, REQUEST_METRICS, count_errors
from gateway.record import CURRENT, REQUEST_ID_ATTRIBUTE, RequestRecord
from schema.errors import INTERNAL

INTERNAL_STATUS = 500
# Answers that never reached GraphQL execution (gate refusals, other routes): a code per status.
STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}
_ENDPOINT_LABELS: dict[object, str] = {}


def status_outcome(status: int) -> str:
    if status < 400:
        return OK
    return STATUS_CODES.get(status) or (INTERNAL if status >= 500 else f"HTTP_{status}")


def endpoint_label(endpoint: object) -> str:
    """``http:<route>`` for requests that ran no GraphQL operation (bounded by the routes)."""
    label = _ENDPOINT_LABELS.get(endpoint)
    if label is None:
        name = getattr(endpoint, "route_name", None) or getattr(endpoint, "__name__", None)
        label = f"http:{name or type(endpoint).__name__}" if endpoint is not None else "http:-"
        _ENDPOINT_LABELS[endpoint] = label
    return label


def finish_request(
    record: RequestRecord, status: int, endpoint: object, event: str = "request"
) -> None:
    """The access line and metrics of an HTTP request or of a WebSocket operation."""
    seconds = perf_counter() - record.started
    codes = record.codes
    outcome = codes[0] if codes else status_outcome(status)
    REQUEST_METRICS.observe(record.operation or endpoint_label(endpoint), outcome, seconds)
    if codes:
        count_errors(codes)
    elif outcome != OK:
        count_errors((outcome,))
    logger = access_log()
    if logger is None:
        return
    log = logger.warning if status >= INTERNAL_STATUS else logger.info
    log(
        event,
        method=record.method,
        path=record.path,
        status=status,
        duration_ms=round(seconds * 1000, 2),
        operation=record.operation,
        operation_type=record.operation_type,
        caller=record.caller,
        cost=record.cost,
        outcome=outcome,
        errors=list(codes) if codes else None,
    )


def finish_connection(record: RequestRecord) -> None:
    """The line of a closed WebSocket connection (its operations have lines of their own)."""
    logger = access_log()
    if logger is None:
        return
    logger.info(
        "websocket closed",
        path=record.path,
        duration_ms=round((perf_counter() - record.started) * 1000, 2),
        caller=record.caller,
    )


def note_caller(kind: str) -> None:
    record = CURRENT.get()
    if record is not None:
        record.caller = kind


def note_codes(codes: tuple[str, ...]) -> None:
    record = CURRENT.get()
    if record is not None:
        record.codes = codes


def note_operation(operation: OperationDefinitionNode) -> None:
    """The operation of an HTTP request answered without Strawberry (a compiled plan)."""
    record = CURRENT.get()
    if record is not None:
        record.operation = operation_label(operation)
        record.operation_type = operation.operation.value


def note_response(response: Mapping[str, Any]) -> None:
    """Cost and error codes of a GraphQL HTTP answer, as the client sees them."""
    record = CURRENT.get()
    if record is None:
        return
    extensions = response.get("extensions")
    if isinstance(extensions, Mapping):
        cost = extensions.get("cost")
        record.cost = cost if isinstance(cost, int) else None
    errors = response.get("errors")
    if errors:
        record.codes = tuple(
            str((error.get("extensions") or {}).get("code") or INTERNAL) for error in errors
        )


def error_codes(errors: Iterable[GraphQLError]) -> tuple[str, ...]:
    return tuple(str((error.extensions or {}).get("code") or INTERNAL) for error in errors)


def describe(execution: ExecutionContext) -> tuple[str | None, str | None]:
    """The operation's name (or ``{rootField,...}`` when unnamed) and type, once parsed."""
    document = execution.graphql_document
    if document is None:
        return None, None
    name = execution.operation_name
    operation = get_operation_ast(document, name)
    if operation is None:
        return name, None
    return operation_label(operation), operation.operation.value


def operation_label(operation: OperationDefinitionNode) -> str:
    if operation.name is not None:
        return operation.name.value
    fields = dict.fromkeys(
        selection.name.value
        for selection in operation.selection_set.selections
        if isinstance(selection, FieldNode)
    )
    return "{" + ",".join(fields) + "}"


class OperationObserver(SchemaExtension):
    """Names the request's operation; one span per operation when tracing; for WebSocket
    operations, the access line and metrics of each operation."""

    def __init__(self, *, tracer: Tracer | None = None) -> None:
        self.tracer = tracer

    def on_operation(self) -> Iterator[None]:
        record = CURRENT.get()
        started = perf_counter()
        span, token = self._start_span(record)
        failure: tuple[str, ...] = ()
        try:
            yield
        except GraphQLError as error:  # an extension refused the operation (cost, budget)
            failure = error_codes((error,))
            raise
        finally:
            name, kind = describe(self.execution_context)
            if span is not None:
                _end_span(span, token, name, kind)
            if record is not None:
                self._note(record, name, kind, started, failure)

    def _start_span(self, record: RequestRecord | None) -> tuple[Span | None, object]:
        if self.tracer is None:
            return None, None
        span = self.tracer.start_span("GraphQL operation")
        if record is not None:
            span.set_attribute(REQUEST_ID_ATTRIBUTE, record.request_id)
        return span, otel_context.attach(trace.set_span_in_context(span))

    def _note(
        self,
        record: RequestRecord,
        name: str | None,
        kind: str | None,
        started: float,
        failure: tuple[str, ...],
    ) -> None:
        if not record.websocket:
            record.operation, record.operation_type = name, kind
            return
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or self.execution_context.pre_execution_errors
        operation = RequestRecord(record.request_id, "WS", record.path, websocket=True)
        operation.started, operation.caller = started, record.caller
        operation.operation, operation.operation_type = name, kind
        operation.codes = failure or error_codes(errors or ())
        finish_request(operation, 200, None, "websocket operation")


def _end_span(span: Span, token: object, name: str | None, kind: str | None) -> None:
    if name is not None:
        span.update_name(f"{kind or 'GraphQL'} {name}")
        span.set_attribute("graphql.operation.name", name)
    if kind is not None:
        span.set_attribute("graphql.operation.type", kind)
    otel_context.detach(token)  # type: ignore[arg-type]
    span.end()


def observer_factory(tracer: Tracer | None) -> Callable[[], OperationObserver]:
    return lambda: OperationObserver(tracer=tracer)
