"""Live events: every committed change a subscription cares about is a ``NOTIFY o2o_live``.

Triggers on bookings, payments, redemptions, reviews and ``deals.remaining_quantity`` call
``pg_notify('o2o_live', payload)`` in the writing transaction, so PostgreSQL delivers the
event only when (and if) that transaction commits, to every gateway process that LISTENs.
The payload is a small JSON object of ids and the event's kind, never the data itself:
subscribers load the rows with their own loaders and permission checks (see ARCHITECTURE.md,
"Live events"). Payloads stay far below NOTIFY's 8000-byte limit (under 200 bytes).

Payload keys: ``e`` (booking | payment | redemption | review | deal), ``kind``, and the ids
``id``, ``booking``, ``deal``, ``merchant``, ``store``, ``voucher`` where they apply.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "o2o_live"  # db/listen.py LIVE_CHANNEL

_FUNCTIONS = {
    # kind: BOOKED on insert, else the new status (CONFIRMED, CANCELLED, EXPIRED, COMPLETED)
    "live_booking_event": """
        PERFORM pg_notify('{channel}', json_build_object(
            'e', 'booking',
            'kind', CASE WHEN TG_OP = 'INSERT' THEN 'BOOKED' ELSE NEW.status END,
            'id', NEW.id, 'booking', NEW.id, 'deal', NEW.deal_id, 'store', NEW.store_id,
            'merchant', (SELECT merchant_id FROM deals WHERE id = NEW.deal_id))::text);
    """,
    # kind: the payment's new status (PENDING, SUCCEEDED, FAILED, REFUNDED, PARTIALLY_REFUNDED)
    "live_payment_event": """
        PERFORM pg_notify('{channel}', json_build_object(
            'e', 'payment', 'kind', NEW.status, 'id', NEW.id, 'booking', NEW.booking_id,
            'deal', b.deal_id, 'store', b.store_id, 'merchant', d.merchant_id)::text)
        FROM bookings b JOIN deals d ON d.id = b.deal_id WHERE b.id = NEW.booking_id;
    """,
    # kind: REDEEMED on insert, REVERSED when the redemption is reversed
    "live_redemption_event": """
        PERFORM pg_notify('{channel}', json_build_object(
            'e', 'redemption',
            'kind', CASE WHEN TG_OP = 'INSERT' THEN 'REDEEMED' ELSE 'REVERSED' END,
            'id', NEW.id, 'voucher', NEW.voucher_id, 'store', NEW.store_id,
            'merchant', NEW.merchant_id, 'booking', v.booking_id, 'deal', v.deal_id)::text)
        FROM vouchers v WHERE v.id = NEW.voucher_id;
    """,
    "live_review_event": """
        PERFORM pg_notify('{channel}', json_build_object(
            'e', 'review', 'kind', 'REVIEWED', 'id', NEW.id,
            'merchant', NEW.merchant_id)::text);
    """,
    "live_deal_event": """
        PERFORM pg_notify('{channel}', json_build_object(
            'e', 'deal', 'kind', 'STOCK', 'id', NEW.id, 'deal', NEW.id,
            'merchant', NEW.merchant_id)::text);
    """,
}

_TRIGGERS = (
    ("bookings_live_insert", "AFTER INSERT ON bookings", "", "live_booking_event"),
    (
        "bookings_live_status",
        "AFTER UPDATE OF status ON bookings",
        "OLD.status IS DISTINCT FROM NEW.status",
        "live_booking_event",
    ),
    ("payments_live_insert", "AFTER INSERT ON payments", "", "live_payment_event"),
    (
        "payments_live_status",
        "AFTER UPDATE OF status ON payments",
        "OLD.status IS DISTINCT FROM NEW.status",
        "live_payment_event",
    ),
    ("redemptions_live_insert", "AFTER INSERT ON redemptions", "", "live_redemption_event"),
    (
        "redemptions_live_reversal",
        "AFTER UPDATE OF reversed_at ON redemptions",
        "OLD.reversed_at IS NULL AND NEW.reversed_at IS NOT NULL",
        "live_redemption_event",
    ),
    ("reviews_live_insert", "AFTER INSERT ON reviews", "", "live_review_event"),
    (
        "deals_live_stock",
        "AFTER UPDATE OF remaining_quantity ON deals",
        "OLD.remaining_quantity IS DISTINCT FROM NEW.remaining_quantity",
        "live_deal_event",
    ),
)


def upgrade() -> None:
    for name, body in _FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            f"{body.format(channel=CHANNEL)}\n    RETURN NULL;\nEND;\n$$"
        )
    for trigger, event, condition, function in _TRIGGERS:
        when = f" WHEN ({condition})" if condition else ""
        op.execute(
            f"CREATE TRIGGER {trigger} {event} FOR EACH ROW{when} EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    for trigger, event, _condition, _function in _TRIGGERS:
        table = event.rsplit(" ", 1)[1]
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for name in _FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
