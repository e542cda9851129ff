"""The Stripe provider: PaymentIntents, refunds and signed webhooks through the official SDK.

An intent is created and confirmed in one call with the customer's payment method and
automatic capture. Calls go through the SDK's async client (``StripeClient`` over httpx), so
none blocks the event loop. Every call carries the attempt's own idempotency key; a server
that ignores it (localstripe, in the tests) is covered by our side: one attempt row per
``idempotencyKey`` is written before the provider is called, and refunds are bounded by
what was captured in PostgreSQL before the call (migration 0012).

Amounts cross the wire in the currency's minor unit (cents; whole units for Stripe's
zero-decimal currencies) and come back as ``Decimal``. A 3-D Secure step gives a
``nextActionUrl`` only when Stripe answers with a redirect (``returnUrl`` given); otherwise
the client completes it with Stripe.js and the payment stays pending until the webhook.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import stripe

from commerce.orders.payments.provider import (
    Intent,
    IntentRequest,
    ProviderError,
    ProviderRefund,
    RefundRequest,
    WebhookEvent,
    WebhookSignatureError,
)

SIGNATURE_HEADER = "stripe-signature"
METHOD_ID = re.compile(r"^pm_[A-Za-z0-9_]{1,76}$")
# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
FINAL_FAILURES = ("requires_payment_method", "canceled")


def to_minor(amount: Decimal, currency: str) -> int:
    """``Decimal("25.50"), "EUR"`` -> 2550; refuses fractions the currency cannot carry."""
    scaled = amount if currency.upper() in ZERO_DECIMAL else amount * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more decimals than the currency allows")
    return int(scaled)


def from_minor(value: int, currency: str) -> Decimal:
    minor = Decimal(int(value))
    return minor if currency.upper() in ZERO_DECIMAL else minor / 100


class StripeProvider:
    name = "stripe"
    methods_hint = "a Stripe PaymentMethod id (pm_...), e.g. pm_card_visa"

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        bases: Any = {"api": api_base.rstrip("/")} if api_base else None
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key, base_addresses=bases, http_client=self._http, max_network_retries=2
        )
        self._webhook_secret = webhook_secret

    def knows_method(self, method: str) -> bool:
        return METHOD_ID.match(method) is not None

    async def create_intent(self, request: IntentRequest) -> Intent:
        params: dict[str, Any] = {
            "amount": to_minor(request.amount, request.currency),
            "currency": request.currency.lower(),
            "payment_method": request.payment_method,
            "payment_method_types": ["card"],
            "capture_method": "automatic",
            "confirm": True,
            "metadata": {"reference": request.reference},
        }
        if request.return_url is not None:
            params["return_url"] = request.return_url
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as error:
            return _declined(error, request.amount)
        except stripe.StripeError as error:
            raise ProviderError(f"stripe: {error.user_message or error}") from error
        return _intent_of(intent)

    async def cancel(self, intent_id: str, idempotency_key: str) -> Intent:
        intents = self._client.v1.payment_intents
        try:
            return _intent_of(
                await intents.cancel_async(intent_id, options={"idempotency_key": idempotency_key})
            )
        except stripe.InvalidRequestError:  # not cancellable any more: say where it ended
            try:
                return _intent_of(await intents.retrieve_async(intent_id))
            except stripe.StripeError as error:
                raise ProviderError(f"stripe: {error}") from error
        except stripe.StripeError as error:
            raise ProviderError(f"stripe: {error}") from error

    async def refund(self, request: RefundRequest) -> ProviderRefund:
        params: dict[str, Any] = {
            "payment_intent": request.intent_id,
            "amount": to_minor(request.amount, request.currency),
        }
        try:
            refund = await self._client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except (stripe.InvalidRequestError, stripe.CardError) as error:
            message = error.user_message or str(error)
            return ProviderRefund("", "failed", request.amount, failure_message=message[:500])
        except stripe.StripeError as error:
            raise ProviderError(f"stripe: {error}") from error
        answer = refund.to_dict()
        status = str(answer.get("status") or "succeeded")
        if status in ("succeeded", "pending"):  # pending refunds settle without us
            return ProviderRefund(refund.id, "succeeded", request.amount)
        if status in ("failed", "canceled"):
            reason = str(answer.get("failure_reason") or f"the refund {status}")
            return ProviderRefund(refund.id, "failed", request.amount, failure_message=reason)
        raise ProviderError(f"stripe: refund {refund.id} is {status}; asked again later")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        signature = headers.get(SIGNATURE_HEADER, "")
        try:
            event = stripe.Webhook.construct_event(
                body.decode("utf-8"), signature, self._webhook_secret
            )
        except stripe.SignatureVerificationError as error:
            raise WebhookSignatureError(f"stripe signature: {error.user_message}") from error
        except ValueError as error:  # not UTF-8 or not JSON
            raise WebhookSignatureError("signed, but not a JSON event") from error
        try:
            return _webhook_event(event)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise WebhookSignatureError("signed, but not a payment event") from error

    async def close(self) -> None:
        """Close the HTTP connections (the gateway's shutdown)."""
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _intent_of(stripe_intent: stripe.PaymentIntent) -> Intent:
    intent = stripe_intent.to_dict()
    intent_id, currency, status = str(intent["id"]), str(intent["currency"]), intent["status"]
    amount = from_minor(intent["amount"], currency)
    if status == "succeeded":
        received = from_minor(intent.get("amount_received") or intent["amount"], currency)
        return Intent(intent_id, "succeeded", amount, amount_received=received)
    if status == "requires_action":
        return Intent(intent_id, "requires_action", amount, next_action_url=_redirect_url(intent))
    if status == "requires_capture":
        return Intent(intent_id, "requires_capture", amount)
    if status in FINAL_FAILURES:
        error = intent.get("last_payment_error") or {}
        message = str(error.get("message") or "the payment was not completed")
        if status == "canceled":
            return Intent(intent_id, "canceled", amount, failure_message=message)
        return Intent(intent_id, "failed", amount, failure_message=message)
    # processing, requires_confirmation: no answer yet; the webhook (or the sweeper) settles it
    raise ProviderError(f"stripe: intent {intent_id} is {status}; waiting for its webhook")


def _redirect_url(intent: dict[str, Any]) -> str | None:
    action = intent.get("next_action") or {}
    redirect = action.get("redirect_to_url") or {}
    url = redirect.get("url")
    return str(url) if url else None


def _declined(error: stripe.CardError, amount: Decimal) -> Intent:
    details = error.error
    intent = details.payment_intent if details is not None else None
    intent_id = str(intent.to_dict().get("id", "")) if intent else ""
    message = error.user_message or "Your card was declined."
    return Intent(intent_id, "failed", amount, failure_message=message[:500])


def _webhook_event(event: stripe.Event) -> WebhookEvent:
    payload: dict[str, Any] = event.to_dict()
    obj = payload["data"]["object"]
    currency = str(obj.get("currency") or "").upper()
    if obj.get("object") == "payment_intent":
        intent_id = str(obj["id"])
    else:
        intent_id = str(obj.get("payment_intent") or "")
    return WebhookEvent(
        id=str(payload["id"]),
        type=str(payload["type"]),
        intent_id=intent_id,
        amount=from_minor(int(obj.get("amount") or 0), currency),
        currency=currency,
        payload=payload,
    )
