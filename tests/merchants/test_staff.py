"""Staff roles and onboarding over HTTP: createMerchant for admins only, the staff_role and
store claims (``me``, redeem at a cashier's own store), the append-only audit, and the CLI
(``o2o merchant create``, ``o2o token --staff-role``) run from this worktree."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.helpers import decode_id
from tests.merchants.conftest import (
    CREATE_MERCHANT,
    CREATE_STORE,
    KERGUELEN,
    As,
    Merchants,
    token,
)

ROOT = Path(__file__).resolve().parents[2]
ME = "{ me { subject roles merchantId staffRole storeId } }"
REDEEM = """
mutation($input: RedeemVoucherInput!) { redeemVoucher(input: $input) { __typename } }"""


def merchant_input(sql: psycopg.Connection[Any], **fields: Any) -> dict[str, Any]:
    row = sql.execute("SELECT slug FROM categories ORDER BY slug LIMIT 1").fetchone()
    assert row is not None
    return {"input": {"name": "Onboarded", "categorySlug": row[0], **fields}}


async def test_an_admin_creates_a_merchant_with_its_owner(
    merchants: Merchants, sql: psycopg.Connection[Any]
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    variables = merchant_input(sql, name="  Corner bakery ", ownerSubject=owner)
    result = (await merchants.admin.data(CREATE_MERCHANT, variables))["createMerchant"]
    assert result["__typename"] == "MerchantSaved"
    assert result["merchant"]["name"] == "Corner bakery"
    assert result["merchant"]["category"]["slug"] == variables["input"]["categorySlug"]
    merchant_id = decode_id(result["merchant"]["id"])
    merchants.adopt(merchant_id)
    row = sql.execute(
        "SELECT owner_subject, source FROM merchants WHERE id = %s", [merchant_id]
    ).fetchone()
    assert row == (owner, "api")
    audit = sql.execute(
        "SELECT action, subject, role, before, after FROM staff_audit"
        " WHERE entity = 'merchant' AND entity_id = %s",
        [str(merchant_id)],
    ).fetchall()
    assert len(audit) == 1
    action, subject, role, before, after = audit[0]
    assert (action, subject, role, before) == ("create_merchant", "admin-1", "admin", None)
    assert after["name"] == "Corner bakery" and after["owner_subject"] == owner


async def test_create_merchant_refusals(
    merchants: Merchants, gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    shop = await merchants()
    before = sql.execute("SELECT count(*) FROM merchants").fetchone()
    for caller in (As(gql, token("user-1", ["customer"])), shop.staff("owner")):
        result = (await caller.data(CREATE_MERCHANT, merchant_input(sql)))["createMerchant"]
        assert result["__typename"] == "NotAllowed"
        assert result["message"] == "only platform admins may create merchants"
    error = await As(gql).error(CREATE_MERCHANT, merchant_input(sql))
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    unknown = merchant_input(sql, categorySlug="no-such-category")
    result = (await merchants.admin.data(CREATE_MERCHANT, unknown))["createMerchant"]
    assert result["__typename"] == "InvalidInput"
    assert result["field"] == "input.categorySlug"
    for fields, argument in [
        ({"name": " "}, "input.name"),
        ({"ownerSubject": "x" * 121}, "input.ownerSubject"),
    ]:
        error = await merchants.admin.error(CREATE_MERCHANT, merchant_input(sql, **fields))
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["argument"] == argument
    assert sql.execute("SELECT count(*) FROM merchants").fetchone() == before


async def test_me_shows_the_staff_role_and_a_cashiers_store(merchants: Merchants) -> None:
    shop = await merchants()
    store = await shop.store()
    store_id = decode_id(store["id"])
    seen = {}
    for role in ("owner", "manager", "cashier", None):
        me = (await shop.staff(role, subject=f"s-{role}").data(ME))["me"]
        seen[role] = (me["staffRole"], me["storeId"], me["merchantId"])
    assert seen == {
        "owner": ("OWNER", None, shop.gid),
        "manager": ("MANAGER", None, shop.gid),
        "cashier": ("CASHIER", None, shop.gid),
        None: ("CASHIER", None, shop.gid),  # no claim: a cashier
    }
    pinned = (await shop.staff("cashier", store=store_id).data(ME))["me"]
    assert (pinned["staffRole"], pinned["storeId"]) == ("CASHIER", store["id"])


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"staff_role": "boss"}, "staff_role must be one of owner, manager, cashier"),
        ({"staff_role": "manager", "store": 5}, "only a cashier's token names a store"),
        ({"store": "five"}, "store must be a store's number"),
    ],
)
async def test_bad_staff_claims_are_unauthenticated(
    gql: GraphQL, claims: dict[str, Any], reason: str
) -> None:
    import time

    import jwt

    from gateway.settings import Settings

    now = int(time.time())
    payload = {"sub": "x", "roles": ["merchant"], "merchant_id": 1, "exp": now + 60, **claims}
    bearer = jwt.encode(payload, Settings().jwt_secret.get_secret_value(), algorithm="HS256")
    error = await As(gql, bearer).error(ME)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert reason in error["message"]


async def test_a_cashier_bound_to_a_store_redeems_only_there(merchants: Merchants) -> None:
    shop = await merchants()
    own, other = await shop.store(name="Own"), await shop.store(name="Other")
    cashier = shop.staff("cashier", store=decode_id(own["id"]))

    def redeem(store: str) -> dict[str, Any]:
        key = uuid.uuid4().hex
        return {"input": {"code": "ABCD-EFGH-JKLM", "storeId": store, "idempotencyKey": key}}

    at_own = await cashier.data(REDEEM, redeem(own["id"]))
    assert at_own["redeemVoucher"]["__typename"] == "VoucherNotFound"  # allowed, no such code
    error = await cashier.error(REDEEM, redeem(other["id"]))
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "only at their own store" in error["message"]
    # a cashier without a store, and every higher role, may redeem at every store
    for caller in (shop.staff("cashier"), shop.staff(None), shop.staff("manager")):
        result = await caller.data(REDEEM, redeem(other["id"]))
        assert result["redeemVoucher"]["__typename"] == "VoucherNotFound"


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("UPDATE staff_audit SET subject = 'someone else'", psycopg.errors.InsufficientPrivilege),
        ("DELETE FROM staff_audit", psycopg.errors.InsufficientPrivilege),
        ("TRUNCATE staff_audit", psycopg.errors.InsufficientPrivilege),
        (
            "INSERT INTO staff_audit (subject, role, action, entity, entity_id)"
            " VALUES ('x', 'owner', 'a', 'store', '1')",
            psycopg.errors.CheckViolation,  # neither before nor after
        ),
        (
            "INSERT INTO staff_audit (subject, role, action, entity, entity_id, after)"
            " VALUES ('x', 'king', 'a', 'store', '1', '{}')",
            psycopg.errors.CheckViolation,
        ),
    ],
)
async def test_the_audit_is_append_only(
    merchants: Merchants,
    sql: psycopg.Connection[Any],
    statement: str,
    error: type[Exception],
) -> None:
    shop = await merchants()
    await shop.store()  # at least one row to refuse to change
    count = sql.execute("SELECT count(*) FROM staff_audit").fetchone()
    with pytest.raises(error):
        sql.execute(statement)
    assert sql.execute("SELECT count(*) FROM staff_audit").fetchone() == count


def o2o(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI of this worktree (not the installed ``o2o`` script)."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_cli_creates_a_merchant_whose_owner_token_works(
    database_url: str, merchants: Merchants, gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    owner = f"cli-owner-{uuid.uuid4().hex[:6]}"
    slug = merchants.category()
    made = o2o(database_url, "merchant", "create", "--name", "CLI bistro", "--category", slug,
               "--owner", owner)  # fmt: skip
    assert made.returncode == 0, made.stderr
    number, global_id, name = made.stdout.strip().split("\t")
    merchants.adopt(int(number))
    assert global_id == to_global_id("Merchant", int(number)) and name == "CLI bistro"
    assert f"--merchant {number} --staff-role owner" in made.stderr
    row = sql.execute(
        "SELECT name, owner_subject, category_slug FROM merchants WHERE id = %s", [int(number)]
    ).fetchone()
    assert row == ("CLI bistro", owner, slug)
    audit = sql.execute(
        "SELECT role, subject FROM staff_audit WHERE entity = 'merchant' AND entity_id = %s",
        [number],
    ).fetchone()
    assert audit is not None and audit[0] == "admin" and audit[1].startswith("cli:")

    minted = o2o(database_url, "token", "--sub", owner, "--role", "merchant",
                 "--merchant", global_id, "--staff-role", "owner")  # fmt: skip
    assert minted.returncode == 0, minted.stderr
    owner_caller = As(gql, minted.stdout.strip())
    me = (await owner_caller.data(ME))["me"]
    assert (me["subject"], me["staffRole"], me["merchantId"]) == (owner, "OWNER", global_id)
    values = {"merchantId": global_id, "name": "First store", "location": KERGUELEN}
    created = (await owner_caller.data(CREATE_STORE, {"input": values}))["createStore"]
    assert created["__typename"] == "StoreSaved"

    cashier = o2o(database_url, "token", "--sub", "c", "--role", "merchant", "--merchant",
                  number, "--staff-role", "cashier", "--store", created["store"]["id"])  # fmt: skip
    assert cashier.returncode == 0, cashier.stderr
    pinned = (await As(gql, cashier.stdout.strip()).data(ME))["me"]
    assert pinned["storeId"] == created["store"]["id"]


def test_cli_refusals_are_one_line(database_url: str) -> None:
    unknown = o2o(database_url, "merchant", "create", "--name", "X", "--category", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == [
        "o2o merchant: ValueError: no category 'nope'; see the categories query"
    ]
    manager_store = o2o(database_url, "token", "--sub", "m", "--role", "merchant",
                        "--merchant", "1", "--staff-role", "manager", "--store", "2")  # fmt: skip
    assert manager_store.returncode == 1
    assert "only a cashier's token names a store" in manager_store.stderr
    customer_role = o2o(database_url, "token", "--sub", "c", "--role", "customer",
                        "--staff-role", "owner")  # fmt: skip
    assert customer_role.returncode == 1
    assert "--staff-role and --store are for --role merchant" in customer_role.stderr
    bad_role = o2o(database_url, "token", "--sub", "c", "--role", "merchant", "--merchant",
                   "1", "--staff-role", "boss")  # fmt: skip
    assert bad_role.returncode == 2  # argparse: not one of the choices
