"""/map in a real headless Chromium: MapLibre from our own assets draws our own tiles, nothing
leaves the host, nothing fails, and clicking a deal shows its title and price via GraphQL."""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from gateway.map_page import MAP_STATIC_DIR, MAPLIBRE_CSS_SRI, MAPLIBRE_JS_SRI
from tests.browser import ARTIFACTS, NetworkLog, chromium
from tests.conftest import RunningServer
from tests.helpers import decode_id

README = (MAP_STATIC_DIR / "README.md").read_text()
RENDERED_DEALS = "return window.o2oMap.queryRenderedFeatures({layers: ['deals']}).length"
MAP_SETTLED = """const map = window.o2oMap;
return !!map && map.loaded() && map.areTilesLoaded() && !map.isMoving()"""


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


@pytest.mark.parametrize(
    ("name", "pinned"),
    [("maplibre-gl.mjs", MAPLIBRE_JS_SRI), ("maplibre-gl.css", MAPLIBRE_CSS_SRI)],
)
def test_vendored_maplibre_is_the_npm_file_named_in_the_readme(name: str, pinned: str) -> None:
    assert sri(MAP_STATIC_DIR / name) == pinned
    assert pinned in README


def test_worker_bundle_is_the_npm_file_named_in_the_readme() -> None:
    assert sri(MAP_STATIC_DIR / "maplibre-gl-worker.mjs") in README


async def test_page_and_assets_are_served_locally(client: httpx.AsyncClient) -> None:
    page = await client.get("/map")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "//" not in page.text.replace("<!doctype html>", "").split("<body>")[0].replace(
        "data:,", ""
    )
    for asset in ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css", "map.js"):
        response = await client.get(f"/map-assets/{asset}")
        assert response.status_code == 200, asset
        assert response.content == (MAP_STATIC_DIR / asset).read_bytes()


def test_map_renders_deals_offline_and_a_click_shows_title_and_price(
    server: RunningServer, sql: psycopg.Connection[Any]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    network = NetworkLog()
    server.statements.clear()
    with chromium() as driver:
        driver.get(f"{server.base_url}/map?lat=60.1699&lng=24.9415&zoom=16")
        wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        wait.until(lambda d: d.execute_script(MAP_SETTLED) and d.execute_script(RENDERED_DEALS))
        driver.save_screenshot(str(ARTIFACTS / "map-page.png"))
        assert driver.execute_script("return window.o2oMapErrors") == []
        loaded_tiles = driver.execute_script("return window.o2oTilesLoaded")

        x, y, candidates = driver.execute_script(
            """const map = window.o2oMap;
            const canvas = map.getCanvas().getBoundingClientRect();
            // a deal clear of the details panel (top left) and of the canvas edges
            const clear = (p) => p.x > 360 && p.y > 150 && p.x < canvas.width - 20
              && p.y < canvas.height - 20;
            const feature = map.queryRenderedFeatures({layers: ['deals']})
              .find((f) => clear(map.project(f.geometry.coordinates)));
            const point = map.project(feature.geometry.coordinates);
            const here = map.queryRenderedFeatures(point, {layers: ['deals']});
            return [point.x, point.y, here.map((f) => f.properties.id)];"""
        )
        canvas = driver.find_element(By.CSS_SELECTOR, "#map canvas")
        offset_x = round(x - canvas.size["width"] / 2)
        offset_y = round(y - canvas.size["height"] / 2)
        ActionChains(driver).move_to_element_with_offset(
            canvas, offset_x, offset_y
        ).click().perform()
        wait.until(lambda d: d.find_element(By.ID, "details").get_attribute("data-deal-id"))
        shown_id = driver.find_element(By.ID, "details").get_attribute("data-deal-id")
        title = driver.find_element(By.ID, "deal-title").text
        price = driver.find_element(By.ID, "deal-price").text
        driver.save_screenshot(str(ARTIFACTS / "map-page-clicked.png"))
        network.read(driver)

    assert shown_id in candidates
    row = sql.execute(
        "SELECT title, price, currency FROM deals WHERE id = %s", [decode_id(str(shown_id))]
    ).fetchone()
    assert row is not None
    assert title == row[0]
    assert price == f"{Decimal(row[1]):.2f} {row[2]}"

    fetched = list(network.urls.values())
    assert network.failures == []
    assert network.bad_statuses() == []
    for url in fetched:
        parts = urlsplit(url)
        assert parts.scheme in ("blob", "data") or url.startswith(server.base_url), url
    # Tiles are fetched by MapLibre's workers (outside the page's network log): MapLibre
    # reports each loaded tile to the page and any failed one as a map error (none above).
    assert loaded_tiles and all(tile.startswith("16/") for tile in loaded_tiles)
    assert any("ST_AsMVT" in statement for statement in server.statements.statements)
    assert any(url.endswith("/graphql") for url in fetched)


def test_clicking_a_cluster_zooms_to_where_it_splits(server: RunningServer) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as driver:
        driver.get(f"{server.base_url}/map?lat=60.1705&lng=24.9440&zoom=12")
        wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        clusters = "return window.o2oMap.queryRenderedFeatures({layers: ['clusters']}).length"
        wait.until(lambda d: d.execute_script(MAP_SETTLED) and d.execute_script(clusters))
        x, y, expansion = driver.execute_script(
            """const map = window.o2oMap;
            const canvas = map.getCanvas().getBoundingClientRect();
            const clear = (p) => p.x > 360 && p.y > 150 && p.x < canvas.width - 20
              && p.y < canvas.height - 20;
            const feature = map.queryRenderedFeatures({layers: ['clusters']})
              .filter((f) => clear(map.project(f.geometry.coordinates)))
              .sort((a, b) => b.properties.point_count - a.properties.point_count)[0];
            const point = map.project(feature.geometry.coordinates);
            return [point.x, point.y, feature.properties.expansion_zoom];"""
        )
        assert 12 < expansion <= 14
        canvas = driver.find_element(By.CSS_SELECTOR, "#map canvas")
        offset_x = round(x - canvas.size["width"] / 2)
        offset_y = round(y - canvas.size["height"] / 2)
        action = ActionChains(driver).move_to_element_with_offset(canvas, offset_x, offset_y)
        action.click().perform()
        wait.until(
            lambda d: (
                d.execute_script(MAP_SETTLED)
                and abs(d.execute_script("return window.o2oMap.getZoom()") - expansion) < 1e-6
            )
        )
        rendered = "return window.o2oMap.queryRenderedFeatures().length"
        wait.until(lambda d: d.execute_script(MAP_SETTLED) and d.execute_script(rendered))
        driver.save_screenshot(str(ARTIFACTS / "map-page-cluster-zoomed.png"))
        assert driver.execute_script("return window.o2oMapErrors") == []
