"""Headless Chromium for page tests (Debian ``chromium`` + ``chromium-driver``), with the
browser's network log, so a test can assert that no request failed or left the host."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebGL without a GPU is SwiftShader; Chromium asks for an explicit opt-in now.
    "--enable-unsafe-swiftshader",
    "--window-size=1024,768",
)


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        raise RuntimeError("chromium and chromedriver are needed: ./dev.sh test installs them")
    return browser, driver


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    browser, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class NetworkLog:
    """What the browser fetched: url per request id, final statuses, failures."""

    urls: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def read(self, driver: webdriver.Chrome) -> None:
        for entry in driver.get_log("performance"):  # type: ignore[no-untyped-call]
            message: dict[str, Any] = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            method = message.get("method")
            if method == "Network.requestWillBeSent":
                self.urls[params["requestId"]] = params["request"]["url"]
            elif method == "Network.responseReceived":
                self.statuses[params["requestId"]] = int(params["response"]["status"])
                self.urls.setdefault(params["requestId"], params["response"]["url"])
            elif method == "Network.loadingFailed":
                url = self.urls.get(params["requestId"], "?")
                self.failures.append((url, str(params.get("errorText"))))

    def bad_statuses(self) -> list[tuple[str, int]]:
        return [
            (self.urls.get(rid, "?"), status)
            for rid, status in self.statuses.items()
            if status >= 400
        ]
