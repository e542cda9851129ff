"""``POST /webhooks/payments/{provider}`` and the sandbox's authentication page.

A forged or stale signature answers 400 and changes nothing; a replayed event answers 200
and changes nothing. The sandbox page stands in for a card issuer's 3-D Secure screen: it
sends the signed webhook the sandbox provider would send (development only).
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from commerce.errors import NotFoundError, UserInputError
from commerce.orders.payments.flow import check_return_url
from commerce.orders.payments.provider import WebhookSignatureError
from commerce.orders.payments.sandbox import SandboxProvider
from commerce.orders.payments.webhooks import handle_webhook, sandbox_event_for
from commerce.orders.services import OrderServices
from db.database import Database

MAX_BODY_BYTES = 256 * 1024
SANDBOX_PREFIX = "/sandbox/payments"


async def payment_webhook(request: Request) -> Response:
    database: Database = request.app.state.database
    services: OrderServices = request.app.state.order_services
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return JSONResponse({"error": "payload too large"}, status_code=413)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse({"error": "payload too large"}, status_code=413)
    try:
        result = await handle_webhook(
            database, services, request.path_params["provider"], body, request.headers
        )
    except WebhookSignatureError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    except NotFoundError as error:
        return JSONResponse({"error": error.message}, status_code=404)
    return JSONResponse({"received": True, "result": result.value})


async def sandbox_page(request: Request) -> Response:
    intent_id = html.escape(request.path_params["intent_id"])
    page = f"""<!doctype html><meta charset="utf-8"><title>Sandbox authentication</title>
<h1>Sandbox card authentication</h1><p>Payment <code>{intent_id}</code> asks you to
authenticate. The sandbox confirms it with a signed webhook, as a real provider would.</p>
<form method="post"><button name="outcome" value="succeeded">Authenticate</button>
<button name="outcome" value="failed">Fail authentication</button></form>"""
    return HTMLResponse(page)


async def sandbox_complete(request: Request) -> Response:
    database: Database = request.app.state.database
    services: OrderServices = request.app.state.order_services
    provider = services.providers.get("sandbox")
    if not isinstance(provider, SandboxProvider):
        return JSONResponse({"error": "the sandbox provider is not configured"}, status_code=404)
    outcome = (await request.form()).get("outcome", "succeeded")
    event_type = (
        "payment_intent.succeeded" if outcome == "succeeded" else "payment_intent.payment_failed"
    )
    intent_id = request.path_params["intent_id"]
    signed = await sandbox_event_for(database, provider, intent_id, event_type)
    if signed is None:
        return JSONResponse({"error": "no payment waits for this intent"}, status_code=404)
    body, headers = signed
    result = await handle_webhook(database, services, "sandbox", body, headers)
    back = _return_url(request)
    if back is not None:  # the customer goes back to the client, as after a card issuer's page
        return RedirectResponse(back, status_code=303)
    return HTMLResponse(f"<!doctype html><p>Webhook sent: {result.value}. Close this page.</p>")


def _return_url(request: Request) -> str | None:
    """The payment's ``returnUrl`` carried in the page's address, when valid."""
    url = request.query_params.get("return_url")
    if url is None:
        return None
    try:
        check_return_url(url)
    except UserInputError:
        return None
    return url


def webhook_routes(sandbox_pages: bool) -> list[Route]:
    routes = [Route("/webhooks/payments/{provider}", payment_webhook, methods=["POST"])]
    if sandbox_pages:
        routes += [
            Route(SANDBOX_PREFIX + "/{intent_id}", sandbox_page, methods=["GET"]),
            Route(SANDBOX_PREFIX + "/{intent_id}", sandbox_complete, methods=["POST"]),
        ]
    return routes
