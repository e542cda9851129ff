"""``GET /map``: a MapLibre GL JS page showing the deal tiles, fully offline.

MapLibre GL JS is vendored byte-identical from npm under ``gateway/static/map`` (see the
README there) and served under ``/map-assets``; the page pins the files with ``integrity``
hashes. The style has no external base map, glyphs or sprites: a plain background and the
``deals`` layer of our own tiles. Clicking a deal asks ``POST /graphql`` for its title and
price.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

MAP_ASSETS_PATH: Final = "/map-assets"
MAP_STATIC_DIR: Final = Path(__file__).resolve().parent / "static" / "map"

# SHA-384 of the vendored npm files (maplibre-gl@6.17.0), also in static/map/README.md.
MAPLIBRE_JS_SRI: Final = "sha384-pghUwrZY2q/5xc+bZCYbeUP4JsNuZEmG8j+ZvzJMC1DOy3Rdj5AhRNThLRAiEjSb"
MAPLIBRE_CSS_SRI: Final = "sha384-S+OnE5M4U3Qc2nR0RgljGrVs06xqfRg8L7uFk/pOF5+sRuSDG4oKkqKZmFrx7w09"

PAGE: Final = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>o2o-gateway deals map</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{MAP_ASSETS_PATH}/maplibre-gl.css" integrity="{MAPLIBRE_CSS_SRI}">
<link rel="stylesheet" href="{MAP_ASSETS_PATH}/map.css">
<link rel="modulepreload" href="{MAP_ASSETS_PATH}/maplibre-gl.mjs" integrity="{MAPLIBRE_JS_SRI}">
</head>
<body>
<div id="map" role="region" aria-label="Deals map"></div>
<aside id="details" aria-live="polite">
  <p id="hint">Click a deal (blue dot) to see it; click a cluster (orange) to zoom in.</p>
  <h2 id="deal-title"></h2>
  <p id="deal-price"></p>
</aside>
<script type="module" src="{MAP_ASSETS_PATH}/map.js"></script>
</body>
</html>
"""


async def map_page(request: Request) -> Response:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})


def map_routes() -> list[BaseRoute]:
    return [
        Route("/map", map_page, methods=["GET"]),
        Mount(MAP_ASSETS_PATH, app=StaticFiles(directory=MAP_STATIC_DIR), name="map-assets"),
    ]
