"""Compiled nearby operations: a known document planned once into direct code.

A persisted operation whose only root field is ``nearbyDeals`` or ``nearbyMerchants`` and
whose selections are fields this module knows (the connection, edges, page info, and the
scalars of deals, stores, merchants, categories, money and points) is compiled into a
:class:`Plan`: the field tree is collected once (fragments merged as graphql-core merges
them), and each request only coerces its variables, runs the same validation, cost charge
and statement as normal execution (:func:`commerce.discovery.nearby.read_nearby`) and builds
the answer with plain functions, without graphql-core's per-field machinery.

Anything else is not compiled, and a plan answers ``None`` (the caller then runs normal
execution) whenever a request could answer differently: bad variables, a filter, an invalid
argument (``BAD_USER_INPUT`` comes from normal execution), a cost above the cap. Those checks
have no side effects; only the cost charge does, and its refusal is answered here, as the
schema's cost extension answers it. The answers are byte-identical to normal execution
(``tests/discovery/test_compiled.py`` runs every operation both ways).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from math import isfinite
from typing import Any, Protocol, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_operation_ast,
    is_leaf_type,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.type import scalars
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.types import ExecutionContext

from commerce.discovery.nearby import (
    Columns,
    Entity,
    NearbyHit,
    NearbyPage,
    NearbyRequest,
    cursor_of,
    find_nearby_on_driver,
)
from commerce.discovery.nearby import validate as validate_request
from commerce.errors import UserInputError
from commerce.hours import is_open
from commerce.insights.attribution import Channel
from db.rows import CategoryRow, DealRow, MerchantRow, StoreRow
from domain.filters import DealFilterValues
from domain.sorting import SortOrder
from schema.build import log_unexpected
from schema.context import Context
from schema.discovery.nearby import DEFAULT_FIRST, DEFAULT_RADIUS_M
from schema.errors import public_error
from schema.ids import to_global_id
from schema.partners.bounds import MAX_QUERY_LENGTH, MAX_TOKENS, OperationBounds
from schema.partners.cost import RATE_LIMITED, SIZE_ARGUMENTS, CostMeter, operation_cost
from schema.types import localized

log = logging.getLogger("o2o.compiled")

ROOT_ENTITIES = {"nearbyDeals": Entity.DEAL, "nearbyMerchants": Entity.MERCHANT}
MAX_PLANS = 1024
MAX_COSTS = 64  # remembered costs per plan


@dataclass
class Run:
    """What one request's field functions read: the page and the request's context."""

    context: Context
    request: NearbyRequest
    page: NearbyPage
    merchants: dict[int, MerchantRow]
    categories: dict[str, CategoryRow] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Connection:
    edges: list[NearbyHit]  # an edge is its hit; its cursor is made only when asked for
    has_next: bool
    total: int

    def start_cursor(self, run: Run) -> str | None:
        return cursor_of(run.request, self.edges[0]) if self.edges else None

    def end_cursor(self, run: Run) -> str | None:
        return cursor_of(run.request, self.edges[-1]) if self.edges else None


@dataclass(frozen=True, slots=True)
class Money:
    amount: Any
    currency: str


Resolve = Callable[[Any, Run], Any]
Render = Callable[[Any, Run], Any]


class Attribute:
    """A field function reading one attribute of its source (the generated render functions
    read it inline)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not name.isidentifier():
            raise ValueError(name)
        self.name = name

    def __call__(self, source: Any, run: Any) -> Any:
        return getattr(source, self.name)


def _deal_merchant(row: DealRow, run: Run) -> MerchantRow:
    return run.merchants[row.merchant_id]


def _store_merchant(row: StoreRow, run: Run) -> MerchantRow:
    return run.merchants[row.merchant_id]


def _category(row: MerchantRow, run: Run) -> CategoryRow:
    return run.categories.get(row.category_slug) or CategoryRow(row.category_slug, {})


def _open_now(row: StoreRow, run: Run) -> bool | None:
    return is_open(
        row.opening_hours, row.timezone, row.country_code, run.context.now(), row.special_hours
    )


