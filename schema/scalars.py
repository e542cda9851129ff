"""Custom scalars with their specifications (``@specifiedBy``), so code generators can type
them: ``DateTime`` replaces Strawberry's built-in definition of ``datetime`` (same parsing
and serialising) in the schema's ``scalar_map`` (schema/build.py)."""

from __future__ import annotations

import dataclasses

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

DATE_TIME_SPEC = "https://scalars.graphql.org/andimarek/date-time"
GEOJSON_SPEC = "https://www.rfc-editor.org/rfc/rfc7946"

DATETIME_SCALAR: ScalarDefinition = dataclasses.replace(
    DateTimeDefinition,
    description="An instant as an RFC 3339 / ISO 8601 date-time with a UTC offset, e.g. "
    "2026-06-01T12:00:00+03:00. Output is always offset-qualified (usually +00:00); every "
    "input that lacks an offset is refused with BAD_USER_INPUT.",
    specified_by_url=DATE_TIME_SPEC,
)
