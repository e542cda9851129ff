"""Payments become attempts, and refunds are bounded before the provider is asked.

- A declined card leaves the booking HELD and the customer retries with another method (a
  new ``idempotencyKey``, a new row). The one-payment-per-booking constraint becomes a
  partial unique index over the rows that are not FAILED; a plain index serves lookups.
- ``payments.return_url``: where the provider sends the customer after authentication; it
  is part of the attempt, so a retry of the provider call sends the same parameters.
- ``payments.provider_called_at``: the claim on the provider call of an attempt. Replays of
  one ``idempotencyKey`` that arrive while the call is in flight do not call again (a server
  that ignores idempotency keys would charge twice); an error clears the claim.
- A refund row is written before the provider is called. A trigger refuses one that would
  take the refunds of a payment (PENDING and SUCCEEDED) above what it captured, under the
  payment's row lock, so two concurrent refunds cannot both pass.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUND_GUARD = """
CREATE FUNCTION refunds_within_captured() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    captured numeric;
    committed numeric;
BEGIN
    SELECT amount_captured INTO captured FROM payments
        WHERE id = NEW.payment_id FOR NO KEY UPDATE;
    SELECT coalesce(sum(amount), 0) INTO committed FROM refunds
        WHERE payment_id = NEW.payment_id AND status <> 'FAILED';
    IF committed + NEW.amount > coalesce(captured, 0) THEN
        RAISE EXCEPTION 'refund of % exceeds what payment % has left to refund (% of %)',
            NEW.amount, NEW.payment_id, coalesce(captured, 0) - committed, coalesce(captured, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refunds_within_captured BEFORE INSERT ON refunds
    FOR EACH ROW EXECUTE FUNCTION refunds_within_captured();
"""


def upgrade() -> None:
    op.drop_constraint("uq_payments_booking_id", "payments", type_="unique")
    op.create_index("ix_payments_booking_id", "payments", ["booking_id"])
    op.create_index(
        "uq_payments_booking_live",
        "payments",
        ["booking_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'FAILED'"),
    )
    op.add_column("payments", sa.Column("return_url", sa.Text(), nullable=True))
    op.add_column(
        "payments", sa.Column("provider_called_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        op.f("ck_payments_return_url_length"), "payments", "char_length(return_url) <= 2000"
    )
    op.execute(_REFUND_GUARD)


def downgrade() -> None:
    op.execute("DROP TRIGGER refunds_within_captured ON refunds")
    op.execute("DROP FUNCTION refunds_within_captured()")
    op.drop_constraint(op.f("ck_payments_return_url_length"), "payments", type_="check")
    op.drop_column("payments", "provider_called_at")
    op.drop_column("payments", "return_url")
    op.drop_index("uq_payments_booking_live", table_name="payments")
    op.drop_index("ix_payments_booking_id", table_name="payments")
    op.create_unique_constraint("uq_payments_booking_id", "payments", ["booking_id"])