def _original_price(row: DealRow, run: Run) -> Money | None:
    return None if row.original_price is None else Money(row.original_price, row.currency)


def _start_cursor(c: Any, run: Any) -> str | None:
    """A connection's first cursor (nearby and search connections make theirs apart)."""
    return cast(str | None, c.start_cursor(run))


def _end_cursor(c: Any, run: Any) -> str | None:
    return cast(str | None, c.end_cursor(run))


def _rating(row: MerchantRow, run: Run) -> float | None:
    return None if row.rating is None else float(row.rating)


def _localized_name(row: MerchantRow, run: Run) -> str:
    return localized(row.names, run.context.language, row.name)


def _category_name(row: CategoryRow, run: Run) -> str:
    return localized(row.names, run.context.language, row.names.get("en", row.slug))


_CONNECTION: dict[str, Resolve] = {
    "edges": Attribute("edges"),
    "pageInfo": lambda c, run: c,
    "totalCount": Attribute("total"),
}
_EDGE: dict[str, Resolve] = {
    "cursor": lambda e, run: cursor_of(run.request, e),
    "distanceMeters": lambda e, run: round(e.distance_m, 2),
}
FIELDS: dict[str, dict[str, Resolve]] = {
    "NearbyDealConnection": _CONNECTION,
    "NearbyMerchantConnection": _CONNECTION,
    "NearbyDealEdge": {
        **_EDGE,
        "store": Attribute("store"),
        "node": Attribute("entity"),
    },
    "NearbyMerchantEdge": {
        **_EDGE,
        "nearestStore": Attribute("store"),
        "node": Attribute("merchant"),
    },
    "PageInfo": {
        "hasNextPage": Attribute("has_next"),
        "hasPreviousPage": lambda c, run: False,
        "startCursor": _start_cursor,
        "endCursor": _end_cursor,
    },
    "Deal": {
        "id": lambda r, run: to_global_id("Deal", r.id),
        "title": Attribute("title"),
        "description": Attribute("description"),
        "discountPercent": Attribute("discount_percent"),
        "validFrom": Attribute("valid_from"),
        "validUntil": Attribute("valid_until"),
        "remainingQuantity": Attribute("remaining_quantity"),
        "totalQuantity": Attribute("total_quantity"),
        "perUserLimit": Attribute("per_user_limit"),
        "requiresBooking": Attribute("requires_booking"),
        "price": lambda r, run: Money(r.price, r.currency),
        "originalPrice": _original_price,
        "merchant": _deal_merchant,
    },
    "Money": {
        "amount": lambda m, run: f"{m.amount:.2f}",
        "currency": Attribute("currency"),
    },
    "Store": {
        "id": lambda r, run: to_global_id("Store", r.id),
        "name": Attribute("name"),
        "address": Attribute("address"),
        "timezone": Attribute("timezone"),
        "openingHours": Attribute("opening_hours"),
        "location": lambda r, run: r,
        "isOpenNow": _open_now,
        "merchant": _store_merchant,
    },
    "GeoPoint": {"lat": Attribute("lat"), "lng": Attribute("lng")},
    "Merchant": {
        "id": lambda r, run: to_global_id("Merchant", r.id),
        "name": Attribute("name"),
        "priceLevel": Attribute("price_level"),
        "reviewCount": Attribute("review_count"),
        "rating": _rating,
        "localizedName": _localized_name,
        "category": _category,
    },
    "Category": {
        "id": lambda r, run: to_global_id("Category", r.slug),
        "slug": Attribute("slug"),
        "name": _category_name,
    },
}


