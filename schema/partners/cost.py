"""Static query cost: computed after validation, capped for everybody, charged to a meter.

The cost is an upper bound known before anything runs. Every field that returns an object
(or a list of objects) costs 1; scalars and enums are free, they come with their object. A
field with a ``first`` or ``limit`` argument (its value, else the schema's default)
multiplies the cost of everything selected below it, so nesting multiplies:
``nearbyDeals(first: 50) { edges { node { merchant { name } } } }`` costs
1 + 50 x (edges 1 + node 1 + merchant 1) = 151. Lists without such an argument count once:
their length is bounded by the data (a deal's stores, the categories). Fragments on
different types of an interface or union are all counted (an upper bound).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_leaf_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from commerce.partners.api_keys import Verdict

SIZE_ARGUMENTS = ("first", "limit")
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
RATE_LIMITED = "RATE_LIMITED"


class CostMeter(Protocol):
    """Charges an operation's cost against the caller's budget (the gateway's Redis)."""

    @property
    def cost_budget(self) -> int | None:
        """The most one window admits (``None``: no budget, only the global cap)."""

    async def charge(self, cost: int) -> Verdict: ...


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection_cost(self, parent: GraphQLNamedType, selections: SelectionSetNode) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_cost(target or parent, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection_cost(target or parent, fragment.selection_set)
        return total

    def field_cost(self, parent: GraphQLNamedType, node: FieldNode) -> int:
        definition = self.field_definition(parent, node.name.value)
        if definition is None:
            return 0  # __typename
        named = get_named_type(definition.type)
        if is_leaf_type(named) or node.selection_set is None:
            return 0
        return 1 + self.size(definition, node) * self.selection_cost(named, node.selection_set)

    def field_definition(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        fields = getattr(parent, "fields", None)
        return fields.get(name) if fields else None

    def size(self, definition: GraphQLField, node: FieldNode) -> int:
        for name in SIZE_ARGUMENTS:
            if name not in definition.args:
                continue
            value = self.argument_value(node, name)
            if value is None:
                value = definition.args[name].default_value
            return value if isinstance(value, int) and value > 1 else 1
        return 1

    def argument_value(self, node: FieldNode, name: str) -> object:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            if isinstance(argument.value, IntValueNode):
                return int(argument.value.value)
            if isinstance(argument.value, VariableNode):
                return self.variables.get(argument.value.name.value)
        return None


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation a validated document runs (0 when there is none)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    given = variables if isinstance(variables, Mapping) else {}
    walk = _Walk(schema, fragments, _with_defaults(operation, given))
    root: GraphQLObjectType | None = schema.get_root_type(operation.operation)
    return 0 if root is None else walk.selection_cost(root, operation.selection_set)


def _with_defaults(
    operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> dict[str, Any]:
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        default = definition.default_value
        if values.get(name) is None and isinstance(default, IntValueNode):
            values[name] = int(default.value)
    return values


class QueryCost(SchemaExtension):
    """Reports ``extensions.cost``; refuses operations above ``max_cost`` for everybody
    (``QUERY_TOO_COSTLY``) and those the caller's meter refuses (``RATE_LIMITED``)."""

    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost
        self.cost = 0

    async def on_operation(self) -> AsyncIterator[None]:
        # The same rule class for every caller without introspection: the validation cache
        # keys on the rule tuple, so this costs one extra cache entry per document at most.
        if not getattr(self.execution_context.context, "introspection", True):
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoSchemaIntrospectionCustomRule)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        assert execution.graphql_document is not None  # execution follows validation
        self.cost = operation_cost(
            execution.schema._schema,
            execution.graphql_document,
            execution.operation_name,
            execution.variables,
        )
        meter: CostMeter | None = getattr(execution.context, "meter", None)
        budget = meter.cost_budget if meter is not None else None
        max_cost = self.max_cost if budget is None else min(self.max_cost, budget)
        if self.cost > max_cost:
            raise GraphQLError(
                f"This operation costs {self.cost}, more than {max_cost}: ask for fewer "
                "items (first/limit) or nest less.",
                extensions={"code": QUERY_TOO_COSTLY, "cost": self.cost, "maxCost": max_cost},
            )
        if meter is not None:
            verdict = await meter.charge(self.cost)
            if verdict.retry_after is not None:
                what = "query-cost budget" if verdict.budget == "cost" else "request rate"
                raise GraphQLError(
                    f"The {what} of this caller is used up; it resets in {verdict.retry_after} s.",
                    extensions={
                        "code": RATE_LIMITED,
                        "budget": verdict.budget,
                        "retryAfter": verdict.retry_after,
                    },
                )
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost}
