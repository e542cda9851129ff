"""A parser cache that leaves syntax errors to Strawberry's own reporting.

Strawberry's ``ParserCache`` parses inside its hook, outside the ``try`` that turns a syntax
error into a GraphQL error. Over HTTP that is caught further up; over the WebSocket the
operation dies with a traceback and the client gets only ``complete``. Here a document that
does not parse is left unset, so Strawberry parses it again where the error is reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache


class TolerantParserCache(ParserCache):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None
        yield
