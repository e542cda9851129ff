"""Structured logs on structlog: one JSON object per line (``LOG_FORMAT=json``, the production
default) or readable console lines. Standard-library records (uvicorn, our ``o2o.*`` loggers,
libraries) are rendered by structlog's ``ProcessorFormatter`` with the same renderer, so every
line has the same shape (``event``, ``level``, ``logger``, ``timestamp``, and ``request_id``
when written while serving a request; ``exception`` holds a traceback)."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.typing import FilteringBoundLogger, Processor

from gateway.record import current_request_id

LogFormat = Literal["json", "console"]
ACCESS_LOGGER = "o2o.access"
HANDLER_NAME = "o2o-structlog"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# a line per search request at INFO: the access line and the search histogram say it already
QUIET_LOGGERS = ("elastic_transport.transport",)


class _Access:
    """The access logger, built by :func:`configure_logging` (none before: no access lines)."""

    logger: FilteringBoundLogger | None = None


def access_log() -> FilteringBoundLogger | None:
    return _Access.logger


def add_request_id(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The id of the request being served, when there is one and the event has none."""
    if "request_id" not in event_dict:
        request_id = current_request_id()
        if request_id is not None:
            event_dict["request_id"] = request_id
    return event_dict


def _dumps(value: object, **_: object) -> str:
    return orjson.dumps(value, default=str).decode()


def _timestamp() -> Processor:
    return structlog.processors.TimeStamper(fmt="iso", utc=True)


def _renderers(log_format: LogFormat) -> list[Processor]:
    if log_format == "json":
        return [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ]
    return [structlog.dev.ConsoleRenderer(colors=False)]


def formatter(log_format: LogFormat) -> ProcessorFormatter:
    """The stdlib formatter: records of the standard library rendered as structlog events."""
    return ProcessorFormatter(
        foreign_pre_chain=[
            add_request_id,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _timestamp(),
        ],
        processors=[ProcessorFormatter.remove_processors_meta, *_renderers(log_format)],
    )


def configure_logging(
    level: str = "INFO", log_format: LogFormat = "console", stream: TextIO | None = None
) -> None:
    """One stream, one shape: structlog events and standard-library records alike.

    structlog events (the access line) are rendered and written directly, without a
    ``logging.LogRecord``: the access line is on every request's path. The standard library
    gets one handler on the root logger with the same renderer. Idempotent: calling it again
    replaces our handler. uvicorn's own handlers are removed, so its lines propagate to ours.
    """
    output = stream or sys.stderr
    structlog.configure(
        processors=[
            add_request_id,
            structlog.processors.add_log_level,
            _timestamp(),
            *_renderers(log_format),
        ],
        logger_factory=structlog.WriteLoggerFactory(file=output),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=False,  # the hot path holds a concrete logger instead
    )
    _Access.logger = structlog.get_logger().bind(logger=ACCESS_LOGGER)
    handler = logging.StreamHandler(output)
    handler.name = HANDLER_NAME
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        # uvicorn.access stays as uvicorn left it: off unless asked for (o2o.access has the line)
        if name != "uvicorn.access":
            uvicorn_logger.propagate = True
