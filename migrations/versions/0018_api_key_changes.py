"""Partner-key changes are a ``NOTIFY o2o_live``: every gateway process keeps the keys it
found for a short while (``commerce.partners.keys.KeyCache``) and forgets one the moment it
hears that the key's row changed or went (revoked, limits changed, deleted), so revocation
stays immediate across processes without a database round trip per request.

Payload: ``{"e": "api_key", "kind": "CHANGED", "id": <key id>}`` for a row updated or
deleted, ``{"e": "api_key", "kind": "TRUNCATED", "id": 0}`` for a ``TRUNCATE`` (forget every
key). The live hub ignores these; the listener hands them to the key cache.

Revision ID: 0018
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "o2o_live"  # db/listen.py LIVE_CHANNEL


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION api_key_changed_event() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"    PERFORM pg_notify('{CHANNEL}', json_build_object(\n"
        "        'e', 'api_key', 'kind', 'CHANGED', 'id', OLD.id)::text);\n"
        "    RETURN NULL;\n"
        "END;\n$$"
    )
    op.execute(
        "CREATE FUNCTION api_keys_truncated_event() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"    PERFORM pg_notify('{CHANNEL}', json_build_object(\n"
        "        'e', 'api_key', 'kind', 'TRUNCATED', 'id', 0)::text);\n"
        "    RETURN NULL;\n"
        "END;\n$$"
    )
    op.execute(
        "CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE ON api_keys "
        "FOR EACH ROW EXECUTE FUNCTION api_key_changed_event()"
    )
    op.execute(
        "CREATE TRIGGER api_keys_truncated AFTER TRUNCATE ON api_keys "
        "FOR EACH STATEMENT EXECUTE FUNCTION api_keys_truncated_event()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS api_keys_truncated ON api_keys")
    op.execute("DROP TRIGGER IF EXISTS api_keys_changed ON api_keys")
    op.execute("DROP FUNCTION IF EXISTS api_keys_truncated_event()")
    op.execute("DROP FUNCTION IF EXISTS api_key_changed_event()")