# The row fields each field function reads: the plan's statement selects only these
# (``geo.nearby.Columns``), and its rows are views with these fields only.
ROW_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "Deal": {
        "id": ("id",),
        "title": ("title",),
        "description": ("description",),
        "discountPercent": ("discount_percent",),
        "validFrom": ("valid_from",),
        "validUntil": ("valid_until",),
        "remainingQuantity": ("remaining_quantity",),
        "totalQuantity": ("total_quantity",),
        "perUserLimit": ("per_user_limit",),
        "requiresBooking": ("requires_booking",),
        "price": ("price", "currency"),
        "originalPrice": ("original_price", "currency"),
        "merchant": ("merchant_id",),
    },
    "Store": {
        "id": ("id",),
        "name": ("name",),
        "address": ("address",),
        "timezone": ("timezone",),
        "openingHours": ("opening_hours",),
        "location": ("lat", "lng"),
        "isOpenNow": ("opening_hours", "timezone", "country_code", "special_hours"),
        "merchant": ("merchant_id",),
    },
    "Merchant": {
        "id": ("id",),
        "name": ("name",),
        "priceLevel": ("price_level",),
        "reviewCount": ("review_count",),
        "rating": ("rating",),
        "localizedName": ("names", "name"),
        "category": ("category_slug",),
    },
}
ROW_TYPES: dict[str, Any] = {"Deal": DealRow, "Store": StoreRow, "Merchant": MerchantRow}


@dataclass
class _Seen:
    """What compiling met: object types, and the row fields read of each row type."""

    types: set[str] = field(default_factory=set)
    fields: dict[str, set[str]] = field(default_factory=dict)

    def read(self, type_name: str, field_name: str) -> None:
        wanted = ROW_FIELDS.get(type_name)
        if wanted is not None:
            self.fields.setdefault(type_name, set()).update(wanted[field_name])

    def columns(self) -> Columns:
        """The columns to select, in the row types' field order (ids always)."""

        def of(type_name: str, always: tuple[str, ...]) -> tuple[str, ...]:
            wanted = self.fields.get(type_name, set()).union(always)
            return tuple(f for f in ROW_TYPES[type_name].__dataclass_fields__ if f in wanted)

        return Columns(
            store=of("Store", ()), merchant=of("Merchant", ("id",)), deal=of("Deal", ("id",))
        )


class NotCompilableError(Exception):
    """The document uses something the compiler does not know: normal execution runs it."""


