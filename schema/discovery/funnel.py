"""What discovery results tell the live funnel: impressions, and a token per deal shown.

Counting is an in-memory addition (``commerce/insights/funnel.py``); tokens are signed only
when the client selected the ``attribution`` field.
"""

from __future__ import annotations

from collections.abc import Sequence

from commerce.insights.attribution import Channel
from schema.types import ContextInfo

ATTRIBUTION_DESCRIPTION = (
    "A short signed token of this result (deal, channel, partner key, time): pass it to"
    " bookDeal as attribution so the booking and its redemptions count for this channel."
    " Valid for 7 days; null when the funnel is off."
)


def shown(
    info: ContextInfo, deal_ids: Sequence[int], channel: Channel, with_tokens: bool
) -> list[str | None]:
    """Count one impression of each deal through ``channel``; the deals' attribution tokens
    when ``with_tokens`` (the client selected the field), else None each."""
    funnel = info.context.funnel
    if funnel is None or not deal_ids:
        return [None] * len(deal_ids)
    partner = info.context.partner_key_id
    funnel.impressions(deal_ids, channel, partner)
    if not with_tokens:
        return [None] * len(deal_ids)
    return funnel.tokens(deal_ids, channel, partner)
