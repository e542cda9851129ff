"""When the map layer is rebuilt: every ``interval`` each gateway process asks, and the one
that gets PostgreSQL's advisory lock builds, unless a build younger than the interval is
already published (so replicas never all rebuild at once, and a crashed builder's lock is
released with its transaction). Between builds, the changes recorded by triggers are answered
live (see :mod:`geo.layer`); a layer past its horizon, or missing, leaves maps live."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from db.database import Database
from geo import layer
from geo.layer import BuildReport

log = logging.getLogger(__name__)


def due(age: timedelta | None, interval: timedelta) -> bool:
    """Build when there is no layer, or the published one is at least ``interval`` old
    (with a little slack, so a builder that just finished is not followed at once)."""
    return age is None or age >= interval * 0.9


async def refresh_once(
    database: Database, interval: timedelta, horizon: timedelta, force: bool = False
) -> BuildReport | None:
    """Build and publish a generation if due and nobody else is building; then drop the
    older generations' rows."""
    async with database.write() as conn:
        if not await layer.try_lock(conn):
            return None
        if not force and not due(await layer.build_age(conn), interval):
            return None
        report = await layer.build(conn, horizon)
    async with database.write() as conn:
        await layer.drop_before(conn, report.generation)
    return report


async def refresh_forever(database: Database, interval_s: float, horizon_s: float) -> None:
    """Run :func:`refresh_once` every ``interval_s`` until cancelled."""
    interval, horizon = timedelta(seconds=interval_s), timedelta(seconds=horizon_s)
    while True:
        try:
            report = await refresh_once(database, interval, horizon)
            if report is not None:
                log.info("map layer built: %s", report)
        except Exception:  # a database hiccup must not end the refresher
            log.exception("map layer build failed")
        await asyncio.sleep(interval_s)
