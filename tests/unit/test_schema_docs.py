"""A documented schema: every type, field, argument, input field and enum value of the
served schema has a description; custom scalars say which specification they follow; every
refusal member of a mutation result implements ``Error`` with a stable code."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
)

from schema.scalars import DATE_SPEC, DATE_TIME_SPEC, GEOJSON_SPEC

SUCCESSES = {
    "BookDealSuccess",
    "PaymentSucceeded",
    "BookingCancelled",
    "VoucherRedeemed",
    "RedemptionReversed",
    "ReviewPosted",
    "ReplyPosted",
    "MerchantSaved",
    "StoreSaved",
    "DealSaved",
    "CouponSaved",
    "CouponClaimed",
    "CouponRedeemed",
    "CouponRedemptionReversed",
}
UNDER_WAY = {"PaymentRequiresAction", "PaymentPending"}
"""Members saying a payment is still being decided: neither success nor refusal."""


def undocumented(schema: GraphQLSchema) -> Iterator[str]:
    """The coordinates of every element without a (non-blank) description."""

    def missing(description: str | None) -> bool:
        return not (description and description.strip())

    for name, named in schema.type_map.items():
        if name.startswith("__"):
            continue
        if missing(named.description):
            yield name
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                if missing(field.description):
                    yield f"{name}.{field_name}"
                for arg_name, arg in field.args.items():
                    if missing(arg.description):
                        yield f"{name}.{field_name}({arg_name}:)"
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                if missing(input_field.description):
                    yield f"{name}.{field_name}"
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                if missing(value.description):
                    yield f"{name}.{value_name}"


def test_every_schema_element_has_a_description(graphql_schema: GraphQLSchema) -> None:
    assert list(undocumented(graphql_schema)) == []


def test_the_check_finds_what_is_missing() -> None:
    bare = build_schema(
        '''
        """Documented."""
        type Query { a(x: Int): Kind  """b""" b("""i""" i: In, j: Int): Int }
        enum Kind { """one""" ONE TWO }
        input In { """f""" f: Int  g: Int }
        '''
    )
    assert sorted(undocumented(bare)) == sorted(
        ["Query.a", "Query.a(x:)", "Query.b(j:)", "Kind", "Kind.TWO", "In", "In.g"]
    )


def test_custom_scalars_are_specified_by_their_standards(graphql_schema: GraphQLSchema) -> None:
    date_time = graphql_schema.get_type("DateTime")
    geojson = graphql_schema.get_type("GeoJSON")
    assert isinstance(date_time, GraphQLScalarType) and isinstance(geojson, GraphQLScalarType)
    assert date_time.specified_by_url == DATE_TIME_SPEC
    assert geojson.specified_by_url == GEOJSON_SPEC
    custom = {
        name
        for name, named in graphql_schema.type_map.items()
        if isinstance(named, GraphQLScalarType)
        and name not in {"String", "Int", "Float", "Boolean", "ID"}
    }
    assert custom == {"DateTime", "Date", "GeoJSON"}, "give a new scalar its specified_by_url"
    date = graphql_schema.get_type("Date")
    assert isinstance(date, GraphQLScalarType) and date.specified_by_url == DATE_SPEC


# Mutations whose contract names a plain result (CONTRACT.md "Coupons and members"): their
# failures are coded GraphQL errors, not union members.
PLAIN_RESULTS = {
    "issueCoupon",
    "joinMembership",
    "leaveMembership",
    "acceptAutoJoin",
    "saveSegment",
    "setMembershipProgram",
}


def _result_unions(schema: GraphQLSchema) -> list[GraphQLUnionType]:
    mutation = schema.mutation_type
    assert mutation is not None
    unions = [
        field.type.of_type  # Result! of each
        for name, field in mutation.fields.items()
        if name not in PLAIN_RESULTS
    ]
    assert all(isinstance(union, GraphQLUnionType) for union in unions)
    return unions


def _code_default(member: GraphQLObjectType) -> object:
    """The value Strawberry gives the member's ``code`` field (its definition's default)."""
    definition = member.extensions["strawberry-definition"]
    return next(field.default for field in definition.fields if field.python_name == "code")


def test_every_refusal_implements_error_with_a_stable_code(graphql_schema: GraphQLSchema) -> None:
    error = graphql_schema.get_type("Error")
    assert isinstance(error, GraphQLInterfaceType)
    assert {name: str(field.type) for name, field in error.fields.items()} == {
        "message": "String!",
        "code": "String!",
    }
    refusals = 0
    for union in _result_unions(graphql_schema):
        for member in union.types:
            implements = error in member.interfaces
            if member.name in SUCCESSES or member.name in UNDER_WAY:
                assert not implements, member.name
                continue
            assert implements, f"{union.name}: {member.name} does not implement Error"
            refusals += 1
            expected = re.sub(r"(?<!^)(?=[A-Z])", "_", member.name).upper()
            assert _code_default(member) == expected, member.name
    assert refusals >= 16


@pytest.mark.parametrize("type_name", ["Booking", "Payment", "Refund", "Voucher", "Redemption"])
def test_order_objects_are_nodes(graphql_schema: GraphQLSchema, type_name: str) -> None:
    named = graphql_schema.get_type(type_name)
    node = graphql_schema.get_type("Node")
    assert isinstance(named, GraphQLObjectType) and node in named.interfaces
