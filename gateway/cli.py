"""The ``o2o`` command: serve, migrate, seed, reindex, worker, export-schema, token, apikey,
merchant, persisted.

Every command reads the same environment (see :class:`gateway.settings.Settings`) and exits
non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gateway.logs import configure_logging
from gateway.settings import Settings, check_settings

log = logging.getLogger("o2o")


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    check_settings(settings)
    print(f"o2o-gateway: playground at http://{args.host}:{args.port}/graphql", flush=True)
    uvicorn.run(
        "gateway.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through our handler (gateway.logs), as JSON
        access_log=args.access_log,
    )


def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    from db.migrate import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"migrated to {args.revision}")


def _seed(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.app import database_from
    from seed.load import analyze_database, seed_demo

    async def run() -> None:
        database = database_from(settings)
        try:
            report = await seed_demo(database)
            await analyze_database(database)
        finally:
            await database.dispose()
        print(
            f"seeded {report.merchants} merchants, {report.stores} stores, "
            f"{report.deals} deals, {report.reviews} reviews, {report.categories} categories, "
            f"{report.slot_plans} slot schedules ({report.slots} new slots), "
            f"{report.programs} membership programs, {report.coupons} coupons"
        )

    asyncio.run(run())


def _reindex(settings: Settings, args: argparse.Namespace) -> None:
    from commerce.discovery.indexing import reindex
    from gateway.app import database_from, search_index_from

    async def run() -> None:
        database, index = database_from(settings), search_index_from(settings)
        try:
            report = await reindex(database, index)
        finally:
            await index.client.close()
            await database.dispose()
        print(
            f"indexed {report.documents} documents into {report.index} at version "
            f"{report.version}; alias {index.alias} now points there"
        )

    asyncio.run(run())


def _worker(settings: Settings, args: argparse.Namespace) -> None:
    from commerce.discovery.indexing import run_publisher
    from gateway.app import database_from, search_index_from

    async def run() -> None:
        database, index = database_from(settings), search_index_from(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"o2o worker: publishing the search outbox to {index.alias}", flush=True)
        try:
            await run_publisher(database, index, settings.search_sync_interval_s, stop)
        finally:
            await index.client.close()
            await database.dispose()

    asyncio.run(run())


def _export_schema(settings: Settings, args: argparse.Namespace) -> None:
    from schema.build import build_schema
    from schema.federation import build_subgraph_schema

    build = build_subgraph_schema if args.subgraph else build_schema
    sdl = build(max_depth=settings.max_query_depth).as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl, encoding="utf-8")
        print(f"wrote {args.output}")


def _token(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.auth import mint_token

    merchant = None if args.merchant is None else _merchant_number(args.merchant)
    store = None if args.store is None else _store_number(args.store)
    roles = list(dict.fromkeys(args.role))
    if (args.staff_role or store is not None) and "merchant" not in roles:
        raise ValueError("--staff-role and --store are for --role merchant")
    secret = settings.jwt_secret.get_secret_value()
    token = mint_token(
        secret,
        args.sub,
        roles,
        merchant,
        args.ttl,
        args.name,
        staff_role=args.staff_role,
        store_id=store,
    )
    print(token)


def _merchant(settings: Settings, args: argparse.Namespace) -> None:
    from commerce import outcomes
    from commerce.identity.principal import Principal
    from commerce.merchants.merchants import MerchantRequest, create_merchant
    from gateway.app import database_from
    from schema.ids import to_global_id

    operator = Principal(subject=f"cli:{getpass.getuser()}"[:120], roles=frozenset({"admin"}))

    async def run() -> None:
        database = database_from(settings)
        try:
            request = MerchantRequest(args.name, args.category, args.owner)
            outcome = await create_merchant(database, operator, request)
        finally:
            await database.dispose()
        if not isinstance(outcome, outcomes.MerchantSaved):
            raise ValueError(outcome.message)
        row = outcome.merchant
        print(f"{row.id}\t{to_global_id('Merchant', row.id)}\t{row.name}")
        owner = f" --sub {args.owner}" if args.owner else " --sub <owner>"
        print(
            f"merchant {row.id} created; its owner's token: o2o token{owner} --role merchant"
            f" --merchant {row.id} --staff-role owner",
            file=sys.stderr,
        )

    asyncio.run(run())


def _add_merchant_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    merchant = commands.add_parser("merchant", help="onboard merchants (as a platform admin)")
    actions = merchant.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="create a merchant; prints its id, global ID and name (tab-separated)"
    )
    create.add_argument("--name", required=True, help="the merchant's registered name")
    create.add_argument("--category", required=True, help="category slug, e.g. restaurant")
    create.add_argument("--owner", help="token subject of the owner (staff_role owner)")
    merchant.set_defaults(handler=_merchant)


def _apikey(settings: Settings, args: argparse.Namespace) -> None:
    from commerce.partners import keys
    from gateway.app import database_from

    async def run() -> None:
        database = database_from(settings)
        try:
            if args.action == "create":
                created = await keys.create_key(database, args.name, args.rate, args.cost)
                print(created.secret)
                print(
                    f"key {created.id} ({created.name}): {args.rate} requests and query cost "
                    f"{args.cost} per minute; the key is shown only now",
                    file=sys.stderr,
                )
            elif args.action == "revoke":
                if not await keys.revoke_key(database, args.id):
                    raise LookupError(f"no unrevoked key with id {args.id}")
                print(f"revoked key {args.id}")
            else:
                for row in await keys.list_keys(database):
                    revoked = row.revoked_at
                    state = f"revoked {revoked:%Y-%m-%d %H:%M}" if revoked else "active"
                    print(
                        f"{row.id}\t{row.name}\to2o_pk_{row.lookup}_...\t"
                        f"rate {row.rate_per_minute}/min\tcost {row.cost_per_minute}/min\t{state}"
                    )
        finally:
            await database.dispose()

    asyncio.run(run())


def _add_apikey_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    apikey = commands.add_parser("apikey", help="create, revoke or list partner API keys")
    actions = apikey.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="print a new partner key (shown only once)")
    create.add_argument("--name", required=True, help="who the key is for")
    create.add_argument("--rate", type=int, default=600, help="requests per minute")
    create.add_argument("--cost", type=int, default=100_000, help="query cost per minute")
    revoke = actions.add_parser("revoke", help="revoke a key by its id (see list)")
    revoke.add_argument("id", type=int)
    actions.add_parser("list", help="keys with their limits (never the secrets)")
    apikey.set_defaults(handler=_apikey)


def _persisted(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.app import limiter_of, persisted_of
    from gateway.persisted import manifest_texts

    async def run() -> None:
        limiter = limiter_of(settings)
        registry = persisted_of(settings, limiter, trusted_only=True)
        try:
            if args.action == "add":
                texts = [text for f in args.files for text in manifest_texts(_read(f))]
                for text in texts:
                    _check_document(settings, text)
                for digest in await registry.trust(texts):
                    print(digest)
            elif not await registry.distrust(args.hash):
                raise LookupError(f"no trusted document {args.hash}")
            else:
                print(f"removed {args.hash}")
        finally:
            await limiter.close()

    asyncio.run(run())


def _read(path: str) -> str:
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")


def _check_document(settings: Settings, text: str) -> None:
    """Only documents valid against the served schema are registered."""
    from graphql import parse, validate

    from schema.build import build_schema

    errors = validate(build_schema(max_depth=settings.max_query_depth)._schema, parse(text))
    if errors:
        raise ValueError(f"invalid document: {errors[0].message}")


def _add_persisted_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    persisted = commands.add_parser(
        "persisted", help="register trusted documents (persisted operations) in Redis"
    )
    actions = persisted.add_subparsers(dest="action", required=True)
    add = actions.add_parser(
        "add", help="register GraphQL files or persisted-query manifests; prints the hashes"
    )
    add.add_argument("files", nargs="+", help="a .graphql file, a manifest (JSON), or -")
    remove = actions.add_parser("remove", help="unregister a trusted document by its hash")
    remove.add_argument("hash")
    persisted.set_defaults(handler=_persisted)


def _merchant_number(value: str) -> int:
    """A merchant's number, or its global ID as the API shows it."""
    if value.isdigit():
        return int(value)
    from schema.ids import parse_int_id

    return parse_int_id(value, "Merchant", "--merchant")