def _collect(
    schema: GraphQLSchema,
    parent: GraphQLObjectType,
    selection_sets: Sequence[SelectionSetNode],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> dict[str, list[FieldNode]]:
    """Response key -> its field nodes, in first-appearance order (graphql-core's merge)."""
    fields: dict[str, list[FieldNode]] = {}
    for selection_set in selection_sets:
        _collect_into(schema, parent, selection_set, fragments, fields, set())
    return fields


def _collect_into(
    schema: GraphQLSchema,
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    fields: dict[str, list[FieldNode]],
    visited: set[str],
) -> None:
    for selection in selection_set.selections:
        if selection.directives:
            raise NotCompilableError("directives")
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            fields.setdefault(key, []).append(selection)
            continue
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in visited:
                continue
            visited.add(name)
            fragment = fragments[name]
            condition: NamedTypeNode | None = fragment.type_condition
            inner = fragment.selection_set
        elif isinstance(selection, InlineFragmentNode):
            condition, inner = selection.type_condition, selection.selection_set
        else:  # pragma: no cover - the AST has no other selection kinds
            raise NotCompilableError("selection")
        if condition is not None and not _applies(schema, condition.name.value, parent):
            continue
        _collect_into(schema, parent, inner, fragments, fields, visited)


def _applies(schema: GraphQLSchema, condition: str, parent: GraphQLObjectType) -> bool:
    target = schema.get_type(condition)
    if target is None:
        raise NotCompilableError("unknown type condition")
    return target is parent or (
        not isinstance(target, GraphQLObjectType) and schema.is_sub_type(target, parent)  # type: ignore[arg-type]
    )


def _unwrap(kind: GraphQLOutputType) -> tuple[GraphQLOutputType, bool, bool]:
    """(named type, nullable, list) of a field type; lists of lists are not compiled."""
    nullable = not isinstance(kind, GraphQLNonNull)
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        if isinstance(item, GraphQLNonNull):
            item = item.of_type
        if isinstance(item, GraphQLList):
            raise NotCompilableError("nested lists")
        return item, nullable, True
    return inner, nullable, False


def _object_renderer(
    schema: GraphQLSchema,
    parent: GraphQLObjectType,
    nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: _Seen,
) -> Render:
    """The function building one object's JSON from its source, keys in response order
    (``seen`` collects the object types met and the row fields read). It is generated as
    Python source: per field, resolve then convert, inline, in response order."""
    seen.types.add(parent.name)
    resolvers = FIELDS.get(parent.name)
    if resolvers is None:
        raise NotCompilableError(parent.name)
    selection_sets = [node.selection_set for node in nodes if node.selection_set is not None]
    names: dict[str, Any] = {"isfinite": isfinite}
    lines: list[str] = []
    keys: list[str] = []
    for i, (key, field_nodes) in enumerate(
        _collect(schema, parent, selection_sets, fragments).items()
    ):
        name = field_nodes[0].name.value
        resolve = resolvers.get(name)
        definition = parent.fields.get(name)
        if resolve is None or definition is None or field_nodes[0].arguments:
            raise NotCompilableError(f"{parent.name}.{name}")
        seen.read(parent.name, name)
        if isinstance(resolve, Attribute):
            lines.append(f"v = source.{resolve.name}")
        else:
            names[f"r{i}"] = resolve
            lines.append(f"v = r{i}(source, run)")
        code = _value_code(f"{i}", schema, definition, field_nodes, fragments, seen, names)
        lines.append(f"k{i} = {code}")
        keys.append(key)
    result = ", ".join(f"{key!r}: k{i}" for i, key in enumerate(keys))
    body = "".join(f"    {line}\n" for line in lines)
    text = f"def render(source, run):\n{body}    return {{{result}}}\n"
    exec(compile(text, f"<render {parent.name}>", "exec"), names)  # our own text, no input
    return cast(Render, names["render"])


def _value_code(
    suffix: str,
    schema: GraphQLSchema,
    definition: GraphQLField,
    nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: _Seen,
    names: dict[str, Any],
) -> str:
    """The expression of a field's JSON from its resolved value ``v`` (what
    :func:`_value_renderer` does, inline); the functions it calls go into ``names``."""
    named, _nullable, is_list = _unwrap(definition.type)
    var = "x" if is_list else "v"
    if is_leaf_type(named):
        item = _leaf_code(named, var, f"c{suffix}", names)
    elif isinstance(named, GraphQLObjectType):
        names[f"o{suffix}"] = _object_renderer(schema, named, nodes, fragments, seen)
        item = f"o{suffix}({var}, run)"
    else:
        raise NotCompilableError("abstract type")
    one = f"None if {var} is None else {item}"
    return f"None if v is None else [{one} for x in v]" if is_list else one


def _leaf_code(named: GraphQLOutputType, var: str, name: str, names: dict[str, Any]) -> str:
    """:func:`_leaf_converter` as an expression of ``var`` (not ``None``)."""
    serialize = named.serialize if isinstance(named, GraphQLLeafType) else None
    if serialize is None:  # pragma: no cover - leaf types are scalars and enums
        raise NotCompilableError("leaf")
    names[name] = serialize
    if serialize is scalars.serialize_string or serialize is scalars.serialize_id:
        return f"{var} if type({var}) is str else {name}({var})"
    if serialize is scalars.serialize_int:
        low, high = scalars.GRAPHQL_MIN_INT, scalars.GRAPHQL_MAX_INT
        return f"{var} if type({var}) is int and {low} <= {var} <= {high} else {name}({var})"
    if serialize is scalars.serialize_float:
        return f"{var} if type({var}) is float and isfinite({var}) else {name}({var})"
    if serialize is scalars.serialize_boolean:
        return f"{var} if type({var}) is bool else {name}({var})"
    return f"{name}({var})"


def _leaf_converter(named: GraphQLOutputType) -> Callable[[Any], Any]:
    """A scalar's or enum's ``serialize``; for the built-in scalars, a value that already has
    the exact type the serializer would return is returned as it is (what it does too)."""
    serialize = named.serialize if isinstance(named, GraphQLLeafType) else None
    if serialize is None:  # pragma: no cover - leaf types are scalars and enums
        raise NotCompilableError("leaf")
    if serialize is scalars.serialize_string or serialize is scalars.serialize_id:
        return lambda v: v if type(v) is str else serialize(v)
    if serialize is scalars.serialize_int:
        low, high = scalars.GRAPHQL_MIN_INT, scalars.GRAPHQL_MAX_INT
        return lambda v: v if type(v) is int and low <= v <= high else serialize(v)
    if serialize is scalars.serialize_float:
        return lambda v: v if type(v) is float and isfinite(v) else serialize(v)
    if serialize is scalars.serialize_boolean:
        return lambda v: v if type(v) is bool else serialize(v)
    return serialize


def _value_renderer(
    schema: GraphQLSchema,
    definition: GraphQLField,
    nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: _Seen,
) -> Render:
    named, _nullable, is_list = _unwrap(definition.type)
    one: Render
    if is_leaf_type(named):
        convert = _leaf_converter(named)

        def one(value: Any, run: Run) -> Any:
            return None if value is None else convert(value)

    elif isinstance(named, GraphQLObjectType):
        obj = _object_renderer(schema, named, nodes, fragments, seen)

        def one(value: Any, run: Run) -> Any:
            return None if value is None else obj(value, run)

    else:
        raise NotCompilableError("abstract type")
    if not is_list:
        return one

    def many(values: Any, run: Run) -> Any:
        return None if values is None else [one(value, run) for value in values]

    return many


@dataclass(frozen=True)
class Limits:
    """The served schema's caps, as :func:`schema.build.build_schema` was given them."""

    max_depth: int
    max_cost: int


@dataclass(frozen=True)
class Plan:
    """One compiled operation of one document."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    operation_name: str | None
    key: str
    node: FieldNode
    definition: GraphQLField
    entity: Entity
    with_total: bool
    with_categories: bool
    render: Render
    max_cost: int
    columns: Columns
    cost_variables: tuple[str, ...]  # the variables the cost depends on (size arguments)
    costs: dict[tuple[Any, ...], int] = field(default_factory=dict, compare=False)

    async def execute(
        self, context: Context, variables: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The response of this request, or ``None``: run it through normal execution."""
        request = self._request(context, variables)
        if request is None:
            return None
        cost = self._cost(variables)
        meter: CostMeter | None = context.meter
        budget = meter.cost_budget if meter is not None else None
        if cost > (self.max_cost if budget is None else min(self.max_cost, budget)):
            return None
        if meter is not None:
            verdict = await meter.charge(cost)
            if verdict.retry_after is not None:
                return _refused(verdict.budget, verdict.retry_after, cost)
        try:
            data = await self._data(context, request)
        except Exception as error:  # what normal execution does with a failing resolver
            return self._failed(context, error, cost)
        return {"data": {self.key: data}, "extensions": {"cost": cost}}

    def _cost(self, variables: Mapping[str, Any]) -> int:
        return remembered_cost(self, variables)

    def _request(self, context: Context, variables: Mapping[str, Any]) -> NearbyRequest | None:
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or (), dict(variables)
        )
        if isinstance(coerced, list):
            return None
        try:
            args = get_argument_values(self.definition, self.node, coerced)
        except GraphQLError:
            return None
        if args.get("filter") is not None:
            return None
        near, radius, first = args["near"], args.get("radiusMeters"), args.get("first")
        sort = args.get("sort")
        order = SortOrder(sort.value) if sort is not None else SortOrder.DISTANCE
        request = NearbyRequest(
            entity=self.entity,
            lat=near["lat"],
            lng=near["lng"],
            radius_m=DEFAULT_RADIUS_M if radius is None else radius,
            sort=order,
            first=DEFAULT_FIRST if first is None else first,
            now=context.now(),
            after=args.get("after"),
            filter=DealFilterValues(),
            with_total=self.with_total,
        )
        try:
            validate_request(request)
        except UserInputError:
            return None
        return request

    async def _data(self, context: Context, request: NearbyRequest) -> Any:
        async with context.database.driver() as conn:
            page = await find_nearby_on_driver(conn, request, self.columns)
        merchants = {hit.merchant.id: hit.merchant for hit in page.hits}
        if self.entity is Entity.DEAL and context.funnel is not None and page.hits:
            # the live funnel counts these impressions, as normal execution does
            deal_ids = [hit.entity.id for hit in page.hits]
            context.funnel.impressions(deal_ids, Channel.NEARBY, context.partner_key_id)
        run = Run(context, request, page, merchants)
        if self.with_categories and page.hits:
            slugs = list(dict.fromkeys(m.category_slug for m in merchants.values()))
            rows = await context.loaders.category.load_many(slugs)
            run.categories = {row.slug: row for row in rows if row is not None}
        return self.render(Connection(page.hits, page.has_next, page.total or 0), run)

    def _failed(self, context: Context, error: Exception, cost: int) -> dict[str, Any]:
        raised = GraphQLError(str(error), nodes=[self.node], path=[self.key], original_error=error)
        log_unexpected([raised], cast(ExecutionContext, _Logged(context)))
        shown = public_error(raised, context.request_id)
        return {"data": {self.key: None}, "errors": [shown.formatted], "extensions": {"cost": cost}}


