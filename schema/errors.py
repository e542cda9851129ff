"""How errors leave the schema: coded user errors shown, everything unexpected masked.

Resolvers let the core's :class:`~commerce.errors.UserInputError` and
:class:`~commerce.errors.NotFoundError` propagate; this extension rewrites them into GraphQL
errors with ``extensions.code`` (``BAD_USER_INPUT`` / ``NOT_FOUND``; the core's
:class:`~commerce.errors.UnauthenticatedError` / :class:`~commerce.errors.ForbiddenError`
become ``UNAUTHENTICATED`` / ``FORBIDDEN``), keeps syntax and
validation errors readable, and replaces any other error by a generic message carrying the
request id under which it was logged.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from commerce.errors import (
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UnavailableError,
    UserInputError,
)

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
INTERNAL = "INTERNAL_SERVER_ERROR"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"

log = logging.getLogger("o2o.graphql")


def _relocated(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def public_error(error: GraphQLError, request_id: str) -> GraphQLError:
    """The error as the client should see it."""
    original = error.original_error
    if isinstance(original, UserInputError):
        return _relocated(
            error, original.message, {"code": BAD_USER_INPUT, "argument": original.argument}
        )
    if isinstance(original, NotFoundError):
        return _relocated(error, original.message, {"code": NOT_FOUND})
    if isinstance(original, UnauthenticatedError):
        return _relocated(error, original.message, {"code": UNAUTHENTICATED})
    if isinstance(original, ForbiddenError):
        return _relocated(error, original.message, {"code": FORBIDDEN})
    if isinstance(original, UnavailableError):
        return _relocated(error, original.message, {"code": original.code})
    if original is None and not error.extensions:
        return _relocated(error, error.message, {"code": request_error_code(error.message)})
    if original is None or isinstance(original, GraphQLError):
        return error
    return _relocated(error, "Unexpected error.", {"code": INTERNAL, "requestId": request_id})


def request_error_code(message: str) -> str:
    if message.startswith("Syntax Error: Document contains more than"):
        return QUERY_TOO_COSTLY  # graphql-core's token limit (schema.partners.bounds.MAX_TOKENS)
    if message.startswith("Syntax Error"):
        return GRAPHQL_PARSE_FAILED
    if message.startswith("Variable '$"):
        return BAD_USER_INPUT
    return GRAPHQL_VALIDATION_FAILED


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(
        original,
        UserInputError
        | NotFoundError
        | UnauthenticatedError
        | ForbiddenError
        | UnavailableError
        | GraphQLError,
    )


class PublicErrors(MaskErrors):
    """``MaskErrors`` that keeps user-facing errors readable and coded."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        context = self.execution_context.context
        request_id = str(getattr(context, "request_id", "-"))
        return [public_error(error, request_id) for error in errors]
