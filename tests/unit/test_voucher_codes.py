"""Voucher codes (``commerce.orders.vouchers``): derivation, the check character, typing."""

from __future__ import annotations

import pytest

from commerce.orders.vouchers import (
    ALPHABET,
    CODE_LENGTH,
    check_character,
    code_for,
    code_hash,
    display,
    new_nonce,
    normalize,
)

KEY = b"k" * 32
NONCE = bytes(range(16))


def test_a_code_is_fixed_by_key_and_nonce() -> None:
    code = code_for(KEY, NONCE)
    assert code == code_for(KEY, NONCE)
    assert code != code_for(b"another key".ljust(32, b"!"), NONCE)
    assert code != code_for(KEY, bytes(16))


def test_codes_use_only_the_unambiguous_alphabet() -> None:
    for _ in range(200):
        code = code_for(KEY, new_nonce())
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(ALPHABET)
    assert not set("01IO") & set(ALPHABET) and len(ALPHABET) == 32


def test_every_generated_code_passes_its_own_check() -> None:
    for _ in range(200):
        code = code_for(KEY, new_nonce())
        assert check_character(code[:-1]) == code[-1]
        assert normalize(code) == code


def test_any_single_wrong_symbol_is_caught() -> None:
    code = code_for(KEY, NONCE)
    for position in range(CODE_LENGTH):
        for symbol in ALPHABET:
            if symbol != code[position]:
                typo = code[:position] + symbol + code[position + 1 :]
                assert normalize(typo) is None, typo


def test_most_swapped_neighbours_are_caught() -> None:
    caught = missed = 0
    for number in range(100):
        code = code_for(KEY, number.to_bytes(16, "big"))
        for i in range(CODE_LENGTH - 1):
            if code[i] == code[i + 1]:
                continue
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            if normalize(swapped) is None:
                caught += 1
            else:
                missed += 1
    assert caught > 20 * missed


def test_staff_may_type_lowercase_spaces_and_dashes() -> None:
    code = code_for(KEY, NONCE)
    shown = display(code)
    assert shown.count("-") == 3 and shown.replace("-", "") == code
    assert normalize(shown) == code
    assert normalize(f"  {shown.lower()}\n") == code
    assert normalize(" ".join(code)) == code


@pytest.mark.parametrize("typed", ["", "ABC", "0" * CODE_LENGTH, "I" * CODE_LENGTH])
def test_what_cannot_be_a_code_normalizes_to_none(typed: str) -> None:
    assert normalize(typed) is None


def test_a_code_one_symbol_too_long_or_short_is_refused() -> None:
    code = code_for(KEY, NONCE)
    assert normalize(code + "2") is None
    assert normalize(code[:-1]) is None


def test_the_lookup_hash_depends_on_the_key_and_is_not_the_code() -> None:
    code = code_for(KEY, NONCE)
    assert code_hash(KEY, code) == code_hash(KEY, code)
    assert code_hash(KEY, code) != code_hash(b"x" * 32, code)
    assert code.encode() not in code_hash(KEY, code)
    assert len(code_hash(KEY, code)) == 32