def _store_number(value: str) -> int:
    """A store's number, or its global ID as the API shows it."""
    if value.isdigit():
        return int(value)
    from schema.ids import parse_int_id

    return parse_int_id(value, "Store", "--store")


def _map_layer(settings: Settings, args: argparse.Namespace) -> None:
    from datetime import timedelta

    from commerce.discovery.map_layer import refresh_once
    from gateway.app import database_from

    async def run() -> None:
        database = database_from(settings)
        try:
            interval = timedelta(seconds=settings.map_layer_refresh_seconds)
            horizon = timedelta(seconds=settings.map_layer_horizon_seconds)
            report = await refresh_once(database, interval, horizon, force=True)
        finally:
            await database.dispose()
        if report is None:
            raise RuntimeError("another process is building the map layer")
        print(
            f"map layer generation {report.generation}: {report.deals} deals, "
            f"{report.cells} cells, {report.spread} spread stores, {report.volatile} volatile, "
            f"{report.consumed} changes consumed, {report.build_ms} ms"
        )

    asyncio.run(run())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="o2o", description="o2o-gateway command line")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway (uvicorn, uvloop, httptools)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (one per core)")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(handler=_serve)
    migrate = commands.add_parser("migrate", help="apply the Alembic migrations")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(handler=_migrate)
    seed = commands.add_parser("seed", help="load the deterministic demo data (idempotent)")
    seed.set_defaults(handler=_seed)
    reindex = commands.add_parser(
        "reindex", help="rebuild the search index from PostgreSQL and swap the alias to it"
    )
    reindex.set_defaults(handler=_reindex)
    layer = commands.add_parser(
        "map-layer", help="build and publish the map layer now (o2o serve also does)"
    )
    layer.set_defaults(handler=_map_layer)
    worker = commands.add_parser(
        "worker", help="publish the search outbox (o2o serve also does, unless SEARCH_SYNC=0)"
    )
    worker.set_defaults(handler=_worker)
    export = commands.add_parser("export-schema", help="print or write the GraphQL SDL")
    export.add_argument("--output", "-o", default="-", help="file path, or - for stdout")
    export.add_argument(
        "--subgraph",
        action="store_true",
        help="the Apollo Federation v2 subgraph SDL (served at /graphql/subgraph)",
    )
    export.set_defaults(handler=_export_schema)
    token = commands.add_parser("token", help="print a signed JWT for local use (HS256)")
    token.add_argument("--sub", required=True, help="the user id (token subject)")
    token.add_argument(
        "--role",
        required=True,
        action="append",
        choices=["customer", "merchant", "admin"],
        help="repeat for several roles",
    )
    token.add_argument("--merchant", help="merchant id or global ID (merchant staff)")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.add_argument("--name", help="display name (shown on reviews)")
    token.add_argument(
        "--staff-role",
        choices=["owner", "manager", "cashier"],
        help="merchant staff's role (default cashier)",
    )
    token.add_argument("--store", help="a cashier's store: id or global ID")
    token.set_defaults(handler=_token)
    _add_apikey_parser(commands)
    _add_merchant_parser(commands)
    _add_persisted_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler: Callable[[Settings, argparse.Namespace], None] = args.handler
    try:
        settings = Settings()
        level = settings.log_level if args.command == "serve" else "WARNING"
        configure_logging(level, settings.effective_log_format)
        handler(settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the CLI's contract: one line, non-zero exit
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"o2o {args.command}: {type(error).__name__}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
