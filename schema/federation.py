"""The same schema as an Apollo Federation v2 subgraph, served at ``/graphql/subgraph``.

It adds ``_service { sdl }`` and ``_entities(representations:)`` to the root query and
``@key(fields: "id")`` to the entities ``Merchant``, ``Store`` and ``Deal`` (each resolves a
representation by global ID through the request's loaders: ``resolve_reference`` in
:mod:`schema.types`). The public schema (``/graphql``, ``schema.graphql``) stays free of
federation types and directives: the keys are attached to the shared type definitions only
while this schema is built and its SDL printed, then taken off again. The SDL is printed once
and served from memory, so nothing reads the definitions' directives at request time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.federation import Schema as FederationSchema
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet
from strawberry.printer import print_schema
from strawberry.types import ExecutionContext, Info
from strawberry.types.base import get_object_definition

from commerce.errors import ForbiddenError, UserInputError
from schema.build import TYPES, log_unexpected, schema_config, schema_extensions
from schema.mutation import Mutation
from schema.query import Query
from schema.types import ContextInfo, Deal, Merchant, Store

ENTITIES: tuple[type, ...] = (Merchant, Store, Deal)
"""Types other subgraphs may reference and extend by ``id`` (their global ID)."""
ENTITY_NAMES = frozenset(t.__name__ for t in ENTITIES)
FEDERATION_VERSION: Literal["2.5"] = "2.5"
"""The lowest version with everything we use; routers from Apollo Router 1.x compose it."""


@strawberry.type(name="_Service", description="This subgraph, for a federation router.")
class SubgraphService:
    sdl: str = strawberry.field(description="The subgraph schema with its federation directives.")


@strawberry.type(name="Query")
class SubgraphQuery(Query):
    @strawberry.field(name="_service", description="The subgraph SDL (for composition).")
    def service(self, info: ContextInfo) -> SubgraphService:
        if not info.context.introspection:  # production: like introspection, for partners only
            raise ForbiddenError("the subgraph SDL is for partner keys (X-API-Key)")
        return SubgraphService(sdl=info.schema.as_str())


@contextmanager
def keyed_entities() -> Iterator[None]:
    """``@key(fields: "id")`` on the entities while the block runs (build and print)."""
    saved = []
    for entity in ENTITIES:
        definition = get_object_definition(entity, strict=True)
        saved.append((definition, definition.directives))
        definition.directives = [*(definition.directives or ()), Key(fields=FieldSet("id"))]
    try:
        yield
    finally:
        for definition, directives in saved:
            definition.directives = directives


class SubgraphSchema(FederationSchema):
    """Strawberry's federation schema with our error logging and a fixed, printed-once SDL."""

    def __init__(self, **kwargs: Any) -> None:
        with keyed_entities():
            super().__init__(**kwargs)
            self._sdl = print_schema(self)

    def as_str(self) -> str:
        return self._sdl

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[Any]:
        """Refuses representations that are not ``{__typename, id}`` of one of our entities
        (``BAD_USER_INPUT``) instead of failing inside Strawberry."""
        for representation in representations:
            if not _is_reference(representation):
                raise UserInputError(
                    "representations",
                    "each representation is {__typename, id} of " + ", ".join(sorted(ENTITY_NAMES)),
                )
        return super().entities_resolver(info, representations)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors, execution_context)


def _is_reference(representation: object) -> bool:
    return (
        isinstance(representation, dict)
        and set(representation) == {"__typename", "id"}
        and representation["__typename"] in ENTITY_NAMES
        and isinstance(representation["id"], str)
    )


def build_subgraph_schema(
    max_depth: int = 10,
    *,
    max_cost: int = 10_000,
    observers: Sequence[Callable[[], SchemaExtension]] = (),
) -> SubgraphSchema:
    return SubgraphSchema(
        query=SubgraphQuery,
        mutation=Mutation,
        types=TYPES,
        config=schema_config(),
        extensions=schema_extensions(max_depth, max_cost, observers),
        federation_version=FEDERATION_VERSION,
    )
