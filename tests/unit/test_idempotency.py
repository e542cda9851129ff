"""Idempotency keys, input fingerprints and outcomes stored as JSON for replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from commerce import outcomes
from commerce.errors import UserInputError
from commerce.idempotency import (
    MAX_KEY_LENGTH,
    check_key,
    decode_outcome,
    encode_outcome,
    fingerprint,
    reused_key,
)


@pytest.mark.parametrize("key", ["a", "order-42", "x" * MAX_KEY_LENGTH, "ключ 7"])
def test_printable_keys_up_to_the_limit_are_accepted(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * (MAX_KEY_LENGTH + 1), "tab\there", "new\nline"])
def test_empty_long_or_unprintable_keys_are_refused(key: str) -> None:
    with pytest.raises(UserInputError) as caught:
        check_key(key)
    assert caught.value.argument == "idempotencyKey"


def test_a_reused_key_is_reported_on_the_key() -> None:
    error = reused_key()
    assert error.argument == "idempotencyKey" and "different input" in error.message


def test_the_same_input_has_the_same_fingerprint() -> None:
    slot = datetime(2026, 6, 5, 18, 0, tzinfo=UTC)
    assert fingerprint(7, None, 2, slot) == fingerprint(7, None, 2, slot)
    assert len(fingerprint(7)) == 64 and int(fingerprint(7), 16) >= 0


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((7, 1, 2), (7, 1, 3)),  # another quantity
        ((7, 1, 2), (7, 2, 2)),  # another store
        ((7, None, 2), (7, 1, 2)),  # a store given where none was
        (("ab", "c"), ("a", "bc")),  # parts do not run into each other
        ((1, 2), (1, 2, None)),  # a missing trailing part is not nothing
    ],
)
def test_different_input_has_a_different_fingerprint(
    first: tuple[Any, ...], second: tuple[Any, ...]
) -> None:
    assert fingerprint(*first) != fingerprint(*second)


def replay(outcome: Any, kinds: tuple[type[Any], ...]) -> Any:
    """Store an outcome as the database would (JSON text) and read it back."""
    stored = orjson.loads(orjson.dumps(encode_outcome(outcome)))
    return decode_outcome(stored, kinds)


def test_an_outcome_is_stored_by_kind_name() -> None:
    stored = encode_outcome(outcomes.SoldOut(message="none left"))
    assert stored["kind"] == "SoldOut"
    assert stored["fields"]["message"] == "none left"


def test_every_redeem_outcome_survives_a_replay_with_its_instant() -> None:
    at = datetime(2026, 6, 5, 18, 30, 15, tzinfo=timezone(timedelta(hours=3)))
    first = outcomes.VoucherAlreadyRedeemed(message="redeemed before", redeemed_at=at)
    again = replay(first, outcomes.REDEEM_OUTCOMES)
    assert type(again) is outcomes.VoucherAlreadyRedeemed
    assert again.redeemed_at == at and again.redeemed_at.utcoffset() == timedelta(hours=3)
    assert again.message == "redeemed before"


@pytest.mark.parametrize(
    "outcome",
    [
        outcomes.DealUnavailable(message="ended"),
        outcomes.SoldOut(message="none left"),
        outcomes.InvalidInput(message="too many", field="input.quantity"),
        outcomes.PerUserLimitReached(message="limit", limit=2),
    ],
)
def test_refused_bookings_replay_as_the_same_outcome(outcome: Any) -> None:
    assert replay(outcome, outcomes.BOOK_OUTCOMES) == outcome


def test_a_kind_outside_the_operations_outcomes_is_not_replayed() -> None:
    stored = encode_outcome(outcomes.VoucherExpired(message="expired"))
    with pytest.raises(KeyError):
        decode_outcome(stored, outcomes.BOOK_OUTCOMES)


def test_outcomes_stored_under_their_former_names_still_replay() -> None:
    refused = {"kind": "InvalidBooking", "fields": {"message": "too many", "field": "quantity"}}
    assert decode_outcome(refused, outcomes.BOOK_OUTCOMES) == outcomes.InvalidInput(
        message="too many", field="quantity"
    )
    at = {"$dt": "2026-06-05T18:30:00+03:00"}
    redeemed = {"kind": "AlreadyRedeemed", "fields": {"message": "before", "redeemed_at": at}}
    again = decode_outcome(redeemed, outcomes.REDEEM_OUTCOMES)
    assert type(again) is outcomes.VoucherAlreadyRedeemed
    assert again.redeemed_at == datetime.fromisoformat(at["$dt"])
    elsewhere = {"kind": "NotValidHere", "fields": {"message": "another merchant"}}
    assert type(decode_outcome(elsewhere, outcomes.REDEEM_OUTCOMES)) is outcomes.VoucherNotValidHere
