"""Relay page info: the one place a connection's ``pageInfo`` is built."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = False
    start_cursor: str | None = None
    end_cursor: str | None = None


def page_info(cursors: Sequence[str], has_next: bool) -> PageInfo:
    """Page info of a page whose edges carry ``cursors``, in order."""
    return PageInfo(
        has_next_page=has_next,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
