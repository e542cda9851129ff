"""localstripe, a Stripe-API server, run by the tests in a subprocess on 127.0.0.1.

Its own command listens on every interface and pickles its store to /tmp on every write,
so the subprocess imports its aiohttp app, turns the disk copy off and serves the app on a
free loopback port. It ignores idempotency keys and accepts refunds above what was
captured: the Stripe tests prove that our own guards hold.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

API_KEY = "sk_test_o2o_localstripe_key"
WEBHOOK_SECRET = "whsec_o2o_localstripe_secret"
START_TIMEOUT_S = 30.0
SERVE = """
import sys
import aiohttp.web
import localstripe.resources as resources
resources.Store.dump_to_disk = lambda self: None  # state in memory only
from localstripe.server import app
aiohttp.web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("localstripe did not start in time")


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls) -> LocalStripe:
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(port, process)
        except Exception:
            process.kill()
            process.wait(timeout=10)
            raise
        return cls(f"http://127.0.0.1:{port}", process)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def send_webhooks_to(self, url: str) -> None:
        """localstripe signs each event with the secret and posts it to ``url``."""
        response = httpx.post(
            f"{self.url}/_config/webhooks/o2o", data={"url": url, "secret": WEBHOOK_SECRET}
        )
        response.raise_for_status()

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def intents_of(self, booking_id: int) -> list[dict[str, Any]]:
        """Every payment intent made for a booking (by our ``reference`` metadata)."""
        listed = self.get("/v1/payment_intents", limit=10_000)["data"]
        reference = f"booking:{booking_id}"
        return [i for i in listed if (i.get("metadata") or {}).get("reference") == reference]

    def refunds_of(self, intent_id: str) -> list[dict[str, Any]]:
        refunds: list[dict[str, Any]] = self.get(
            "/v1/refunds", payment_intent=intent_id, limit=100
        )["data"]
        return refunds
