"""Assemble the Strawberry schema with its extensions (caches, depth limit, error policy)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.discovery.viewport import GEOJSON_SCALAR, GeoJSON
from schema.errors import PublicErrors, is_unexpected
from schema.live.subscription import Subscription
from schema.mutation import Mutation
from schema.orders.types import Booking, Payment, Refund, Voucher
from schema.parsing import TolerantParserCache
from schema.partners.bounds import MAX_TOKENS, OperationBounds
from schema.partners.cost import QueryCost
from schema.query import Query
from schema.scalars import DATE_SCALAR, DATETIME_SCALAR
from schema.types import Category, Deal, Merchant, Review, Store

log = logging.getLogger("o2o.graphql")


def log_unexpected(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """Logs unexpected errors once, with the request id; expected ones are not noise."""
    context: Any = execution_context.context if execution_context else None
    request_id = getattr(context, "request_id", "-")
    for error in errors:
        if is_unexpected(error):
            log.error(
                "unexpected error in %s (request %s)",
                error.path,
                request_id,
                exc_info=error.original_error,
            )


class O2OSchema(strawberry.Schema):
    """Logs unexpected errors once, with the request id; expected ones are not noise."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors, execution_context)


TYPES: list[type] = [Merchant, Store, Deal, Review, Category, Booking, Payment, Voucher, Refund]
"""Types reachable only through interfaces (``node``), listed so the schema has them."""


def schema_config() -> StrawberryConfig:
    return StrawberryConfig(
        scalar_map={GeoJSON: GEOJSON_SCALAR, datetime: DATETIME_SCALAR, date: DATE_SCALAR}
    )


def schema_extensions(
    max_depth: int, max_cost: int, observers: Sequence[Callable[[], SchemaExtension]] = ()
) -> list[Callable[[], SchemaExtension]]:
    """The extensions every served schema runs, in order (fresh instances per request);
    ``observers`` (logs, metrics, traces) run first, so they see every error as the client
    will and wrap the whole operation."""
    # Rule classes are built once: the validation cache keys on them, so a
    # QueryDepthLimiter created per request would make every request miss the cache.
    rules: list[type[ASTValidationRule]] = [create_validator(max_depth, None, None)]
    return [
        *observers,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: TolerantParserCache(maxsize=1024),
        OperationBounds,
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=1024),
        lambda: QueryCost(max_cost=max_cost),
        PublicErrors,
    ]


def build_schema(
    max_depth: int = 10,
    *,
    max_cost: int = 10_000,
    observers: Sequence[Callable[[], SchemaExtension]] = (),
) -> O2OSchema:
    return O2OSchema(
        query=Query,
        config=schema_config(),
        mutation=Mutation,
        subscription=Subscription,
        types=TYPES,
        extensions=schema_extensions(max_depth, max_cost, observers),
    )
