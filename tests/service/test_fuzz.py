"""Fuzzing the live gateway with queries and mutations generated from its own schema
(hypothesis-graphql), valid and invalid: no HTTP 500, no unmasked exception, every error coded.

CI runs a few hundred examples (``FUZZ_EXAMPLES``, default 150 per test), the same ones each
run; ``make fuzz`` runs many more, new ones each time (``FUZZ_RANDOM=1``). Mutations are sent
signed in as a customer, so they reach the business rules.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from tests.conftest import RunningServer
from tests.orders.fixtures import token

SDL = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
SCALARS = {
    "DateTime": st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda moment: nodes.String(moment.isoformat())),
    "Date": st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)).map(
        lambda day: nodes.String(day.isoformat())
    ),
    "GeoJSON": st.just(nodes.Object([])),
}
# CI explores the same examples every run (a red CI names a real regression); `make fuzz`
# sets FUZZ_RANDOM=1 and explores new ones each night.
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


@pytest.fixture(scope="module")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token('fuzz-customer')}"}
    with httpx.Client(base_url=server.base_url, timeout=60, headers=headers) as client:
        yield client


def check(response: httpx.Response) -> None:
    """The promises every answer keeps, whatever was asked."""
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        code = error.get("extensions", {}).get("code")
        assert code, error
        assert code != "INTERNAL_SERVER_ERROR", error


def send(http: httpx.Client, query: object) -> None:
    check(http.post("/graphql", json={"query": query}))


@FUZZ
@given(query=from_schema(SDL, custom_scalars=SCALARS, fields=None))
def test_generated_valid_operations(http: httpx.Client, query: str) -> None:
    send(http, query)


@FUZZ
@given(query=from_schema(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
def test_generated_invalid_operations(http: httpx.Client, query: str) -> None:
    send(http, query)


@FUZZ
@given(query=st.text(max_size=200))
def test_arbitrary_text(http: httpx.Client, query: str) -> None:
    send(http, query)
