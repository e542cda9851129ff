"""The key and window rules of commerce.partners.api_keys, as plain functions."""

from __future__ import annotations

import pytest

from commerce.errors import UserInputError
from commerce.partners.api_keys import (
    digest_matches,
    lookup_of,
    mint_key,
    validate_limits,
    window_at,
)


def test_minted_keys_parse_and_match_only_their_digest() -> None:
    first, second = mint_key(), mint_key()
    assert first.secret != second.secret and first.lookup != second.lookup
    assert lookup_of(first.secret) == first.lookup
    assert digest_matches(first.secret, first.digest)
    assert not digest_matches(second.secret, first.digest)
    assert lookup_of(first.secret + "x") is None
    assert lookup_of("o2o_pk_XYZ_" + "a" * 43) is None


def test_windows_are_fixed_and_retry_after_counts_to_their_end() -> None:
    assert window_at(120.0, 60).number == 2 and window_at(120.0, 60).retry_after == 60
    assert window_at(179.2, 60).number == 2 and window_at(179.2, 60).retry_after == 1
    assert window_at(179.99, 60).retry_after == 1


@pytest.mark.parametrize(("rate", "cost"), [(0, 1), (1, 0), (2_000_000, 1)])
def test_limits_are_bounded(rate: int, cost: int) -> None:
    with pytest.raises(UserInputError):
        validate_limits("partner", rate, cost)
