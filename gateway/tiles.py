"""``GET /tiles/deals/{z}/{x}/{y}.mvt``: translate HTTP to :mod:`commerce.discovery.tiles` and back.

Responses: ``200`` with the tile (``application/vnd.mapbox-vector-tile``; an empty body is a
valid tile without features, which MapLibre renders as empty), ``304`` when
``If-None-Match`` names the current ``ETag`` (a hash of the bytes), ``400`` with a JSON
``{"error", "argument"}`` for bad coordinates or filter parameters, ``503`` when PostgreSQL
cannot answer. Tiles may be cached for ``max-age`` seconds: deals change slowly, and
``openNow`` tiles change at most when some store opens or closes.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from commerce.discovery.tiles import TileRequest, deal_tile, validate_tile
from commerce.errors import UserInputError
from db.database import Database
from gateway.partners import PartnerGate, RefusedError

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
CACHE_CONTROL = "public, max-age=60"
TILE_PATH = "/tiles/deals/{z}/{x}/{y}.mvt"
COST_HEADER = "X-Query-Cost"  # a tile costs 1 of a partner key's query-cost budget

log = logging.getLogger("o2o.tiles")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison against a list of entity tags (or ``*``)."""
    if not if_none_match:
        return False
    candidates = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in candidates or etag in [tag.removeprefix("W/") for tag in candidates]


async def deals_tile(request: Request) -> Response:
    gate: PartnerGate = request.app.state.gate
    try:
        await gate.admit_tile(request)
    except RefusedError as refusal:
        return refusal.response
    database: Database = request.app.state.database
    query = {key: request.query_params.getlist(key) for key in request.query_params}
    tile_request = TileRequest(
        z=request.path_params["z"],
        x=request.path_params["x"],
        y=request.path_params["y"],
        query=query,
        now=datetime.now(UTC),
    )
    try:
        valid = validate_tile(tile_request)
        async with database.read() as conn:
            body = await deal_tile(conn, valid)
    except UserInputError as error:
        return JSONResponse({"error": error.message, "argument": error.argument}, status_code=400)
    except DBAPIError as error:
        log.warning("tile %s failed in PostgreSQL: %s", request.url.path, error.orig)
        return JSONResponse(
            {"error": "the database is unavailable, try again"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    headers = {"ETag": etag_of(body), "Cache-Control": CACHE_CONTROL, COST_HEADER: "1"}
    if matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MVT_MEDIA_TYPE, headers=headers)


def tile_routes() -> list[Route]:
    return [Route(TILE_PATH, deals_tile, methods=["GET"])]
