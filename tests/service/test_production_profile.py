"""The production profile: no start with development or short secrets; CORS from an allow-list."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings, UnsafeSettingsError, check_settings
from tests.conftest import PRODUCTION_SECRETS, serve_in_thread

STRONG = "x" * 32


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({}, "JWT_SECRET is the public development default"),
        ({"jwt_secret": STRONG}, "VOUCHER_SECRET is the public development default"),
        ({"jwt_secret": "short", "voucher_secret": STRONG}, "JWT_SECRET is shorter than 32"),
        (
            {**PRODUCTION_SECRETS, "sandbox_payments_in_production": True},
            "SANDBOX_WEBHOOK_SECRET is the public development default",
        ),
    ],
)
def test_production_refuses_weak_secrets(overrides: dict[str, Any], named: str) -> None:
    settings = Settings(o2o_env="production", **overrides)
    with pytest.raises(UnsafeSettingsError, match=named):
        check_settings(settings)
    with pytest.raises(UnsafeSettingsError):
        create_app(settings, warm_up=False)


def test_development_and_strong_production_settings_start() -> None:
    check_settings(Settings())
    check_settings(Settings(o2o_env="production", **PRODUCTION_SECRETS))


def test_o2o_serve_refuses_with_one_line(tmp_path: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; raise SystemExit(main())", "serve"],
        env={"O2O_ENV": "production", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "JWT_SECRET is the public development default" in lines[0]
    assert "VOUCHER_SECRET" in lines[0]


def test_a_wildcard_origin_never_goes_with_credentials() -> None:
    settings = Settings(cors_allow_origins="*", cors_allow_credentials=True)
    with pytest.raises(UnsafeSettingsError, match="cannot go with"):
        check_settings(settings)


async def test_cors_allows_listed_origins_only(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        cors_allow_origins="https://app.example, https://maps.example",
        cors_allow_credentials=True,
        anonymous_rate_per_minute=0,
    )
    base_url, server, thread = serve_in_thread(create_app(settings, warm_up=False))
    try:
        async with httpx.AsyncClient(base_url=base_url) as http:
            preflight = await http.options(
                "/graphql",
                headers={
                    "Origin": "https://app.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, content-type",
                },
            )
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] == "https://app.example"
            assert preflight.headers["access-control-allow-credentials"] == "true"
            assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
            answer = await http.post(
                "/graphql",
                json={"query": "{ categories { slug } }"},
                headers={"Origin": "https://maps.example"},
            )
            assert answer.headers["access-control-allow-origin"] == "https://maps.example"
            assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
            refused = await http.options(
                "/graphql",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            )
            assert refused.status_code == 400
            assert "access-control-allow-origin" not in refused.headers
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_without_an_allow_list_no_cors_headers_are_sent(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/graphql",
        json={"query": "{ categories { slug } }"},
        headers={"Origin": "https://x.example"},
    )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
