"""Compiled ``searchDeals``: a known persisted search planned once into direct code.

The same machinery as the compiled nearby operations (:mod:`schema.compiled`): the field tree
of a persisted document whose only root field is ``searchDeals`` is collected once, and each
request coerces its variables, validates the search as normal execution does
(:func:`commerce.discovery.search.validate_search`), charges its cost, asks the index and
reads the page's rows in one statement (:func:`commerce.discovery.search.search_query`), then
builds the answer with plain functions.

Known: the connection (``edges``, ``pageInfo``, ``totalCount``), an edge's ``cursor``,
``score``, ``distanceMeters``, ``store``, ``highlights`` and ``node``, and the deal, store,
merchant and category scalars :mod:`schema.compiled` knows. Not compiled (normal execution
runs them): ``facets``, ``attribution``, anything else. A plan answers ``None`` whenever a
request could answer differently: bad variables, a filter (opening hours are judged over every
match), an invalid argument, a cost above the cap. The answers are byte-identical to normal
execution (``tests/discovery/test_compiled_search.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.types import ExecutionContext

from commerce.discovery.nearby import Columns
from commerce.discovery.search import (
    DealQuery,
    FoundDeal,
    SearchPage,
    SearchRequest,
    search_query,
    validate_search,
)
from commerce.errors import UserInputError
from commerce.insights.attribution import Channel
from db.rows import CategoryRow, MerchantRow
from domain.filters import DealFilterValues
from domain.sorting import SortOrder
from schema.build import log_unexpected
from schema.compiled import (
    FIELDS,
    Limits,
    NotCompilableError,
    Render,
    Resolve,
    Run,
    _collect,
    _Logged,
    _refused,
    _Seen,
    _size_variables,
    _value_renderer,
    one_root_field,
    remembered_cost,
)
from schema.context import Context
from schema.discovery.search import DEFAULT_FIRST
from schema.errors import public_error
from schema.partners.cost import CostMeter

ROOT = "searchDeals"
HIGHLIGHT_NAMES = {"name": "title", "merchant_name": "merchantName", "description": "description"}


@dataclass
class SearchRun:
    """What the field functions read (the attributes of :class:`schema.compiled.Run` that
    the shared deal, store and merchant functions use)."""

    context: Context
    merchants: dict[int, MerchantRow]
    categories: dict[str, CategoryRow] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Highlight:
    field: str
    snippets: list[str]


@dataclass(frozen=True, slots=True)
class Connection:
    edges: list[FoundDeal]
    has_next: bool
    total: int

    def start_cursor(self, run: Any) -> str | None:
        return self.edges[0].cursor if self.edges else None

    def end_cursor(self, run: Any) -> str | None:
        return self.edges[-1].cursor if self.edges else None


def _distance(found: FoundDeal, run: Any) -> float | None:
    return round(found.nearest.distance_m, 2) if found.nearest else None


def _highlights(found: FoundDeal, run: Any) -> list[Highlight]:
    return [
        Highlight(HIGHLIGHT_NAMES.get(name, name), snippets)
        for name, snippets in found.highlights.items()
    ]


SEARCH_FIELDS: dict[str, dict[str, Resolve]] = {
    "DealSearchConnection": {
        "edges": lambda c, run: c.edges,
        "pageInfo": lambda c, run: c,
        "totalCount": lambda c, run: c.total,
    },
    "DealSearchEdge": {
        "cursor": lambda f, run: f.cursor,
        "score": lambda f, run: round(f.score, 6),
        "distanceMeters": _distance,
        "store": lambda f, run: f.nearest.store if f.nearest else None,
        "highlights": _highlights,
        "node": lambda f, run: f.deal,
    },
    "SearchHighlight": {
        "field": lambda h, run: h.field,
        "snippets": lambda h, run: h.snippets,
    },
}
# The shared table of schema.compiled: its renderers look object types up there. These types
# are reachable from searchDeals only, so nearby plans are unchanged by them.
FIELDS.update(SEARCH_FIELDS)


@dataclass(frozen=True)
class SearchPlan:
    """One compiled ``searchDeals`` operation of one document."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    operation_name: str | None
    key: str
    node: FieldNode
    definition: GraphQLField
    with_highlights: bool
    with_categories: bool
    render: Render
    max_cost: int
    fields: Columns  # the row fields the renderers read: the statement selects only these
    cost_variables: tuple[str, ...]  # the variables the cost depends on (size arguments)
    costs: dict[tuple[Any, ...], int] = field(default_factory=dict, compare=False)

    async def execute(
        self, context: Context, variables: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The response of this request, or ``None``: run it through normal execution."""
        checked = self._query(context.now(), variables)
        if checked is None:
            return None
        cost = remembered_cost(self, variables)
        meter: CostMeter | None = context.meter
        budget = meter.cost_budget if meter is not None else None
        if cost > (self.max_cost if budget is None else min(self.max_cost, budget)):
            return None
        if meter is not None:
            verdict = await meter.charge(cost)
            if verdict.retry_after is not None:
                return _refused(verdict.budget, verdict.retry_after, cost)
        try:
            data = await self._data(context, *checked)
        except Exception as error:  # what normal execution does with a failing resolver
            return self._failed(context, error, cost)
        return {"data": {self.key: data}, "extensions": {"cost": cost}}

    def _query(
        self, now: datetime, variables: Mapping[str, Any]
    ) -> tuple[DealQuery, datetime | None] | None:
        """The validated index query and open-at instant, or ``None`` (normal execution)."""
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
        near, first, sort = args.get("near"), args.get("first"), args.get("sort")
        request = SearchRequest(
            text=args["query"],
            now=now,
            first=DEFAULT_FIRST if first is None else first,
            sort=SortOrder(sort.value) if sort is not None else SortOrder.RELEVANCE,
            after=args.get("after"),
            near=(near["lat"], near["lng"]) if near else None,
            radius_m=args.get("radiusMeters"),
            filter=DealFilterValues(),
            with_facets=False,
            with_highlights=self.with_highlights,
        )
        try:
            return validate_search(request)
        except UserInputError:
            return None

    async def _data(self, context: Context, query: DealQuery, open_at: datetime | None) -> Any:
        page = await search_query(
            context.database, context.search, query, open_at, fields=self.fields
        )
        run = SearchRun(context, {found.merchant.id: found.merchant for found in page.deals})
        if context.funnel is not None and page.deals:
            # the live funnel counts these impressions, as normal execution does
            deal_ids = [found.deal_id for found in page.deals]
            context.funnel.impressions(deal_ids, Channel.SEARCH, context.partner_key_id)
        if "merchant_id" in self.fields.store:  # a store's merchant is rendered
            await _load_store_merchants(context, page, run)
        if self.with_categories and run.merchants:
            slugs = list(dict.fromkeys(m.category_slug for m in run.merchants.values()))
            rows = await context.loaders.category.load_many(slugs)
            run.categories = {row.slug: row for row in rows if row is not None}
        connection = Connection(page.deals, page.has_next, page.total)
        return self.render(connection, cast(Run, run))

    def _failed(self, context: Context, error: Exception, cost: int) -> dict[str, Any]:
        raised = GraphQLError(str(error), nodes=[self.node], path=[self.key], original_error=error)
        log_unexpected([raised], cast(ExecutionContext, _Logged(context)))
        shown = public_error(raised, context.request_id)
        return {"data": {self.key: None}, "errors": [shown.formatted], "extensions": {"cost": cost}}


async def _load_store_merchants(context: Context, page: SearchPage, run: SearchRun) -> None:
    """A store's merchant is its deal's; any other one is read through the loader."""
    stores = [found.nearest.store for found in page.deals if found.nearest]
    missing = list(
        dict.fromkeys(s.merchant_id for s in stores if s.merchant_id not in run.merchants)
    )
    if missing:
        rows = await context.loaders.merchant.load_many(missing)
        run.merchants.update({row.id: row for row in rows if row is not None})


def compile_search_plan(
    schema: GraphQLSchema, text: str, operation_name: str | None, limits: Limits
) -> SearchPlan:
    """The plan of ``operation_name`` in ``text``; :class:`NotCompilableError` if none."""
    found = one_root_field(schema, text, operation_name, limits)
    if found.node.name.value != ROOT:
        raise NotCompilableError(found.node.name.value)
    document, operation, fragments = found.document, found.operation, found.fragments
    key, nodes, definition = found.key, [found.node], found.definition
    seen = _Seen()
    render = _value_renderer(schema, definition, nodes, fragments, seen)
    return SearchPlan(
        schema=schema,
        document=document,
        operation=operation,
        operation_name=operation_name,
        key=key,
        node=nodes[0],
        definition=definition,
        with_highlights=_selects_highlights(schema, nodes[0], fragments),
        with_categories="Category" in seen.types,
        render=render,
        max_cost=limits.max_cost,
        fields=seen.columns(),
        cost_variables=_size_variables(document),
    )


def _selects_highlights(
    schema: GraphQLSchema, node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> bool:
    """Whether ``edges { highlights }`` is selected (by field name, fragments included), as
    normal execution asks the index for highlights."""
    connection = schema.get_type("DealSearchConnection")
    edge = schema.get_type("DealSearchEdge")
    assert isinstance(connection, GraphQLObjectType)
    assert isinstance(edge, GraphQLObjectType)
    assert node.selection_set is not None
    edges = [
        n
        for nodes in _collect(schema, connection, [node.selection_set], fragments).values()
        for n in nodes
        if n.name.value == "edges" and n.selection_set is not None
    ]
    selection_sets = [n.selection_set for n in edges if n.selection_set is not None]
    fields = _collect(schema, edge, selection_sets, fragments).values()
    return any(n.name.value == "highlights" for nodes in fields for n in nodes)
