"""Attribution tokens: which discovery result (channel, partner key, time) led to a booking.

A token is issued for each deal of a ``nearbyDeals``, ``searchDeals`` or ``dealsInView``
result and handed back by ``bookDeal``. It is short (about 30 characters), base64url
without padding, over::

    version+channel (1 byte) | deal id (varint) | partner key id (varint, 0: none)
    | issued at (uint32, Unix seconds) | HMAC-SHA256 tag (first 12 bytes)

The key is derived from the voucher secret with a label of its own, so a token cannot be
made or altered without the server secret, and the secret itself is never used twice.
Coupons (``nearbyCoupons`` -> ``claimCoupon``) use the same format with the coupon's id
under a key of their own label (:func:`coupon_attribution_key`), so a deal's token never
attributes a claim of the coupon with the same id, nor the other way round.
:func:`read_token` never raises: a forged, malformed, stale (older than ``MAX_AGE``),
future-dated or other-deal token is simply no attribution (the booking counts as DIRECT).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final

LABEL: Final = b"o2o-attribution-v1"
COUPON_LABEL: Final = b"o2o-coupon-attribution-v1"
VERSION: Final = 1
TAG_BYTES: Final = 12
MAX_AGE: Final = timedelta(days=7)
MAX_SKEW: Final = timedelta(minutes=5)  # clocks of several gateway processes
MAX_TOKEN_CHARS: Final = 64  # anything longer is not ours: ignored before decoding


class Channel(enum.Enum):
    """Where a deal was seen: the discovery field that listed it, or none (DIRECT)."""

    NEARBY = "NEARBY"
    SEARCH = "SEARCH"
    MAP = "MAP"
    DIRECT = "DIRECT"


_CODES: Final = {Channel.NEARBY: 1, Channel.SEARCH: 2, Channel.MAP: 3, Channel.DIRECT: 4}
_BY_CODE: Final = {code: channel for channel, code in _CODES.items()}


@dataclass(frozen=True, slots=True)
class Attribution:
    """What a valid token says."""

    deal_id: int
    channel: Channel
    partner_key_id: int | None
    issued_at: int  # Unix seconds


@lru_cache(maxsize=8)
def attribution_key(secret: bytes) -> bytes:
    """The signing key: an HMAC of the label under the server secret."""
    return hmac.new(secret, LABEL, hashlib.sha256).digest()


@lru_cache(maxsize=8)
def coupon_attribution_key(secret: bytes) -> bytes:
    """The signing key of coupon tokens: an HMAC of their own label under the server secret."""
    return hmac.new(secret, COUPON_LABEL, hashlib.sha256).digest()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    """The value and the next offset; ValueError when the data ends or runs past 9 bytes."""
    value = shift = 0
    for index in range(at, min(len(data), at + 9)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    raise ValueError("bad varint")


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:TAG_BYTES]


def make_tokens(
    key: bytes,
    deal_ids: Iterable[int],
    channel: Channel,
    partner_key_id: int | None,
    issued_at: int,
) -> list[str]:
    """One token per deal of a result; ``key`` comes from :func:`attribution_key`."""
    prefix = bytes([VERSION << 4 | _CODES[channel]])
    suffix = _varint(partner_key_id or 0) + struct.pack(">I", issued_at)
    signer = hmac.new(key, digestmod=hashlib.sha256)
    tokens = []
    for deal_id in deal_ids:
        body = prefix + _varint(deal_id) + suffix
        mac = signer.copy()
        mac.update(body)
        raw = body + mac.digest()[:TAG_BYTES]
        tokens.append(base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"))
    return tokens


def make_token(
    key: bytes, deal_id: int, channel: Channel, partner_key_id: int | None, issued_at: int
) -> str:
    return make_tokens(key, [deal_id], channel, partner_key_id, issued_at)[0]


def _decode(key: bytes, token: str) -> Attribution | None:
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if len(body) < 7 or not hmac.compare_digest(tag, _tag(key, body)):
        return None
    if body[0] >> 4 != VERSION or (body[0] & 0x0F) not in _BY_CODE:
        return None
    try:
        deal_id, at = _read_varint(body, 1)
        partner, at = _read_varint(body, at)
    except ValueError:
        return None
    if len(body) != at + 4:
        return None
    (issued_at,) = struct.unpack(">I", body[at:])
    return Attribution(deal_id, _BY_CODE[body[0] & 0x0F], partner or None, issued_at)


def read_token(key: bytes, token: str | None, deal_id: int, now: datetime) -> Attribution | None:
    """The token's attribution when it is ours, for ``deal_id``, and at most ``MAX_AGE`` old;
    otherwise None (never an error)."""
    if token is None:
        return None
    found = _decode(key, token.strip())
    if found is None or found.deal_id != deal_id:
        return None
    stamp = now.timestamp()
    if not stamp - MAX_AGE.total_seconds() <= found.issued_at <= stamp + MAX_SKEW.total_seconds():
        return None
    return found
