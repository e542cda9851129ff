"""Coupon wallets and coupon money: issued coupons once per member, wallet events, and the
platform's side of a platform-funded coupon.

- ``uq_claimed_coupons_issued``: a coupon is issued (``issueCoupon``, ``source = 'ISSUE'``)
  at most once to a customer, however often the issue is replayed or repeated; the insert
  is ``ON CONFLICT DO NOTHING`` (commerce/coupons/issuing.py).
- ``ix_claimed_coupons_merchant_claimed``: coupon insights count a merchant's claims by time.
- ``live_wallet_event``: every new wallet entry (a claimed or issued coupon) is a
  ``NOTIFY o2o_live`` in the writing transaction, ``{"e": "wallet", "kind": CLAIMED |
  ISSUED, "id", "coupon", "merchant", "customer"}``, delivered at commit to the
  ``walletUpdates`` subscription of that customer (commerce/live/events.py).
- The ledger gains the account kind ``platform_marketing`` (what the platform spends on the
  coupons it funds) and the journal kinds ``COUPON`` (platform_marketing -discount,
  merchant_payable +discount) and ``COUPON_BACK`` (its reversal), with
  ``ledger_journals.coupon_redemption_id`` naming the coupon redemption.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "o2o_live"  # db/listen.py LIVE_CHANNEL
OLD_ACCOUNT_KINDS = "'customer_funds', 'platform_escrow', 'merchant_payable', 'platform_commission'"
ACCOUNT_KINDS = f"{OLD_ACCOUNT_KINDS}, 'platform_marketing'"
OLD_JOURNAL_KINDS = "'PAYMENT', 'REDEMPTION', 'REVERSAL', 'REFUND', 'PAYOUT'"
JOURNAL_KINDS = f"{OLD_JOURNAL_KINDS}, 'COUPON', 'COUPON_BACK'"

WALLET_FUNCTION = f"""
CREATE FUNCTION live_wallet_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'e', 'wallet', 'kind', CASE WHEN NEW.source = 'ISSUE' THEN 'ISSUED' ELSE 'CLAIMED' END,
        'id', NEW.id, 'coupon', NEW.coupon_id, 'merchant', NEW.merchant_id,
        'customer', NEW.user_id)::text);
    RETURN NULL;
END;
$$
"""


def _kinds(table: str, kinds: str) -> None:
    name = op.f(f"ck_{table}_kind")
    op.drop_constraint(name, table, type_="check")
    op.create_check_constraint(name, table, f"kind IN ({kinds})")


def upgrade() -> None:
    _kinds("ledger_accounts", ACCOUNT_KINDS)
    _kinds("ledger_journals", JOURNAL_KINDS)
    op.add_column(
        "ledger_journals", sa.Column("coupon_redemption_id", sa.BigInteger(), nullable=True)
    )
    op.create_index(
        "uq_claimed_coupons_issued",
        "claimed_coupons",
        ["coupon_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("source = 'ISSUE'"),
    )
    # coupon insights count a merchant's claims by time
    op.create_index(
        "ix_claimed_coupons_merchant_claimed", "claimed_coupons", ["merchant_id", "claimed_at"]
    )
    op.execute(WALLET_FUNCTION)
    op.execute(
        "CREATE TRIGGER claimed_coupons_live_insert AFTER INSERT ON claimed_coupons"
        " FOR EACH ROW EXECUTE FUNCTION live_wallet_event()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS claimed_coupons_live_insert ON claimed_coupons")
    op.execute("DROP FUNCTION IF EXISTS live_wallet_event()")
    op.drop_index("ix_claimed_coupons_merchant_claimed", table_name="claimed_coupons")
    op.drop_index("uq_claimed_coupons_issued", table_name="claimed_coupons")
    op.drop_column("ledger_journals", "coupon_redemption_id")
    _kinds("ledger_journals", OLD_JOURNAL_KINDS)
    _kinds("ledger_accounts", OLD_ACCOUNT_KINDS)
