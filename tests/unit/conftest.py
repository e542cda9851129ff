"""Keep the unit layer free of services.

The session fixtures of ``tests/conftest.py`` start PostgreSQL, the search server and the
gateway only when a test asks for them, and no unit test does. The one autouse fixture of
the suite (``tests/partners/fixtures.py``) talks to Redis at the end of the session; it is
overridden here with one that does nothing, for the tests under ``tests/unit`` only.
"""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema


@pytest.fixture(scope="session", autouse=True)
def _forget_this_sessions_counters() -> None:
    """Unit tests count nothing in Redis, so there is nothing to forget."""


@pytest.fixture(scope="session")
def graphql_schema() -> GraphQLSchema:
    """The gateway's GraphQL schema as built for serving (no resolver runs in unit tests)."""
    from schema.build import build_schema  # here, so a broken schema fails only its tests

    return build_schema()._schema