class Costed(Protocol):
    """What :func:`remembered_cost` reads of a plan."""

    @property
    def schema(self) -> GraphQLSchema: ...
    @property
    def document(self) -> DocumentNode: ...
    @property
    def operation_name(self) -> str | None: ...
    @property
    def cost_variables(self) -> tuple[str, ...]: ...
    @property
    def costs(self) -> dict[tuple[Any, ...], int]: ...


def remembered_cost(plan: Costed, variables: Mapping[str, Any]) -> int:
    """``operation_cost``, remembered by the values (and types) of the variables it reads:
    the same for every request that sends the same page sizes."""
    values = (variables.get(name) for name in plan.cost_variables)
    key = tuple((type(value), value) for value in values)
    try:
        cost = plan.costs.get(key)
    except TypeError:  # an unhashable value (a list or object): not remembered
        return operation_cost(plan.schema, plan.document, plan.operation_name, variables)
    if cost is None:
        cost = operation_cost(plan.schema, plan.document, plan.operation_name, variables)
        if len(plan.costs) < MAX_COSTS:
            plan.costs[key] = cost
    return cost


@dataclass(frozen=True)
class _Logged:
    """The one attribute :func:`schema.build.log_unexpected` reads of an execution."""

    context: Context


def _refused(budget: str | None, retry_after: int, cost: int) -> dict[str, Any]:
    what = "query-cost budget" if budget == "cost" else "request rate"
    error = GraphQLError(
        f"The {what} of this caller is used up; it resets in {retry_after} s.",
        extensions={"code": RATE_LIMITED, "budget": budget, "retryAfter": retry_after},
    )
    return {"data": None, "errors": [error.formatted], "extensions": {"cost": cost}}


