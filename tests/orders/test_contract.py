"""The loop's names in CONTRACT.md exist in the checked-in SDL (extended, never renamed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import sdl_without_descriptions

SDL = sdl_without_descriptions(
    (Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8")
)

MUTATIONS = {
    "bookDeal": ("BookDealInput", "BookDealResult"),
    "payBooking": ("PayBookingInput", "PayBookingResult"),
    "cancelBooking": ("CancelBookingInput", "CancelBookingResult"),
    "redeemVoucher": ("RedeemVoucherInput", "RedeemVoucherResult"),
    "reverseRedemption": ("ReverseRedemptionInput", "ReverseRedemptionResult"),
    "postReview": ("PostReviewInput", "PostReviewResult"),
    "replyToReview": ("ReplyToReviewInput", "ReplyToReviewResult"),
}
MEMBERS = {
    "BookDealResult": ["BookDealSuccess", "DealUnavailable", "SoldOut", "InvalidInput"],
    "PayBookingResult": [
        "PaymentSucceeded",
        "PaymentDeclined",
        "PaymentRequiresAction",
        "BookingNotPayable",
    ],
    "CancelBookingResult": ["BookingCancelled", "NotCancellable"],
    "RedeemVoucherResult": [
        "VoucherRedeemed",
        "VoucherAlreadyRedeemed",
        "VoucherExpired",
        "VoucherNotValidHere",
        "VoucherNotFound",
    ],
    "ReverseRedemptionResult": ["RedemptionReversed", "ReversalWindowClosed"],
    "PostReviewResult": ["ReviewPosted", "NotEligible"],
    "ReplyToReviewResult": ["ReplyPosted", "AlreadyReplied"],
}
FIELDS = {
    "Booking": "id status quantity totalPrice holdExpiresAt deal store slotStart payment vouchers",
    "Payment": "id status amount provider",
    "Voucher": "id code status validUntil qrSvg redeemedAt redeemedAtStore",
    "BookDealInput": "dealId storeId quantity slotStart idempotencyKey",
    "PayBookingInput": "bookingId paymentMethod idempotencyKey",
    "CancelBookingInput": "bookingId reason",
    "RedeemVoucherInput": "code storeId idempotencyKey",
    "ReverseRedemptionInput": "voucherId reason",
    "PostReviewInput": "merchantId rating text",
    "ReplyToReviewInput": "reviewId text",
    "Review": "verified merchantReply",
}


def block(kind: str, name: str) -> str:
    match = re.search(rf"^{kind} {name}\b[^{{]*\{{(.*?)^\}}", SDL, re.S | re.M)
    assert match, f"{kind} {name} is missing"
    return match.group(1)


@pytest.mark.parametrize("name", MUTATIONS)
def test_mutations_exist_with_their_unions(name: str) -> None:
    argument, result = MUTATIONS[name]
    assert f"{name}(input: {argument}!): {result}!" in block("type", "Mutation")
    union = re.search(rf"^union {result} = (.*)$", SDL, re.M)
    assert union, result
    members = [m.strip() for m in union.group(1).split("|")]
    assert set(MEMBERS[result]) <= set(members)


@pytest.mark.parametrize("name", FIELDS)
def test_types_have_the_contract_fields(name: str) -> None:
    kind = "input" if name.endswith("Input") else "type"
    body = block(kind, name)
    for field in FIELDS[name].split():
        assert re.search(rf"^\s+{field}\b", body, re.M), f"{name}.{field}"


def test_every_failure_member_has_a_message() -> None:
    successes = {
        "BookDealSuccess",
        "PaymentSucceeded",
        "BookingCancelled",
        "VoucherRedeemed",
        "RedemptionReversed",
        "ReviewPosted",
        "ReplyPosted",
    }
    for members in MEMBERS.values():
        for member in set(members) - successes:
            assert re.search(r"^\s+message: String!", block("type", member), re.M), member
    assert "me: Viewer" in block("type", "Query")
    assert "enum VoucherStatus" in SDL and "EXPIRED" in block("enum", "VoucherStatus")
