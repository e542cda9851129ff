"""``gateway.graphql_app.BaseUrls``: the remembered base URL is Starlette's for every scope
it is made of, and the memory stays bounded whatever Host headers clients send."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from gateway.graphql_app import BaseUrls


def scope(host: str | None, **changes: Any) -> dict[str, Any]:
    headers = [] if host is None else [(b"host", host.encode())]
    return {
        "type": "http", "scheme": "http", "server": ("127.0.0.1", 8000), "path": "/graphql",
        "root_path": "", "query_string": b"a=1", "headers": headers, **changes,
    }  # fmt: skip


def test_each_scope_gets_starlettes_base_url() -> None:
    urls = BaseUrls()
    scopes = [
        scope("api.example.com"),
        scope("api.example.com:8443", scheme="https"),
        scope(None),
        scope(None, server=("10.0.0.5", 9000)),
        scope("api.example.com", root_path="/gw"),
        scope("api.example.com", root_path="/gw", app_root_path="/outer"),
    ]
    for _ in range(2):  # computed, then remembered
        for each in scopes:
            assert urls.of(each, _host(each)) == str(HTTPConnection(each).base_url)
    assert urls.of(scopes[0], "api.example.com") == "http://api.example.com/"
    assert urls.of(scopes[4], "api.example.com") == "http://api.example.com/gw/"


def test_past_its_limit_it_computes_without_remembering() -> None:
    urls = BaseUrls(limit=3)
    for n in range(10):
        each = scope(f"h{n}.example.com")
        assert urls.of(each, f"h{n}.example.com") == f"http://h{n}.example.com/"
    assert len(urls) == 3


def _host(each: dict[str, Any]) -> str | None:
    return next((v.decode() for k, v in each["headers"] if k == b"host"), None)
