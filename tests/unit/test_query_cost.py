"""Static query cost (``schema.partners.cost``) over parsed documents and the served schema.

Objects cost 1, scalars nothing; a ``first``/``limit`` argument (its value, else the
schema's default) multiplies everything selected below it.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLSchema, parse

from schema.partners.cost import operation_cost

NEAR = "{lat: 60.17, lng: 24.94}"


def cost(
    schema: GraphQLSchema,
    query: str,
    variables: dict[str, Any] | None = None,
    operation: str | None = None,
) -> int:
    return operation_cost(schema, parse(query), operation, variables)


def nearby(first: int | str, node: str = "title") -> str:
    return f"""{{ nearbyDeals(near: {NEAR}, first: {first}) {{
                   totalCount edges {{ node {{ {node} }} }} }} }}"""


def test_scalars_are_free_and_objects_cost_one(graphql_schema: GraphQLSchema) -> None:
    assert cost(graphql_schema, "{ __typename }") == 0
    assert cost(graphql_schema, "{ categories { slug } }") == 1


def test_first_multiplies_what_is_selected_below_it(graphql_schema: GraphQLSchema) -> None:
    assert cost(graphql_schema, nearby(5)) == 1 + 5 * (1 + 1)
    assert cost(graphql_schema, nearby(10)) == 1 + 10 * (1 + 1)
    assert cost(graphql_schema, nearby(10, "title merchant { name }")) == 1 + 10 * 3


def test_without_first_the_schemas_default_counts(graphql_schema: GraphQLSchema) -> None:
    query = f"{{ nearbyDeals(near: {NEAR}) {{ edges {{ node {{ id }} }} }} }}"
    assert cost(graphql_schema, query) == 1 + 20 * 2


@pytest.mark.parametrize("first", [0, 1, -3])
def test_a_page_of_one_or_less_counts_as_one(graphql_schema: GraphQLSchema, first: int) -> None:
    assert cost(graphql_schema, nearby(first)) == 1 + 1 * 2


def test_limit_multiplies_like_first(graphql_schema: GraphQLSchema) -> None:
    view = """{ dealsInView(bbox: {west: 24.9, south: 60.1, east: 25.0, north: 60.2}, zoom: 15,
                            limit: 50) { totalCount deals { id } clusters { count } } }"""
    assert cost(graphql_schema, view) == 1 + 50 * (1 + 1)
    assert cost(graphql_schema, '{ autocomplete(prefix: "pi") { text } }') == 1 + 8 * 0


def test_nesting_multiplies(graphql_schema: GraphQLSchema) -> None:
    query = nearby(100, "merchant { deals(first: 100) { edges { node { title } } } }")
    assert cost(graphql_schema, query) == 1 + 100 * (1 + 1 + 1 + 1 + 100 * 2)


def test_a_variable_counts_with_its_value_else_its_default(
    graphql_schema: GraphQLSchema,
) -> None:
    query = f"""query ($n: Int = 4) {{ nearbyDeals(near: {NEAR}, first: $n) {{
                  edges {{ node {{ id }} }} }} }}"""
    assert cost(graphql_schema, query) == 1 + 4 * 2
    assert cost(graphql_schema, query, {"n": 7}) == 1 + 7 * 2
    assert cost(graphql_schema, query, {"n": None}) == 1 + 4 * 2
    without_default = f"""query ($n: Int) {{ nearbyDeals(near: {NEAR}, first: $n) {{
                            edges {{ node {{ id }} }} }} }}"""
    assert cost(graphql_schema, without_default) == 1 + 20 * 2


def test_named_fragments_cost_what_they_select(graphql_schema: GraphQLSchema) -> None:
    query = f"""{{ nearbyDeals(near: {NEAR}, first: 5) {{ ...E }} }}
               fragment E on NearbyDealConnection {{ edges {{ node {{ title }} }} }}"""
    assert cost(graphql_schema, query) == 1 + 5 * 2


def test_every_member_of_a_union_is_counted(graphql_schema: GraphQLSchema) -> None:
    mutation = """mutation { bookDeal(input: {dealId: "x", idempotencyKey: "k"}) {
                    ... on BookDealSuccess { booking { id } }
                    ... on SoldOut { message } } }"""
    assert cost(graphql_schema, mutation) == 1 + 1
    both = """mutation { bookDeal(input: {dealId: "x", idempotencyKey: "k"}) {
                ... on BookDealSuccess { booking { id } }
                ... on BookDealSuccess { again: booking { id } } } }"""
    assert cost(graphql_schema, both) == 1 + 1 + 1


def test_the_chosen_operation_is_the_one_counted(graphql_schema: GraphQLSchema) -> None:
    document = f"query Cheap {{ categories {{ slug }} }} query Dear {nearby(5)}"
    assert cost(graphql_schema, document, operation="Cheap") == 1
    assert cost(graphql_schema, document, operation="Dear") == 11
    assert cost(graphql_schema, document, operation="Missing") == 0
    assert cost(graphql_schema, document) == 0  # ambiguous: nothing runs


def test_introspection_is_counted_like_any_other_selection(
    graphql_schema: GraphQLSchema,
) -> None:
    assert cost(graphql_schema, "{ __schema { types { name } } }") == 1 + 1
    assert cost(graphql_schema, '{ __type(name: "Deal") { fields { name } } }') == 1 + 1
