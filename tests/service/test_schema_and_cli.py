"""The checked-in SDL matches the code, and the ``o2o`` command behaves on a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.cli import main
from schema.build import build_schema
from tests.conftest import free_port
from tests.helpers import sdl_without_descriptions

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_schema_matches_the_code() -> None:
    checked_in = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert checked_in == build_schema().as_str() + "\n", "run: o2o export-schema -o schema.graphql"


def test_contract_names_exist_in_the_schema() -> None:
    sdl = sdl_without_descriptions((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    for name in [
        "node(id: ID!): Node",
        "merchant(id: ID!): Merchant",
        "deal(id: ID!): Deal",
        "categories: [Category!]",
        "nearbyDeals(near: GeoPointInput!, radiusMeters: Float = 2000, filter: DealFilter = null,"
        " sort: DealSort = DISTANCE, first: Int = 20, after: String = null): NearbyDealConnection",
        "nearbyMerchants(near: GeoPointInput!, radiusMeters: Float = 2000,"
        " filter: MerchantFilter = null, sort: MerchantSort = DISTANCE, first: Int = 20,"
        " after: String = null): NearbyMerchantConnection",
    ]:
        assert name in sdl, name


def test_cli_fails_with_one_line_and_nonzero_exit(capsys: object) -> None:
    env = {**os.environ, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/x"}
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "seed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("o2o seed: OperationalError")


def test_cli_export_schema_to_stdout(capsys: object) -> None:
    assert main(["export-schema"]) == 0


def test_o2o_serve_answers_over_http(database_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": "{ categories { slug } }"},
                    timeout=5,
                )
                break
            except httpx.TransportError:
                assert process.poll() is None, "o2o serve exited"
                assert time.monotonic() < deadline, "o2o serve did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert len(response.json()["data"]["categories"]) == 21
    finally:
        process.terminate()
        process.wait(timeout=10)
