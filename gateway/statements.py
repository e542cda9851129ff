"""``GET /merchants/{id}/statement.csv?from=YYYY-MM-DD&to=YYYY-MM-DD``: a merchant's statement
(:mod:`commerce.money.statements`, the same as ``Merchant.statement``) as CSV.

``{id}`` is the merchant's global ID (as in GraphQL) or its number. It needs
``Authorization: Bearer <token>`` of the merchant's OWNER or MANAGER (or a platform admin).

Responses: ``200`` ``text/csv`` (UTF-8, an attachment): a header row, one row per statement
line (``at`` in the merchant's zone, ``kind``, signed ``amount``, ``currency``, ``balance``
after the line, ``moves_balance``, ``booking_id`` and ``voucher_id`` as global IDs), then the
totals rows (``kind`` = ``OPENING_BALANCE``, ``TOTAL_GROSS``, ``TOTAL_REFUNDS``,
``TOTAL_COMMISSION``, ``TOTAL_NET``, ``CLOSING_BALANCE``; the balances' ``at`` is the period's
start and end). Errors are JSON
``{"error", "argument"?}``: ``401`` without a valid token, ``403`` for anyone else, ``404``
for an unknown merchant, ``400`` for a bad id, date or period, ``503`` when PostgreSQL cannot
answer.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from commerce.errors import ForbiddenError, NotFoundError, UserInputError
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.money.statements import Statement, StatementRequest, merchant_statement
from db.database import Database
from gateway.auth import Authenticator
from schema.ids import numeric_id, parse_int_id, to_global_id

STATEMENT_PATH = "/merchants/{merchant}/statement.csv"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
COLUMNS = (
    "at",
    "kind",
    "amount",
    "currency",
    "balance",
    "moves_balance",
    "booking_id",
    "voucher_id",
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

log = logging.getLogger("o2o.statements")


def _error(status: int, message: str, argument: str | None = None) -> JSONResponse:
    body = {"error": message} if argument is None else {"error": message, "argument": argument}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def merchant_id_of(raw: str) -> int:
    """A merchant's global ID or number; ``UserInputError``/``NotFoundError`` otherwise."""
    if raw.isdigit():
        return numeric_id(raw, "id")
    return parse_int_id(raw, "Merchant", "id")


def day_of(request: Request, name: str) -> date:
    raw = request.query_params.get(name)
    if raw is None:
        raise UserInputError(name, f"{name} is required (YYYY-MM-DD)")
    if not _DAY.fullmatch(raw):
        raise UserInputError(name, f"{name} must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise UserInputError(name, f"{name} is not a valid date") from error


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _gid(type_name: str, ident: int | None) -> str:
    return "" if ident is None else to_global_id(type_name, ident)


def statement_csv(statement: Statement) -> str:
    """The CSV body: header, lines, totals rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    currency = statement.currency
    for line in statement.lines:
        writer.writerow(
            (
                line.at.isoformat(),
                line.kind.value,
                _money(line.amount),
                currency,
                _money(line.balance),
                "true" if line.moves_balance else "false",
                _gid("Booking", line.booking_id),
                _gid("Voucher", line.voucher_id),
            )
        )
    period, totals = statement.period, statement.totals
    rows = (
        (period.start.isoformat(), "OPENING_BALANCE", statement.opening),
        ("", "TOTAL_GROSS", totals.gross),
        ("", "TOTAL_REFUNDS", totals.refunds),
        ("", "TOTAL_COMMISSION", totals.commission),
        ("", "TOTAL_NET", totals.net),
        (period.end.isoformat(), "CLOSING_BALANCE", statement.closing),
    )
    for at, kind, amount in rows:
        writer.writerow((at, kind, _money(amount), currency, "", "", "", ""))
    return out.getvalue()


def statement_routes(database: Database, authenticator: Authenticator) -> list[Route]:
    async def statement(request: Request) -> Response:
        auth = await authenticator.authenticate(request.headers.get("authorization"))
        principal: Principal | None = auth.principal
        if principal is None:
            return _error(401, auth.error or "sign in first: send Authorization: Bearer <token>")
        try:
            merchant_id = merchant_id_of(request.path_params["merchant"])
            roles.require(principal, "view_statement", merchant_id)
            wanted = StatementRequest(merchant_id, day_of(request, "from"), day_of(request, "to"))
            found = await merchant_statement(database, principal, wanted)
        except UserInputError as error:
            return _error(400, error.message, error.argument)
        except ForbiddenError as error:
            return _error(403, error.message)
        except NotFoundError as error:
            return _error(404, error.message)
        except DBAPIError as error:
            log.warning("statement %s failed in PostgreSQL: %s", request.url.path, error.orig)
            return JSONResponse(
                {"error": "the database is unavailable, try again"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        name = f"statement-{merchant_id}-{wanted.first_day}-{wanted.last_day}.csv"
        headers = {
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        }
        return Response(statement_csv(found), media_type=CSV_MEDIA_TYPE, headers=headers)

    return [Route(STATEMENT_PATH, statement, methods=["GET"])]