@dataclass(frozen=True, slots=True)
class RootField:
    """A checked query with exactly one root field (what every compiler starts from)."""

    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    key: str  # the response key (alias or name)
    node: FieldNode
    definition: GraphQLField


def one_root_field(
    schema: GraphQLSchema, text: str, operation_name: str | None, limits: Limits
) -> RootField:
    """Parse, bound and validate ``text`` as normal execution does, and return its one root
    field; :class:`NotCompilableError` for anything else."""
    if len(text) > MAX_QUERY_LENGTH:
        raise NotCompilableError("length")
    try:
        document = parse(text, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        raise NotCompilableError("syntax") from error
    try:
        OperationBounds()._check(document)
    except GraphQLError as error:
        raise NotCompilableError("bounds") from error
    rules = (*specified_rules, create_validator(limits.max_depth, None, None))
    if validate(schema, document, rules):
        raise NotCompilableError("invalid")
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        raise NotCompilableError("not a query")
    if operation.directives:
        raise NotCompilableError("directives")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.query_type
    assert root is not None
    roots = _collect(schema, root, [operation.selection_set], fragments)
    if len(roots) != 1:
        raise NotCompilableError("one root field")
    ((key, nodes),) = roots.items()
    name = nodes[0].name.value
    if len(nodes) != 1:
        raise NotCompilableError(name)
    return RootField(document, operation, fragments, key, nodes[0], root.fields[name])


def compile_plan(
    schema: GraphQLSchema, text: str, operation_name: str | None, limits: Limits
) -> Plan:
    """The plan of ``operation_name`` in ``text``; :class:`NotCompilableError` if none."""
    found = one_root_field(schema, text, operation_name, limits)
    document, operation, fragments = found.document, found.operation, found.fragments
    key, nodes, definition = found.key, [found.node], found.definition
    name = found.node.name.value
    entity = ROOT_ENTITIES.get(name)
    if entity is None:
        raise NotCompilableError(name)
    connection = definition.type
    assert isinstance(connection, GraphQLObjectType)  # nullable connection type
    fields = _collect(schema, connection, [nodes[0].selection_set], fragments)  # type: ignore[list-item]
    seen = _Seen()
    render = _value_renderer(schema, definition, nodes, fragments, seen)
    return Plan(
        schema=schema,
        document=document,
        operation=operation,
        operation_name=operation_name,
        key=key,
        node=nodes[0],
        definition=definition,
        entity=entity,
        with_total="totalCount" in {f[0].name.value for f in fields.values()},
        with_categories="Category" in seen.types,
        render=render,
        max_cost=limits.max_cost,
        columns=seen.columns(),
        cost_variables=_size_variables(document),
    )


def _size_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables given to a size argument (``first``, ...) anywhere in the document."""
    found: dict[str, None] = {}

    def walk(selection_set: SelectionSetNode | None) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    value = argument.value
                    if argument.name.value in SIZE_ARGUMENTS and isinstance(value, VariableNode):
                        found[value.name.value] = None
            walk(getattr(selection, "selection_set", None))

    for definition in document.definitions:
        walk(getattr(definition, "selection_set", None))
    return tuple(found)


class Executable(Protocol):
    """What the gateway runs of a plan (:class:`Plan`, or another module's, such as
    :class:`schema.compiled_search.SearchPlan`)."""

    @property
    def operation(self) -> OperationDefinitionNode: ...

    async def execute(
        self, context: Context, variables: Mapping[str, Any]
    ) -> dict[str, Any] | None: ...


CompilePlan = Callable[[GraphQLSchema, str, str | None, Limits], Executable]


class Compiler:
    """Plans by (document hash, operation name), compiled on first use; ``None`` remembered
    for documents that are not compiled. ``more`` are further compilers (other root fields),
    tried in order after :func:`compile_plan`."""

    def __init__(
        self, schema: GraphQLSchema, limits: Limits, more: Sequence[CompilePlan] = ()
    ) -> None:
        self.schema = schema
        self.limits = limits
        self._compilers: tuple[CompilePlan, ...] = (compile_plan, *more)
        self._plans: dict[tuple[str, str | None], Executable | None] = {}
        self.answered = 0  # requests a plan answered (tests check the compiled path ran)

    def plan(self, digest: str, text: str, operation_name: str | None) -> Executable | None:
        key = (digest, operation_name)
        if key in self._plans:
            return self._plans[key]
        plan: Executable | None = None
        for compile_one in self._compilers:
            try:
                plan = compile_one(self.schema, text, operation_name, self.limits)
                break
            except NotCompilableError as reason:
                log.debug("operation %s not compiled: %s", digest[:12], reason)
        if len(self._plans) >= MAX_PLANS:
            self._plans.clear()
        self._plans[key] = plan
        return plan
