"""Custom scalars with their specifications (``@specifiedBy``), so code generators can type
them: ``DateTime`` and ``Date`` replace Strawberry's built-in definitions of ``datetime`` and
``date`` (same parsing and serialising) in the schema's ``scalar_map`` (schema/build.py)."""

from __future__ import annotations

import dataclasses

from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

DATE_TIME_SPEC = "https://scalars.graphql.org/andimarek/date-time"
GEOJSON_SPEC = "https://www.rfc-editor.org/rfc/rfc7946"
DATE_SPEC = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"

DATETIME_SCALAR: ScalarDefinition = dataclasses.replace(
    DateTimeDefinition,
    description="An instant as an RFC 3339 / ISO 8601 date-time with a UTC offset, e.g. "
    "2026-06-01T12:00:00+03:00. Output is always offset-qualified (usually +00:00); every "
    "input that lacks an offset is refused with BAD_USER_INPUT.",
    specified_by_url=DATE_TIME_SPEC,
)

DATE_SCALAR: ScalarDefinition = dataclasses.replace(
    DateDefinition,
    description="A calendar date as an ISO 8601 / RFC 3339 full-date, e.g. 2026-12-24, read in "
    "the time zone the field names (a store's or merchant's).",
    specified_by_url=DATE_SPEC,
)
