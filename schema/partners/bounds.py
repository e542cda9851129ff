"""Bounds on an operation's size, checked before validation.

Validation is quadratic in the worst case (graphql-core's overlapping-fields rule compares
same-named fields pairwise), so a flood of aliases must be refused before it runs: 5,000
aliased ``categories`` took seconds to validate and then one pooled connection each. The
document is walked once, in linear time, and refused with ``QUERY_TOO_COSTLY`` when it has more
root fields or more fields in all than the bounds allow. Before that, a document longer than
``MAX_QUERY_LENGTH`` is refused unparsed, and graphql-core's parser stops at ``MAX_TOKENS``
(Strawberry's ``MaxTokensLimiter``), so parsing is bounded too.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
MAX_QUERY_LENGTH = 50_000  # characters; checked before parsing, in constant time
MAX_TOKENS = 5_000  # parsing is linear but not cheap: 5,000 aliases are 30,000 tokens, 210 ms
MAX_ROOT_FIELDS = 32
MAX_FIELDS = 2_000


def field_count(document: DocumentNode) -> int:
    """Field selections written in the document (fragments counted once, where defined)."""
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            total += _fields_below(definition.selection_set)
    return total


def _fields_below(selection_set: SelectionSetNode | None) -> int:
    count = 0
    pending = [selection_set] if selection_set is not None else []
    while pending:
        current = pending.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                count += 1
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)
    return count


def root_field_count(document: DocumentNode, limit: int) -> int:
    """Root fields of the largest operation, through fragments (stops counting past ``limit``)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    largest = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            found = sum(1 for _ in _root_fields(definition.selection_set, fragments, limit))
            largest = max(largest, found)
    return largest


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    limit: int,
) -> Iterator[FieldNode]:
    pending, seen, yielded = [selection_set], set[str](), 0
    while pending and yielded <= limit:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                yielded += 1
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)


class OperationBounds(SchemaExtension):
    """Refuses oversized documents before validation (``QUERY_TOO_COSTLY``)."""

    def __init__(self, *, max_root_fields: int = MAX_ROOT_FIELDS, max_fields: int = MAX_FIELDS):
        self.max_root_fields = max_root_fields
        self.max_fields = max_fields

    def on_operation(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and len(query) > MAX_QUERY_LENGTH:
            raise _too_large(f"{len(query)} characters", f"at most {MAX_QUERY_LENGTH}")
        yield

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if document is not None:
            self._check(document)
        yield

    def _check(self, document: DocumentNode) -> None:
        fields = field_count(document)
        if fields > self.max_fields:
            raise _too_large(f"{fields} fields", f"at most {self.max_fields}")
        roots = root_field_count(document, self.max_root_fields)
        if roots > self.max_root_fields:
            raise _too_large(
                f"more than {self.max_root_fields} root fields",
                f"at most {self.max_root_fields} (aliases count)",
            )


def _too_large(found: str, allowed: str) -> GraphQLError:
    return GraphQLError(
        f"This operation has {found}; {allowed} are allowed: split it into several requests.",
        extensions={"code": QUERY_TOO_COSTLY},
    )
