"""The money ledger: double-entry, append-only, balanced per currency; merchant commission.

- ``ledger_accounts``: one per (owner, kind, currency). Owners: ``platform``,
  ``merchant:<id>``, ``customer:<subject>``. Kinds: ``customer_funds``, ``platform_escrow``,
  ``merchant_payable``, ``platform_commission``.
- ``ledger_journals``: one per movement of money (PAYMENT, REDEMPTION, REVERSAL, REFUND,
  PAYOUT), written in the transaction of the event that caused it; ``event_key`` is unique,
  so an event is posted at most once.
- ``ledger_entries``: signed amounts (positive raises the account's balance), never zero.
  Entries and journals are append-only (``o2o_append_only()`` of migration 0003 refuses
  UPDATE and DELETE, ``o2o_no_truncate()`` of 0007 refuses TRUNCATE). A constraint
  trigger, DEFERRABLE INITIALLY DEFERRED, checks at commit that each journal's entries sum
  to zero in every currency; an entry's currency is its account's (composite foreign key).
- ``ix_vouchers_issued_valid_until``: the sweeper finds vouchers that expired unredeemed.
- ``merchants.commission_rate``: the platform's share of a redeemed voucher, 0 to 1; NULL
  means the platform default (``commerce/money/ledger.py``).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(12, 2)
ACCOUNT_KINDS = "'customer_funds', 'platform_escrow', 'merchant_payable', 'platform_commission'"
JOURNAL_KINDS = "'PAYMENT', 'REDEMPTION', 'REVERSAL', 'REFUND', 'PAYOUT'"

BALANCED_FUNCTION = """
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  off record;
BEGIN
  SELECT currency, sum(amount) AS total INTO off FROM ledger_entries
   WHERE journal_id = NEW.journal_id GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger journal % does not balance in %: %',
      NEW.journal_id, off.currency, off.total USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.add_column("merchants", sa.Column("commission_rate", sa.Numeric(5, 4), nullable=True))
    op.create_check_constraint(
        op.f("ck_merchants_commission_rate_range"),
        "merchants",
        "commission_rate BETWEEN 0 AND 1",
    )
    op.create_index(
        "ix_vouchers_issued_valid_until",
        "vouchers",
        ["valid_until"],
        postgresql_where=sa.text("status = 'ISSUED'"),
    )
    _accounts()
    _journals()
    _entries()
    op.execute(BALANCED_FUNCTION)
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()"
    )
    for table in ("ledger_journals", "ledger_entries"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION o2o_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION o2o_no_truncate()"
        )


def _accounts() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("owner", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"kind IN ({ACCOUNT_KINDS})", name=op.f("ck_ledger_accounts_kind")),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_ledger_accounts_currency_iso")),
        sa.CheckConstraint(
            "(kind = 'merchant_payable') = (merchant_id IS NOT NULL)",
            name=op.f("ck_ledger_accounts_merchant_owner"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint(
            "owner", "kind", "currency", name=op.f("uq_ledger_accounts_owner_kind_currency")
        ),
        sa.UniqueConstraint("id", "currency", name=op.f("uq_ledger_accounts_id_currency")),
    )


def _journals() -> None:
    op.create_table(
        "ledger_journals",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=True),
        sa.Column("voucher_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("refund_id", sa.BigInteger(), nullable=True),
        sa.Column("redemption_id", sa.BigInteger(), nullable=True),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(f"kind IN ({JOURNAL_KINDS})", name=op.f("ck_ledger_journals_kind")),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_journals.id"],
            name=op.f("fk_ledger_journals_reverses_id_ledger_journals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_journals")),
        sa.UniqueConstraint("event_key", name=op.f("uq_ledger_journals_event_key")),
    )
    op.create_index(
        "ix_ledger_journals_merchant_at", "ledger_journals", ["merchant_id", "at", "id"]
    )
    op.create_index("ix_ledger_journals_booking_id", "ledger_journals", ["booking_id"])


def _entries() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("journal_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_nonzero")),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journals.id"],
            name=op.f("fk_ledger_entries_journal_id_ledger_journals"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name=op.f("fk_ledger_entries_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_journal_id", "ledger_entries", ["journal_id"])
    op.create_index("ix_ledger_entries_account_id", "ledger_entries", ["account_id"])


def downgrade() -> None:
    for table in ("ledger_entries", "ledger_journals"):
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP TRIGGER ledger_entries_balanced ON ledger_entries")
    op.execute("DROP FUNCTION ledger_check_balanced()")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_journals")
    op.drop_table("ledger_accounts")
    op.drop_index("ix_vouchers_issued_valid_until", table_name="vouchers")
    op.drop_constraint(op.f("ck_merchants_commission_rate_range"), "merchants", type_="check")
    op.drop_column("merchants", "commission_rate")
