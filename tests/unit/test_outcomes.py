"""Outcomes of ``commerce``: each operation's outcomes are one closed set of immutable
values, replayable by name, known by the same names as the members of the mutation's
GraphQL result union."""

from __future__ import annotations

import dataclasses
import types
from typing import Any, get_args

import pytest
from graphql import GraphQLSchema, GraphQLUnionType

from commerce import outcomes

UNIONS: list[tuple[str, str]] = [
    ("BookOutcome", "BookDealResult"),
    ("PayOutcome", "PayBookingResult"),
    ("CancelOutcome", "CancelBookingResult"),
    ("RedeemOutcome", "RedeemVoucherResult"),
    ("ReverseOutcome", "ReverseRedemptionResult"),
    ("PostReviewOutcome", "PostReviewResult"),
    ("ReplyOutcome", "ReplyToReviewResult"),
    ("MerchantOutcome", "MerchantResult"),
    ("StoreOutcome", "StoreResult"),
]
IDS = [result for _, result in UNIONS]


def members(union_name: str) -> tuple[type[Any], ...]:
    union = getattr(outcomes, union_name)
    return get_args(union) if isinstance(union, types.UnionType) else (union,)


@pytest.mark.parametrize(("union", "result"), UNIONS, ids=IDS)
def test_each_outcome_has_the_name_of_its_graphql_result_member(
    union: str, result: str, graphql_schema: GraphQLSchema
) -> None:
    graphql_union = graphql_schema.get_type(result)
    assert isinstance(graphql_union, GraphQLUnionType)
    assert [kind.__name__ for kind in members(union)] == [t.name for t in graphql_union.types]


@pytest.mark.parametrize("union", [union for union, _ in UNIONS], ids=IDS)
def test_outcomes_are_immutable_values(union: str) -> None:
    for kind in members(union):
        assert dataclasses.is_dataclass(kind)
        assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.parametrize("union", [union for union, _ in UNIONS], ids=IDS)
def test_every_refusal_tells_the_caller_why(union: str) -> None:
    _success, *refusals = members(union)  # the success comes first, as in the GraphQL union
    for kind in refusals:
        assert "message" in {field.name for field in dataclasses.fields(kind)}, kind


def test_the_replayable_sets_are_the_whole_unions() -> None:
    # a kind missing from these tuples could be stored but never replayed
    assert members("BookOutcome") == outcomes.BOOK_OUTCOMES
    assert members("RedeemOutcome") == outcomes.REDEEM_OUTCOMES
