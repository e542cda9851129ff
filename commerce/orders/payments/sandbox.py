"""The sandbox provider: deterministic, offline, and stateless, so every worker agrees.

Payment methods follow Stripe's test cards: ``pm_card_visa`` succeeds,
``pm_card_chargeDeclined`` is declined, ``pm_card_authenticationRequired`` needs the
customer to authenticate; the sandbox then confirms it asynchronously with a signed webhook
(``payment_intent.succeeded``), built by :meth:`SandboxProvider.signed_event`. Any other
method is unknown: ``payBooking`` refuses it before anything is written.
Webhooks carry ``Sandbox-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

import orjson

from commerce.orders.payments.provider import (
    Intent,
    IntentRequest,
    ProviderRefund,
    RefundRequest,
    WebhookEvent,
    WebhookSignatureError,
)

SIGNATURE_HEADER = "sandbox-signature"
TOLERANCE_SECONDS = 300
SUCCEEDS = "pm_card_visa"
DECLINED = "pm_card_chargeDeclined"
NEEDS_AUTHENTICATION = "pm_card_authenticationRequired"
KNOWN_METHODS = (SUCCEEDS, DECLINED, NEEDS_AUTHENTICATION)


class SandboxProvider:
    name = "sandbox"
    methods_hint = ", ".join(KNOWN_METHODS)

    def __init__(
        self,
        webhook_secret: bytes,
        action_url: str = "/sandbox/authenticate",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = webhook_secret
        self._action_url = action_url
        self._clock = clock

    def knows_method(self, method: str) -> bool:
        return method in KNOWN_METHODS

    async def create_intent(self, request: IntentRequest) -> Intent:
        intent_id = self._derive("pi", request.idempotency_key)
        if request.payment_method == SUCCEEDS:
            return Intent(intent_id, "succeeded", request.amount, amount_received=request.amount)
        if request.payment_method == NEEDS_AUTHENTICATION:
            url = f"{self._action_url}/{intent_id}"
            if request.return_url is not None:
                url += "?" + urlencode({"return_url": request.return_url})
            return Intent(intent_id, "requires_action", request.amount, next_action_url=url)
        message = "Your card was declined."
        if request.payment_method != DECLINED:  # refused before the call; kept for safety
            message = f"Unknown sandbox payment method; use one of {self.methods_hint}."
        return Intent(intent_id, "failed", request.amount, failure_message=message)

    async def cancel(self, intent_id: str, idempotency_key: str) -> Intent:
        return Intent(intent_id, "canceled", Decimal(0))

    async def refund(self, request: RefundRequest) -> ProviderRefund:
        return ProviderRefund(
            self._derive("re", request.idempotency_key), "succeeded", request.amount
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        self._verify(body, headers.get(SIGNATURE_HEADER, ""))
        try:
            data = orjson.loads(body)
            intent = data["data"]["object"]
            return WebhookEvent(
                id=str(data["id"]),
                type=str(data["type"]),
                intent_id=str(intent["id"]),
                amount=Decimal(str(intent["amount"])),
                currency=str(intent["currency"]),
                payload=data,
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as error:
            raise WebhookSignatureError("signed, but not a payment event") from error

    def signed_event(
        self, event_type: str, intent_id: str, amount: Decimal, currency: str
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook as the sandbox would send it (used by the sandbox page and tests)."""
        event_id = self._derive("evt", f"{event_type}:{intent_id}")
        body = orjson.dumps(
            {
                "id": event_id,
                "type": event_type,
                "data": {"object": {"id": intent_id, "amount": str(amount), "currency": currency}},
            }
        )
        return body, {SIGNATURE_HEADER: self.signature(body)}

    def signature(self, body: bytes, at: float | None = None) -> str:
        stamp = int(self._clock() if at is None else at)
        return f"t={stamp},v1={self._mac(stamp, body)}"

    def _verify(self, body: bytes, header: str) -> None:
        parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
        stamp, given = parts.get("t", ""), parts.get("v1", "")
        if not stamp.isdigit() or not given:
            raise WebhookSignatureError("missing or malformed signature header")
        if abs(self._clock() - int(stamp)) > TOLERANCE_SECONDS:
            raise WebhookSignatureError("signature timestamp outside the tolerance")
        if not hmac.compare_digest(self._mac(int(stamp), body), given):
            raise WebhookSignatureError("signature does not match")

    def _mac(self, stamp: int, body: bytes) -> str:
        return hmac.new(self._secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()

    def _derive(self, prefix: str, key: str) -> str:
        digest = hmac.new(self._secret, f"{prefix}:{key}".encode(), hashlib.sha256).hexdigest()
        return f"{prefix}_sb_{digest[:24]}"
