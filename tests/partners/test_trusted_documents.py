"""Trusted documents: with ``TRUSTED_DOCUMENTS`` on, only operations registered with
``o2o persisted add`` run, by hash or as their exact text."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import LIMIT_PREFIX
from tests.partners.fixtures import serve_gateway

REGISTERED = """query Trusted($near: GeoPointInput!) {
  nearbyDeals(near: $near, first: 2) { totalCount edges { node { id title } } }
}"""
NEAR = {"near": {"lat": 60.1699, "lng": 24.9384}}


@pytest.fixture(scope="module")
def trusted_gateway(settings: Settings) -> Iterator[str]:
    yield from serve_gateway(settings.model_copy(update={"trusted_documents": True}))


def persisted_add(database_url: str, *paths: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PERSISTED_QUERY_PREFIX": f"{LIMIT_PREFIX}:pq",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "persisted", "add", *paths],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def test_only_registered_operations_run(
    trusted_gateway: str, database_url: str, tmp_path: Path
) -> None:
    digest = hashlib.sha256(REGISTERED.encode()).hexdigest()
    by_hash = {
        "variables": NEAR,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
    }
    with httpx.Client(base_url=trusted_gateway, timeout=30) as http:
        assert code_of(http.post("/graphql", json={"query": REGISTERED, "variables": NEAR})) == (
            "PERSISTED_QUERY_NOT_IN_LIST"
        )
        registering = http.post("/graphql", json={**by_hash, "query": REGISTERED})
        assert code_of(registering) == "PERSISTED_QUERY_NOT_IN_LIST"  # no automatic registration
        assert code_of(http.post("/graphql", json=by_hash)) == "PERSISTED_QUERY_NOT_FOUND"

        path = tmp_path / "trusted.graphql"
        path.write_text(REGISTERED, encoding="utf-8")
        added = persisted_add(database_url, str(path))
        assert added.returncode == 0, added.stderr
        assert added.stdout.split() == [digest]

        stored = http.post("/graphql", json=by_hash)
        plain = http.post("/graphql", json={"query": REGISTERED, "variables": NEAR})
        assert stored.status_code == plain.status_code == 200
        assert stored.content == plain.content
        assert stored.json()["data"]["nearbyDeals"]["totalCount"] > 0
        other = REGISTERED.replace("first: 2", "first: 3")
        assert code_of(http.post("/graphql", json={"query": other, "variables": NEAR})) == (
            "PERSISTED_QUERY_NOT_IN_LIST"
        )


def test_an_invalid_document_is_not_registered(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.graphql"
    path.write_text("{ nearbyDeals { nope } }", encoding="utf-8")
    added = persisted_add(database_url, str(path))
    assert added.returncode == 1
    assert "invalid document" in added.stderr
