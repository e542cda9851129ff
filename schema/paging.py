"""Relay page info: the one place a connection's ``pageInfo`` is built, and the shared
documentation of paging (the ``first``/``after`` arguments, edges' cursors)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeAlias

import strawberry

First: TypeAlias = Annotated[
    int | None,
    strawberry.argument(description="Page size: at most this many edges, 1 to 100."),
]
After: TypeAlias = Annotated[
    str | None,
    strawberry.argument(
        description="Continue after this cursor (the previous page's pageInfo.endCursor); "
        "leave out for the first page. A cursor of another list is BAD_USER_INPUT."
    ),
]
CURSOR_DOC = "Opaque cursor of this edge: pass it as `after` to continue after it."
PAGE_INFO_DOC = "Whether there is a next page, and the cursors of this one."
TOTAL_COUNT_DOC = "How many items the whole list has, whatever the page."


@strawberry.type(description="Where a page is in its list (Relay). Lists page forwards only.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="More edges follow: ask again with after = endCursor."
    )
    has_previous_page: bool = strawberry.field(
        default=False, description="Always false: lists page forwards only."
    )
    start_cursor: str | None = strawberry.field(
        default=None, description="Cursor of the first edge of this page; null when empty."
    )
    end_cursor: str | None = strawberry.field(
        default=None, description="Cursor of the last edge of this page; null when empty."
    )


def page_info(cursors: Sequence[str], has_next: bool) -> PageInfo:
    """Page info of a page whose edges carry ``cursors``, in order."""
    return PageInfo(
        has_next_page=has_next,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
